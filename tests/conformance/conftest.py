"""Conformance tests: the kits' payloads and the IGs' server-side statements, by IG."""

from __future__ import annotations

from tests.pas.conftest import receiver as receiver  # the rest-hook receiver fixture
from tests.server.conftest import ehr_url as ehr_url  # the fake EHR and the CRD kit's keys
from tests.server.conftest import keys as keys
from tests.server.conftest import public_jwks as public_jwks
from tests.server.conftest import service as service
