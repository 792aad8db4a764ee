"""A thin, cached wrapper over ``fhirpathpy`` with ``resolve()`` and ``memberOf()`` hooks.

FHIRPath (http://hl7.org/fhirpath/N1) leaves ``resolve()`` (FHIR R4 §2.6.2 FHIRPath
functions) and ``memberOf()`` to the host: here the caller supplies them as plain Python
callables. Expressions are parsed once and cached; evaluation uses the R4 model so choice
elements (``medication`` → ``medicationReference``) and ``ofType()`` work on plain JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from antlr4 import CommonTokenStream, InputStream, Token  # type: ignore[import-untyped]
from antlr4.error.ErrorListener import ErrorListener  # type: ignore[import-untyped]
from antlr4.tree.Tree import ParseTreeWalker  # type: ignore[import-untyped]
from fhirpathpy import apply_parsed_path
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models
from fhirpathpy.parser.ASTPathListener import ASTPathListener
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from davinci_pa.errors import FhirError
from davinci_pa.types import Resource

Resolver = Callable[[str], Resource | None]
"""Maps a reference string (``Patient/1``, an absolute URL, ``#c1``, ``urn:uuid:...``)."""

MemberOf = Callable[[Any, str], bool | None]
"""Tells whether a code/Coding/CodeableConcept is in the ValueSet with that canonical."""

_R4_MODEL = models["r4"]
_APPLY: Any = apply_parsed_path  # fhirpathpy is untyped
_AST_BUILDER: Any = ASTPathListener
_NODE: Any = ResourceNode.create_node


class FhirPathError(FhirError):
    """A FHIRPath expression could not be parsed or evaluated."""

    code = "fhirpath-error"


class _RaisingListener(ErrorListener):  # type: ignore[misc]
    """Turns ANTLR's silent error recovery into an exception."""

    def syntaxError(  # noqa: N802 - ANTLR's name
        self, recognizer: Any, offending: Any, line: int, column: int, msg: str, e: Any
    ) -> None:
        raise FhirPathError(f"column {column}: {msg}")


@lru_cache(maxsize=2048)
def compile_expression(expression: str) -> Any:
    """Parse ``expression`` strictly, once (cached); returns fhirpathpy's AST.

    fhirpathpy's own parser recovers from syntax errors silently; this one refuses them.

    Raises:
        FhirPathError: it is not valid FHIRPath.
    """
    listener = _RaisingListener()
    lexer: Any = FHIRPathLexer(InputStream(expression))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    parser: Any = FHIRPathParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    try:
        tree = parser.expression()
        if parser.getCurrentToken().type != Token.EOF:
            raise FhirPathError("unexpected text after the expression")
    except FhirPathError as exc:
        raise FhirPathError(f"invalid FHIRPath {expression!r}: {exc.message}") from exc
    builder = _AST_BUILDER()
    ParseTreeWalker().walk(builder, tree)
    return builder.parentStack[0]


def evaluate(
    resource: Any,
    expression: str,
    *,
    variables: Mapping[str, Any] | None = None,
    resolver: Resolver | None = None,
    member_of: MemberOf | None = None,
) -> list[Any]:
    """Evaluate ``expression`` on ``resource`` and return the result collection as JSON values.

    Args:
        resource: the focus (a resource or any JSON object).
        expression: FHIRPath text.
        variables: environment variables, available as ``%name``.
        resolver: implements ``resolve()``; without one ``resolve()`` yields nothing.
        member_of: implements ``memberOf(url)``; without one it yields nothing.

    Raises:
        FhirPathError: the expression is invalid or fails at run time.
    """
    parsed = compile_expression(expression)
    options = {"userInvocationTable": _functions(resolver, member_of)}
    try:
        result = _APPLY(resource, parsed, dict(variables or {}), _R4_MODEL, options)
    except Exception as exc:  # fhirpathpy signals run-time errors with plain Exception
        raise FhirPathError(f"evaluating FHIRPath {expression!r} failed: {exc}") from exc
    return list(result)


def _functions(resolver: Resolver | None, member_of: MemberOf | None) -> dict[str, Any]:
    def resolve(inputs: list[Any]) -> list[Any]:
        found: list[Any] = []
        for item in inputs:
            reference = _reference_text(item)
            target = resolver(reference) if resolver and reference else None
            if isinstance(target, Mapping) and isinstance(target.get("resourceType"), str):
                # typed node, so ofType()/is work on the resolved resource
                found.append(_NODE(target, target["resourceType"]))
        return found

    def is_member(inputs: list[Any], url: str) -> list[bool]:
        if member_of is None or len(inputs) != 1:
            return []
        answer = member_of(inputs[0], url)
        return [] if answer is None else [answer]

    return {
        "resolve": {"fn": resolve, "arity": {0: []}},
        "memberOf": {"fn": is_member, "arity": {1: ["String"]}},
    }


def _reference_text(item: Any) -> str | None:
    """The reference carried by a Reference element, or a uri/canonical string itself."""
    if isinstance(item, Mapping):
        value = item.get("reference")
        return value if isinstance(value, str) and value else None
    return item if isinstance(item, str) and item else None
