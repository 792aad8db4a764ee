"""Compile CQL to ELM JSON with the official translator (authoring time, needs Node.js).

The translator is ``@cqframework/cql`` (the Kotlin-multiplatform build of the reference
cql-to-elm, pinned in ``translator/package-lock.json``), driven by ``translator/cql2elm.mjs``
in ONE node process per call. Settings, fixed for every library we ship:

* compiler options ``EnableAnnotations, EnableLocators, EnableResultTypes``; list promotion and
  demotion stay ON (the Da Vinci CDS libraries depend on them);
* models: System (built into the translator) and FHIR 4.0.1 and 4.0.0 (model infos from
  ``cql-exec-fhir``; all Da Vinci CDS-Library content says ``using FHIR version '4.0.0'``);
* UCUM units are validated with ``@lhncbc/ucum-lhc``;
* includes resolve by the ``library Name version '...'`` header of any ``.cql`` file in the
  source's own folder, the ``include_dirs`` and ``davinci_pa/cql/fhirhelpers/`` (always on the
  path, it holds our FHIRHelpers 4.0.1). A FHIRHelpers 4.0.0 beside 4.0.0 content (as the
  CDS-Library ships it) is used for that content.

Post-passes (applied to every library):

* :func:`prune_result_types` keeps the translator's result types only where the engine needs
  them: on a ``Property`` whose value is a System Date, DateTime or Time (the ``.value`` of a
  FHIR date/dateTime/instant/time element, which the engine turns from the JSON string into
  that type). Every other ``resultTypeName``/``resultTypeSpecifier`` is dropped.
* the translator wraps a code-list reference used as a
retrieve's terminology, ``[Observation: "Codes"]``, in ``ToList`` even when the reference
is already a list, which makes a list of lists (``cql-execution`` then fails with
``c.hasMatch is not a function``). :func:`unwrap_retrieve_code_lists` replaces
``Retrieve.codes = ToList(ExpressionRef)`` by the bare ``ExpressionRef``. So after the
post-pass, ``Retrieve.codes`` may evaluate to a Code, a Concept, a list of Codes or a ValueSet.

Output naming: ``compile_paths`` writes ``<file stem>.json`` next to each ``.cql`` (or into
``out_dir``), formatted by :func:`elm_text` (2-space indent, translator key order, trailing
newline): the same input always gives byte-identical output, so a staleness check can compare
files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from davinci_pa.cql.translator_env import Log, ensure_toolchain, run_driver, stderr_log
from davinci_pa.errors import CqlError

FHIRHELPERS_DIR = Path(__file__).resolve().parent / "fhirhelpers"
"""Our FHIRHelpers 4.0.1 library (CQL + ELM); always on the include path."""

DEFAULT_OPTIONS: tuple[str, ...] = ("EnableAnnotations", "EnableLocators", "EnableResultTypes")
"""Translator options (``CqlCompilerOptions.Options`` names) used unless a caller overrides."""


class CqlTranslationError(CqlError):
    """One or more CQL libraries did not translate; ``details["problems"]`` lists the errors."""

    code = "cql-translation-error"
    http_status = 500


@dataclass(frozen=True)
class Diagnostic:
    """One translator error, warning or message, positioned in the CQL source (1-based)."""

    severity: str
    kind: str
    message: str
    library: str | None = None
    start_line: int | None = None
    start_char: int | None = None
    end_line: int | None = None
    end_char: int | None = None

    def __str__(self) -> str:
        where = self.library or "?"
        if self.start_line is not None:
            where += f":{self.start_line}:{self.start_char or 0}"
        return f"{where}: {self.kind} {self.severity}: {self.message}"

    def located(self, file: str) -> str:
        """``file:line:col: severity: message`` (``file`` stands for the source's library)."""
        where = file
        if self.start_line is not None:
            where += f":{self.start_line}:{self.start_char or 0}"
        return f"{where}: {self.severity}: {self.message}"

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Diagnostic:
        """Build from the driver's JSON record."""
        return cls(
            severity=str(raw.get("severity", "error")),
            kind=str(raw.get("kind", "semantic")),
            message=str(raw.get("message", "")),
            library=raw.get("library"),
            start_line=raw.get("startLine"),
            start_char=raw.get("startChar"),
            end_line=raw.get("endLine"),
            end_char=raw.get("endChar"),
        )


@dataclass(frozen=True)
class TranslationResult:
    """What the translator made of one CQL source.

    ``elm`` is the post-processed ELM JSON (present even when there are errors, as the
    translator emits it with ``CqlToElmError`` annotations; ``None`` only if it crashed).
    """

    key: str
    library_id: str | None
    library_version: str | None
    elm: dict[str, Any] | None
    errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...]
    messages: tuple[Diagnostic, ...]
    millis: int

    @property
    def ok(self) -> bool:
        """True when ELM was produced without any error."""
        return self.elm is not None and not self.errors

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TranslationResult:
        """Build from one output line of ``cql2elm.mjs`` and apply the post-pass."""
        elm = json.loads(raw["elm"]) if raw.get("elm") else None
        if elm is not None:
            prune_result_types(elm)
            unwrap_retrieve_code_lists(elm)
        header = raw.get("library") or {}
        return cls(
            key=str(raw["key"]),
            library_id=header.get("id"),
            library_version=header.get("version"),
            elm=elm,
            errors=tuple(Diagnostic.from_json(d) for d in raw.get("errors", ())),
            warnings=tuple(Diagnostic.from_json(d) for d in raw.get("warnings", ())),
            messages=tuple(Diagnostic.from_json(d) for d in raw.get("messages", ())),
            millis=int(raw.get("ms", 0)),
        )


def translate_sources(
    sources: Mapping[str, str],
    *,
    include_dirs: Sequence[Path] = (),
    options: Sequence[str] = DEFAULT_OPTIONS,
    install_dir: Path | None = None,
    progress: Callable[[TranslationResult], None] | None = None,
    log: Log = stderr_log,
) -> dict[str, TranslationResult]:
    """Translate in-memory CQL libraries (key -> CQL text) in one node process.

    Sources may include each other and any library in ``include_dirs`` or
    :data:`FHIRHELPERS_DIR`. Translation errors are returned, not raised.

    Args:
        sources: Caller's key -> CQL text; the keys come back in the result.
        include_dirs: Folders whose ``.cql`` files satisfy ``include`` declarations.
        options: Translator options; the default keeps list promotion/demotion on.
        install_dir: Where the npm packages live (see ``translator_env.ensure_toolchain``).
        progress: Called with each result as soon as it is ready.
        log: Receives toolchain installation progress lines.

    Raises:
        NodeToolchainError: Node.js/npm are missing or the driver crashed.
    """
    if not sources:
        return {}
    toolchain = ensure_toolchain(install_dir, log=log)
    dirs = [d for d in _unique_dirs([*include_dirs, FHIRHELPERS_DIR]) if d.is_dir()]
    request = {
        "options": list(options),
        "libraryDirs": [str(d) for d in dirs],
        "sources": [{"key": key, "text": text} for key, text in sources.items()],
    }
    results: dict[str, TranslationResult] = {}

    def on_line(line: str) -> None:
        result = TranslationResult.from_json(json.loads(line))
        results[result.key] = result
        if progress is not None:
            progress(result)

    run_driver(toolchain, "cql2elm.mjs", json.dumps(request), on_line=on_line)
    return results


def compile_paths(
    paths: Sequence[Path],
    *,
    out_dir: Path | None = None,
    include_dirs: Sequence[Path] = (),
    install_dir: Path | None = None,
    log: Log = stderr_log,
    report: Callable[[str], None] | None = None,
) -> list[Path]:
    """Compile ``.cql`` files (or every ``.cql`` under given folders) to ELM JSON.

    Each ``X.cql`` becomes ``X.json`` beside it, or in ``out_dir``. Each source's folder is
    on the include path too. Nothing is written unless every library translates cleanly.
    ``report`` receives every translator error and warning as ``file:line:col: message``.

    Returns:
        The written ``.json`` paths, in the order of the sources.

    Raises:
        CqlTranslationError: Some library had translation errors (all are listed).
        NodeToolchainError: Node.js/npm are missing.
    """
    files = sorted(set(_cql_files(paths)))
    targets = {f: (out_dir or f.parent) / f"{f.stem}.json" for f in files}
    if len(set(targets.values())) != len(targets):
        raise CqlTranslationError("two .cql files would write the same .json in out_dir")
    sources = {str(f): f.read_text(encoding="utf-8") for f in files}
    dirs = [*{f.parent for f in files}, *include_dirs]
    results = translate_sources(sources, include_dirs=dirs, install_dir=install_dir, log=log)
    problems = []
    for key, res in results.items():
        errors = res.errors or (() if res.elm else (Diagnostic("error", "internal", "no ELM"),))
        for diag in (*errors, *res.warnings):
            line = diag.located(_display(Path(key), res.library_id, diag.library))
            if report is not None:
                report(line)
            if diag.severity == "error" or diag in errors:
                problems.append(line)
    if problems:
        raise CqlTranslationError(
            f"{len(problems)} CQL translation error(s), first: {problems[0]}",
            details={"problems": problems},
        )
    for file, target in targets.items():
        elm = results[str(file)].elm
        assert elm is not None
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(elm_text(elm), encoding="utf-8")
    return list(targets.values())


def _display(file: Path, library_id: str | None, where: str | None) -> str:
    """The source file for a diagnostic in it; an included library's name otherwise."""
    if where and library_id and where.split("|", 1)[0] != library_id:
        return where
    try:
        return str(file.relative_to(Path.cwd()))
    except ValueError:
        return str(file)


def elm_text(elm: Mapping[str, Any]) -> str:
    """Stable text form of an ELM library: 2-space JSON in translator key order, final newline."""
    return json.dumps(elm, indent=2, ensure_ascii=False) + "\n"


_KEPT_RESULT_TYPES = frozenset(
    "{urn:hl7-org:elm-types:r1}" + name for name in ("Date", "DateTime", "Time")
)


def prune_result_types(node: Any) -> None:
    """Drop result types except a temporal ``resultTypeName`` on ``Property`` nodes, in place."""
    if isinstance(node, list):
        for child in node:
            prune_result_types(child)
        return
    if not isinstance(node, dict):
        return
    node.pop("resultTypeSpecifier", None)
    kept = node.get("type") == "Property" and node.get("resultTypeName") in _KEPT_RESULT_TYPES
    if not kept:
        node.pop("resultTypeName", None)
    for child in node.values():
        prune_result_types(child)


def unwrap_retrieve_code_lists(node: Any) -> int:
    """Replace ``Retrieve.codes = ToList(ExpressionRef)`` by the ``ExpressionRef``, in place.

    Returns:
        How many retrieves were changed.
    """
    changed = 0
    if isinstance(node, dict):
        codes = node.get("codes")
        if (
            node.get("type") == "Retrieve"
            and isinstance(codes, dict)
            and codes.get("type") == "ToList"
            and isinstance(codes.get("operand"), dict)
            and codes["operand"].get("type") == "ExpressionRef"
        ):
            node["codes"] = codes["operand"]
            changed += 1
        children: Iterable[Any] = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return 0
    return changed + sum(unwrap_retrieve_code_lists(child) for child in children)


def _cql_files(paths: Iterable[Path]) -> Iterable[Path]:
    for path in paths:
        resolved = path.resolve()
        if resolved.is_dir():
            yield from sorted(resolved.rglob("*.cql"))
        elif resolved.suffix == ".cql" and resolved.is_file():
            yield resolved
        else:
            raise CqlTranslationError(f"not a .cql file or folder: {path}")


def _unique_dirs(dirs: Iterable[Path]) -> list[Path]:
    seen: dict[Path, None] = {}
    for d in dirs:
        seen.setdefault(d.resolve(), None)
    return list(seen)
