"""The status line of a user card (CERT-6) on 登録情報の照会・変更.

Areas plug in their own statuses: ``register_status(provider, priority=…)``
where ``provider(user)`` returns a short Japanese status or ``None``. The
provider with the lowest priority number that answers wins. This module's
own providers: 初回未ログイン (10), for viewers 参照権限のため署名はできません
(15: a viewer never holds a certificate, so no certificate status applies),
and メール認証待ち (50). Certificates and KYC use the range 20–80
(e.g. 証明書発行依頼中, 本人確認書類確認中, PIN登録待ち, 署名可能, 署名不可, 証明書失効).
"""

from __future__ import annotations

from collections.abc import Callable

from portal.models import CustomerRole, CustomerUser

StatusProvider = Callable[[CustomerUser], str | None]

_providers: list[tuple[int, str, StatusProvider]] = []


def register_status(provider: StatusProvider, *, priority: int) -> StatusProvider:
    """Register once per provider (re-registering the same function replaces it)."""
    key = f"{provider.__module__}.{provider.__qualname__}"
    _providers[:] = [p for p in _providers if p[1] != key]
    _providers.append((priority, key, provider))
    _providers.sort(key=lambda p: p[0])
    return provider


def status_line(user: CustomerUser) -> str:
    for _, _, provider in _providers:
        answer = provider(user)
        if answer:
            return answer
    return ""


def _first_login(user: CustomerUser) -> str | None:
    return None if user.first_login_done else "初回未ログイン"


def _email_pending(user: CustomerUser) -> str | None:
    return "メール認証待ち" if user.pending_email else None


def _viewer(user: CustomerUser) -> str | None:
    return "参照権限のため署名はできません" if user.role == CustomerRole.VIEWER else None


register_status(_first_login, priority=10)
register_status(_email_pending, priority=50)
register_status(_viewer, priority=15)
