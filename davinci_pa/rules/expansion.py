"""A ValueSet's expansion as of a given moment (DTR 2.2 ``oper-5``, ``oper-15``).

DTR wants the value sets it sends expanded as of the current date with only active codes.
A compose that enumerates its concepts expands to the same codes on every date, so its
expansion is derived again from the compose and stamped with the moment asked for; so is a
value set defined by its list alone (an expansion and no compose, as the rule packs author
them). An expansion imported from a terminology server behind a compose with filters or
included value sets cannot be recomputed offline and keeps its own timestamp. Either way
codes marked ``inactive`` are left out and ``total`` counts what is sent.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from davinci_pa.rules.valueset_import import enumerated_codes


def expansion_as_of(valueset: dict[str, Any], moment: datetime) -> dict[str, Any]:
    """A copy of ``valueset`` whose expansion holds its active codes as of ``moment``."""
    copied = copy.deepcopy(valueset)
    stored = copied.get("expansion")
    codes = enumerated_codes(copied)
    if codes is None and "compose" not in copied and isinstance(stored, dict):
        codes = [dict(c) for c in stored.get("contains") or []]
    if codes is not None:
        inactive = {
            (c.get("system"), c.get("code"))
            for c in (stored or {}).get("contains") or []
            if c.get("inactive") is True
        }
        contains = [
            {k: v for k, v in c.items() if k != "inactive"}
            for c in codes
            if (c.get("system"), c.get("code")) not in inactive
        ]
        timestamp = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
        copied["expansion"] = {"timestamp": timestamp, "total": len(contains), "contains": contains}
    elif isinstance(stored, dict):
        contains = [c for c in stored.get("contains") or [] if c.get("inactive") is not True]
        stored["contains"] = contains
        stored["total"] = len(contains)
    return copied
