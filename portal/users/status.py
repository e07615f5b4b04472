"""証明書発行依頼中 on the user card (CERT-6), plugged into MyPage's status line."""

from __future__ import annotations

from portal.models import CustomerUser


def cert_request_status(user: CustomerUser) -> str | None:
    from portal.users.services import open_cert_request

    return "証明書発行依頼中" if open_cert_request(user) is not None else None


def register() -> None:
    try:
        from portal.mypage.status import register_status
    except ImportError:  # MyPage's card statuses not present
        return
    # After portal.certs (30): its CERT-6 line reads open_cert_request itself and
    # follows the request on through 本人確認書類確認中 and PIN登録待ち; this one
    # only answers when the certificates area is absent.
    register_status(cert_request_status, priority=40)
