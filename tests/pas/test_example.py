"""``examples/crd_dtr_pas.py`` in process: CRD → DTR → PAS with the library's request builder."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from tests._shared import REPO


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "crd_dtr_pas", REPO / "examples" / "crd_dtr_pas.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_step_links_to_the_previous_one() -> None:
    example = _example()
    hook = example._load("requests/order-sign-power-wheelchair.json")
    with example.in_process_app() as transport:
        order = example.crd(transport, transport.base, hook)
        assertion = example.coverage_information(order)["coverage-assertion-id"][0]
        token = example.access_token(transport, transport.base)
        coverage = hook["prefetch"]["coverage"]["entry"][0]["resource"]
        response = example.dtr(transport, token, order, coverage)
        assert response["resourceType"] == "QuestionnaireResponse"
        bundle = example.pas_bundle(hook, order, response)
        info = bundle["entry"][0]["resource"]["supportingInfo"][0]
        parts = {p["url"]: p for p in info["extension"][0]["extension"]}
        assert parts["controlNumber"]["valueString"] == assertion
        assert example.submit(transport, token, bundle) == ["A4"]  # power chair: reviewed


def test_script_runs_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert _example().main(["--in-process"]) == 0
    out = capsys.readouterr().out
    for step in ("1. CRD", "2. SMART", "3. DTR", "4. PAS", "item 1: A4"):
        assert step in out
