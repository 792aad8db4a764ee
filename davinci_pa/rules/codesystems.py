"""The code systems a topic may list codes in, with the shape their codes must have.

A topic names a system by alias (``cpt``) or URI. An unknown name is an error, never a
silent miss: codes under a system no order uses would match nothing and every such order
would come back "covered, no prior authorization". Known: CPT, HCPCS, ICD-10-CM/PCS,
SNOMED CT, LOINC, RxNorm, NDC, NUBC, X12 and the HL7 service types, plus the systems a
payer declares in ``pack.json`` (``code-systems``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from davinci_pa.fhir import codes as fhir_codes

NDC = "http://hl7.org/fhir/sid/ndc"
NUBC_REVENUE = "https://www.nubc.org/CodeSystem/RevenueCodes"
X12_SERVICE_TYPE = "https://codesystem.x12.org/005010/1365"
NUBC_PREFIX = "https://www.nubc.org/CodeSystem/"
X12_PREFIX = "https://codesystem.x12.org/005010/"


@dataclass(frozen=True, slots=True)
class CodeSystem:
    """A code system: its canonical URI, the aliases it goes by and its code shape."""

    name: str
    url: str
    aliases: tuple[str, ...]
    pattern: str = r".+"
    shape: str = "a code"
    check: Callable[[str], bool] | None = None

    def problem(self, code: str) -> str | None:
        """Why ``code`` cannot be a code of this system (``None`` when it can)."""
        if not re.fullmatch(self.pattern, code):
            return f"'{code}' is not a {self.name} code ({self.shape})"
        if self.check is not None and not self.check(code):
            return f"'{code}' fails the {self.name} check digit"
        return None


_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def _verhoeff(number: str) -> bool:
    """SNOMED CT identifiers end with a Verhoeff check digit."""
    check = 0
    for position, digit in enumerate(reversed(number)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][int(digit)]]
    return check == 0


def _loinc_mod10(code: str) -> bool:
    """LOINC codes end with a mod-10 check digit (``8310-5``); part and answer codes pass."""
    if code.startswith("L"):
        return True
    body, _, digit = code.partition("-")
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value // 10 + value % 10
    return (10 - total % 10) % 10 == int(digit)


KNOWN: tuple[CodeSystem, ...] = (
    CodeSystem(
        "CPT", fhir_codes.CPT, ("cpt",), r"\d{4}[0-9FTU]", "four digits and a digit, F, T or U"
    ),
    CodeSystem(
        "HCPCS",
        fhir_codes.HCPCS,
        ("hcpcs",),
        r"[A-V]\d{4}|\d{4}[0-9FTU]",
        "a letter A-V and four digits, or a CPT code",
    ),
    CodeSystem(
        "ICD-10-CM",
        fhir_codes.ICD10CM,
        ("icd10cm", "icd-10-cm"),
        r"[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?",
        "a letter, a digit, a character, then optionally a dot and up to four characters",
    ),
    CodeSystem(
        "ICD-10-PCS",
        fhir_codes.ICD10PCS,
        ("icd10pcs", "icd-10-pcs"),
        r"[0-9A-HJ-NP-Z]{7}",
        "seven characters, digits and letters other than I and O",
    ),
    CodeSystem(
        "SNOMED CT", fhir_codes.SNOMED, ("snomed", "sct"), r"\d{6,18}", "6 to 18 digits", _verhoeff
    ),
    CodeSystem(
        "LOINC",
        fhir_codes.LOINC,
        ("loinc",),
        r"(L[AP])?\d{1,8}-\d",
        "digits, a dash and a check digit",
        _loinc_mod10,
    ),
    CodeSystem("RxNorm", fhir_codes.RXNORM, ("rxnorm",), r"\d{1,8}", "up to 8 digits"),
    CodeSystem(
        "NDC",
        NDC,
        ("ndc",),
        r"\d{11}|\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}|\d{5}-\d{4}-\d{1,2}",
        "11 digits, or 10 in the 4-4-2, 5-3-2 or 5-4-1 pattern",
    ),
    CodeSystem(
        "NUBC revenue code", NUBC_REVENUE, ("nubc", "nubc-revenue"), r"\d{4}", "four digits"
    ),
    CodeSystem(
        "X12 service type",
        X12_SERVICE_TYPE,
        ("x12-service-type",),
        r"[0-9A-Z]{1,2}",
        "one or two characters",
    ),
    CodeSystem(
        "HL7 service type",
        fhir_codes.SERVICE_TYPE,
        ("service-type",),
        r"\d{1,3}",
        "up to three digits",
    ),
)


@dataclass(frozen=True, slots=True)
class Systems:
    """The code systems one rule pack may use: the known ones and the payer's own."""

    by_name: Mapping[str, CodeSystem]

    @classmethod
    def with_declared(cls, declared: Iterable[CodeSystem] = ()) -> Systems:
        """The known systems plus those a pack declares (declared ones win on a clash)."""
        names: dict[str, CodeSystem] = {}
        for system in (*KNOWN, *declared):
            for name in (system.url, *system.aliases):
                names[name.lower() if name in system.aliases else name] = system
        return cls(names)

    def resolve(self, name: str) -> CodeSystem | None:
        """The system a topic's ``system`` names, by alias, URI or a known variant URI."""
        found = self.by_name.get(name) or self.by_name.get(name.lower())
        if found is None:
            found = self.by_name.get(fhir_codes.normalize_system(name))
        if found is None and name.startswith((NUBC_PREFIX, X12_PREFIX)):
            kind = "NUBC" if name.startswith(NUBC_PREFIX) else "X12"
            found = CodeSystem(f"{kind} {name.rsplit('/', 1)[-1]}", name, ())
        return found

    def suggest(self, name: str) -> str:
        """A " (did you mean ...?)" hint for an unknown system name, or a list of the names."""
        aliases = sorted({a for s in self.by_name.values() for a in s.aliases})
        close = difflib.get_close_matches(name.lower(), aliases, n=3, cutoff=0.5)
        if close:
            return f"did you mean {' or '.join(repr(c) for c in close)}?"
        return f"use an alias ({', '.join(aliases)}), a known URI or declare it in pack.json"
