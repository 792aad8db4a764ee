"""Discovery documents and CRD configuration options."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from davinci_pa.cdshooks.discovery import (
    ConfigurationOption,
    ServiceDefinition,
    discovery_document,
    parse_configuration,
)
from davinci_pa.errors import ConfigurationError
from tests._shared import load_shared_json


def _services() -> list[dict[str, Any]]:
    services: list[dict[str, Any]] = load_shared_json("specs", "crd-2.2", "CRDServices.json")[
        "services"
    ]
    return services


def test_crd_example_discovery_round_trips() -> None:
    services = _services()
    definitions = [ServiceDefinition.from_json(s) for s in services]
    assert discovery_document(definitions) == {"services": services}
    assert list(definitions[0].prefetch) == list(services[0]["prefetch"])  # order kept
    assert definitions[0].crd_versions == ("2.1", "2.2")
    assert definitions[0].configuration_options[-1] == ConfigurationOption(
        "max-cards",
        "integer",
        "Maximum cards",
        services[0]["extension"]["davinci-crd.configuration-options"][-1]["description"],
        10,
    )


def test_minimal_service_and_empty_discovery() -> None:
    service = ServiceDefinition("crd-order-sign", "order-sign", "Coverage requirements")
    assert discovery_document([service]) == {
        "services": [
            {"hook": "order-sign", "description": "Coverage requirements", "id": "crd-order-sign"}
        ]
    }
    assert discovery_document([]) == {"services": []}


def _order_sign() -> ServiceDefinition:
    return ServiceDefinition.from_json(next(s for s in _services() if s["hook"] == "order-sign"))


@pytest.mark.parametrize(
    ("configuration", "expected"),
    [
        (None, {}),
        ({"cost": False, "max-cards": 5}, {"cost": False, "max-cards": 5}),
        ({"cost": "false", "claim": "TRUE", "max-cards": "3"}, {"cost": False, "max-cards": 3}),
        ({"alt-drug": True, "dtr-clin": False}, {}),  # unknown options ignored (dev-17)
        ({"cost": 1, "max-cards": True}, {}),  # nonsensical values ignored (dev-6)
        ({"max-cards": -2, "guideline": None}, {}),
        ({"max-cards": 4.0}, {"max-cards": 4}),
        ({"max-cards": 4.5}, {}),
        ("cost=false", {}),
    ],
)
def test_parse_configuration(configuration: Any, expected: dict[str, Any]) -> None:
    service = _order_sign()
    defaults = {o.code: o.default for o in service.configuration_options}
    extension = {} if configuration is None else {"davinci-crd.configuration": configuration}
    assert parse_configuration(extension, service) == {**defaults, **expected}
    assert parse_configuration(extension, service.configuration_options) == {**defaults, **expected}


def test_inferno_request_configuration_is_applied() -> None:
    request = load_shared_json("fixtures", "crd", "inferno", "order_sign-2.json")
    values = parse_configuration(request["extension"], _order_sign())
    assert values["max-cards"] == request["extension"]["davinci-crd.configuration"]["max-cards"]
    assert "alt-drug" not in values


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(next(s for s in _services() if s["hook"] == "order-sign"))
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split("/")]
    target = data
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return data


OPTIONS = "extension/davinci-crd.configuration-options"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("id", "a/b", "URL path segment"),
        ("id", "", "URL path segment"),
        ("description", "", "hook and description are required"),
        ("prefetch", {"patient": 3}, "prefetch templates must be strings"),
        ("extension/davinci-crd.version", ["2"], "major.minor"),
        ("extension/davinci-crd.version", "2.2", "major.minor"),
        (OPTIONS, {"code": "x"}, "must be an array"),
        (f"{OPTIONS}/0/default", "yes", "default must be boolean"),
        (f"{OPTIONS}/12/default", 1.5, "default must be integer"),
        (f"{OPTIONS}/0/type", "string", "unknown type"),
        (f"{OPTIONS}/0/name", "", "name must be a non-empty string"),
        (f"{OPTIONS}/1/code", "coverage-info", "option codes must be unique"),
        (f"{OPTIONS}/1/description", "", "description must be a non-empty string"),
        (OPTIONS, [{"code": "x", "type": "boolean"}], "is incomplete"),
    ],
)
def test_invalid_definitions_are_configuration_errors(path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ServiceDefinition.from_json(_with(path, value))


def test_definition_is_immutable() -> None:
    service = _order_sign()
    with pytest.raises(TypeError):
        service.prefetch["x"] = "y"  # type: ignore[index]
