"""The CapabilityStatement of ``/fhir/metadata``, generated from the routes the app serves.

FHIR R4 §CapabilityStatement: ``rest.resource`` lists each resource type with the
interactions and operations its routes take, ``rest.operation`` the system-level operations.
Nothing here is a list of what is served: every entry comes from a rule of the Flask URL
map under ``/fhir``, so a route added or removed changes the statement. What *is* a table
here is what a route cannot say about itself: the OperationDefinition canonical of each
operation name and the profiles a resource type is checked against. A route whose operation
has no definition here is a programming error (:class:`ConfigurationError`), caught by the
tests before it ships.

The statement instantiates the payer-side statements of the IGs this server answers for:
PAS ``IntermediaryCapabilities`` (PAS 2.2.1 §Capability Statements: the payer or its
intermediary) and DTR ``dtr-payer-service``; the security service is SMART on FHIR (SMART
Backend Services, DTR ``spec-120``), with the token endpoint in the ``oauth-uris`` extension.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from werkzeug.routing import Map

from davinci_pa._version import __version__
from davinci_pa.errors import ConfigurationError

PAS = "http://hl7.org/fhir/us/davinci-pas"
DTR = "http://hl7.org/fhir/us/davinci-dtr"
INSTANTIATES = (
    f"{PAS}/CapabilityStatement/IntermediaryCapabilities",
    f"{DTR}/CapabilityStatement/dtr-payer-service",
)
PDEX = "http://hl7.org/fhir/us/davinci-pdex"
OPERATION_DEFINITIONS = {
    "submit": f"{PAS}/OperationDefinition/Claim-submit",
    "inquire": f"{PAS}/OperationDefinition/Claim-inquiry",
    "questionnaire-package": f"{DTR}/OperationDefinition/questionnaire-package",
    "log-questionnaire-errors": f"{DTR}/OperationDefinition/log-questionnaire-errors",
    "next-question": "http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-next-question",
    "populate": "http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-populate",
    "expand": "http://hl7.org/fhir/OperationDefinition/ValueSet-expand",
    "davinci-data-export": "http://hl7.org/fhir/us/davinci-atr/OperationDefinition/davinci-data-export",
    "export": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
    "member-match": "http://hl7.org/fhir/us/davinci-hrex/OperationDefinition/member-match",
    "bulk-member-match": f"{PDEX}/OperationDefinition/bulk-member-match",
}
SUPPORTED_PROFILES = {
    "Claim": (
        f"{PAS}/StructureDefinition/profile-claim",
        f"{PAS}/StructureDefinition/profile-claim-update",
    ),
    "Subscription": (f"{PAS}/StructureDefinition/profile-subscription",),
    "Questionnaire": (
        f"{DTR}/StructureDefinition/dtr-std-questionnaire",
        f"{DTR}/StructureDefinition/dtr-questionnaire-adapt",
    ),
    "QuestionnaireResponse": (f"{DTR}/StructureDefinition/dtr-questionnaireresponse",),
    "ExplanationOfBenefit": (f"{PDEX}/StructureDefinition/pdex-priorauthorization",),
    "Group": (f"{PDEX}/StructureDefinition/pdex-provider-group",),
}  # fmt: skip
SEARCH_PARAMS = {"url": "uri", "version": "token"}
"""The canonical search every readable conformance resource takes (DTR §Retrieval)."""
TYPE_SEARCH_PARAMS = {
    "ExplanationOfBenefit": {
        "patient": "reference",
        "_id": "token",
        "identifier": "token",
        "_lastUpdated": "date",
    },
}
"""Resource types searched by other parameters (Patient Access, docs/access.md)."""
SMART = "http://terminology.hl7.org/CodeSystem/restful-security-service"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
FHIR_PREFIX = "/fhir/"
_ANY = re.compile(r"^<any\((?P<choices>[^)]*)\):\w+>$")
_VARIABLE = re.compile(r"^<[^>]+>$")
_INTERACTIONS = {
    (False, "GET"): "search-type",
    (False, "POST"): "create",
    (True, "GET"): "read",
    (True, "PUT"): "update",
    (True, "DELETE"): "delete",
}


@dataclass(frozen=True, slots=True)
class Capability:
    """One thing a route offers: an interaction or operation, on a type or the system."""

    resource_type: str | None
    interaction: str | None = None
    operation: str | None = None


def capabilities(url_map: Map) -> list[Capability]:
    """Every interaction and operation the ``/fhir`` routes of ``url_map`` serve."""
    found: set[Capability] = set()
    for rule in url_map.iter_rules():
        if not rule.rule.startswith(FHIR_PREFIX):
            continue
        parts = rule.rule[len(FHIR_PREFIX) :].split("/")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.update(_capabilities(parts, method))
    return sorted(
        found, key=lambda c: (c.resource_type or "", c.interaction or "", c.operation or "")
    )


def _capabilities(parts: list[str], method: str) -> Iterator[Capability]:
    if parts[0].startswith("$"):
        yield Capability(None, operation=parts[0][1:])
        return
    types = _types(parts[0])
    if not types:  # metadata, .well-known: not resource interactions
        return
    rest = parts[1:]
    for rtype in types:
        if rest and rest[-1].startswith("$"):
            yield Capability(rtype, operation=rest[-1][1:])
            continue
        interaction = _INTERACTIONS.get((bool(rest) and bool(_VARIABLE.match(rest[0])), method))
        if interaction is not None and len(rest) <= 1:
            yield Capability(rtype, interaction=interaction)


def _types(segment: str) -> list[str]:
    choice = _ANY.match(segment)
    if choice:
        return [c.strip().strip("'\"") for c in choice["choices"].split(",")]
    return [segment] if re.fullmatch(r"[A-Z][A-Za-z]+", segment) else []


def capability_statement(url_map: Map, base: str, *, token_url: str) -> dict[str, Any]:
    """The CapabilityStatement for the routes of ``url_map``, served at ``base``.

    Raises:
        ConfigurationError: a route serves an operation with no known definition.
    """
    offered = capabilities(url_map)
    by_type: dict[str, list[Capability]] = defaultdict(list)
    for capability in offered:
        if capability.resource_type is not None:
            by_type[capability.resource_type].append(capability)
    rest: dict[str, Any] = {
        "mode": "server",
        "documentation": "Da Vinci PAS and DTR payer endpoints; CRD is served as CDS Hooks.",
        "security": _security(base, token_url),
        "resource": [_resource(rtype, caps) for rtype, caps in sorted(by_type.items())],
    }
    system = [c for c in offered if c.resource_type is None and c.operation]
    if system:
        rest["operation"] = list(_operations(system))
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-01",
        "publisher": "davinci-pa",
        "kind": "instance",
        "instantiates": list(INSTANTIATES),
        "software": {"name": "davinci-pa", "version": __version__},
        "implementation": {"description": "davinci-pa payer server", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [rest],
    }


def _resource(rtype: str, caps: list[Capability]) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": rtype}
    if rtype in SUPPORTED_PROFILES:
        entry["supportedProfile"] = list(SUPPORTED_PROFILES[rtype])
    interactions = sorted({c.interaction for c in caps if c.interaction})
    if interactions:
        entry["interaction"] = [{"code": code} for code in interactions]
    if "search-type" in interactions:
        params = TYPE_SEARCH_PARAMS.get(rtype, SEARCH_PARAMS)
        entry["searchParam"] = [{"name": n, "type": t} for n, t in params.items()]
    operations = [c for c in caps if c.operation]
    if operations:
        entry["operation"] = list(_operations(operations))
    return entry


def _operations(caps: Iterable[Capability]) -> Iterator[dict[str, str]]:
    for name in sorted({c.operation for c in caps if c.operation}):
        definition = OPERATION_DEFINITIONS.get(name)
        if definition is None:
            raise ConfigurationError(f"route serves ${name}, which has no OperationDefinition")
        yield {"name": name, "definition": definition}


def _security(base: str, token_url: str) -> dict[str, Any]:
    return {
        "extension": [{"url": OAUTH_URIS, "extension": [{"url": "token", "valueUri": token_url}]}],
        "service": [{"coding": [{"system": SMART, "code": "SMART-on-FHIR"}]}],
        "description": (
            "SMART Backend Services (client credentials with a signed JWT assertion); "
            f"discovery at {base}/.well-known/smart-configuration"
        ),
    }
