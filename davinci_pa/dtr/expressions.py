"""Evaluate a form's CQL and FHIRPath expressions for one patient.

DTR 2.2 ``spec-97``: with several libraries an expression names its library,
``"LibraryName".Define``; a bare define name refers to the form's only library. CQL
libraries come from the form's ``cqf-library`` canonicals and run with our engine;
FHIRPath runs through fhirpathpy with ``resolve()`` over the patient data and
``memberOf()`` over the offline value sets.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from davinci_pa.cql import CqlEngine, DataProvider
from davinci_pa.dtr.content import DtrContent
from davinci_pa.dtr.vocabulary import CQF_LIBRARY, extensions
from davinci_pa.errors import CqlError
from davinci_pa.fhir.fhirpath import FhirPathError, evaluate
from davinci_pa.fhir.index import ResourceIndex
from davinci_pa.types import Resource

log = logging.getLogger(__name__)

_QUALIFIED = re.compile(
    r'^\s*(?:"([^"]+)"|([A-Za-z_][A-Za-z0-9_]*))\s*\.\s*(?:"([^"]+)"|([A-Za-z_][A-Za-z0-9_]*))\s*$'
)
_BARE = re.compile(r'^\s*(?:"([^"]+)"|([A-Za-z_][A-Za-z0-9_]*))\s*$')
CQL_LANGUAGES = frozenset({"text/cql", "text/cql-identifier", "text/cql.identifier"})
FHIRPATH = "text/fhirpath"


def cql_reference(expression: str, default_library: str | None) -> tuple[str, str] | None:
    """Split ``"Library".Define`` (or a bare define of the default library)."""
    match = _QUALIFIED.match(expression)
    if match:
        return match.group(1) or match.group(2), match.group(3) or match.group(4)
    match = _BARE.match(expression)
    if match and default_library:
        return default_library, match.group(1) or match.group(2)
    return None


@dataclass
class ExpressionScope:
    """Results and collaborators for the expressions of one form and one patient."""

    content: DtrContent
    engine: CqlEngine
    data: DataProvider
    now: datetime
    launch: Mapping[str, Resource] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    libraries: dict[str, str | None] = field(default_factory=dict)
    results: dict[tuple[str, str], Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    _index: ResourceIndex | None = None

    def bind(self, questionnaire: Resource) -> None:
        """Record the form's libraries (name → version) from its cqf-library canonicals."""
        for ext in extensions(questionnaire, CQF_LIBRARY):
            library = self.content.find("Library", str(ext.get("valueCanonical", "")))
            if library is not None:
                self.libraries[str(library["name"])] = library.get("version")
            else:
                self.problems.append(f"library {ext.get('valueCanonical')} is not available")

    def run_cql(self, references: Iterable[tuple[str, str]]) -> None:
        """Evaluate the referenced defines, one engine call per library."""
        wanted: dict[str, set[str]] = {}
        for library, define in references:
            if (library, define) not in self.results:
                wanted.setdefault(library, set()).add(define)
        for library, defines in wanted.items():
            if library not in self.libraries:
                self.problems.append(f"expression names library {library} the form does not load")
                continue
            try:
                values = self.engine.evaluate(
                    library,
                    self.libraries[library],
                    data=self.data,
                    parameters=dict(self.parameters),
                    now=self.now,
                    defines=sorted(defines),
                )
            except CqlError as error:
                log.warning("prepopulation library %s failed: %s", library, error.message)
                self.problems.append(f"{library}: {error.message}")
                continue
            self.results.update({(library, name): value for name, value in values.items()})

    def default_library(self) -> str | None:
        """The form's library when it loads exactly one besides the shared ones."""
        return next(iter(self.libraries)) if len(self.libraries) == 1 else None

    def value(self, expression: Mapping[str, Any], resource: Resource | None) -> tuple[bool, Any]:
        """Return (known, value) of an Expression; unknown when it failed or is unsupported."""
        language, text = expression.get("language"), str(expression.get("expression", ""))
        if language in CQL_LANGUAGES:
            ref = cql_reference(text, self.default_library())
            if ref is None or ref not in self.results:
                return False, None
            return True, self.results[ref]
        if language == FHIRPATH:
            return self._fhirpath(text, resource)
        return False, None

    def _fhirpath(self, text: str, resource: Resource | None) -> tuple[bool, Any]:
        variables = {**self.launch, "resource": resource or {}}
        focus = self.launch.get("patient") or {}
        try:
            found = evaluate(
                focus, text, variables=variables, resolver=self._resolve, member_of=self._member_of
            )
        except FhirPathError as error:
            self.problems.append(error.message)
            return False, None
        return True, found

    def _resolve(self, reference: str) -> Resource | None:
        if self._index is None:
            self._index = ResourceIndex()
            for kind in ("Patient", "Practitioner", "Condition", "Observation", "Encounter"):
                self._index.add_all(self.data.resources(kind))
        rtype, _, rid = reference.rpartition("/")
        return self._index.get(rtype.rsplit("/", 1)[-1], rid) if rtype and rid else None

    def _member_of(self, value: Any, url: str) -> bool | None:
        codes = self.content.terminology.expand(*_split(url))
        if codes is None:
            return None
        wanted = [value] if isinstance(value, Mapping) and "code" in value else []
        if isinstance(value, Mapping) and isinstance(value.get("coding"), list):
            wanted = value["coding"]
        return any(
            c.code == w.get("code") and c.system == w.get("system") for c in codes for w in wanted
        )


def _split(url: str) -> tuple[str, str | None]:
    base, _, version = url.partition("|")
    return base, version or None
