"""Runtime errors name the library holding the failing expression, its locator and the define."""

from __future__ import annotations

import pytest

from davinci_pa.cql import CqlEngine, LibraryRepository
from davinci_pa.cql.compile import translate_sources
from davinci_pa.cql.translator_env import node_available
from davinci_pa.errors import CqlEvaluationError

CALLEE = """library Callee version '1'
define function Fail(x Integer):
  Message(x, true, 'E1', 'Error', 'callee failed')
"""
CALLER = """library Caller version '1'
include Callee version '1' called Callee
define Result: Callee.Fail(1)
"""


@pytest.mark.node
def test_an_error_inside_an_included_function_names_that_library() -> None:
    if not node_available():
        pytest.skip("Node.js 18+ and npm are needed to translate the test libraries")
    results = translate_sources({"callee": CALLEE, "caller": CALLER})
    repository = LibraryRepository()
    for result in results.values():
        assert result.ok, result.errors
        assert result.elm is not None
        repository.add(result.elm)
    with pytest.raises(CqlEvaluationError) as raised:
        CqlEngine(repository).evaluate("Caller", "1")
    message = raised.value.message
    assert message.startswith("library Callee, at 3:"), message
    assert "in define 'Result' of Caller version 1" in message
    assert raised.value.details["library"] == "Callee"
    assert raised.value.details["locator"].startswith("3:")
