"""SIGN-2, PIN-5: the activation token, the one-time code and the PIN counter,
through the service's Flask test client with a frozen clock."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import time_machine
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, utils
from cryptography.hazmat.primitives.hashes import SHA256

from tests.unit.remote_signing.rs_helpers import PIN, Api

H1 = hashlib.sha256(b"contract one").digest()
H2 = hashlib.sha256(b"contract two").digest()
H3 = hashlib.sha256(b"contract three").digest()


def _cert(api: Api, cred: str) -> x509.Certificate:
    import base64

    r = api.call("/csc/v2/credentials/info", {"credentialID": cred})
    return x509.load_der_x509_certificate(base64.b64decode(r.json["cert"]["certificates"][0]))


def test_sign2_signature_made_for_authorized_hash_verifies_with_the_certificate(api: Api) -> None:
    import base64

    cred = api.create()
    r = api.sign(cred, api.sad(cred, [H1]), [H1])
    assert r.status_code == 200, r.json
    sig = base64.b64decode(r.json["signatures"][0])
    _cert(api, cred).public_key().verify(sig, H1, padding.PKCS1v15(), utils.Prehashed(SHA256()))


def test_sign2_token_for_h1_cannot_sign_h2(api: Api) -> None:
    cred = api.create()
    r = api.sign(cred, api.sad(cred, [H1]), [H2])
    assert r.status_code == 400
    assert r.json["error"] == "hash_not_authorized"
    assert "signatures" not in r.json


def test_sign2_token_cannot_be_used_twice(api: Api) -> None:
    cred = api.create()
    sad = api.sad(cred, [H1])
    assert api.sign(cred, sad, [H1]).status_code == 200
    again = api.sign(cred, sad, [H1])
    assert again.status_code == 400
    assert again.json["error"] == "invalid_sad"


def test_sign2_more_hashes_than_authorized_are_refused(api: Api) -> None:
    cred = api.create()
    r = api.sign(cred, api.sad(cred, [H1]), [H1, H2])
    assert r.json["error"] == "hash_not_authorized"
    # numSignatures lower than the hashes sent is refused at authorization
    r = api.authorize(cred, [H1, H2], otp=api.send_otp(cred), num=1)
    assert r.status_code == 400 and r.json["error"] == "invalid_request"


def test_sign2_one_token_bound_to_several_hashes_signs_them_together(api: Api) -> None:
    cred = api.create()
    r = api.sign(cred, api.sad(cred, [H1, H2, H3]), [H1, H2, H3])
    assert r.status_code == 200
    assert len(r.json["signatures"]) == 3


def test_sign2_token_of_another_credential_is_refused(api: Api) -> None:
    mine = api.create("u1")
    other = api.create("u2", email="hanako@example.jp")
    sad = api.sad(mine, [H1])
    r = api.sign(other, sad, [H1])
    assert r.json["error"] == "invalid_sad"


def test_sign2_token_expires_after_5_minutes(api: Api) -> None:
    cred = api.create()
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        sad = api.sad(cred, [H1])
        clock.shift(timedelta(minutes=5, seconds=1))
        r = api.sign(cred, sad, [H1])
    assert r.json["error"] == "invalid_sad"


def test_sign2_otp_valid_until_10_minutes(api: Api) -> None:
    cred = api.create()
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        otp = api.send_otp(cred)
        clock.shift(timedelta(minutes=9, seconds=59))
        r = api.authorize(cred, [H1], otp=otp)
    assert r.status_code == 200, r.json


def test_sign2_otp_refused_at_10_minutes_plus_1_second(api: Api) -> None:
    cred = api.create()
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        otp = api.send_otp(cred)
        clock.shift(timedelta(minutes=10, seconds=1))
        r = api.authorize(cred, [H1], otp=otp)
    assert r.status_code == 400
    assert r.json["error"] == "otp_expired"
    assert "SAD" not in r.json


def test_sign2_otp_cannot_be_reused(api: Api) -> None:
    cred = api.create()
    otp = api.send_otp(cred)
    assert api.authorize(cred, [H1], otp=otp).status_code == 200
    r = api.authorize(cred, [H1], otp=otp)
    assert r.json["error"] == "invalid_otp"


def test_sign2_new_code_replaces_the_old_one(api: Api) -> None:
    cred = api.create()
    first = api.send_otp(cred)
    second = api.send_otp(cred)
    if first != second:
        assert api.authorize(cred, [H1], otp=first).json["error"] == "invalid_otp"
    assert api.authorize(cred, [H1], otp=second).status_code == 200


def test_sign2_otp_has_at_least_6_digits(api: Api) -> None:
    cred = api.create()
    otp = api.send_otp(cred)
    assert otp.isdigit() and len(otp) >= 6


def test_pin5_authorization_needs_both_pin_and_otp(api: Api) -> None:
    cred = api.create()
    otp = api.send_otp(cred)
    assert api.authorize(cred, [H1], pin=None, otp=otp).json["error"] == "invalid_pin"
    assert api.authorize(cred, [H1], otp=None).json["error"] == "invalid_otp"


def test_pin5_five_wrong_pins_lock_and_correct_pin_is_refused_until_unlock(api: Api) -> None:
    cred = api.create()
    otp = api.send_otp(cred)
    for attempt in range(1, 5):
        r = api.authorize(cred, [H1], pin="WrongPin99!", otp=otp)
        assert r.json["error"] == "invalid_pin"
        assert r.json["remaining"] == 5 - attempt
    r = api.authorize(cred, [H1], pin="WrongPin99!", otp=otp)
    assert r.json["error"] == "credential_locked"
    r = api.authorize(cred, [H1], pin=PIN, otp=otp)
    assert r.json["error"] == "credential_locked"
    assert api.call("/csc/v2/credentials/sendOTP", {"credentialID": cred}).json["error"] == (
        "credential_locked"
    )
    info = api.call("/csc/v2/credentials/info", {"credentialID": cred}).json
    assert info["credentialStatus"] == "locked" and info["key"]["status"] == "disabled"
    assert api.admin("unlock", cred).json["credentialStatus"] == "active"
    assert api.authorize(cred, [H1], otp=api.send_otp(cred)).status_code == 200


def test_pin5_correct_pin_resets_the_consecutive_count(api: Api) -> None:
    cred = api.create()
    for _ in range(4):
        api.authorize(cred, [H1], pin="WrongPin99!", otp="000000")
    assert api.authorize(cred, [H1], otp=api.send_otp(cred)).status_code == 200
    r = api.authorize(cred, [H1], pin="WrongPin99!", otp="000000")
    assert r.json["remaining"] == 4


def test_pin5_wrong_codes_limited_and_new_code_keeps_the_count(api: Api) -> None:
    cred = api.create()
    api.send_otp(cred)
    for _ in range(3):
        assert api.authorize(cred, [H1], otp="00000x").json["error"] == "invalid_otp"
    api.send_otp(cred)  # a new code does not reset the failures
    assert api.authorize(cred, [H1], otp="00000x").json["remaining"] == 1
    assert api.authorize(cred, [H1], otp="00000x").json["error"] == "credential_locked"


def test_pin4_locked_credential_cannot_authorize_or_use_an_earlier_token(api: Api) -> None:
    cred = api.create()
    sad = api.sad(cred, [H1])
    assert api.admin("lock", cred).json["credentialStatus"] == "locked"
    assert api.sign(cred, sad, [H1]).json["error"] == "credential_locked"
    assert api.authorize(cred, [H1], otp="123456").json["error"] == "credential_locked"
    api.admin("unlock", cred)
    assert api.sign(cred, api.sad(cred, [H1]), [H1]).status_code == 200


def test_pin3_change_pin_replaces_the_old_one(api: Api) -> None:
    cred = api.create()
    new = "Shinki2027#"
    assert api.admin("changePIN", cred, oldPIN=PIN, newPIN=new).status_code == 200
    assert api.authorize(cred, [H1], pin=PIN, otp=api.send_otp(cred)).json["error"] == "invalid_pin"
    assert api.authorize(cred, [H1], pin=new, otp=api.send_otp(cred)).status_code == 200


def test_pin3_change_pin_with_wrong_current_pin_counts_as_failure(api: Api) -> None:
    cred = api.create()
    r = api.admin("changePIN", cred, oldPIN="WrongPin99!", newPIN="Shinki2027#")
    assert r.json["error"] == "invalid_pin" and r.json["remaining"] == 4


def test_pin1_service_refuses_pins_breaking_the_policy(api: Api) -> None:
    for pin, rule in [
        ("Short1!", "length"),
        ("nouppercase1!", "uppercase"),
        ("Forbidden_1", "forbidden_symbol"),
        ("Zenkaku１２３A", "charset"),
    ]:
        r = api.call(
            "/admin/v1/credentials/create",
            {
                "userID": "u9",
                "name": "山田 太郎",
                "email": "t@example.jp",
                "organization": "株式会社テスト商事",
                "PIN": pin,
            },
        )
        assert r.status_code == 400 and r.json["error"] == "pin_policy"
        assert rule in r.json["rules"]


def test_pin1_pin_registered_first_certificate_issued_on_hakko(api: Api) -> None:
    r = api.call(
        "/admin/v1/credentials/create",
        {
            "userID": "u7",
            "name": "山田 太郎",
            "email": "taro@example.jp",
            "organization": "株式会社テスト商事",
            "PIN": PIN,
            "issue": False,
        },
    )
    assert r.status_code == 201
    cred = r.json["credentialID"]
    assert r.json["credentialStatus"] == "pending" and r.json["cert"]["certificates"] == []
    r = api.call("/csc/v2/credentials/sendOTP", {"credentialID": cred})
    assert r.json["error"] == "credential_pending"
    issued = api.admin("issue", cred)
    assert issued.status_code == 200 and issued.json["credentialStatus"] == "active"
    assert len(issued.json["cert"]["certificates"]) == 3
    assert api.admin("issue", cred).status_code == 409
    assert api.sign(cred, api.sad(cred, [H1]), [H1]).status_code == 200
