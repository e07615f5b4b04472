"""Login rules (AUTH-1, AUTH-4, AUTH-9): the account lockout and the
per-address throttle are policies of ``portal.ratelimit``; answers never
reveal whether an account exists (an unknown identifier is counted and locked
exactly like an account)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, overload

from flask import current_app
from sqlalchemy import func, select

from portal import audit, ratelimit
from portal.auth.password_policy import PolicyError, check_password_policy
from portal.clock import as_utc, now
from portal.crypto import hash_secret, verify_secret
from portal.errors import DomainError
from portal.extensions import db
from portal.models import CustomerUser, StaffUser, UserState
from portal.ratelimit import LOGIN_ACCOUNT, LOGIN_ADDRESS

BAD_CREDENTIALS = "メールアドレス（またはMyPageID）またはパスワードが正しくありません。"
STAFF_BAD_CREDENTIALS = "ログインIDまたはパスワードが正しくありません。"
LOCKED = ratelimit.MSG_LOGIN_LOCKED
THROTTLED = ratelimit.MSG_LOGIN_THROTTLED
MSG_CURRENT_WRONG = "現在のパスワードが正しくありません。"
TEMP_EXPIRED = ("仮パスワードの有効期限が切れています。代表者・管理者の方に仮パスワードの再発行を"
                "依頼するか、お取引店担当者までお問い合わせください。")

# Verifying against this keeps the time of an unknown account's answer alike.
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(16))


class LoginRefused(DomainError):
    pass


@dataclass(frozen=True)
class Refusal:
    """Why a customer who typed the right password may not log in: the message
    shown and the audit action recorded (e.g. 解約済み, ``login.refused_terminated``)."""

    message: str
    action: str


CustomerCheck = Callable[[CustomerUser], Refusal | None]
_customer_checks: dict[str, CustomerCheck] = {}


def register_customer_check(check: CustomerCheck) -> CustomerCheck:
    """An area that can end a customer's use of MyPage (retention's 解約) registers
    its check here; registering the same function again replaces it."""
    _customer_checks[f"{check.__module__}.{check.__qualname__}"] = check
    return check


def _refusal(user: CustomerUser) -> Refusal | None:
    """Asked only after the right password, like an expiry: a guesser learns nothing."""
    for check in _customer_checks.values():
        refusal = check(user)
        if refusal is not None:
            return refusal
    return None


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


def account_key(user: CustomerUser | StaffUser | None, identifier: str) -> str:
    """The ``login.account`` key: the account, or the typed identifier when
    it names no usable account (counted the same way)."""
    return user.get_id() if user is not None else ratelimit.unknown_key(identifier)


def is_locked(user: CustomerUser | StaffUser, *, hold: bool = False) -> bool:
    return ratelimit.blocked(LOGIN_ACCOUNT, user.get_id(), hold=hold)


def unlock(user: CustomerUser | StaffUser) -> None:
    """Forget wrong passwords and any lock (再発行, password reset)."""
    ratelimit.clear(LOGIN_ACCOUNT, user.get_id())


def count_wrong_password(user: CustomerUser | StaffUser, *, ip: str | None = None,
                         context: str = "login") -> bool:
    """One wrong password toward the account lockout (login, and the staff
    password at 締結); returns True when it locks the account (audited)."""
    outcome = ratelimit.hit(LOGIN_ACCOUNT, user.get_id())
    if outcome.locked_now:
        audit.record("account.locked", actor=user, target=user, ip=ip,
                     detail={"context": context, "policy": LOGIN_ACCOUNT.name})
    return outcome.locked_now


def locked_message() -> str:
    return LOGIN_ACCOUNT.refusal()


def authenticate_customer(identifier: str, password: str, *, ip: str) -> CustomerUser:
    """Returns the user or raises ``LoginRefused``; commits the bookkeeping."""
    return _authenticate(identifier, password, ip=ip, staff=False)


def authenticate_staff(login_id: str, password: str, *, ip: str) -> StaffUser:
    return _authenticate(login_id, password, ip=ip, staff=True)


def _usable(user: CustomerUser | StaffUser | None) -> bool:
    if isinstance(user, CustomerUser):
        return user.state == UserState.ACTIVE
    return user is not None and user.active


@overload
def _authenticate(identifier: str, password: str, *, ip: str,
                  staff: Literal[False]) -> CustomerUser: ...


@overload
def _authenticate(identifier: str, password: str, *, ip: str,
                  staff: Literal[True]) -> StaffUser: ...


def _authenticate(identifier: str, password: str, *, ip: str,
                  staff: bool) -> CustomerUser | StaffUser:
    if ratelimit.blocked(LOGIN_ADDRESS, ip):
        audit.record("login.throttled", detail={"staff": staff, "policy": LOGIN_ADDRESS.name},
                     ip=ip)
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
    known = user if _usable(user) else None
    key = account_key(known, identifier)
    # The account's row stays locked until the commit: parallel guesses count one by one.
    if ratelimit.blocked(LOGIN_ACCOUNT, key, hold=True):
        verify_secret(_DUMMY_HASH, password)
        audit.record("login.refused_locked", actor=known, target=known, ip=ip,
                     detail={"policy": LOGIN_ACCOUNT.name})
        db.session.commit()
        raise LoginRefused(locked_message())
    if known is None or not verify_secret(known.password_hash, password):
        if known is None:
            verify_secret(_DUMMY_HASH, password)
        ratelimit.hit(LOGIN_ADDRESS, ip)
        locked_now = ratelimit.hit(LOGIN_ACCOUNT, key).locked_now
        if known is None:
            audit.record("login.failure_unknown", ip=ip, detail={"locked": locked_now})
        else:
            audit.record("login.failure", actor=known, target=known, ip=ip,
                         detail={"locked": locked_now})
            if locked_now:
                audit.record("account.locked", actor=known, target=known, ip=ip,
                             detail={"context": "login", "policy": LOGIN_ACCOUNT.name})
        db.session.commit()
        raise LoginRefused(locked_message() if locked_now else bad)
    if isinstance(known, CustomerUser) and known.password_is_temporary and (
        known.temp_password_expires_at is not None
        and as_utc(known.temp_password_expires_at) <= now()
    ):
        audit.record("login.refused_temp_expired", actor=known, target=known, ip=ip)
        db.session.commit()
        raise LoginRefused(TEMP_EXPIRED)
    refusal = _refusal(known) if isinstance(known, CustomerUser) else None
    if refusal is not None:
        audit.record(refusal.action, actor=known, target=known, ip=ip)
        db.session.commit()
        raise LoginRefused(refusal.message)
    ratelimit.clear(LOGIN_ACCOUNT, key)
    known.last_login_at = now()
    audit.record("login.success", actor=known, target=known, ip=ip)
    return known


def set_password(user: CustomerUser | StaffUser, password: str, *, temporary: bool = False) -> None:
    """``temporary`` (AUTH-3): must be replaced at the next login; a customer's
    also expires after TEMP_PASSWORD_DAYS, a staff member's does not."""
    user.password_hash = hash_secret(password)
    user.password_is_temporary = temporary
    if isinstance(user, CustomerUser):
        if temporary:
            days = current_app.config["TEMP_PASSWORD_DAYS"]
            user.temp_password_expires_at = now() + timedelta(days=days)
        else:
            user.temp_password_expires_at = None


def change_first_password(user: CustomerUser, current: str, new: str) -> None:
    """新パスワード登録 at a customer's first login (AUTH-3): 現在のパスワード is
    the temporary one."""
    expires = user.temp_password_expires_at
    if user.password_is_temporary and expires is not None and as_utc(expires) <= now():
        audit.record("password.first_change_expired", actor=user, target=user)
        raise DomainError(TEMP_EXPIRED, field="current_password")
    if not verify_secret(user.password_hash, current):
        audit.record("password.first_change_failed", actor=user, target=user)
        raise DomainError(MSG_CURRENT_WRONG, field="current_password")
    problems = check_password_policy(new, mypage_id=user.mypage_id, email=user.email)
    if problems:
        raise PolicyError(problems)
    set_password(user, new, temporary=False)
    user.first_login_done = True
    audit.record("password.first_changed", actor=user, target=user)
