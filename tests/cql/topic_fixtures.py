"""Synthetic patient records and orders for the shipped rule libraries (differential tests).

For one ``cql_rules/<topic>`` folder, :func:`topic_scenarios` builds patient Bundles and order
parameters from what the topic itself declares: the order codes of ``topic.json``, the order
parameters of the compiled library, and every Retrieve in its ELM. Each retrieved type gets
resources coded from the retrieve's value set (or, unfiltered, from the topic's codes) in
several shapes: recent and old, dateTime and Period dates, active and resolved/refuted,
final and preliminary, Observation values on both sides of typical thresholds in several
units. Scenarios cross record variants with order-code picks, so a rule's defines see both
true and false branches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from davinci_pa.fhir.codes import normalize_system

Resource = dict[str, Any]
UCUM = "http://unitsofmeasure.org"
PATIENT_ID = "pat-1"
PATIENT_REF = {"reference": f"Patient/{PATIENT_ID}"}

ORDER_TYPES = {
    "device_request": "DeviceRequest",
    "service_request": "ServiceRequest",
    "medication_request": "MedicationRequest",
    "nutrition_order": "NutritionOrder",
    "appointment": "Appointment",
    "encounter": "Encounter",
}

# Observation value sets -> (UCUM unit, values from "abnormal" to "normal").
OBSERVATION_VALUES: dict[str, tuple[str, tuple[float, ...]]] = {
    "oxygen-saturation": ("%", (85, 88, 89, 95)),
    "arterial-po2": ("mm[Hg]", (50, 55, 58, 80)),
    "hematocrit": ("%", (58, 57.5, 45, 40)),
    "body-weight": ("kg", (290, 170, 95.5, 60)),
    "apnea-hypopnea-index": ("{events}/h", (32, 15, 7, 3)),
    "body-mass-index": ("kg/m2", (44.2, 40, 35, 24)),
    "hemoglobin-a1c": ("%", (9.1, 8, 7.2, 5.6)),
}


@dataclass(frozen=True)
class Scenario:
    """One evaluation: the patient's records, the order parameters and the clock."""

    name: str
    records: list[Resource]
    parameters: dict[str, Any]
    now: datetime

    def bundle(self) -> dict[str, Any]:
        """The records as a collection Bundle (the Patient first)."""
        return {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in self.records],
        }


@dataclass
class _Topic:
    folder: Path
    codes: list[tuple[str, str]]
    orders: list[str]
    retrieves: list[tuple[str, str | None]]
    valuesets: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    vs_urls: dict[str, str] = field(default_factory=dict)
    order_kinds: list[str] = field(default_factory=list)


def load_valuesets(folder: Path) -> dict[str, list[dict[str, str]]]:
    """ValueSet url -> expansion codes ``{"code", "system"}`` of a topic's ``valuesets/``."""
    out: dict[str, list[dict[str, str]]] = {}
    for path in sorted((folder / "valuesets").glob("*.json")):
        vs = json.loads(path.read_text(encoding="utf-8"))
        contains = vs.get("expansion", {}).get("contains", [])
        out[vs["url"]] = [{"code": c["code"], "system": c["system"]} for c in contains]
    return out


def library_elm(folder: Path) -> dict[str, Any]:
    """The compiled rule library of a topic (the ``.json`` beside the ``.cql``)."""
    (cql,) = folder.glob("*.cql")
    elm: dict[str, Any] = json.loads(cql.with_suffix(".json").read_text(encoding="utf-8"))
    return elm


def _retrieves(node: Any, found: list[tuple[str, str | None]]) -> None:
    if isinstance(node, dict):
        if node.get("type") == "Retrieve":
            codes = node.get("codes") or {}
            entry = (node["dataType"].split("}")[-1], codes.get("name"))
            if entry not in found:
                found.append(entry)
        for value in node.values():
            _retrieves(value, found)
    elif isinstance(node, list):
        for value in node:
            _retrieves(value, found)


def _topic(rule_folder: Path, library_folders: Sequence[Path] = ()) -> _Topic:
    """Codes from the rule topic; parameters, retrieves and value sets from the libraries.

    ``library_folders`` (default: the rule folder) hold the library under test first, then
    the libraries it includes (their retrieves count too).
    """
    meta = json.loads((rule_folder / "topic.json").read_text(encoding="utf-8"))
    codes = [
        (normalize_system(block["system"]), code)
        for block in meta["codes"]
        for code in block["codes"]
    ]
    folders = list(library_folders) or [rule_folder]
    libraries = [library_elm(folder)["library"] for folder in folders]
    params = [p["name"] for p in libraries[0].get("parameters", {}).get("def", [])]
    found: list[tuple[str, str | None]] = []
    for lib in libraries:
        _retrieves(lib.get("statements"), found)
    topic = _Topic(rule_folder, codes, [p for p in params if p in ORDER_TYPES], found)
    for folder in dict.fromkeys([rule_folder, *folders]):
        topic.valuesets |= load_valuesets(folder)
    topic.vs_urls = {
        d["name"]: d["id"] for lib in libraries for d in lib.get("valueSets", {}).get("def", [])
    }
    rule_params = library_elm(rule_folder)["library"].get("parameters", {}).get("def", [])
    topic.order_kinds = [p["name"] for p in rule_params if p["name"] in ORDER_TYPES]
    return topic


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}], "text": code}


def order(kind: str, system: str, code: str, variant: int, now: datetime) -> Resource:
    """An order of the given parameter kind carrying one code, shaped per resource type."""
    rtype = ORDER_TYPES[kind]
    base: Resource = {"resourceType": rtype, "id": f"order-{variant}", "subject": PATIENT_REF}
    concept = _concept(system, code)
    if rtype == "DeviceRequest":
        base |= {"status": "draft", "intent": "order", "codeCodeableConcept": concept}
        base["authoredOn"] = _iso(now)
    elif rtype == "ServiceRequest":
        base |= {"status": "draft", "intent": "order", "code": concept}
        if variant % 2:
            base["performer"] = [{"reference": "Organization/lab-1"}]
            base["occurrenceTiming"] = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}}
        else:
            base["quantityQuantity"] = {"value": variant + 1}
    elif rtype == "MedicationRequest":
        base |= {"status": "draft", "intent": "order", "medicationCodeableConcept": concept}
        days = {"value": 10 * (variant + 1), "unit": "days", "system": UCUM, "code": "d"}
        base["dispenseRequest"] = {
            "expectedSupplyDuration": days,
            "numberOfRepeatsAllowed": variant,
        }
    elif rtype == "NutritionOrder":
        base |= {"status": "draft", "intent": "order", "patient": PATIENT_REF}
        del base["subject"]
        base["encounter"] = {"reference": "Encounter/enc-0"}
        slot = variant % 3
        if slot == 0:
            base["oralDiet"] = {"type": [concept]}
        elif slot == 1:
            base["supplement"] = [{"type": concept}]
        else:
            base["enteralFormula"] = {"baseFormulaType": concept}
    elif rtype == "Appointment":
        base = {"resourceType": rtype, "id": base["id"], "status": "proposed"}
        base["serviceType"] = [concept]
        base["reasonCode"] = [_concept("http://hl7.org/fhir/sid/icd-10-cm", "G47.33")]
        base["participant"] = [{"actor": PATIENT_REF, "status": "accepted"}]
    else:  # Encounter
        base |= {"status": "planned", "class": {"code": "AMB"}, "type": [concept]}
    return base


def patient(age_years: int, now: datetime, state: str) -> Resource:
    """The patient, born ``age_years`` (and a few days) before ``now``."""
    born = (now - timedelta(days=365 * age_years + age_years // 4 + 3)).date().isoformat()
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "gender": "female",
        "birthDate": born,
        "address": [
            {"use": "old", "state": "tx"},
            {"use": "home", "line": ["1 Main St"], "city": "Springfield", "state": state},
        ],
    }


def _condition(rid: str, coding: dict[str, str], ago: datetime, variant: int) -> Resource:
    active = variant != 2
    res: Resource = {
        "resourceType": "Condition",
        "id": rid,
        "subject": PATIENT_REF,
        "code": {"coding": [coding]},
        "clinicalStatus": _concept(
            "http://terminology.hl7.org/CodeSystem/condition-clinical",
            "active" if active else "resolved",
        ),
        "verificationStatus": _concept(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            "refuted" if variant == 3 else "confirmed",
        ),
        "recordedDate": _iso(ago),
    }
    if variant == 1:
        res["onsetPeriod"] = {"start": _iso(ago)}
        del res["clinicalStatus"]
    else:
        res["onsetDateTime"] = ago.date().isoformat() if variant == 4 else _iso(ago)
    return res


def _procedure(rid: str, coding: dict[str, str], ago: datetime, variant: int) -> Resource:
    res: Resource = {
        "resourceType": "Procedure",
        "id": rid,
        "subject": PATIENT_REF,
        "status": "not-done" if variant == 3 else "completed",
        "code": {"coding": [coding]},
    }
    if variant == 1:
        res["performedPeriod"] = {"start": _iso(ago - timedelta(hours=2)), "end": _iso(ago)}
    else:
        res["performedDateTime"] = _iso(ago)
    return res


def _observation(
    rid: str, coding: dict[str, str], ago: datetime, variant: int, vs_name: str
) -> Resource:
    unit, values = OBSERVATION_VALUES.get(vs_name, ("1", (1.0, 2.0, 3.0, 4.0)))
    value: float = values[variant % len(values)]
    if unit == "kg" and variant % 2:
        unit, value = "[lb_av]", round(value * 2.20462, 1)
    res: Resource = {
        "resourceType": "Observation",
        "id": rid,
        "subject": PATIENT_REF,
        "status": "preliminary" if variant == 3 else "final",
        "code": {"coding": [coding]},
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    if variant == 1:
        res["effectivePeriod"] = {"start": _iso(ago - timedelta(hours=8)), "end": _iso(ago)}
    elif variant == 2:
        res["issued"] = _iso(ago)
    else:
        res["effectiveDateTime"] = _iso(ago)
    return res


def _encounter(rid: str, ago: datetime, variant: int) -> Resource:
    return {
        "resourceType": "Encounter",
        "id": rid,
        "subject": PATIENT_REF,
        "status": ("finished", "in-progress", "cancelled", "finished", "finished")[variant % 5],
        "class": {"code": ("AMB", "IMP", "ACUTE", "HH", "SS")[variant % 5]},
        "period": {"start": _iso(ago - timedelta(hours=1)), "end": _iso(ago)}
        if variant != 1
        else {"start": _iso(ago)},
    }


def _device_request(rid: str, coding: dict[str, str], ago: datetime, variant: int) -> Resource:
    return {
        "resourceType": "DeviceRequest",
        "id": rid,
        "subject": PATIENT_REF,
        "status": "revoked" if variant == 3 else "completed",
        "intent": "order",
        "codeCodeableConcept": {"coding": [coding]},
        "authoredOn": _iso(ago),
    }


def _other(
    rtype: str, rid: str, coding: dict[str, str], ago: datetime, shape: int, now: datetime
) -> Resource:
    """Orders on file, Coverage and Practitioner (the shapes DTR libraries read)."""
    if rtype == "DeviceRequest":
        return _device_request(rid, coding, ago, shape)
    if rtype == "Coverage":
        return {
            "resourceType": "Coverage",
            "id": rid,
            "status": "cancelled" if shape == 3 else "active",
            "subscriberId": f"M-{shape}{rid[-1]}",
            "beneficiary": PATIENT_REF,
            "payor": [{"reference": "Organization/payer-1"}],
        }
    if rtype == "Practitioner":
        return {
            "resourceType": "Practitioner",
            "id": f"dr-{rid[-1]}",
            "name": [{"family": f"Smith{shape}", "given": ["Ann", "B"]}],
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f"99900{shape}"}],
        }
    kind = next((k for k, t in ORDER_TYPES.items() if t == rtype), None)
    if kind is None:
        return {"resourceType": rtype, "id": rid, "subject": PATIENT_REF}
    res = order(kind, coding["system"], coding["code"], shape, now)
    res["id"] = rid
    res["status"] = "revoked" if shape == 3 else "active"
    res["authoredOn"] = _iso(ago)
    res["requester"] = {"reference": f"Practitioner/dr-{rid[-1]}"}
    return res


def _codings(topic: _Topic, vs_name: str | None) -> list[dict[str, str]]:
    if vs_name is not None:
        return topic.valuesets.get(topic.vs_urls.get(vs_name, ""), [])
    return [{"system": s, "code": c} for s, c in topic.codes]


def records_for(
    topic: _Topic, variant: int, days_ago: list[int], now: datetime
) -> Iterator[Resource]:
    """Resources for every Retrieve of the library, one per (code pick, age in days)."""
    for index, (rtype, vs_name) in enumerate(topic.retrieves):
        if rtype == "Patient":
            continue
        codings = _codings(topic, vs_name)
        for n, days in enumerate(days_ago):
            coding = codings[(variant + n) % len(codings)] if codings else {"code": "x"}
            ago = now - timedelta(days=days, hours=n)
            rid = f"{rtype.lower()}-{index}-{n}"
            shape = (variant + n) % 5
            if rtype == "Condition":
                yield _condition(rid, coding, ago, shape)
            elif rtype == "Procedure":
                yield _procedure(rid, coding, ago, shape)
            elif rtype == "Observation":
                yield _observation(rid, coding, ago, shape, _vs_key(topic, vs_name))
            elif rtype == "Encounter":
                yield _encounter(f"enc-{n}", ago, shape)
            else:
                yield _other(rtype, rid, coding, ago, shape, now)


def _vs_key(topic: _Topic, vs_name: str | None) -> str:
    return topic.vs_urls.get(vs_name or "", "").rsplit("/", 1)[-1]


# (name, patient age, state, record variant, days ago of the generated records)
RECORD_VARIANTS: list[tuple[str, int, str, int, list[int]]] = [
    ("no-record", 70, "CA", 0, []),
    ("recent", 67, "TX", 0, [3, 12, 25]),
    ("mixed-dates", 52, "oh", 1, [5, 45, 100, 200, 500]),
    ("stale-or-inactive", 38, "NY", 2, [120, 400, 800]),
    ("child", 4, "FL", 3, [2, 20, 60]),
    ("teen", 16, "IL", 4, [1, 30, 89, 91]),
]


def topic_scenarios(
    folder: Path, now: datetime, library_folders: Sequence[Path] = ()
) -> list[Scenario]:
    """Scenarios for one topic: record variants crossed with three order-code picks.

    The order goes in as a parameter when the library declares one (rule libraries), else
    into the record (DTR prepopulation libraries retrieve it).
    """
    topic = _topic(folder, library_folders)
    picks = sorted({0, len(topic.codes) // 2, len(topic.codes) - 1})
    scenarios = []
    for name, age, state, variant, days in RECORD_VARIANTS:
        records = [patient(age, now, state), *records_for(topic, variant, days, now)]
        for pick in picks:
            system, code = topic.codes[pick]
            kinds = topic.order_kinds[pick % len(topic.order_kinds) :][:1]
            orders = {kind: order(kind, system, code, pick, now) for kind in kinds}
            if topic.orders:
                params = {k: v for k, v in orders.items() if k in topic.orders}
                scenarios.append(Scenario(f"{name}/{code}", records, params, now))
            else:
                on_file = [*records, *orders.values()]
                scenarios.append(Scenario(f"{name}/{code}", on_file, {}, now))
    unrelated = {k: order(k, "http://example.org/codes", "NOPE", 0, now) for k in topic.orders}
    scenarios.append(Scenario("unrelated-order", [patient(40, now, "CA")], unrelated, now))
    scenarios.append(Scenario("no-order", [patient(40, now, "CA")], {}, now))
    return scenarios
