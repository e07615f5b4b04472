"""The users area's bridge to certificates (CERT-2, CERT-4).

Everything that touches a certificate goes through ``remote_signing.client``.
Where ``portal.certs`` (the certificates area) offers a function, it is used;
until then the fallback asks the signing service directly, keyed by the
user's MyPageID (the ``userID`` of the credential). Signing the power of
attorney (SIGN-4) uses the certificates area's signing dialog
(``portal.certs.dialog``), not this module.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from portal.errors import DomainError
from portal.models import CustomerUser
from remote_signing import client as rs

MSG_UNAVAILABLE = ("電子署名サービスに接続できませんでした。"
                   "しばらく時間を置いてから再度操作をしてください。")


class SigningRefused(DomainError):
    """The signing service refused or could not make a certificate change."""


def _certs_function(name: str) -> Any:
    try:
        from portal.certs import services as certs_services  # type: ignore[attr-defined]
    except ImportError:
        return None
    return getattr(certs_services, name, None)


def client() -> rs.SigningClient:
    return rs.SigningClient.from_config(current_app.config)


def credential_ids_of(user: CustomerUser, api: rs.SigningClient) -> list[str]:
    hook = _certs_function("credential_ids_of")
    if hook is not None:
        return list(hook(user))
    return api.list_credentials(user_id=user.mypage_id)


def certificate_issued_at(user: CustomerUser) -> Any:
    """When the user's current certificate was issued (None: none is active)."""
    current = _certs_function("current_certificate")
    if current is None:
        return None
    cert = current(user)
    if cert is None or getattr(cert.state, "value", cert.state) != "active":
        return None
    return cert.created_at or cert.valid_from  # the row is made at PIN registration


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
