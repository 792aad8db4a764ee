"""DTR errors: each renders as the OperationOutcome the DTR operations answer with.

DTR 2.2 ``oper-11`` (a bare OperationOutcome on failure), ``spec-130`` (4xx for bad source
data) and ``spec-147`` (HTTP 400 for an invalid QuestionnaireResponse).
"""

from __future__ import annotations

from collections.abc import Sequence

from davinci_pa.errors import RequestError, ResourceNotFound


class DtrRequestError(RequestError):
    """A DTR operation's input is unusable; ``details["problems"]`` names each defect."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message, details={"problems": list(problems)} if problems else None)


class UnknownDtrContext(ResourceNotFound):
    """The ``context`` (CRD coverage-assertion-id) or a referenced item is unknown here."""
