"""``davinci-pa rules new TOPIC``: scaffold a topic that ``rules check`` accepts.

Writes ``<TOPIC>/topic.json``, a CQL library following the rule contract (compiled to ELM
when Node.js is available), a test case and a Questionnaire stub under the pack's
``questionnaires/`` folder (served by DTR from the pack), plus ``payers.json`` when the
pack has none. Every placeholder (code, policy, texts) is meant to be replaced.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from davinci_pa.errors import ConfigurationError

BASE = "http://davinci-pa.org/fhir"
VERSION = "0.1.0"


def scaffold(pack: Path, topic: str) -> list[Path]:
    """Write the new topic's files into ``pack``; return the paths written."""
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", topic):
        raise ConfigurationError(f"topic id {topic!r}: use lower-case words joined by dashes")
    folder = pack / topic
    if folder.exists():
        raise ConfigurationError(f"{folder} exists already; choose another topic id")
    library = "".join(part.capitalize() for part in topic.split("-")) + "Rule"
    form = f"{BASE}/Questionnaire/{topic}"
    files: dict[Path, str] = {
        folder / "topic.json": _json(_topic(topic, library, form)),
        folder / f"{library}.cql": _cql(library, form),
        folder / "tests" / "01-auth-needed.json": _json(_case(topic, form)),
        pack / "questionnaires" / topic / "questionnaire.json": _json(_form(topic, form)),
    }
    if not (pack / "payers.json").is_file():
        files[pack / "payers.json"] = _json(_payers())
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [*files, *_compile(folder / f"{library}.cql")]


def _compile(cql: Path) -> list[Path]:
    from davinci_pa.cql.compile import compile_paths
    from davinci_pa.cql.translator_env import NodeToolchainError

    try:
        return compile_paths([cql])
    except NodeToolchainError as error:
        print(f"not compiled ({error.message}); run `davinci-pa cql compile {cql}`")
        return []


def _json(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"


def _topic(topic: str, library: str, form: str) -> dict[str, Any]:
    return {
        "id": topic,
        "title": topic.replace("-", " ").capitalize(),
        "summary": "Replace with one line for clinicians.",
        "codes": [{"system": "hcpcs", "payers": ["*"], "codes": ["A9999"]}],
        "library": {"name": library, "version": VERSION},
        "decision": {
            "covered": "covered",
            "pa-needed": "auth-needed",
            "doc-needed": ["clinical"],
            "doc-purpose": ["withpa"],
            "reasons": [{"text": "Prior authorization is required; complete the form."}],
        },
        "questionnaires": [f"{form}|{VERSION}"],
        "instructions": "Replace with the instructions clinicians see.",
        "policies": [{"title": "Replace with the policy", "url": "https://payer.example.org/"}],
        "payers": ["*"],
    }


def _cql(library: str, form: str) -> str:
    return f"""library {library} version '{VERSION}'

using FHIR version '4.0.1'

include FHIRHelpers version '4.0.1' called FHIRHelpers

parameter device_request DeviceRequest
parameter service_request ServiceRequest

context Patient

define RULE_APPLIES:
  device_request is not null or service_request is not null

define PRIORAUTH_REQUIRED:
  true

define DOCUMENTATION_REQUIRED:
  true

define REASON:
  'Prior authorization is required; complete the form.'

define RESULT_QuestionnaireOrderUrl:
  '{form}|{VERSION}'
"""


def _case(topic: str, form: str) -> dict[str, Any]:
    order = {
        "resourceType": "DeviceRequest",
        "id": "order-1",
        "status": "draft",
        "intent": "order",
        "codeCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
                    "code": "A9999",
                }
            ]
        },
        "subject": {"reference": "Patient/p1"},
    }
    return {
        "description": "The scaffolded rule asks for prior authorization and its form",
        "payer": "example-payer",
        "now": "2026-01-15T12:00:00+00:00",
        "order": order,
        "records": [{"resourceType": "Patient", "id": "p1", "birthDate": "1950-01-01"}],
        "expect": {
            "topic": topic,
            "covered": "covered",
            "pa-needed": "auth-needed",
            "doc-needed": ["clinical"],
            "questionnaires": [f"{form}|{VERSION}"],
        },
    }


def _form(topic: str, form: str) -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire",
        "id": topic,
        "url": form,
        "version": VERSION,
        "name": topic.replace("-", "_"),
        "title": topic.replace("-", " ").capitalize() + " documentation",
        "status": "draft",
        "subjectType": ["Patient"],
        "item": [
            {
                "linkId": "1",
                "text": "Replace with the first question",
                "type": "string",
                "required": True,
            }
        ],
    }


def _payers() -> dict[str, Any]:
    return {
        "payers": [
            {
                "id": "example-payer",
                "name": "Example Health Plan",
                "identifiers": [
                    {"system": "http://hl7.org/fhir/sid/us-npi", "value": "9990000009"}
                ],
                "names": ["Example Health Plan"],
            }
        ]
    }
