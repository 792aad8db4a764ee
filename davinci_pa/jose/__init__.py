"""JOSE pieces shared by CDS Hooks client JWTs and SMART Backend Services (RFC 7515/7517/7518).

:mod:`davinci_pa.jose.jwks` fetches JWK Sets published at URLs (TTL cache, size limit, no
redirects); :mod:`davinci_pa.jose.keys` picks the verification key a JWS header names from a
JWK Set, refusing keys that do not fit the algorithm.
"""

from __future__ import annotations

from davinci_pa.jose.jwks import HttpJwksFetcher, JwksFetcher, JwksUnavailable
from davinci_pa.jose.keys import PUBLIC_MEMBERS, find_public_key, public_key

__all__ = [
    "PUBLIC_MEMBERS",
    "HttpJwksFetcher",
    "JwksFetcher",
    "JwksUnavailable",
    "find_public_key",
    "public_key",
]
