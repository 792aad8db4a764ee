"""CQL System values: Code/Concept, Interval, Tuple, Decimal rules, equality and bounds.

Date/DateTime/Time (``temporal*``) and Quantity/Ratio (``quantity``) live beside them; the
engine registers those types with :mod:`davinci_pa.cql.values.equality` and
:mod:`davinci_pa.cql.values.bounds` when its operator families are imported.
"""

from __future__ import annotations
