"""The users area's bridge to certificates and signing (SIGN-4, CERT-4).

Everything that touches a certificate goes through ``remote_signing.client``.
Where ``portal.certs`` (the certificates area) offers a function, it is used;
until then the fallback asks the signing service directly, keyed by the
user's MyPageID (the ``userID`` of the credential).
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from portal.errors import DomainError
from portal.models import CustomerUser
from remote_signing import client as rs
from remote_signing.pdf import SignatureOptions, sign_documents

MSG_UNAVAILABLE = ("電子署名サービスに接続できませんでした。"
                   "しばらく時間を置いてから再度操作をしてください。")
MSG_NO_CERT = ("電子証明書が発行されていないため署名できません。"
               "初期PIN登録を行い電子証明書を発行してください。")
MSG_PIN = "署名用PINが正しくありません。"
MSG_PIN_REMAINING = MSG_PIN + "（あと%(remaining)s回間違えるとロックされます）"
MSG_LOCKED = ("PINロック中のため署名はできません。"
              "代表者または管理者にロック解除を依頼してください。")
MSG_REVOKED = "電子証明書が失効しているため署名できません。電子証明書発行依頼を行ってください。"
MSG_EXPIRED = ("電子証明書の有効期限が切れているため署名できません。"
               "電子証明書発行依頼を行ってください。")
MSG_OTP = "認証コードが正しくありません。"
MSG_OTP_EXPIRED = "認証コードの有効期限が切れています。署名用PINの入力からやり直してください。"
MSG_SAD = "認証の有効期限が切れました。署名用PINの入力からやり直してください。"


class SigningRefused(DomainError):
    """A signing step failed; ``field`` says which input to correct (pin/code)."""


def _certs_function(name: str) -> Any:
    try:
        from portal.certs import services as certs_services  # type: ignore[attr-defined]
    except ImportError:
        return None
    return getattr(certs_services, name, None)


def client() -> rs.SigningClient:
    return rs.SigningClient.from_config(current_app.config)


def japanese_message(exc: rs.SigningError) -> SigningRefused:
    """One place that turns adapter errors into what the user reads."""
    if isinstance(exc, rs.ServiceUnavailable):
        return SigningRefused(MSG_UNAVAILABLE)
    if isinstance(exc, rs.PinInvalid):
        if exc.remaining:
            return SigningRefused(MSG_PIN_REMAINING, field="pin",
                                  values={"remaining": exc.remaining})
        return SigningRefused(MSG_PIN, field="pin")
    table: list[tuple[type[rs.SigningError], str, str | None]] = [
        (rs.CredentialLocked, MSG_LOCKED, None),
        (rs.CredentialRevoked, MSG_REVOKED, None),
        (rs.CredentialExpired, MSG_EXPIRED, None),
        (rs.OtpInvalid, MSG_OTP, "code"),
        (rs.OtpExpired, MSG_OTP_EXPIRED, None),
        (rs.SadInvalid, MSG_SAD, None),
        (rs.CredentialNotFound, MSG_NO_CERT, None),
    ]
    for cls, message, field in table:
        if isinstance(exc, cls):
            return SigningRefused(message, field=field)
    return SigningRefused(MSG_UNAVAILABLE)


def credential_ids_of(user: CustomerUser, api: rs.SigningClient) -> list[str]:
    hook = _certs_function("credential_ids_of")
    if hook is not None:
        return list(hook(user))
    return api.list_credentials(user_id=user.mypage_id)


def active_credential(user: CustomerUser, api: rs.SigningClient) -> rs.CredentialInfo:
    """The user's usable credential, newest first; refuses with a clear message."""
    hook = _certs_function("active_credential_id")
    ids = [hook(user)] if hook is not None else list(reversed(credential_ids_of(user, api)))
    fallback: rs.CredentialInfo | None = None
    for cred_id in ids:
        if not cred_id:
            continue
        info = api.credential_info(cred_id)
        if info.cert_status == "valid" and info.status in ("active", "locked"):
            return info
        fallback = fallback or info
    if fallback is not None and fallback.cert_status == "revoked":
        raise SigningRefused(MSG_REVOKED)
    raise SigningRefused(MSG_NO_CERT)


def certificate_issued_at(user: CustomerUser) -> Any:
    """When the user's current certificate was issued (None: none is active)."""
    current = _certs_function("current_certificate")
    if current is None:
        return None
    cert = current(user)
    if cert is None or getattr(cert.state, "value", cert.state) != "active":
        return None
    return cert.created_at or cert.valid_from  # the row is made at PIN registration


def send_code(user: CustomerUser) -> str:
    """送信: the service mails the one-time code to the credential owner."""
    api = client()
    try:
        info = active_credential(user, api)
        if info.status == "locked":
            raise SigningRefused(MSG_LOCKED)
        api.send_otp(info.credential_id)
        return info.credential_id
    except rs.SigningError as exc:
        raise japanese_message(exc) from exc
    finally:
        api.close()


def sign_pdf(user: CustomerUser, pdf: bytes, *, pin: str, code: str, reason: str) -> bytes:
    """Sign one PDF as ``user`` (PAdES B-T) with PIN + one-time code (SIGN-2/4)."""
    api = client()
    try:
        info = active_credential(user, api)
        signed = sign_documents(api, info, [pdf], pin=pin, otp=code,
                                options=SignatureOptions(field_name="PoASignature", reason=reason,
                                                         name=user.display_name),
                                description=reason)
        return signed[0]
    except rs.SigningError as exc:
        raise japanese_message(exc) from exc
    finally:
        api.close()


def revoke_certificate(user: CustomerUser, *, reason: str, actor: Any = None) -> int:
    """CERT-4: revoke every certificate of ``user``; returns how many were live.
    A service failure refuses the whole change (nothing is half done)."""
    hook = _certs_function("revoke_user_certificate")
    if hook is not None:
        result = hook(user, reason=reason, actor=actor)
        return int(result or 0)
    api = client()
    revoked = 0
    try:
        for cred_id in credential_ids_of(user, api):
            if api.credential_info(cred_id).status != "revoked":
                api.revoke(cred_id, _x509_reason(reason))
                revoked += 1
    except rs.SigningError as exc:
        raise SigningRefused(MSG_UNAVAILABLE) from exc
    finally:
        api.close()
    return revoked


def _x509_reason(reason: str) -> str:
    return {"name_changed": "superseded", "company_name_changed": "affiliationChanged",
            "user_deleted": "cessationOfOperation", "pin_forgotten": "keyCompromise",
            "reissued": "superseded"}.get(reason, "unspecified")
