"""``davinci-pa serve --certfile --keyfile``: the service over HTTPS (CRD sec-2).

A self-signed certificate for 127.0.0.1 is made for the test; the development server and
gunicorn both answer discovery, a hook call and the FHIR metadata over TLS, and a plain
HTTP request to the same port gets no answer from the application.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests._shared import REPO


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(params=[0, 1], ids=["development-server", "gunicorn"])
def https_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    """The service on HTTPS; yields its base URL and the certificate to trust."""
    env = {**os.environ, "DAVINCI_PA_DATABASE_URL": f"sqlite:///{tmp_path / 'tls.sqlite3'}"}
    upgrade = [sys.executable, "-m", "davinci_pa", "db", "upgrade"]
    subprocess.run(upgrade, cwd=REPO, env=env, check=True, capture_output=True, timeout=60)
    cert, key = self_signed(tmp_path)
    port = _port()
    command = [
        *(sys.executable, "-m", "davinci_pa", "serve", "--port", str(port)),
        *("--workers", str(request.param), "--certfile", str(cert), "--keyfile", str(key)),
    ]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                requests.get(f"{base}/readyz", timeout=2, verify=str(cert))
                break
            except requests.RequestException:
                time.sleep(0.2)
        assert server.poll() is None, log.read_text()
        yield base, cert
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_crd_sec_2_hooks_and_fhir_are_served_over_tls(https_server: tuple[str, Path]) -> None:
    """CRD sec-2: CDS Hooks communication uses TLS: discovery and a hook call (refused
    without the EHR's JWT, but answered) over HTTPS with a verified certificate, as is the
    FHIR base; plain HTTP on the same port gets no application answer."""
    base, cert = https_server
    services = requests.get(f"{base}/cds-services", timeout=10, verify=str(cert))
    assert services.status_code == 200
    assert services.json()["services"]
    hook = requests.post(
        f"{base}/cds-services/order-sign-crd", json={}, timeout=10, verify=str(cert)
    )
    assert hook.status_code == 401
    assert hook.json()["error"]
    metadata = requests.get(f"{base}/fhir/metadata", timeout=10, verify=str(cert))
    assert metadata.json()["resourceType"] == "CapabilityStatement"
    plain = base.replace("https://", "http://")
    try:
        answer = requests.get(f"{plain}/cds-services", timeout=5)
    except requests.RequestException:
        return
    assert answer.status_code != 200
