"""Who may act on a prior authorization (tenant isolation between submitting systems).

PAS leaves access control to the payer (PAS 2.2.1 §Security). Our rule, documented in
docs/pas.md §Who may act on an authorization:

* a client may act on (update, cancel, inquire about, be notified of) an authorization it
  submitted itself;
* or one whose requesting organization or provider carries an identifier the client's
  registration lists in ``organizations`` (a bare ``value`` matches that value in any
  system; ``system|value`` matches only that system);
* a client whose registration lists organizations may submit only for those organizations;
* a Subscription's ``orgIdentifier`` filter must name one of the client's organizations
  (a bare filter value matches a registered ``system|value`` of that value); a client
  that lists none may subscribe, and is notified only of its own submissions;
* the payer's own code (no submitter, ``None``) may act on everything.

The organizations come from a :class:`ClientDirectory` (the server's SMART client
registry, ``DAVINCI_PA_CLIENTS``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from davinci_pa.errors import ForbiddenError
from davinci_pa.store.pas_records import Authorization


class ClientDirectory(Protocol):
    """Where the provider identifiers a client may act for are registered."""

    def organizations(self, client_id: str) -> frozenset[str]:
        """The identifiers (``value`` or ``system|value``) the client acts for."""
        ...


class NoOrganizations:
    """A directory in which no client represents any organization (submitter-only access)."""

    def organizations(self, client_id: str) -> frozenset[str]:
        """No identifiers for anyone."""
        return frozenset()


@dataclass(frozen=True, slots=True)
class Submitter:
    """A calling system: its client id and the provider identifiers it may act for."""

    client_id: str
    organizations: frozenset[str] = frozenset()

    def represents(self, identifiers: Iterable[str]) -> bool:
        """Tell whether any ``system|value`` (or bare value) is one of our organizations."""
        for identifier in identifiers:
            value = identifier.rpartition("|")[2]
            if identifier in self.organizations or value in self.organizations:
                return True
        return False

    def may_subscribe_to(self, org: str) -> bool:
        """Tell whether a Subscription may filter on ``org`` (PAS ``orgIdentifier``).

        The filter carries a bare value (the sending organization's identifier), so it
        matches a registration of that value in any system; each notification is still
        checked with :meth:`may_act_on` before it is queued.
        """
        return self.represents([org]) or any(
            o.rpartition("|")[2] == org for o in self.organizations
        )

    def may_act_on(self, auth: Authorization) -> bool:
        """Tell whether this client submitted ``auth`` or represents its organization."""
        if auth.submitter == self.client_id:
            return True
        return self.represents(_parties(auth))


def lookup(directory: ClientDirectory, client_id: str | None) -> Submitter | None:
    """The :class:`Submitter` for a client id (``None`` stays the payer's own code)."""
    if client_id is None:
        return None
    return Submitter(client_id, directory.organizations(client_id))


def may_act_on(submitter: Submitter | None, auth: Authorization) -> bool:
    """The ownership rule, with ``None`` standing for the payer's own code."""
    return submitter is None or submitter.may_act_on(auth)


def require_submission_rights(submitter: Submitter | None, identifiers: Iterable[str]) -> None:
    """Refuse a submission for an organization the client is not registered for (403)."""
    if submitter is None or not submitter.organizations:
        return
    wanted = list(identifiers)
    if not submitter.represents(wanted):
        raise ForbiddenError(
            f"client {submitter.client_id!r} is not registered for the Claim's provider "
            "organization; add its identifier to the client's 'organizations'"
        )


def require_may_act_on(submitter: Submitter | None, auth: Authorization, what: str) -> None:
    """Raise ForbiddenError (403) unless the ownership rule lets ``submitter`` act on ``auth``."""
    if not may_act_on(submitter, auth):
        raise ForbiddenError(
            f"{what} refused: the prior authorization this Claim relates to was submitted "
            "by another system for an organization this client is not registered for"
        )


def _parties(auth: Authorization) -> list[str]:
    found = [p for p in auth.provider_ids.split(",") if p]
    if auth.sender_org:
        found.append(auth.sender_org)
    return found
