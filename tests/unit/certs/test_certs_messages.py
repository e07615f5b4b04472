"""SIGN-2: every adapter error has its own Japanese message (one place)."""

from __future__ import annotations

import pytest

from portal.certs import messages as msg
from remote_signing import client as rs


@pytest.mark.parametrize(
    ("error", "text", "field"),
    [
        (
            rs.PinInvalid("x", detail={"remaining": 2}),
            "署名用PINが正しくありません。（あと2回間違えるとPINロックされます）",
            "pin",
        ),
        (rs.CredentialLocked(), msg.LOCKED, None),
        (rs.OtpInvalid(), msg.OTP_WRONG, "code"),
        (rs.OtpExpired(), msg.OTP_EXPIRED, "code"),
        (rs.SadInvalid(), msg.SAD_INVALID, None),
        (rs.CredentialRevoked(), msg.REVOKED, None),
        (rs.CredentialExpired(), msg.EXPIRED, None),
        (rs.CredentialNotIssued(), msg.NO_CERT, None),
        (rs.ServiceUnavailable(), msg.UNAVAILABLE, None),
        (rs.OtpDeliveryFailed(), msg.OTP_MAIL, None),
    ],
)
def test_sign2_each_error_has_its_own_message(error, text, field) -> None:  # type: ignore[no-untyped-def]
    mapped = msg.from_signing_error(error)
    assert (mapped.message, mapped.field) == (text, field)


def test_sign2_messages_are_distinct() -> None:
    texts = [
        msg.PIN_WRONG,
        msg.LOCKED,
        msg.OTP_WRONG,
        msg.OTP_EXPIRED,
        msg.UNAVAILABLE,
        msg.REVOKED,
        msg.SAD_INVALID,
    ]
    assert len(set(texts)) == len(texts)
