"""RS-2, PIN-2: who may call the service, the bank seal, and the key store."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from remote_signing.service.config import DEV_PORTAL_SECRET
from remote_signing.service.keystore import KdfParams, SoftwareKeyStore, WrongSecret
from tests.unit.remote_signing.rs_helpers import CONSOLE, PIN, PORTAL, Api, basic

H1 = hashlib.sha256(b"seal me").digest()

CALLS = [
    "/csc/v2/credentials/list",
    "/csc/v2/credentials/info",
    "/csc/v2/credentials/sendOTP",
    "/csc/v2/credentials/authorize",
    "/csc/v2/signatures/signHash",
    "/csc/v2/signatures/authorizeSignHash",
    "/admin/v1/credentials/create",
    "/admin/v1/credentials/changePIN",
    "/admin/v1/credentials/lock",
    "/admin/v1/credentials/unlock",
    "/admin/v1/credentials/revoke",
]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("portal", "wrong-secret"),
        basic("someone", DEV_PORTAL_SECRET),
        {"Authorization": "Bearer wrong-secret"},
        {"Authorization": "Basic !!notbase64"},
    ],
    ids=["none", "wrong-secret", "wrong-id", "wrong-bearer", "garbage"],
)
def test_rs2_calls_without_the_portal_credential_are_refused(
    api: Api, headers: dict[str, str]
) -> None:
    cred = api.create()
    for path in CALLS:
        r = api.call(path, {"credentialID": cred, "userID": "u1"}, headers=headers)
        assert r.status_code == 401, path
        assert r.json["error"] == "unauthorized_client"
    # nothing changed: the credential is still active and usable
    assert api.call("/csc/v2/credentials/info", {"credentialID": cred}).json[
        "credentialStatus"
    ] == ("active")


def test_rs2_bearer_secret_is_accepted(api: Api) -> None:
    r = api.call(
        "/csc/v2/credentials/list", {}, headers={"Authorization": f"Bearer {DEV_PORTAL_SECRET}"}
    )
    assert r.status_code == 200


def test_rs2_bad_json_is_a_clear_400(api: Api) -> None:
    r = api.http.post("/csc/v2/credentials/authorize", data="nope", headers=PORTAL)
    assert r.status_code == 400 and r.json["error"] == "invalid_request"
    r = api.call(
        "/csc/v2/credentials/authorize", {"credentialID": "x", "hashes": ["%%"], "numSignatures": 1}
    )
    assert r.status_code in (400, 404)
    r = api.call("/csc/v2/credentials/info", {"credentialID": "cred-unknown"})
    assert r.status_code == 404 and r.json["error"] == "invalid_credential"


def test_rs2_seal_is_usable_only_by_the_console_client(api: Api) -> None:
    portal_ids = api.call("/csc/v2/credentials/list", {}).json["credentialIDs"]
    seal_ids = api.call("/csc/v2/credentials/list", {}, headers=CONSOLE).json["credentialIDs"]
    assert len(seal_ids) == 1 and seal_ids[0] not in portal_ids
    seal = seal_ids[0]
    assert api.call("/csc/v2/credentials/info", {"credentialID": seal}).status_code == 404
    assert api.authorize(seal, [H1]).status_code == 404

    console = Api(api.http, api.smtp, CONSOLE)
    r = console.authorize(seal, [H1], pin=None, otp=None)
    assert r.status_code == 200, r.json
    assert console.sign(seal, r.json["SAD"], [H1]).status_code == 200
    # the console client cannot touch customer credentials
    user_cred = api.create()
    assert console.authorize(user_cred, [H1], otp="123456").status_code == 404


def test_rs2_seal_absent_when_flag_off(rs_config: dict[str, Any], tmp_path: Path) -> None:
    from remote_signing.service import create_app

    cfg = {
        **rs_config,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'noseal.db'}",
        "SEAL_ENABLED": False,
    }
    app = create_app(cfg)
    r = app.test_client().post("/csc/v2/credentials/list", json={}, headers=CONSOLE)
    assert r.json["credentialIDs"] == []
    app.extensions["rs_engine"].dispose()


FAST = KdfParams(time_cost=1, memory_kib=8192, parallelism=1)


def test_pin2_neither_the_master_key_nor_the_pin_alone_unwraps_a_key() -> None:
    master = os.urandom(32)
    store = SoftwareKeyStore(master, FAST)
    wrapped, _ = store.generate("Kaiyaku2026!", label="cred-1", key_size=2048)
    handle = store.unlock(wrapped, "Kaiyaku2026!", label="cred-1")
    assert store.sign(wrapped, handle, [H1], "sha256", label="cred-1")
    with pytest.raises(WrongSecret):  # master key, wrong PIN
        store.unlock(wrapped, "Kaiyaku2026?", label="cred-1")
    with pytest.raises(WrongSecret):  # right PIN, another master key (e.g. a DB dump elsewhere)
        SoftwareKeyStore(os.urandom(32), FAST).unlock(wrapped, "Kaiyaku2026!", label="cred-1")
    with pytest.raises(WrongSecret):  # a wrapped key copied onto another credential
        store.unlock(wrapped, "Kaiyaku2026!", label="cred-2")
    assert b"PRIVATE KEY" not in wrapped.blob and b"Kaiyaku2026!" not in wrapped.blob


def _all_bytes(paths: list[Path]) -> bytes:
    return b"".join(p.read_bytes() for p in paths if p.exists())


def test_pin2_no_pin_or_code_in_the_service_database_or_log(
    api: Api, rs_app: Flask, rs_config: dict[str, Any]
) -> None:
    new_pin = "Shinki2027#"
    cred = api.create(pin=PIN)
    codes = []
    for _ in range(2):
        otp = api.send_otp(cred)
        codes.append(otp)
        sad = api.authorize(cred, [H1], otp=otp).json["SAD"]
        api.sign(cred, sad, [H1])
    api.authorize(cred, [H1], pin="WrongPin99!", otp="999999")
    api.admin("changePIN", cred, oldPIN=PIN, newPIN=new_pin)
    rs_app.extensions["rs_engine"].dispose()
    db = Path(rs_config["DATABASE_URL"].removeprefix("sqlite:///"))
    blob = _all_bytes([db, db.with_name(db.name + "-wal"), Path(rs_config["LOG_FILE"])])
    assert blob, "nothing to search"
    for secret in [PIN, new_pin, "WrongPin99!", sad]:
        for encoding in ("utf-8", "utf-16-le"):
            assert secret.encode(encoding) not in blob, secret
        assert base64.b64encode(secret.encode()) not in blob
    for code in codes:  # a code standing alone, not as part of a longer number
        assert not re.search(rb"(?<![0-9])" + code.encode() + rb"(?![0-9])", blob), code
