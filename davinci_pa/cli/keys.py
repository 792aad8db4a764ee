"""``davinci-pa keys init DIR``: key pairs and the matching trust files for a new deployment.

Writes, in ``DIR``:

- ``ehr-signing.private.json``: an EHR's ES384 signing key and its ``issuer``, for
  ``davinci-pa hook --keys DIR`` (or to hand to the EHR that will call us);
- ``trusted-issuers.json``: that issuer's public key, for ``DAVINCI_PA_TRUSTED_ISSUERS``;
- ``smart-client.private.json``: a SMART Backend Services client's ES384 key and
  ``client_id``;
- ``clients.json``: that client's public key and scopes, for ``DAVINCI_PA_CLIENTS``.

Private files are readable by their owner only. Existing files are kept unless ``--force``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from davinci_pa.errors import ConfigurationError

EHR_KEY = "ehr-signing.private.json"
CLIENT_KEY = "smart-client.private.json"
TRUSTED_ISSUERS = "trusted-issuers.json"
CLIENTS = "clients.json"
PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "kid", "alg", "use")


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``keys init``."""
    parser = commands.add_parser("keys", help="generate signing keys and trust files")
    sub = parser.add_subparsers(dest="keys_command", required=True, metavar="SUBCOMMAND")
    init = sub.add_parser("init", help="write EHR and SMART client key pairs and trust files")
    init.add_argument("dir", type=Path, help="folder to write (created if missing)")
    init.add_argument("--issuer", default="https://ehr.example.org", help="the EHR's iss")
    init.add_argument("--client-id", default="ehr-client", help="the SMART client id")
    init.add_argument(
        "--scope", default="system/*.read system/*.write", help="scopes the client may ask for"
    )
    init.add_argument("--force", action="store_true", help="overwrite existing files")
    init.set_defaults(handler=run_init)


def run_init(args: argparse.Namespace) -> int:
    """Generate both key pairs and write the four files."""
    folder: Path = args.dir
    names = (EHR_KEY, TRUSTED_ISSUERS, CLIENT_KEY, CLIENTS)
    existing = [n for n in names if (folder / n).exists()]
    if existing and not args.force:
        raise ConfigurationError(
            f"{folder} already holds {', '.join(existing)}; pass --force to replace them"
        )
    folder.mkdir(parents=True, exist_ok=True)
    ehr, client = new_key("ehr"), new_key("client")
    _write(folder / EHR_KEY, {"issuer": args.issuer, "key": ehr}, private=True)
    _write(folder / TRUSTED_ISSUERS, {args.issuer: {"jwks": {"keys": [public(ehr)]}}})
    _write(folder / CLIENT_KEY, {"client_id": args.client_id, "key": client}, private=True)
    _write(
        folder / CLIENTS,
        {args.client_id: {"jwks": {"keys": [public(client)]}, "scope": args.scope}},
    )
    for name in names:
        print(folder / name)
    print(
        f"\nexport DAVINCI_PA_TRUSTED_ISSUERS={folder / TRUSTED_ISSUERS}\n"
        f"export DAVINCI_PA_CLIENTS={folder / CLIENTS}"
    )
    return 0


def new_key(role: str) -> dict[str, Any]:
    """A private ES384 JWK with a thumbprint ``kid``."""
    from davinci_pa.auth.keys import generate_signing_jwk, thumbprint

    jwk = generate_signing_jwk()
    jwk.update(kid=f"{role}-{thumbprint(jwk)[:16]}", alg="ES384", use="sig")
    return jwk


def public(jwk: dict[str, Any]) -> dict[str, Any]:
    """The public members of a JWK."""
    return {k: jwk[k] for k in PUBLIC_MEMBERS if k in jwk}


def _write(path: Path, data: Any, *, private: bool = False) -> None:
    text = json.dumps(data, indent=2) + "\n"
    if private:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        path.chmod(0o600)
    else:
        path.write_text(text, encoding="utf-8")
