"""SIGN-4: each failure of the signing dialog has its own Japanese message
(wrong PIN, wrong or expired code, locked, revoked, service down)."""

from __future__ import annotations

import pytest

from portal.users import signing
from remote_signing import client as rs


@pytest.mark.parametrize("error, text, field", [
    (rs.PinInvalid("x", detail={"remaining": 3}), "署名用PINが正しくありません", "pin"),
    (rs.OtpInvalid("x"), "認証コードが正しくありません", "code"),
    (rs.OtpExpired("x"), "有効期限が切れています", None),
    (rs.CredentialLocked("x"), "PINロック中のため署名はできません", None),
    (rs.CredentialRevoked("x"), "失効", None),
    (rs.CredentialExpired("x"), "有効期限が切れている", None),
    (rs.SadInvalid("x"), "やり直してください", None),
    (rs.ServiceUnavailable("x"), "接続できませんでした", None),
    (rs.OtpDeliveryFailed("x"), "接続できませんでした", None),
    (rs.CredentialNotFound("x"), "電子証明書が発行されていない", None),
])
def test_each_signing_failure_has_its_own_message(error, text, field):
    refused = signing.japanese_message(error)
    assert text in refused.message
    assert refused.field == field


def test_wrong_pin_says_how_many_tries_remain():
    refused = signing.japanese_message(rs.PinInvalid("x", detail={"remaining": 2}))
    assert "あと2回" in refused.message
