"""The official CQL conformance suite (cqframework/cql-tests) as compiled ELM, one library per test.

The suite's XML files (schema ``testSchema.xsd``, namespace ``http://hl7.org/fhirpath/tests``)
hold ``tests > group > test`` elements, each with an ``expression`` (optionally
``invalid="true|semantic|syntax|execution"``) and zero or more ``output`` literals. Like the
cqframework cql-tests-runner, every test becomes a small CQL library::

    library CqlAggregateFunctionsTest_AllTrue_AllTrueAllTrue version '1.0.0'

    define "expression": AllTrue({true,true})

    define "output": true

An evaluator runs ``"expression"`` and compares it with ``"output"`` (CQL equivalence, or
equality for ordered lists). A test with several ``output`` elements gets ``"output"``,
``"output 2"``, ... Expected-invalid tests keep their translation errors: ``semantic``/
``syntax`` tests should fail to translate, ``true``/``execution`` tests should raise when run.

Usage::

    cases = load_suite(Path("../shared/cql-tests"))
    compiled = compile_suite(cases, Path(".cache/cql-conformance"), progress=print)
    for case in cases:
        result = compiled[case.key]
        if result.elm is not None and not result.expression_errors: ...

Compiled results are cached per case under ``cache_dir`` keyed by a sha256 of the generated
CQL, the translator options and the pinned npm lockfile, so a warm run does not start Node.
In a checkout, ``python -m davinci_pa.cql.conformance_elm [TESTS_DIR [CACHE_DIR]]`` fills
:data:`CHECKOUT_CACHE_DIR` (``.cache/cql-conformance/``, gitignored) from ``../shared/cql-tests``.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from davinci_pa.cql.compile import DEFAULT_OPTIONS, Diagnostic, TranslationResult, translate_sources
from davinci_pa.cql.translator_env import lockfile_digest, stderr_log
from davinci_pa.errors import CqlError

_NS = {"t": "http://hl7.org/fhirpath/tests"}
_CACHE_FORMAT = 1
_CHECKOUT = Path(__file__).resolve().parents[2]
CHECKOUT_CACHE_DIR = _CHECKOUT / ".cache" / "cql-conformance"
"""Conventional cache folder when working in a source checkout (gitignored)."""
EXPRESSION_DEFINE = "expression"
"""Name of the define holding the test expression."""


@dataclass(frozen=True)
class ConformanceCase:
    """One ``<test>`` of the suite, with group/suite attributes already inherited."""

    file: str
    suite: str
    group: str
    name: str
    expression: str
    outputs: tuple[str, ...]
    output_types: tuple[str | None, ...]
    invalid: str
    capabilities: tuple[str, ...]
    version: str | None
    version_to: str | None
    notes: str | None = None

    @property
    def key(self) -> str:
        """Stable id ``<file stem>/<group>/<test>`` (unique across the suite)."""
        return f"{Path(self.file).stem}/{self.group}/{self.name}"

    @property
    def output(self) -> str | None:
        """The first expected output literal (most tests have exactly one)."""
        return self.outputs[0] if self.outputs else None

    @property
    def expects_translation_error(self) -> bool:
        """``invalid="semantic"`` or ``"syntax"``: the CQL must not translate."""
        return self.invalid in ("semantic", "syntax")

    @property
    def expects_runtime_error(self) -> bool:
        """``invalid="true"`` or ``"execution"``: evaluating ``"expression"`` must raise."""
        return self.invalid in ("true", "execution")

    @property
    def library_name(self) -> str:
        """CQL identifier of the generated library."""
        return re.sub(r"\W", "_", f"{self.suite}_{self.group}_{self.name}")

    @property
    def output_defines(self) -> tuple[str, ...]:
        """Define names of the expected outputs: ``"output"``, ``"output 2"``, ..."""
        return tuple("output" if i == 0 else f"output {i + 1}" for i in range(len(self.outputs)))

    def cql(self) -> str:
        """The generated CQL library text for this test."""
        lines = [f"library {self.library_name} version '1.0.0'", ""]
        lines += [f'define "{EXPRESSION_DEFINE}": {self.expression}', ""]
        for define, output in zip(self.output_defines, self.outputs, strict=True):
            lines += [f'define "{define}": {output}', ""]
        return "\n".join(lines)

    def expression_lines(self) -> range:
        """1-based line numbers of the ``"expression"`` define in :meth:`cql`."""
        return range(3, 4 + self.expression.count("\n"))


@dataclass(frozen=True)
class CompiledCase:
    """The translator's result for one :class:`ConformanceCase`.

    ``elm`` is the ELM JSON (None only when the translator crashed). ``expression_errors``
    are the errors located in the ``"expression"`` define; ``output_errors`` all others
    (an unparseable expected output is a suite/translator problem, not an engine one).
    """

    key: str
    cql: str
    elm: dict[str, Any] | None
    errors: tuple[Diagnostic, ...]
    expression_errors: tuple[Diagnostic, ...]
    output_errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        """True when the whole library translated without error."""
        return self.elm is not None and not self.errors


class ConformanceSuiteError(CqlError):
    """The conformance suite folder is missing or malformed."""

    code = "cql-conformance-suite-error"


def load_suite(tests_dir: Path) -> list[ConformanceCase]:
    """Read every ``*.xml`` test file (sorted by name) of the suite folder.

    Raises:
        ConformanceSuiteError: No test file, a malformed file, or duplicate test keys.
    """
    files = sorted(p for p in tests_dir.glob("*.xml"))
    if not files:
        raise ConformanceSuiteError(f"no CQL conformance test files in {tests_dir}")
    cases = [case for path in files for case in _load_file(path)]
    keys = [c.key for c in cases]
    if len(set(keys)) != len(keys) or len({c.library_name for c in cases}) != len(cases):
        raise ConformanceSuiteError("duplicate test keys in the CQL conformance suite")
    return cases


def compile_suite(
    cases: Sequence[ConformanceCase],
    cache_dir: Path,
    *,
    progress: Callable[[str], None] | None = None,
    install_dir: Path | None = None,
) -> dict[str, CompiledCase]:
    """Compile every case to ELM in one node process, reusing ``cache_dir`` entries.

    Args:
        cases: From :func:`load_suite` (or a subset).
        cache_dir: Folder for the per-case cache files (created if missing).
        progress: Receives short progress lines (e.g. ``print``).
        install_dir: Where the npm toolchain lives (see ``translator_env``).

    Returns:
        ``case.key`` -> :class:`CompiledCase`, in the order of ``cases``.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    salt = f"{_CACHE_FORMAT}|{lockfile_digest()}|{','.join(DEFAULT_OPTIONS)}"
    digests = {c.key: hashlib.sha256(f"{salt}\n{c.cql()}".encode()).hexdigest() for c in cases}
    compiled: dict[str, CompiledCase] = {}
    for case in cases:
        cached = _read_cache(cache_dir / f"{digests[case.key]}.json", case)
        if cached is not None:
            compiled[case.key] = cached
    missing = [c for c in cases if c.key not in compiled]
    _say(progress, f"{len(compiled)} cached, translating {len(missing)} conformance cases")
    if missing:
        by_key = {c.key: c for c in missing}
        counter = _Counter(len(missing), progress)

        def done(result: TranslationResult) -> None:
            case = by_key[result.key]
            entry = _compiled(case, result)
            _write_cache(cache_dir / f"{digests[case.key]}.json", entry)
            compiled[case.key] = entry
            counter.tick()

        translate_sources({c.key: c.cql() for c in missing}, install_dir=install_dir, progress=done)
    return {c.key: compiled[c.key] for c in cases}


def _load_file(path: Path) -> Iterable[ConformanceCase]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ConformanceSuiteError(f"{path.name}: {exc}") from exc
    suite = root.get("name") or path.stem
    suite_caps = _capabilities(root)
    for group in root.findall("t:group", _NS):
        group_caps = suite_caps + _capabilities(group)
        for test in group.findall("t:test", _NS):
            yield _case(path.name, suite, group, test, group_caps, root)


def _case(
    file: str,
    suite: str,
    group: ET.Element,
    test: ET.Element,
    inherited: tuple[str, ...],
    root: ET.Element,
) -> ConformanceCase:
    expression = test.find("t:expression", _NS)
    if expression is None or not (expression.text or "").strip():
        raise ConformanceSuiteError(f"{file}: test {test.get('name')} has no expression")
    outputs = test.findall("t:output", _NS)
    notes = test.find("t:notes", _NS)
    return ConformanceCase(
        file=file,
        suite=suite,
        group=group.get("name") or "",
        name=test.get("name") or "",
        expression=(expression.text or "").strip(),
        outputs=tuple((o.text or "").strip() for o in outputs),
        output_types=tuple(o.get("type") for o in outputs),
        invalid=expression.get("invalid", "false"),
        capabilities=tuple(dict.fromkeys(inherited + _capabilities(test))),
        version=test.get("version") or group.get("version") or root.get("version"),
        version_to=test.get("versionTo") or group.get("versionTo") or root.get("versionTo"),
        notes=(notes.text or "").strip() if notes is not None else None,
    )


def _capabilities(element: ET.Element) -> tuple[str, ...]:
    found = []
    for cap in element.findall("t:capability", _NS):
        value = cap.get("value")
        found.append(f"{cap.get('code')}={value}" if value else str(cap.get("code")))
    return tuple(found)


def _compiled(case: ConformanceCase, result: TranslationResult) -> CompiledCase:
    lines = case.expression_lines()
    in_expression = tuple(d for d in result.errors if d.start_line is None or d.start_line in lines)
    return CompiledCase(
        key=case.key,
        cql=case.cql(),
        elm=result.elm,
        errors=result.errors,
        expression_errors=in_expression,
        output_errors=tuple(d for d in result.errors if d not in in_expression),
        warnings=result.warnings,
    )


def _write_cache(path: Path, entry: CompiledCase) -> None:
    record = {
        "key": entry.key,
        "elm": entry.elm,
        **{
            field: [_diagnostic_json(d) for d in getattr(entry, field)]
            for field in ("errors", "expression_errors", "output_errors", "warnings")
        },
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, separators=(",", ":")), encoding="utf-8")
    temporary.replace(path)


def _read_cache(path: Path, case: ConformanceCase) -> CompiledCase | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != case.key:
        return None
    diagnostics = {
        field: tuple(Diagnostic.from_json(d) for d in record.get(field, ()))
        for field in ("errors", "expression_errors", "output_errors", "warnings")
    }
    return CompiledCase(key=case.key, cql=case.cql(), elm=record.get("elm"), **diagnostics)


def _diagnostic_json(diag: Diagnostic) -> Mapping[str, Any]:
    raw = {
        "severity": diag.severity,
        "kind": diag.kind,
        "message": diag.message,
        "library": diag.library,
        "startLine": diag.start_line,
        "startChar": diag.start_char,
        "endLine": diag.end_line,
        "endChar": diag.end_char,
    }
    return {k: v for k, v in raw.items() if v is not None}


class _Counter:
    def __init__(self, total: int, progress: Callable[[str], None] | None) -> None:
        self.total = total
        self.done = 0
        self.progress = progress

    def tick(self) -> None:
        self.done += 1
        if self.done == self.total or self.done % 250 == 0:
            _say(self.progress, f"translated {self.done}/{self.total}")


def _say(progress: Callable[[str], None] | None, line: str) -> None:
    if progress is not None:
        progress(line)


def main(argv: Sequence[str]) -> int:
    """Compile the suite into the cache and print a summary; returns the exit status."""
    tests_dir = Path(argv[0]) if argv else _CHECKOUT.parent / "shared" / "cql-tests"
    cache_dir = Path(argv[1]) if len(argv) > 1 else CHECKOUT_CACHE_DIR
    cases = load_suite(tests_dir)
    compiled = compile_suite(cases, cache_dir, progress=stderr_log)
    failed = [c.key for c in cases if not compiled[c.key].ok]
    sys.stdout.write(
        f"{len(cases) - len(failed)} of {len(cases)} cases translated without errors; "
        f"ELM cached in {cache_dir}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
