"""RS-1, PIN-2, PIN-5: the adapter's typed errors over real HTTP, an unreachable
service, mail delivery failure, and no secret in the service's files."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest

from remote_signing.client import (
    ClientNotAuthorized,
    CredentialLocked,
    CredentialNotFound,
    OtpDeliveryFailed,
    OtpInvalid,
    PinInvalid,
    PinPolicyViolation,
    SadInvalid,
    ServiceUnavailable,
    SigningClient,
)
from remote_signing.service.config import DEV_PORTAL_SECRET
from remote_signing.testing import ServiceProcess, SmtpCapture, free_port
from tests.functional.remote_signing.rs_support import PIN, new_credential, otp

H1 = hashlib.sha256(b"one").digest()
H2 = hashlib.sha256(b"two").digest()


def test_rs1_typed_errors_over_http(rs_client: SigningClient, rs_mail: SmtpCapture) -> None:
    info, email = new_credential(rs_client)
    cid = info.credential_id
    with pytest.raises(OtpInvalid):
        rs_client.authorize(cid, [H1], pin=PIN, otp="000000")
    code = otp(rs_client, rs_mail, info, email)
    with pytest.raises(PinInvalid):
        rs_client.authorize(cid, [H1], pin="WrongPin99!", otp=code)
    auth = rs_client.authorize(cid, [H1], pin=PIN, otp=code)
    with pytest.raises(SadInvalid):
        rs_client.sign_hashes(auth, [H2])
    with pytest.raises(SadInvalid):
        rs_client.sign_hashes(auth)  # used up by the refused attempt
    with pytest.raises(OtpInvalid):
        rs_client.authorize(cid, [H1], pin=PIN, otp=code)  # code reuse
    with pytest.raises(CredentialNotFound):
        rs_client.credential_info("cred-does-not-exist")
    with pytest.raises(PinPolicyViolation) as policy:
        rs_client.create_credential(
            user_id="x",
            name="山田 太郎",
            email="x@example.jp",
            organization="株式会社テスト商事",
            pin="short",
        )
    assert "length" in policy.value.rules


def test_pin5_five_wrong_pins_lock_over_http(
    rs_client: SigningClient, rs_mail: SmtpCapture
) -> None:
    info, email = new_credential(rs_client)
    code = otp(rs_client, rs_mail, info, email)
    for _ in range(4):
        with pytest.raises(PinInvalid):
            rs_client.authorize(info.credential_id, [H1], pin="WrongPin99!", otp=code)
    with pytest.raises(CredentialLocked):
        rs_client.authorize(info.credential_id, [H1], pin="WrongPin99!", otp=code)
    with pytest.raises(CredentialLocked):
        rs_client.authorize(info.credential_id, [H1], pin=PIN, otp=code)
    assert rs_client.credential_info(info.credential_id).status == "locked"
    assert rs_client.unlock(info.credential_id) == "active"
    auth = rs_client.authorize(
        info.credential_id, [H1], pin=PIN, otp=otp(rs_client, rs_mail, info, email)
    )
    assert len(rs_client.sign_hashes(auth)) == 1


def test_rs2_service_refuses_the_adapter_with_a_wrong_credential(
    rs_process: ServiceProcess,
) -> None:
    bad = SigningClient(rs_process.url, "portal", "not-the-secret")
    with pytest.raises(ClientNotAuthorized):
        bad.list_credentials()
    with pytest.raises(ClientNotAuthorized):
        bad.timestamp(b"\x30\x00")


def test_rs1_unreachable_service_is_service_unavailable_quickly() -> None:
    client = SigningClient(
        f"http://127.0.0.1:{free_port()}", "portal", DEV_PORTAL_SECRET, timeout=2, connect_timeout=1
    )
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        client.send_otp("cred-x")
    with pytest.raises(ServiceUnavailable):
        client.authorize("cred-x", [H1], pin=PIN, otp="123456")
    assert time.monotonic() - started < 5


def test_rs2_mail_server_down_gives_delivery_error_and_no_usable_code(tmp_path: Path) -> None:
    proc = ServiceProcess(tmp_path / "svc", smtp_port=free_port()).start()
    try:
        client = SigningClient(proc.url, "portal", DEV_PORTAL_SECRET)
        info, _ = new_credential(client)
        with pytest.raises(OtpDeliveryFailed):
            client.send_otp(info.credential_id)
        assert isinstance(OtpDeliveryFailed(), ServiceUnavailable)
        with pytest.raises(OtpInvalid):  # no code was left behind
            client.authorize(info.credential_id, [H1], pin=PIN, otp="000000")
    finally:
        proc.stop()


def test_pin2_no_pin_or_code_in_the_service_files(
    rs_client: SigningClient, rs_mail: SmtpCapture, rs_process: ServiceProcess
) -> None:
    pin = "Himitsu2026!"
    new_pin = "Kawaru2027#"
    info, email = new_credential(rs_client, pin=pin)
    codes = []
    for _ in range(2):
        code = otp(rs_client, rs_mail, info, email)
        codes.append(code)
        auth = rs_client.authorize(info.credential_id, [H1], pin=pin, otp=code)
        rs_client.sign_hashes(auth)
    with pytest.raises(PinInvalid):
        rs_client.authorize(info.credential_id, [H1], pin="WrongPin99!", otp="000000")
    rs_client.change_pin(info.credential_id, pin, new_pin)
    files = [
        rs_process.db_path,
        rs_process.db_path.with_name("signing.db-wal"),
        rs_process.log_path,
        rs_process.output_path,
    ]
    blob = b"".join(p.read_bytes() for p in files if p.exists())
    assert rs_process.db_path.exists() and rs_process.log_path.exists()
    for secret in (pin, new_pin, "WrongPin99!", auth.sad):
        assert secret.encode() not in blob, secret
        assert secret.encode("utf-16-le") not in blob, secret
    for code in codes:
        assert not re.search(rb"(?<![0-9])" + code.encode() + rb"(?![0-9])", blob), code


def test_rs1_authorize_sign_hash_checks_as_authorize_and_signs_exactly_the_hashes(
    rs_client: SigningClient, rs_mail: SmtpCapture
) -> None:
    """#11 item 5: authorize + signHash in one call (the service's authorizeSignHash
    extension) keeps authorize's rules: a wrong code or PIN is refused and counted,
    the code is used once, and only the sent hashes are signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    from cryptography.hazmat.primitives.hashes import SHA256

    assert "authorizeSignHash" in rs_client.extensions()
    info, email = new_credential(rs_client)
    cid = info.credential_id
    code = otp(rs_client, rs_mail, info, email)
    with pytest.raises(OtpInvalid) as wrong_code:
        rs_client.authorize_and_sign(cid, [H1], pin=PIN, otp="000000")
    assert wrong_code.value.detail.get("remaining") == 4
    code = otp(rs_client, rs_mail, info, email)
    with pytest.raises(PinInvalid) as wrong_pin:
        rs_client.authorize_and_sign(cid, [H1], pin="WrongPin99!", otp=code)
    assert wrong_pin.value.remaining == 4
    sigs = rs_client.authorize_and_sign(cid, [H1, H2], pin=PIN, otp=code)
    key = x509.load_der_x509_certificate(info.certificates[0]).public_key()
    for digest, sig in zip([H1, H2], sigs, strict=True):
        key.verify(sig, digest, padding.PKCS1v15(), Prehashed(SHA256()))  # type: ignore[union-attr]
    with pytest.raises(OtpInvalid):
        rs_client.authorize_and_sign(cid, [H1], pin=PIN, otp=code)  # the code is used


def test_rs1_without_the_extension_the_adapter_makes_the_two_csc_calls(
    rs_client: SigningClient, rs_mail: SmtpCapture
) -> None:
    """An external CSC service offers no authorizeSignHash: authorize, then signHash."""
    info, email = new_credential(rs_client)
    plain = SigningClient(rs_client.base_url, "portal", DEV_PORTAL_SECRET)
    plain._extensions = frozenset()  # as a service whose /info names no extension
    calls: list[str] = []
    original = plain._post

    def noted(path: str, body: dict[str, object]) -> dict[str, object]:
        calls.append(path.rsplit("/", 1)[-1])
        return original(path, body)  # type: ignore[arg-type]

    plain._post = noted  # type: ignore[method-assign,assignment]
    try:
        [sig] = plain.authorize_and_sign(info.credential_id, [H1], pin=PIN,
                                         otp=otp(rs_client, rs_mail, info, email))
    finally:
        plain.close()
    assert calls == ["authorize", "signHash"] and len(sig) == info.key_len // 8
