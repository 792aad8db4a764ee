"""Evaluate ELM with the reference JavaScript engine (cql-execution + cql-exec-fhir, FHIR 4.0.1).

For differential tests (our Python engine vs the reference, define by define) and for
``bench/cql.py``. Results use the JSON encoding of ``davinci-pa cql eval``
(``davinci_pa/cql/encode.py``), so the two engines' outputs compare with ``==`` (numbers
may differ in type: the reference engine has only floats). Needs Node.js; see
``translator/run-cql-execution.mjs`` for the protocol.

cql-execution limits worth knowing: it evaluates calls into included libraries (FHIRHelpers
too) and retrieves only in the Patient context, so a library must say ``context Patient`` and
the bundle must hold a Patient; without one, only Unfiltered defines are evaluated.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from davinci_pa.cql.compile import FHIRHELPERS_DIR
from davinci_pa.cql.translator_env import ensure_toolchain, run_driver
from davinci_pa.errors import CqlEvaluationError

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class ReferenceTiming:
    """Wall time of repeated warm evaluations (library already loaded), in milliseconds.

    ``median_ms``/``min_ms``/``max_ms`` time the evaluation alone (the patient Bundle is
    loaded into a fresh cql-exec-fhir PatientSource before the clock starts);
    ``median_with_load_ms`` includes that loading.
    """

    runs: int
    median_ms: float
    min_ms: float
    max_ms: float
    median_with_load_ms: float


def run_reference_engine(
    elm_dir: Path | Sequence[Path],
    library: str,
    bundle: Mapping[str, Any] | None,
    parameters: Mapping[str, Any] | None = None,
    now: str | None = None,
    *,
    version: str | None = None,
    value_sets: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    install_dir: Path | None = None,
) -> JsonObject:
    """Evaluate every define of ``library`` and return ``{define: encoded value}``.

    Args:
        elm_dir: Folder(s) with the ELM JSON of the library and its includes; our FHIRHelpers
            is always added.
        library: Library name (``library X`` in the CQL).
        bundle: FHIR R4 Bundle holding one Patient and its data, or None (no patient).
        parameters: Values in the eval JSON encoding, decoded per the declared types
            (FHIR-typed parameters take resource/element JSON).
        now: Evaluation DateTime (ISO 8601); default the current time.
        version: Library version when several are loaded.
        value_sets: ValueSet url -> expansion codes ``{"code", "system", "version"?}``.
        install_dir: Where the npm toolchain lives.

    Raises:
        CqlEvaluationError: The reference engine raised while evaluating.
        NodeToolchainError: Node.js/npm are missing.
    """
    answer = _invoke(
        elm_dir, library, bundle, parameters, now, version, value_sets, install_dir, repeat=0
    )
    results: JsonObject = answer["results"]
    return results


def benchmark_reference_engine(
    elm_dir: Path | Sequence[Path],
    library: str,
    bundle: Mapping[str, Any] | None,
    parameters: Mapping[str, Any] | None = None,
    now: str | None = None,
    *,
    runs: int = 20,
    version: str | None = None,
    value_sets: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    install_dir: Path | None = None,
) -> ReferenceTiming:
    """Time ``runs`` warm evaluations of the whole library (after one untimed run)."""
    answer = _invoke(
        elm_dir, library, bundle, parameters, now, version, value_sets, install_dir, repeat=runs
    )
    times: list[float] = answer["timing"]["ms"]
    with_load: list[float] = answer["timing"]["msWithLoad"]
    return ReferenceTiming(
        runs=len(times),
        median_ms=statistics.median(times),
        min_ms=min(times),
        max_ms=max(times),
        median_with_load_ms=statistics.median(with_load),
    )


@dataclass(frozen=True)
class ReferenceCase:
    """One evaluation in a batch: patient data, parameters (eval JSON encoding) and clock."""

    bundle: Mapping[str, Any] | None
    parameters: Mapping[str, Any] | None = None
    now: str | None = None


def run_reference_cases(
    elm_dir: Path | Sequence[Path],
    library: str,
    cases: Sequence[ReferenceCase],
    *,
    version: str | None = None,
    value_sets: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    install_dir: Path | None = None,
) -> list[JsonObject | CqlEvaluationError]:
    """Evaluate ``library`` once per case in one Node.js process (the library loads once).

    Returns, per case, ``{define: encoded value}`` or the :class:`CqlEvaluationError` the
    reference engine raised for that case.
    """
    request = _request(elm_dir, library, version, value_sets)
    request["cases"] = [
        {"bundle": c.bundle, "parameters": dict(c.parameters or {}), "now": c.now, "repeat": 0}
        for c in cases
    ]
    answer = _run(request, library, install_dir)
    out: list[JsonObject | CqlEvaluationError] = []
    for one in answer["cases"]:
        out.append(_error(library, one["error"]) if "error" in one else one["results"])
    return out


def _request(
    elm_dir: Path | Sequence[Path],
    library: str,
    version: str | None,
    value_sets: Mapping[str, Sequence[Mapping[str, str]]] | None,
) -> JsonObject:
    dirs = [elm_dir] if isinstance(elm_dir, Path) else list(elm_dir)
    resolved = list(dict.fromkeys(d.resolve() for d in [*dirs, FHIRHELPERS_DIR]))
    return {
        "elmDirs": [str(d) for d in resolved],
        "library": library,
        "version": version,
        "valueSets": {url: list(codes) for url, codes in (value_sets or {}).items()},
    }


def _run(request: JsonObject, library: str, install_dir: Path | None) -> JsonObject:
    lines: list[str] = []
    run_driver(
        ensure_toolchain(install_dir),
        "run-cql-execution.mjs",
        json.dumps(request),
        on_line=lines.append,
    )
    answer: JsonObject = json.loads("".join(lines))
    if "error" in answer:
        raise _error(library, answer["error"])
    return answer


def _error(library: str, error: JsonObject) -> CqlEvaluationError:
    return CqlEvaluationError(
        f"cql-execution failed evaluating {library}: {error['message']}",
        details={"problems": str(error.get("stack", "")).splitlines()[:10]},
    )


def _invoke(
    elm_dir: Path | Sequence[Path],
    library: str,
    bundle: Mapping[str, Any] | None,
    parameters: Mapping[str, Any] | None,
    now: str | None,
    version: str | None,
    value_sets: Mapping[str, Sequence[Mapping[str, str]]] | None,
    install_dir: Path | None,
    *,
    repeat: int,
) -> JsonObject:
    request = _request(elm_dir, library, version, value_sets)
    request.update(
        {"bundle": bundle, "parameters": dict(parameters or {}), "now": now, "repeat": repeat}
    )
    return _run(request, library, install_dir)
