"""Account life cycle rules: ログインパスワード変更 (AUTH-10; the first login's change,
AUTH-3, is ``portal.auth.services.change_first_password``), 仮パスワード再発行 (AUTH-3,
guide §3.4.4), forgotten password (AUTH-5, §3.4.5) and email change (AUTH-6).

Explicit arguments, caller's transaction, every step audited, every mail
through the outbox.
"""

from __future__ import annotations

from sqlalchemy import select

from portal import audit, ratelimit
from portal.auth import sessions
from portal.auth.password_policy import PolicyError, check_password_policy
from portal.auth.services import (
    MSG_CURRENT_WRONG,
    count_wrong_password,
    find_customer,
    is_locked,
    set_password,
    unlock,
)
from portal.crypto import generate_temporary_password, verify_secret
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.mail import queue_mail
from portal.models import CustomerUser, UserState
from portal.mypage import verification
from portal.mypage.models import EmailVerification, VerificationPurpose
from portal.mypage.services import MSG_EMAIL_IN_USE, email_taken
from portal.permissions import Permission, can

MSG_ALREADY_LOGGED_IN = ("初回ログインが完了しているため、仮パスワードの再発行はできません。"
                         "パスワードを失念した場合はご本人がパスワード再設定の手続きを行ってください。")
MSG_SAME_EMAIL = "現在のメールアドレスと同じです。"


def _minutes() -> int:
    return verification.ttl_minutes()


# --- ログインパスワード変更 (AUTH-10, guide §2.4, §3.5) ----------------------------------

def change_password(user: CustomerUser, current: str, new: str, *, ip: str = "") -> None:
    """A logged-in user's own change. A wrong current password counts toward the
    account lockout (``login.account``, AUTH-4/AUTH-9): whoever guesses it from an
    open session locks the account, and the lock ends every session."""
    if is_locked(user, hold=True):
        raise ratelimit.RateLimited(ratelimit.LOGIN_ACCOUNT, field="current_password")
    if not verify_secret(user.password_hash, current):
        audit.record("password.change_failed", actor=user, target=user, ip=ip)
        if count_wrong_password(user, ip=ip, context="password_change"):
            sessions.end_all_sessions_of(user)
            raise ratelimit.RateLimited(ratelimit.LOGIN_ACCOUNT, field="current_password")
        raise DomainError(MSG_CURRENT_WRONG, field="current_password")
    problems = check_password_policy(new, mypage_id=user.mypage_id, email=user.email)
    if problems:
        raise PolicyError(problems)
    set_password(user, new, temporary=False)
    unlock(user)
    queue_mail("password_changed", user.email, name=user.display_name)
    audit.record("password.changed", actor=user, target=user, ip=ip)


# --- 仮パスワード再発行 (AUTH-3, §3.4.4) ---------------------------------------------

def can_reissue(actor: CustomerUser, target: CustomerUser) -> bool:
    return (not target.first_login_done
            and can(actor, Permission.USERS_REISSUE_TEMP_PASSWORD, target))


def reissue_temporary_password(actor: CustomerUser, target: CustomerUser) -> None:
    """Only the representative/administrator, only for another user of the
    company who has not completed first login; the old one stops working."""
    if not can(actor, Permission.USERS_REISSUE_TEMP_PASSWORD, target):
        raise NotFound()
    if target.first_login_done or target.state != UserState.ACTIVE:
        raise DomainError(MSG_ALREADY_LOGGED_IN)
    temporary = generate_temporary_password()
    set_password(target, temporary, temporary=True)
    unlock(target)
    sessions.end_all_sessions_of(target)
    queue_mail("temporary_password", target.email, name=target.display_name,
               password=temporary, expires_at=target.temp_password_expires_at,
               reissued=True)
    audit.record("temp_password.reissued", actor=actor, target=target)


# --- forgotten password (AUTH-5) --------------------------------------------------------

def begin_password_reset(login_id: str, *, client: str | None = None) -> EmailVerification:
    """Always returns a verification row, whether or not the account exists,
    so the next screens behave alike; only a real account gets a mail. The
    limits (AUTH-9) count an unknown identifier exactly like an account."""
    user = find_customer(login_id)
    if user is None or user.state != UserState.ACTIVE:
        row, _ = verification.issue(VerificationPurpose.PASSWORD_RESET, "", user_id=None,
                                    payload={"rate_key": ratelimit.unknown_key(login_id)},
                                    client=client)
        audit.record("password_reset.requested_unknown", target=row)
        return row
    row, code = verification.issue(VerificationPurpose.PASSWORD_RESET, user.email,
                                   user_id=user.id, client=client)
    queue_mail("password_reset_code", user.email, name=user.display_name, code=code,
               minutes=_minutes())
    audit.record("password_reset.requested", target=user, company_id=user.company_id)
    return row


def resend_password_reset(row: EmailVerification, *, client: str | None = None) -> None:
    code = verification.resend(row, client=client)
    user = db.session.get(CustomerUser, row.user_id) if row.user_id else None
    if user is not None and user.state == UserState.ACTIVE:
        queue_mail("password_reset_code", user.email, name=user.display_name, code=code,
                   minutes=_minutes())
        audit.record("password_reset.code_resent", target=user, company_id=user.company_id)


def complete_password_reset(row: EmailVerification, code: str, new: str) -> CustomerUser:
    verification.check(row, code)
    user = db.session.get(CustomerUser, row.user_id) if row.user_id else None
    if user is None or user.state != UserState.ACTIVE:
        raise verification.CodeRejected(verification.MSG_USED)
    problems = check_password_policy(new, mypage_id=user.mypage_id, email=user.email)
    if problems:
        raise PolicyError(problems)
    if not verification.consume(row):
        raise verification.CodeRejected(verification.MSG_USED)
    set_password(user, new, temporary=False)
    user.first_login_done = True
    unlock(user)
    sessions.end_all_sessions_of(user)
    queue_mail("password_changed", user.email, name=user.display_name)
    audit.record("password.reset", actor=user, target=user)
    return user


# --- email change (AUTH-6) ----------------------------------------------------------------

def request_email_change(actor: CustomerUser, user: CustomerUser, new_email: str) -> None:
    """The new address is used only after its code is entered (at the next
    login at the latest); until then codes and mails go to the old one."""
    if not can(actor, Permission.USERS_EDIT, user):
        raise NotFound()
    if new_email == user.email.lower():
        raise DomainError(MSG_SAME_EMAIL, field="email")
    if email_taken(new_email, except_user_id=user.id):
        raise DomainError(MSG_EMAIL_IN_USE, field="email")
    _discard_open_changes(user)
    user.pending_email = new_email
    _send_email_change_code(user)
    queue_mail("email_change_notice", user.email, name=user.display_name)
    audit.record("email_change.requested", actor=actor, target=user,
                 company_id=user.company_id)


def _send_email_change_code(user: CustomerUser) -> EmailVerification:
    assert user.pending_email
    row, code = verification.issue(VerificationPurpose.EMAIL_CHANGE, user.pending_email,
                                   user_id=user.id, actor=user)
    queue_mail("email_change_code", user.pending_email, name=user.display_name, code=code,
               minutes=_minutes())
    return row


def _discard_open_changes(user: CustomerUser) -> None:
    for row in open_email_changes(user):
        verification.consume(row)


def open_email_changes(user: CustomerUser) -> list[EmailVerification]:
    return list(db.session.execute(
        select(EmailVerification).where(
            EmailVerification.user_id == user.id,
            EmailVerification.purpose == VerificationPurpose.EMAIL_CHANGE,
            EmailVerification.consumed_at.is_(None))
        .order_by(EmailVerification.id.desc())).scalars())


def current_email_change(user: CustomerUser) -> EmailVerification | None:
    rows = open_email_changes(user)
    return rows[0] if rows and user.pending_email else None


def resend_email_change(user: CustomerUser) -> None:
    row = current_email_change(user)
    if row is None:
        raise DomainError(verification.MSG_SESSION)
    code = verification.resend(row, actor=user)
    queue_mail("email_change_code", row.email, name=user.display_name, code=code,
               minutes=_minutes())
    audit.record("email_change.code_resent", actor=user, target=user)


def confirm_email_change(user: CustomerUser, code: str) -> None:
    row = current_email_change(user)
    if row is None:
        raise DomainError(verification.MSG_SESSION)
    verification.check(row, code, actor=user)
    if email_taken(row.email, except_user_id=user.id):
        raise DomainError(MSG_EMAIL_IN_USE)
    if not verification.consume(row):
        raise verification.CodeRejected(verification.MSG_USED)
    old = user.email
    user.email = row.email
    user.pending_email = None
    queue_mail("email_changed", old, name=user.display_name)
    audit.record("email.changed", actor=user, target=user)


def cancel_email_change(user: CustomerUser) -> None:
    _discard_open_changes(user)
    user.pending_email = None
    audit.record("email_change.cancelled", actor=user, target=user)

