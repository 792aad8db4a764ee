"""The CQL layer: run ELM (compiled by the official translator) in a pure-Python engine.

Typical use::

    repo = LibraryRepository.from_directories([Path("cql_rules/elm")])
    engine = CqlEngine(repo, terminology=LocalTerminology.from_directory(Path("valuesets")))
    result = engine.evaluate("HomeOxygenRule", data=BundleDataProvider(bundle),
                             parameters={"device_request": device_request})
    encode_result(result)   # JSON-ready
"""

from __future__ import annotations

from davinci_pa.cql.encode import encode_result, encode_value
from davinci_pa.cql.engine import CqlEngine
from davinci_pa.cql.library import CompiledLibrary, DefineError, LibraryRepository
from davinci_pa.cql.retrieve import BundleDataProvider, DataProvider
from davinci_pa.cql.terminology import LocalTerminology, TerminologyProvider

__all__ = [
    "BundleDataProvider",
    "CompiledLibrary",
    "CqlEngine",
    "DataProvider",
    "DefineError",
    "LibraryRepository",
    "LocalTerminology",
    "TerminologyProvider",
    "encode_result",
    "encode_value",
]
