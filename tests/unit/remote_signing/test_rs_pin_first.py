"""SIGN-2, PIN-5 with the PIN first (the guide's 1. PIN入力 >>> 2. 認証コード入力):
sendOTP checks the PIN before any code is mailed and answers a PIN token that
authorize takes instead of the PIN."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from remote_signing.service.models import Otp
from tests.unit.remote_signing.rs_helpers import PIN, Api

H1 = hashlib.sha256(b"contract one").digest()
H2 = hashlib.sha256(b"contract two").digest()


def test_sign2_pin_token_and_code_authorize_and_sign(api: Api) -> None:
    cred = api.create()
    sent = api.send_otp_with_pin(cred)
    assert sent.status_code == 200 and sent.otp
    r = api.authorize(cred, [H1, H2], pin=None, otp=sent.otp, pin_token=sent.json["pinToken"])
    assert r.status_code == 200, r.json
    assert api.sign(cred, r.json["SAD"], [H1, H2]).status_code == 200


def test_pin5_wrong_pin_at_send_mails_no_code_and_counts(api: Api) -> None:
    cred = api.create()
    before = len(api.smtp.messages)
    r = api.send_otp_with_pin(cred, pin="WrongPin99!")
    assert (r.status_code, r.json["error"], r.json["remaining"]) == (400, "invalid_pin", 4)
    assert "pinToken" not in r.json
    assert len(api.smtp.messages) == before


def test_pin5_five_wrong_pins_at_send_lock_the_credential(api: Api) -> None:
    cred = api.create()
    for _ in range(4):
        assert api.send_otp_with_pin(cred, pin="WrongPin99!").json["error"] == "invalid_pin"
    assert api.send_otp_with_pin(cred, pin="WrongPin99!").json["error"] == "credential_locked"
    assert api.send_otp_with_pin(cred).json["error"] == "credential_locked"
    api.admin("unlock", cred)
    assert api.send_otp_with_pin(cred).status_code == 200


def test_pin5_right_pin_at_send_resets_the_count(api: Api) -> None:
    cred = api.create()
    for _ in range(3):
        api.send_otp_with_pin(cred, pin="WrongPin99!")
    assert api.send_otp_with_pin(cred).status_code == 200
    assert api.send_otp_with_pin(cred, pin="WrongPin99!").json["remaining"] == 4


def test_sign2_wrong_code_can_be_retyped_with_the_same_pin_token(api: Api) -> None:
    cred = api.create()
    sent = api.send_otp_with_pin(cred)
    token = sent.json["pinToken"]
    wrong = "000000" if sent.otp != "000000" else "111111"
    r = api.authorize(cred, [H1], pin=None, otp=wrong, pin_token=token)
    assert (r.json["error"], r.json["remaining"]) == ("invalid_otp", 4)
    assert api.authorize(cred, [H1], pin=None, otp=sent.otp, pin_token=token).status_code == 200


def test_sign2_pin_token_is_single_use(api: Api) -> None:
    cred = api.create()
    sent = api.send_otp_with_pin(cred)
    token = sent.json["pinToken"]
    assert api.authorize(cred, [H1], pin=None, otp=sent.otp, pin_token=token).status_code == 200
    again = api.authorize(cred, [H1], pin=None, otp=sent.otp, pin_token=token)
    assert again.status_code == 400 and again.json["error"] == "invalid_sad"  # start again


def test_sign2_a_newer_code_voids_the_earlier_pin_token(api: Api) -> None:
    cred = api.create()
    first = api.send_otp_with_pin(cred)
    second = api.send_otp_with_pin(cred)
    r = api.authorize(cred, [H1], pin=None, otp=second.otp, pin_token=first.json["pinToken"])
    assert r.json["error"] == "invalid_sad"  # start again from the PIN; nothing counted
    ok = api.authorize(cred, [H1], pin=None, otp=second.otp, pin_token=second.json["pinToken"])
    assert ok.status_code == 200


def test_sign2_forged_pin_token_is_refused_without_counting(api: Api) -> None:
    cred = api.create()
    sent = api.send_otp_with_pin(cred)
    for _ in range(6):
        r = api.authorize(cred, [H1], pin=None, otp=sent.otp, pin_token="forged-" + "x" * 40)
        assert r.json["error"] == "invalid_sad"
    ok = api.authorize(cred, [H1], pin=None, otp=sent.otp, pin_token=sent.json["pinToken"])
    assert ok.status_code == 200


def test_sign2_a_code_sent_without_pin_has_no_pin_token_to_use(api: Api) -> None:
    cred = api.create()
    otp = api.send_otp(cred)
    r = api.authorize(cred, [H1], pin=None, otp=otp, pin_token="any-token-" + "y" * 30)
    assert r.json["error"] == "invalid_sad"


def test_sign2_pin_and_pin_token_together_are_refused(api: Api) -> None:
    cred = api.create()
    sent = api.send_otp_with_pin(cred)
    r = api.authorize(cred, [H1], otp=sent.otp, pin_token=sent.json["pinToken"])
    assert r.json["error"] == "invalid_request"


def test_sign2_pin_token_expires_with_its_code(api: Api) -> None:
    start = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        cred = api.create()
        sent = api.send_otp_with_pin(cred)
        clock.move_to(start + timedelta(minutes=10, seconds=1))
        r = api.authorize(cred, [H1], pin=None, otp=sent.otp, pin_token=sent.json["pinToken"])
        assert r.json["error"] == "otp_expired"


def _pin_handles(rs_app) -> list[bytes | None]:  # noqa: ANN001
    with rs_app.extensions["rs_sessionmaker"]() as session:
        return list(session.scalars(select(Otp.pin_handle)).all())


def test_pin2_pin_handle_is_wiped_once_the_code_is_used(api: Api, rs_app) -> None:  # noqa: ANN001
    cred = api.create()
    sent = api.send_otp_with_pin(cred)
    [handle] = _pin_handles(rs_app)
    assert handle and PIN.encode() not in handle
    api.authorize(cred, [H1], pin=None, otp=sent.otp, pin_token=sent.json["pinToken"])
    assert _pin_handles(rs_app) == [None]


def test_pin2_a_newer_code_wipes_the_earlier_pin_handle(api: Api, rs_app) -> None:  # noqa: ANN001
    cred = api.create()
    api.send_otp_with_pin(cred)
    api.send_otp_with_pin(cred)
    assert sorted(_pin_handles(rs_app), key=bool)[0] is None and len(_pin_handles(rs_app)) == 2
