"""Review fixtures: the tenants server plus workbench accounts, and a form-posting browser.

Accounts: ``nina`` (nurse), ``phil`` and ``petra`` (physicians), ``adam`` (admin), all with
the password :data:`PASSWORD`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.pas.conftest import Receiver
from tests.security.conftest import Tenants, claim_bundle
from tests.security.conftest import ehr_url as ehr_url
from tests.security.conftest import keys as keys
from tests.security.conftest import public_jwks as public_jwks
from tests.security.conftest import receiver as receiver
from tests.security.conftest import tenants as tenants
from tests.security.test_subscriptions import subscription

PASSWORD = "correct horse battery staple"
ACCOUNTS = {"nina": "nurse", "phil": "physician", "petra": "physician", "adam": "admin"}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def staff(tenants: Tenants) -> Tenants:
    """The tenants server with the workbench accounts added."""
    for name, role in ACCOUNTS.items():
        if tenants.payer.review.accounts.get(name) is None:
            tenants.payer.review.accounts.add(name, role, PASSWORD)
    return tenants


class Browser:
    """A workbench user: a cookie jar and the forms' CSRF tokens, over real HTTP."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.csrf = ""

    def login(self, username: str, password: str = PASSWORD) -> requests.Response:
        page = self.http.get(self.base + "/review/login", timeout=10)
        token = _TOKEN.search(page.text)
        assert token, page.text
        form = {"username": username, "password": password, "csrf_token": token.group(1)}
        answer = self.http.post(self.base + "/review/login", data=form, timeout=10)
        self.refresh(answer.text)
        return answer

    def get(self, path: str) -> requests.Response:
        answer = self.http.get(self.base + path, timeout=10)
        self.refresh(answer.text)
        return answer

    def post(self, path: str, form: dict[str, Any], *, csrf: bool = True) -> requests.Response:
        data = {"csrf_token": self.csrf, **form} if csrf else form
        answer = self.http.post(self.base + path, data=data, timeout=10)
        self.refresh(answer.text)
        return answer

    def refresh(self, page: str) -> None:
        found = _TOKEN.search(page)
        if found:
            self.csrf = found.group(1)


@pytest.fixture
def browser(staff: Tenants) -> Iterator[Browser]:
    user = Browser(staff.base)
    yield user
    user.http.close()


def pended(tenants: Tenants, trace: str, *, urgent: bool = False) -> str:
    """Submit a pended request from clinic A (standard review unless ``urgent``); its id."""
    bundle = claim_bundle(trace, urgent=urgent)
    answer = tenants.post("clinic-a", "/fhir/Claim/$submit", bundle)
    assert answer.status_code == 200, answer.text
    return tenants.authorization(trace, "clinic-a").pa_id


def subscribe(tenants: Tenants, receiver: Receiver) -> None:
    """Clinic A subscribes ``receiver`` to its decisions; wait for the handshake."""
    answer = tenants.post("clinic-a", "/fhir/Subscription", subscription(receiver.url))
    assert answer.status_code == 201, answer.text
    assert len(receiver.wait_for(1)) == 1
