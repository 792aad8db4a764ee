"""Who may take which review action (docs/review.md §Roles).

* ``nurse``: approve (``A1``), pend for more information (``A4``), extend a standard review;
* ``physician``: every decision, including denial (``A3``) and partial approval (``A6``),
  and the outcome of appeals;
* ``admin``: manages accounts and decides nothing.

Adverse decisions on medical necessity are a physician's (42 CFR 422.566(d) for Medicare
Advantage); :attr:`ReviewPolicy.physician_for_adverse` turns that rule off for lines of
business where it does not bind. A SMART client registered with the ``reviewer`` role is the
payer's own utilization-management system: its process decides who reviewed, so it may take
every decision (``system`` role).
"""

from __future__ import annotations

from dataclasses import dataclass

from davinci_pa.errors import ForbiddenError
from davinci_pa.pas import vocabulary as v

NURSE, PHYSICIAN, ADMIN, SYSTEM = "nurse", "physician", "admin", "system"
ACCOUNT_ROLES = (NURSE, PHYSICIAN, ADMIN)
"""Roles a workbench account may hold (``davinci-pa reviewers add --role``)."""

DECISIONS = (v.APPROVED, v.DENIED, v.PENDED, v.MODIFIED)
"""The actions a reviewer may record on an item: approve, deny, pend, partially approve."""
ADVERSE = frozenset({v.DENIED, v.MODIFIED})


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    """Business rules of review.

    Args:
        physician_for_adverse: only a physician denies or partially approves.
        appeal_by_other_physician: an appeal is decided by a physician other than the
            one who denied the item.
    """

    physician_for_adverse: bool = True
    appeal_by_other_physician: bool = True


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a workbench reviewer (by username) or a reviewer client (by client id)."""

    name: str
    role: str

    @property
    def label(self) -> str:
        """How history and audit name the actor."""
        return f"{self.name} ({self.role})"


def allowed_actions(role: str, policy: ReviewPolicy) -> frozenset[str]:
    """The decisions ``role`` may record."""
    if role in (PHYSICIAN, SYSTEM):
        return frozenset(DECISIONS)
    if role == NURSE:
        return (
            frozenset(DECISIONS) - ADVERSE if policy.physician_for_adverse else frozenset(DECISIONS)
        )
    return frozenset()


def require_action(actor: Actor, action: str, sequence: int, policy: ReviewPolicy) -> None:
    """Raise ForbiddenError (403) unless ``actor`` may record ``action``."""
    if action not in allowed_actions(actor.role, policy):
        raise ForbiddenError(
            f"item {sequence}: a {actor.role} may not record "
            f"{v.ACTION_DISPLAY.get(action, action)!r} "
            f"({action}); see docs/review.md#roles"
        )


def require_extension(actor: Actor) -> None:
    """Raise ForbiddenError unless ``actor`` may extend a review (not an admin)."""
    if actor.role not in (NURSE, PHYSICIAN, SYSTEM):
        raise ForbiddenError(f"a {actor.role} may not extend a review")
