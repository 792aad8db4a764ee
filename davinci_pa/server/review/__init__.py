"""Reviewers' routes: the workbench pages (``/review/``) and the JSON API (docs/review.md)."""

from __future__ import annotations

from flask import Flask, render_template

from davinci_pa.errors import DavinciError
from davinci_pa.server.review import api, workbench
from davinci_pa.server.review.session import current_session


def install(app: Flask) -> None:
    """Register both blueprints."""
    app.register_blueprint(api.blueprint)
    app.register_blueprint(workbench.blueprint)


@workbench.blueprint.errorhandler(DavinciError)
def _error_page(error: DavinciError) -> tuple[str, int]:
    """Workbench errors as a page, not an OperationOutcome (nothing was changed)."""
    page = render_template(
        "review/error.html",
        error=error.message,
        status=error.http_status,
        session=current_session(),
    )
    return page, error.http_status
