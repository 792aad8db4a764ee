"""``davinci-pa hook FILE``: sign a CDS Hooks request as an EHR would, send it, show the answer.

The request is signed with an EHR key (``--keys DIR`` as ``davinci-pa keys init DIR`` wrote
it, ``--key FILE``, or in a source checkout the demo key of ``examples/keys``), sent to
``{url}/cds-services/{service}``, and the cards and coverage information are printed for a
person to read; ``--json`` prints the raw response instead.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import requests

from davinci_pa.cdshooks.jwt import sign_test_token
from davinci_pa.crd.coverage_info import COVERAGE_INFO_URL
from davinci_pa.errors import ConfigurationError
from davinci_pa.fhir.json import obj, objects

DEMO_KEY = Path(__file__).resolve().parents[2] / "examples" / "keys" / "demo-ehr.private.json"
EHR_KEY = "ehr-signing.private.json"


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``hook``."""
    parser = commands.add_parser(
        "hook", help="send a signed hook request", description=__doc__.splitlines()[0]
    )
    parser.add_argument("file", type=Path, help="CDS Hooks request JSON")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="service base URL")
    parser.add_argument("--service", help="service id (default: <hook>-crd)")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--keys", type=Path, help=f"folder from `keys init` (uses {EHR_KEY})")
    keys.add_argument("--key", type=Path, help="EHR signing key JSON")
    parser.add_argument("--json", action="store_true", help="print the raw JSON response")
    parser.add_argument(
        "--token", action="store_true", help="only print a signed JWT for the service (for curl)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Send the request and print the answer; exit 1 on an HTTP error."""
    body = _load_json(args.file, "request")
    service = args.service or f"{body.get('hook', 'order-sign')}-crd"
    url = f"{args.url.rstrip('/')}/cds-services/{service}"
    signer = _load_json(_key_file(args), "signing key")
    key = signer["key"]
    token = sign_test_token(key, iss=signer["issuer"], aud=url, kid=key["kid"], alg=key["alg"])
    if args.token:
        print(token)
        return 0
    try:
        response = requests.post(
            url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
    except requests.RequestException as exc:
        raise ConfigurationError(f"cannot reach {url}: {exc}") from exc
    answer = response.json() if response.content else {}
    if args.json or response.status_code != 200:
        print(json.dumps(answer, indent=2))
        return 0 if response.status_code == 200 else 1
    print(render(answer))
    return 0


def _key_file(args: argparse.Namespace) -> Path:
    if args.keys:
        return Path(args.keys) / EHR_KEY
    if args.key:
        return Path(args.key)
    if DEMO_KEY.is_file():
        return DEMO_KEY
    raise ConfigurationError(
        "no EHR signing key: pass --keys DIR (`davinci-pa keys init DIR` writes one) or --key FILE"
    )


def render(answer: dict[str, Any]) -> str:
    """Describe cards and coverage-information actions in plain text."""
    lines = [f"{len(objects(answer.get('cards')))} card(s)"]
    for card in objects(answer.get("cards")):
        lines.append(f"  [{card.get('indicator')}] {card.get('summary')}")
        lines.extend(f"      {row}" for row in str(card.get("detail", "")).splitlines() if row)
        lines.extend(
            f"      -> {link.get('label')}: {link.get('url')}"
            for link in objects(card.get("links"))
        )
        lines.extend(
            f"      suggestion: {s.get('label')}" for s in objects(card.get("suggestions"))
        )
    actions = objects(answer.get("systemActions"))
    lines.append(f"{len(actions)} system action(s)")
    for action in actions:
        resource = obj(action.get("resource"))
        lines.append(f"  {action.get('type')} {resource.get('resourceType')}/{resource.get('id')}")
        lines.extend(f"      {row}" for row in _coverage_rows(resource))
    return "\n".join(lines)


def _coverage_rows(resource: dict[str, Any]) -> list[str]:
    rows = []
    for ext in objects(resource.get("extension")):
        if ext.get("url") == COVERAGE_INFO_URL:
            parts = [(e.get("url"), _value(e)) for e in objects(ext.get("extension"))]
            rows.append(", ".join(f"{name}={value}" for name, value in parts if value))
    return rows


def _value(part: dict[str, Any]) -> str:
    for key, value in part.items():
        if key.startswith("value"):
            if isinstance(value, dict):
                return str(
                    value.get("reference") or value.get("text") or value.get("display") or ""
                )
            return str(value)
    return ""


def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read {what} {path}: {exc}") from exc
