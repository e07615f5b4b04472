"""Where the keys are (issue #16 items 1-2, RS-2, PIN-2): a signing service on the
pkcs11 backend, its database read after use and its token's object list read by
another process, as an auditor would."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from remote_signing.client import SigningClient
from remote_signing.service.config import DEV_PORTAL_SECRET
from remote_signing.service.keystore import KdfParams, PinLayer
from remote_signing.testing import ServiceProcess, SmtpCapture
from tests.functional.remote_signing.conftest import TOKEN_LABEL, TOKEN_PIN, pkcs11_env
from tests.functional.remote_signing.rs_support import PIN, new_credential, otp

# PKCS#8 (RFC 5208) of an RSA key: AlgorithmIdentifier rsaEncryption, then the
# private key as an OCTET STRING (a public key has a BIT STRING there).
PKCS8_RSA = bytes.fromhex("06092a864886f70d01010105000482")

LIST_OBJECTS = """
import json, sys, pkcs11
from pkcs11 import Attribute as A, ObjectClass as OC
token = pkcs11.lib("/usr/lib/softhsm/libsofthsm2.so").get_token(token_label=sys.argv[1])
out = []
with token.open(user_pin=sys.argv[2]) as s:
    for cls in (OC.PRIVATE_KEY, OC.SECRET_KEY):
        for o in s.get_objects({A.CLASS: cls}):
            out.append({"class": cls.name, "label": o[A.LABEL], "token": o[A.TOKEN],
                        "sensitive": o[A.SENSITIVE], "extractable": o[A.EXTRACTABLE],
                        "never_extractable": o[A.NEVER_EXTRACTABLE]})
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def hsm_service(
    tmp_path_factory: pytest.TempPathFactory, rs_mail: SmtpCapture
) -> Iterator[tuple[ServiceProcess, dict[str, str]]]:
    env = pkcs11_env(tmp_path_factory.mktemp("custody-softhsm"))
    proc = ServiceProcess(
        tmp_path_factory.mktemp("custody-rs"), smtp_port=rs_mail.port, env=env
    ).start()
    yield proc, env
    proc.stop()


def _token_objects(env: dict[str, str]) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-c", LIST_OBJECTS, TOKEN_LABEL, TOKEN_PIN],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return list(json.loads(out))


def test_rs2_pin2_no_key_in_the_database_opens_without_the_token(
    hsm_service: tuple[ServiceProcess, dict[str, str]], rs_mail: SmtpCapture
) -> None:
    proc, env = hsm_service
    client = SigningClient(proc.url, "portal", DEV_PORTAL_SECRET, timeout=30)
    info, email = new_credential(client)
    digest = hashlib.sha256(b"keiyakusho").digest()
    auth = client.authorize(
        info.credential_id, [digest], pin=PIN, otp=otp(client, rs_mail, info, email)
    )
    [signature] = client.sign_hashes(auth)
    public = x509.load_der_x509_certificate(info.certificate).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    client.close()

    db = sqlite3.connect(proc.db_path)
    db_bytes = b"".join(
        p.read_bytes() for p in (proc.db_path, Path(f"{proc.db_path}-wal")) if p.exists()
    )
    assert PKCS8_RSA not in db_bytes
    # The CA, TSA and OCSP rows name a token object; they hold no key.
    refs = dict(db.execute("select name, wrapped_key from rs_service_key"))
    assert set(refs) == {"root", "issuing", "tsa", "ocsp"}
    assert all(ref.startswith(b"pkcs11:") and len(ref) < 64 for ref in refs.values())
    # A user's row: even the master key plus the right PIN open only the token's
    # wrapping of the key, which is no key without the token.
    master = base64.b64decode((proc.workdir / "master.key").read_text())
    blob, salt, params = db.execute(
        "select wrapped_key, kdf_salt, kdf_params from rs_credential where id = ?",
        (info.credential_id,),
    ).fetchone()
    kdf = KdfParams.loads(params)
    inner = PinLayer.open(PinLayer(master, kdf).kek(PIN, salt, kdf), blob, info.credential_id)
    with pytest.raises(ValueError):
        serialization.load_der_private_key(inner, password=None)
    (seal_blob,) = db.execute(
        "select wrapped_key from rs_credential where kind = 'seal'"
    ).fetchone()
    assert PKCS8_RSA not in seal_blob
    db.close()


def test_rs2_authority_and_seal_keys_are_in_the_token_and_never_extractable(
    hsm_service: tuple[ServiceProcess, dict[str, str]],
) -> None:
    proc, env = hsm_service
    client = SigningClient(proc.url, "portal", DEV_PORTAL_SECRET, timeout=30)
    new_credential(client)  # a user's key passes through the token
    client.close()
    objects = _token_objects(env)
    private = {o["label"] for o in objects if o["class"] == "PRIVATE_KEY"}
    assert {"rs-root", "rs-issuing", "rs-tsa", "rs-ocsp"} <= private
    # The bank seal is the fifth; users' keys never stay in the token.
    assert len(private) == 5 and any(str(label).startswith("rs-cred-") for label in private)
    assert {"rs-user-wrap"} == {o["label"] for o in objects if o["class"] == "SECRET_KEY"}
    for o in objects:
        assert o["token"] is True and o["sensitive"] is True, o
        assert o["extractable"] is False and o["never_extractable"] is True, o
