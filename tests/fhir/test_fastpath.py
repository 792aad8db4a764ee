"""The compiled invariant subset answers exactly as fhirpathpy does.

Every invariant the validator meets while validating the IG packages' examples and the
kits' payloads is evaluated both ways, compiled (:mod:`davinci_pa.fhir.validation.fastpath`)
and by fhirpathpy, on the same value; any difference fails. Hand-written cases cover the
three-valued logic and the constructs the examples use little.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fhirpathpy.engine.nodes import ResourceNode

from davinci_pa.fhir.validation import invariants as inv
from davinci_pa.fhir.validation.fastpath import Unsupported, compile_invariant
from tests._shared import SHARED, shared_path
from tests.fhir.test_validation_examples import _examples, validator_for

PACKAGES = (
    "davinci_pas_2.2.1.tgz",
    "davinci_pas_2.0.1.tgz",
    "davinci-crd-2.0.1.tgz",
    "davinci_dtr_2.0.1.tgz",
)


CRD_DEVICEREQUEST = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/profile-devicerequest"
MINIMUM = {
    "davinci_pas_2.2.1.tgz": 1000,
    "davinci_pas_2.0.1.tgz": 200,
    "davinci-crd-2.0.1.tgz": 20,
    "davinci_dtr_2.0.1.tgz": 150,
}
"""Comparisons each package's corpus gives at least (so the check cannot silently vanish)."""


def _held(result: list[Any]) -> bool:
    return not (len(result) == 1 and result[0] is False)


def _corpus(package: str) -> Iterator[tuple[dict[str, Any], str | None]]:
    for _name, example, profile in _examples(package):
        yield example, profile
    if package == "davinci-crd-2.0.1.tgz":
        for name in (
            "coverage_info_system_action_covered.json",
            "coverage_info_system_action_conditional.json",
        ):
            action = json.loads((SHARED / "fixtures" / "crd" / "golden" / name).read_text("utf-8"))
            yield action["resource"], CRD_DEVICEREQUEST
    if package == "davinci_pas_2.2.1.tgz":
        for path in sorted((SHARED / "fixtures" / "pas" / "v2.2.1").glob("*payload.json")):
            data = json.loads(path.read_text("utf-8"))
            for bundle in data if isinstance(data, list) else [data]:
                yield bundle, None


@pytest.mark.parametrize("package", PACKAGES)
def test_compiled_invariants_agree_with_fhirpathpy(
    package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared_path("igs", package)
    validator = validator_for(package)
    evaluator = validator.invariants
    compared: dict[str, int] = {}
    differences: list[str] = []
    original = inv.InvariantEvaluator.holds

    def both(
        self: Any, constraint: Any, value: Any, type_path: str, resource: Any, **kw: Any
    ) -> Any:
        answer = original(self, constraint, value, type_path, resource, **kw)
        fast = self._fast_form(constraint.expression)
        slow = self._compile(constraint.expression)
        if fast is None or slow is None or inv._native(constraint.key, value) is not None:
            return answer
        try:
            quick = _held(fast(value, resource))
        except Unsupported:
            return answer
        tokens = (inv._resolver.set(kw.get("resolve")), inv._member.set(kw.get("member_of")))
        try:
            node = ResourceNode.create_node(value, type_path)  # type: ignore[no-untyped-call]
            reference = _held(slow(node, {"resource": resource, "rootResource": resource}))
        except Exception:  # noqa: BLE001 - fhirpathpy fails on some values; nothing to compare
            return answer
        finally:
            inv._resolver.reset(tokens[0])
            inv._member.reset(tokens[1])
        compared[constraint.key] = compared.get(constraint.key, 0) + 1
        if quick != reference:
            differences.append(f"{constraint.key} on {type_path}: {quick} vs {reference}")
        return answer

    monkeypatch.setattr(inv.InvariantEvaluator, "holds", both)
    for resource, profile in _corpus(package):
        validator.validate(resource, profile)
    assert evaluator is validator.invariants
    assert differences == []
    assert sum(compared.values()) > MINIMUM[package], compared


CASES = [
    ("a.exists() implies b.exists()", {"a": 1}, False),
    ("a.exists() implies b.exists()", {}, True),
    ("a = 'x' implies b.exists()", {}, True),  # empty implies anything: not false
    ("a and b", {"a": True}, True),  # true and empty: empty, not false
    ("a or b", {"a": False, "b": False}, False),
    ("a.exists() xor b.exists()", {"a": 1, "b": 2}, False),
    ("a.exists() xor b.exists()", {"b": 2}, True),
    ("a xor b", {"a": True}, True),  # true xor empty: empty, not false
    ("a.where(b = 1).count() = 2", {"a": [{"b": 1}, {"b": 1}, {"b": 2}]}, True),
    ("a.all(b.exists())", {"a": [{"b": 1}, {}]}, False),
    ("value.code = '1'", {"valueCodeableConcept": {"code": "1"}}, True),
    ("a in ('x' | 'y')", {"a": "z"}, False),
    ("a.length() = 10", {"a": "2026-01-01"}, True),
    ("(a.substring(0,1).toInteger() + 3) mod 2 = 0", {"a": "5x"}, True),
    ("a.first() is Patient", {"a": [{"resourceType": "Patient"}]}, True),
    ("a.select(b & c).isDistinct()", {"a": [{"b": "1", "c": "2"}, {"b": "1"}]}, True),
    ("a.exists().not()", {"a": 1}, False),
]


@pytest.mark.parametrize(("expression", "value", "held"), CASES)
def test_three_valued_logic_and_functions(expression: str, value: Any, held: bool) -> None:
    fast = compile_invariant(expression)
    assert _held(fast(value, value)) is held
    evaluator = inv.InvariantEvaluator()
    slow = evaluator._compile(expression)
    assert slow is not None
    node = ResourceNode.create_node(value, None)  # type: ignore[no-untyped-call]
    assert _held(slow(node, {"resource": value, "rootResource": value})) is held


@pytest.mark.parametrize(
    "expression", ["a.resolve().exists()", "a.memberOf('http://x').exists()", "a > @2020-01-01"]
)
def test_outside_the_subset_falls_back(expression: str) -> None:
    with pytest.raises(Unsupported):
        compile_invariant(expression)


def test_validation_issues_are_the_same_without_the_compiled_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The compiled path changes speed only: every kit payload gets the same issues when
    every invariant goes through fhirpathpy."""
    from davinci_pa.fhir.validation import Validator

    package = shared_path("igs", "davinci_pas_2.2.1.tgz")
    bundles = [bundle for bundle, _ in _corpus("davinci_pas_2.2.1.tgz") if "entry" in bundle]
    fast = Validator.from_packages([package])
    quick = [[str(i) for i in fast.validate(b)] for b in bundles]
    monkeypatch.setattr(inv.InvariantEvaluator, "_fast_form", lambda self, expression: None)
    slow = Validator.from_packages([package])
    assert [[str(i) for i in slow.validate(b)] for b in bundles] == quick
