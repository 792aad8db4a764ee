"""The JWK Sets CDS Clients publish (CDS Hooks 2.0.1 §Trusting CDS Clients).

A CDS Client signs its JWTs with a key from its JWK Set, shared out of band or served at a
URL (``jku`` or configured). Fetching lives in :mod:`davinci_pa.jose.jwks`, shared with
SMART Backend Services; this module keeps the names the CDS Hooks layer has always exported.
"""

from __future__ import annotations

from davinci_pa.jose.jwks import HttpJwksFetcher as RequestsJwksFetcher
from davinci_pa.jose.jwks import JwksFetcher, JwksUnavailable

__all__ = ["JwksFetcher", "JwksUnavailable", "RequestsJwksFetcher"]
