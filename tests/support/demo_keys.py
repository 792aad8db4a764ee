"""The demo keys of ``examples/keys``: the EHR that signs hook calls and the SMART client."""

from __future__ import annotations

import json

from davinci_pa.cdshooks.jwt import sign_test_token
from tests._shared import REPO

KEYS = REPO / "examples" / "keys"


def demo_ehr_token(audience: str) -> str:
    """A fresh CDS Hooks JWT of the demo EHR for ``audience`` (the service's URL)."""
    signer = json.loads((KEYS / "demo-ehr.private.json").read_text())
    key = signer["key"]
    return sign_test_token(key, iss=signer["issuer"], aud=audience, kid=key["kid"], alg=key["alg"])
