"""Login rules (AUTH-1, AUTH-4): lockout in the database, per-IP throttling,
answers that never reveal whether an account exists."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from portal import audit
from portal.clock import as_utc, now
from portal.crypto import hash_secret, verify_secret
from portal.errors import DomainError
from portal.extensions import db
from portal.i18n import gettext
from portal.models import CustomerUser, LoginThrottle, StaffUser, UserState

BAD_CREDENTIALS = "メールアドレス（またはMyPageID）またはパスワードが正しくありません。"
STAFF_BAD_CREDENTIALS = "ログインIDまたはパスワードが正しくありません。"
LOCKED = ("連続してパスワードを間違えたため、アカウントをロックしました。"
          "一定時間（%(minutes)s分）経過後に再度ログインしてください。")
THROTTLED = "ログインの試行回数が多すぎます。しばらく時間をおいてから再度お試しください。"
TEMP_EXPIRED = ("仮パスワードの有効期限が切れています。代表者・管理者の方に仮パスワードの再発行を"
                "依頼するか、お取引店担当者までお問い合わせください。")

# Verifying against this keeps the time of an unknown account's answer alike.
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(16))


class LoginRefused(DomainError):
    pass


def new_mypage_id() -> str:
    """MyPageID: 'MP' + 8 digits, unique."""
    while True:
        candidate = "MP" + "".join(secrets.choice("0123456789") for _ in range(8))
        exists = db.session.execute(
            select(CustomerUser.id).where(CustomerUser.mypage_id == candidate)
        ).first()
        if not exists:
            return candidate


def find_customer(identifier: str) -> CustomerUser | None:
    ident = identifier.strip()
    query = select(CustomerUser).where(
        (func.lower(CustomerUser.email) == ident.lower())
        | (CustomerUser.mypage_id == ident.upper())
    )
    return db.session.execute(query).scalars().first()


def _throttle_key(kind: str, value: str) -> str:
    return f"{kind}:{value}"[:64]


def _throttled(key: str) -> bool:
    row = db.session.get(LoginThrottle, key)
    window = timedelta(seconds=current_app.config["IP_THROTTLE_WINDOW_SECONDS"])
    if row is None or now() - as_utc(row.window_start) > window:
        return False
    return row.failures >= current_app.config["IP_THROTTLE_MAX"]


def _count_failure(key: str) -> None:
    row = db.session.get(LoginThrottle, key)
    window = timedelta(seconds=current_app.config["IP_THROTTLE_WINDOW_SECONDS"])
    if row is None:
        db.session.add(LoginThrottle(ip=key, window_start=now(), failures=1))
    elif now() - as_utc(row.window_start) > window:
        row.window_start, row.failures = now(), 1
    else:
        row.failures += 1


def _locked_message() -> str:
    return gettext(LOCKED, minutes=current_app.config["LOGIN_LOCK_MINUTES"])


def _is_locked(user: CustomerUser | StaffUser) -> bool:
    return user.locked_until is not None and as_utc(user.locked_until) > now()


def _register_failure(user: CustomerUser | StaffUser) -> bool:
    """Returns True when this failure locks the account."""
    cfg = current_app.config
    user.failed_logins += 1
    if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
        user.locked_until = now() + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
        user.failed_logins = 0
        return True
    return False


def authenticate_customer(identifier: str, password: str, *, ip: str) -> CustomerUser:
    """Returns the user or raises ``LoginRefused``; commits the bookkeeping."""
    return _authenticate(identifier, password, ip=ip, staff=False)


def authenticate_staff(login_id: str, password: str, *, ip: str) -> StaffUser:
    return _authenticate(login_id, password, ip=ip, staff=True)


def _authenticate(identifier: str, password: str, *, ip: str, staff: bool):  # type: ignore[no-untyped-def]
    ip_key = _throttle_key("ip", ip)
    if _throttled(ip_key):
        audit.record("login.throttled", detail={"staff": staff}, ip=ip)
        db.session.commit()
        raise LoginRefused(THROTTLED)
    user: CustomerUser | StaffUser | None
    if staff:
        user = db.session.execute(
            select(StaffUser).where(StaffUser.login_id == identifier.strip())
        ).scalars().first()
        bad = STAFF_BAD_CREDENTIALS
    else:
        user = find_customer(identifier)
        bad = BAD_CREDENTIALS
    if user is None or (isinstance(user, CustomerUser) and user.state != UserState.ACTIVE) or (
        isinstance(user, StaffUser) and not user.active
    ):
        return _refuse_unknown(identifier, password, ip=ip, ip_key=ip_key, bad=bad)
    if _is_locked(user):
        verify_secret(_DUMMY_HASH, password)
        audit.record("login.refused_locked", actor=user, target=user, ip=ip)
        db.session.commit()
        raise LoginRefused(_locked_message())
    if not verify_secret(user.password_hash, password):
        _count_failure(ip_key)
        locked_now = _register_failure(user)
        audit.record("login.failure", actor=user, target=user, ip=ip,
                     detail={"locked": locked_now})
        if locked_now:
            audit.record("account.locked", actor=user, target=user, ip=ip)
        db.session.commit()
        raise LoginRefused(_locked_message() if locked_now else bad)
    if isinstance(user, CustomerUser) and user.password_is_temporary and (
        user.temp_password_expires_at is not None and as_utc(user.temp_password_expires_at) <= now()
    ):
        audit.record("login.refused_temp_expired", actor=user, target=user, ip=ip)
        db.session.commit()
        raise LoginRefused(TEMP_EXPIRED)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now()
    audit.record("login.success", actor=user, target=user, ip=ip)
    return user


def _refuse_unknown(identifier: str, password: str, *, ip: str, ip_key: str, bad: str):  # type: ignore[no-untyped-def]
    """Unknown accounts lock exactly like real ones, so the answers match."""
    verify_secret(_DUMMY_HASH, password)
    ident_key = _throttle_key("id", identifier.strip().lower())
    cfg = current_app.config
    row = db.session.get(LoginThrottle, ident_key)
    lock_window = timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
    if row is not None and row.failures >= cfg["LOGIN_MAX_FAILURES"] and (
        now() - as_utc(row.window_start) <= lock_window
    ):
        db.session.commit()
        raise LoginRefused(_locked_message())
    if row is None or now() - as_utc(row.window_start) > lock_window:
        if row is None:
            row = LoginThrottle(ip=ident_key, window_start=now(), failures=0)
            db.session.add(row)
        row.window_start, row.failures = now(), 0
    row.failures += 1
    _count_failure(ip_key)
    audit.record("login.failure_unknown", ip=ip)
    db.session.commit()
    if row.failures >= cfg["LOGIN_MAX_FAILURES"]:
        raise LoginRefused(_locked_message())
    raise LoginRefused(bad)


def set_password(user: CustomerUser | StaffUser, password: str, *, temporary: bool = False) -> None:
    user.password_hash = hash_secret(password)
    if isinstance(user, CustomerUser):
        user.password_is_temporary = temporary
        if temporary:
            days = current_app.config["TEMP_PASSWORD_DAYS"]
            user.temp_password_expires_at = now() + timedelta(days=days)
        else:
            user.temp_password_expires_at = None
