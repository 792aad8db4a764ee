"""SMART system scopes: ``system/<Type|*>.<read|write>`` (v1) and ``.cruds`` subsets (v2).

SMART App Launch 2.x §Scopes and Launch Context. A request is described by the resource
type it touches and whether it reads or writes; v1 ``read`` covers v2 ``r`` and ``s``, v1
``write`` covers ``c``, ``u`` and ``d``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Access = Literal["read", "write"]

_SCOPE = re.compile(r"^system/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|c?r?u?d?s?)(\?.*)?$")
_V1 = {"read": frozenset("rs"), "write": frozenset("cud"), "*": frozenset("cruds")}
_NEEDS: dict[Access, frozenset[str]] = {"read": frozenset("rs"), "write": frozenset("cud")}


@dataclass(frozen=True, slots=True)
class Scope:
    """One parsed system scope: a resource type (or ``*``) and the permissions it grants."""

    resource_type: str
    permissions: frozenset[str]
    text: str

    @classmethod
    def parse(cls, text: str) -> Scope | None:
        """Parse a system scope; None for anything else (``openid``, patient scopes, typos)."""
        match = _SCOPE.match(text)
        if match is None or match.group(3):
            return None
        rtype, perms = match.group(1), match.group(2)
        granted = _V1.get(perms, frozenset(perms))
        return cls(rtype, granted, text) if granted else None

    def allows(self, resource_type: str, access: Access) -> bool:
        """Tell whether this scope permits ``access`` to ``resource_type``."""
        if self.resource_type not in {"*", resource_type}:
            return False
        return bool(self.permissions & _NEEDS[access])


def parse_scopes(text: str) -> list[Scope]:
    """Parse a space-separated scope string, keeping only well-formed system scopes."""
    return [s for s in (Scope.parse(part) for part in text.split()) if s is not None]


def grantable(requested: str, allowed: str) -> list[str]:
    """Return the requested scopes the allowed ones cover together, in request order."""
    limits = parse_scopes(allowed)
    granted = []
    for scope in parse_scopes(requested):
        matching = [s.permissions for s in limits if s.resource_type in {"*", scope.resource_type}]
        if scope.permissions <= frozenset().union(*matching) and scope.text not in granted:
            granted.append(scope.text)
    return granted


def permits(scopes: Iterable[str], resource_type: str, access: Access) -> bool:
    """Tell whether any of ``scopes`` allows ``access`` to ``resource_type``."""
    parsed = (Scope.parse(s) for s in scopes)
    return any(s is not None and s.allows(resource_type, access) for s in parsed)
