"""Codings and CodeableConcepts, with code-system URI normalisation.

HCPCS and CPT travel under several URIs in the wild; rule packs and matching use one
canonical URI per system (see ``SYSTEM_ALIASES``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
CPT = "http://www.ama-assn.org/go/cpt"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
SERVICE_TYPE = "http://terminology.hl7.org/CodeSystem/service-type"

SYSTEM_ALIASES: dict[str, str] = {
    "hcpcs": HCPCS,
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": HCPCS,
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets/": HCPCS,
    "https://bluebutton.cms.gov/resources/codesystem/hcpcs": HCPCS,
    "urn:oid:2.16.840.1.113883.6.285": HCPCS,
    "urn:oid:2.16.840.1.113883.6.14": HCPCS,
    "cpt": CPT,
    "https://www.ama-assn.org/go/cpt": CPT,
    "urn:oid:2.16.840.1.113883.6.12": CPT,
    "rxnorm": RXNORM,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "snomed": SNOMED,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "loinc": LOINC,
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "icd10cm": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "icd10pcs": ICD10PCS,
    "urn:oid:2.16.840.1.113883.6.4": ICD10PCS,
    "service-type": SERVICE_TYPE,
}


def normalize_system(system: str) -> str:
    """Return the canonical URI for a code system given by alias, OID or variant URI."""
    return SYSTEM_ALIASES.get(system, SYSTEM_ALIASES.get(system.lower(), system))


@dataclass(frozen=True, slots=True)
class Code:
    """A code in a canonical system (the system is normalised on construction)."""

    system: str
    code: str
    display: str | None = None

    @classmethod
    def of(cls, system: str, code: str, display: str | None = None) -> Code:
        """Build a code, normalising the system URI and trimming the code."""
        return cls(normalize_system(system), code.strip(), display)

    @property
    def key(self) -> tuple[str, str]:
        """The identity used for matching: (system, code)."""
        return (self.system, self.code)

    def to_coding(self) -> dict[str, str]:
        """Render as a FHIR Coding."""
        coding = {"system": self.system, "code": self.code}
        if self.display:
            coding["display"] = self.display
        return coding


def codings(concept: Any) -> Iterator[Code]:
    """Yield the well-formed codings of a CodeableConcept (anything else yields nothing)."""
    if not isinstance(concept, dict):
        return
    for coding in concept.get("coding") or ():
        if not isinstance(coding, dict):
            continue
        system, code = coding.get("system"), coding.get("code")
        if isinstance(system, str) and isinstance(code, str) and code.strip():
            display = coding.get("display")
            yield Code.of(system, code, display if isinstance(display, str) else None)


def with_canonical_systems(concept: Any) -> Any:
    """Return a copy of a CodeableConcept whose codings use the canonical system URIs.

    Bindings name one URI per code system (PAS binds HCPCS as
    ``http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets``); EHRs send variants.
    """
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        return concept
    codings_ = [
        {**c, "system": normalize_system(c["system"])}
        if isinstance(c, dict) and isinstance(c.get("system"), str)
        else c
        for c in concept["coding"]
    ]
    return {**concept, "coding": codings_}
