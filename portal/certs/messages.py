"""Every Japanese message of the certificates area, and the one place that maps
adapter errors to them."""

from __future__ import annotations

from portal.errors import DomainError
from remote_signing import client as rs

UNAVAILABLE = (
    "電子署名サービスに接続できませんでした。しばらく時間を置いてから再度操作をしてください。"
)
PIN_WRONG = "署名用PINが正しくありません。"
CURRENT_PIN_WRONG = "現在のPINが正しくありません。"
LOCKED = "PINロック中のため署名はできません。代表者または管理者にロック解除を依頼してください。"
REVOKED = "電子証明書が失効しているため署名できません。電子証明書発行依頼を行ってください。"
EXPIRED = "電子証明書の有効期限が切れているため署名できません。電子証明書発行依頼を行ってください。"
NO_CERT = (
    "電子証明書が発行されていないため署名できません。"
    "初期PIN登録を行い電子証明書を発行してください。"
)
OTP_WRONG = "認証コードが正しくありません。"
OTP_EXPIRED = "認証コードの有効期限が切れています。「送信」からやり直してください。"
SAD_INVALID = "認証の有効期限が切れました。署名用PINの入力からやり直してください。"
OTP_MAIL = (
    "認証コードのメールを送信できませんでした。しばらく時間を置いてから再度操作をしてください。"
)
VIEWER = "参照権限のため署名はできません。"


class CertError(DomainError):
    """A refusal with the field (pin / code / new_pin) the user must correct."""


def from_signing_error(
    exc: rs.SigningError, *, pin_field: str = "pin", pin_message: str = PIN_WRONG
) -> CertError:
    if isinstance(exc, rs.PinInvalid):
        if exc.remaining is None:
            return CertError(pin_message, field=pin_field)
        note = "（あと%(remaining)s回間違えるとPINロックされます）"
        return CertError(pin_message + note, field=pin_field,
                         values={"remaining": exc.remaining})
    if isinstance(exc, rs.OtpInvalid) and exc.detail.get("remaining") is not None:
        note = "（あと%(remaining)s回間違えるとPINロックされます）"
        return CertError(OTP_WRONG + note, field="code",
                         values={"remaining": int(exc.detail["remaining"])})
    if isinstance(exc, rs.OtpDeliveryFailed):
        return CertError(OTP_MAIL)
    table: list[tuple[type[rs.SigningError], str, str | None]] = [
        (rs.ServiceUnavailable, UNAVAILABLE, None),
        (rs.CredentialLocked, LOCKED, None),
        (rs.CredentialRevoked, REVOKED, None),
        (rs.CredentialExpired, EXPIRED, None),
        (rs.CredentialNotIssued, NO_CERT, None),
        (rs.CredentialNotFound, NO_CERT, None),
        (rs.OtpExpired, OTP_EXPIRED, "code"),
        (rs.OtpInvalid, OTP_WRONG, "code"),
        (rs.SadInvalid, SAD_INVALID, None),
    ]
    for cls, message, field in table:
        if isinstance(exc, cls):
            return CertError(message, field=field)
    return CertError(UNAVAILABLE)
