"""Emailed verification codes (APP-4, reused by AUTH-5 and AUTH-6).

A code has ``CODE_DIGITS`` digits, is valid ``CODE_TTL``, accepts at most
``MAX_FAILED`` wrong entries (the next try needs a new code, even a correct
one) and may be resent after ``RESEND_COOLDOWN``; a resend replaces the code.
Only a keyed HMAC of the code is stored; the mail body is sealed in the
outbox. Every function works in the caller's transaction.

AUTH-9 (``portal.ratelimit``): every code mailed (issue and resend) spends the
issuance budget of its account (or typed identifier, or applicant address),
of the address it goes to and of the client address; every wrong code spends
the account's check budget across all its codes, so a new code brings no new
guesses. Refusals raise ``RateLimited`` after an audit entry.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, select, update

from portal import audit, ratelimit
from portal.clock import as_utc, now
from portal.crypto import codes_equal, generate_code, hmac_code, seal, unseal
from portal.errors import DomainError
from portal.extensions import db
from portal.i18n import gettext
from portal.mypage.models import EmailVerification, VerificationPurpose

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_FAILED = 5
RESEND_COOLDOWN = timedelta(seconds=60)

MSG_WRONG = "認証コードが正しくありません。（あと%(left)s回入力できます）"
MSG_LOCKED = ("認証コードの入力誤りが%(max)s回に達したため、この認証コードは使用できません。"
              "「認証コード再送信」から新しい認証コードを受け取ってください。")
MSG_EXPIRED = ("認証コードの有効期限（%(minutes)s分）が切れています。"
               "「認証コード再送信」から新しい認証コードを受け取ってください。")
MSG_USED = "この認証コードは使用済みです。"
MSG_COOLDOWN = "認証コードの再送信は%(seconds)s秒後から可能です。しばらくお待ちください。"
MSG_SESSION = "認証コードの送信からやり直してください。"


class CodeRejected(DomainError):
    """The code cannot be accepted; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="code")


class ResendTooSoon(DomainError):
    def __init__(self, seconds: int) -> None:
        super().__init__(gettext(MSG_COOLDOWN, seconds=seconds))
        self.seconds = seconds


def _settings() -> tuple[int, timedelta, int, timedelta]:
    cfg = current_app.config
    return (
        int(cfg.get("VERIFICATION_CODE_DIGITS", CODE_DIGITS)),
        timedelta(seconds=int(cfg.get("VERIFICATION_CODE_TTL_SECONDS", CODE_TTL.total_seconds()))),
        int(cfg.get("VERIFICATION_MAX_FAILED", MAX_FAILED)),
        timedelta(seconds=int(cfg.get("VERIFICATION_RESEND_SECONDS",
                                      RESEND_COOLDOWN.total_seconds()))),
    )


def ttl_minutes() -> int:
    """The validity shown in mails and messages (configurable in seconds)."""
    return max(1, int(_settings()[1].total_seconds() // 60))


def _context(row: EmailVerification) -> bytes:
    return f"verification:{row.handle}".encode()


def _limit_key(purpose: VerificationPurpose, email: str, user_id: int | None,
               payload: dict[str, Any] | None) -> str:
    if purpose == VerificationPurpose.APPLICATION:
        return "@" + email.strip().lower()
    if user_id is not None:
        return f"c:{user_id}"
    return str((payload or {}).get("rate_key", "?"))  # AUTH-5: the typed unknown identifier


def rate_key(row: EmailVerification) -> str:
    """The key this row's issuance and checks are counted under."""
    payload = payload_of(row) if row.user_id is None and row.payload_sealed else None
    return _limit_key(VerificationPurpose(row.purpose), row.email, row.user_id, payload)


def _spend_issue(purpose: VerificationPurpose, key: str, email: str, client: str | None,
                 actor: Any) -> None:
    # AUTH-5 sends to the account's own address only: the account key covers it,
    # and an unknown identifier (no address) must be limited exactly alike.
    address = None if purpose == VerificationPurpose.PASSWORD_RESET else email
    ratelimit.limit_code_issue(str(purpose), key, address=address, client=client, actor=actor)


def issue(purpose: VerificationPurpose, email: str, *, user_id: int | None = None,
          payload: dict[str, Any] | None = None, client: str | None = None,
          actor: Any = None) -> tuple[EmailVerification, str]:
    """Create a verification row; returns it and the clear code (for the mail
    only). Raises RateLimited (audited) when a limit forbids another code."""
    _spend_issue(purpose, _limit_key(purpose, email, user_id, payload), email, client, actor)
    digits, ttl, _, _ = _settings()
    code = generate_code(digits)
    row = EmailVerification(
        handle=secrets.token_urlsafe(32),
        purpose=purpose,
        email=email,
        user_id=user_id,
        code_hmac=hmac_code(code, purpose=str(purpose)),
        expires_at=now() + ttl,
        sent_at=now(),
        send_count=1,
        failed_attempts=0,
    )
    if payload is not None:
        row.payload_sealed = seal(json.dumps(payload, ensure_ascii=False).encode(),
                                  context=_context(row))
    db.session.add(row)
    db.session.flush()
    return row, code


def payload_of(row: EmailVerification) -> dict[str, Any]:
    if row.payload_sealed is None:
        return {}
    result: dict[str, Any] = json.loads(unseal(row.payload_sealed, context=_context(row)))
    return result


def find(handle: str | None, purpose: VerificationPurpose) -> EmailVerification | None:
    if not handle:
        return None
    return db.session.execute(
        select(EmailVerification).where(EmailVerification.handle == handle,
                                        EmailVerification.purpose == purpose)
    ).scalar_one_or_none()


def seconds_until_resend(row: EmailVerification) -> int:
    _, _, _, cooldown = _settings()
    remaining = (as_utc(row.sent_at) + cooldown - now()).total_seconds()
    return max(0, int(remaining + 0.999))


def resend(row: EmailVerification, *, client: str | None = None, actor: Any = None) -> str:
    """A new code replaces the old one (and its failed-attempt count, not the
    account's check budget)."""
    if row.consumed_at is not None:
        raise CodeRejected(MSG_USED)
    wait = seconds_until_resend(row)
    if wait > 0:
        raise ResendTooSoon(wait)
    _spend_issue(VerificationPurpose(row.purpose), rate_key(row), row.email, client, actor)
    digits, ttl, _, _ = _settings()
    code = generate_code(digits)
    row.code_hmac = hmac_code(code, purpose=str(row.purpose))
    row.expires_at = now() + ttl
    row.sent_at = now()
    row.send_count += 1
    row.failed_attempts = 0
    return code


def check(row: EmailVerification, code: str, *, actor: Any = None) -> None:
    """Accept ``code`` or raise CodeRejected (RateLimited once the account's
    budget across codes is spent). A wrong entry is counted in the caller's
    transaction, which must be committed even though this raises."""
    _, ttl, max_failed, _ = _settings()
    # Parallel wrong entries on PostgreSQL: count from the row as committed,
    # under its lock (SQLite already holds the write lock, BEGIN IMMEDIATE).
    db.session.refresh(row, with_for_update=True)
    if row.consumed_at is not None:
        raise CodeRejected(MSG_USED)
    key = rate_key(row)
    ratelimit.check_code_budget(key, purpose=str(row.purpose), actor=actor)
    if row.failed_attempts >= max_failed:
        _audit_rejection(row, "locked")
        raise CodeRejected(gettext(MSG_LOCKED, max=max_failed))
    if now() >= as_utc(row.expires_at):
        _audit_rejection(row, "expired")
        raise CodeRejected(gettext(MSG_EXPIRED, minutes=ttl_minutes()))
    if row.user_id is None and row.purpose == VerificationPurpose.PASSWORD_RESET:
        matches = False  # AUTH-5: an unknown account behaves like a wrong code
    else:
        matches = codes_equal(row.code_hmac, code, purpose=str(row.purpose))
    if not matches:
        row.failed_attempts += 1
        _audit_rejection(row, "wrong")
        ratelimit.count_wrong_code(key, purpose=str(row.purpose), actor=actor)
        left = max_failed - row.failed_attempts
        if left <= 0:
            raise CodeRejected(gettext(MSG_LOCKED, max=max_failed))
        raise CodeRejected(gettext(MSG_WRONG, left=left))


def _audit_rejection(row: EmailVerification, reason: str) -> None:
    audit.record("verification.code_rejected", target=row,
                 detail={"purpose": str(row.purpose), "reason": reason,
                         "failed_attempts": row.failed_attempts})


def consume(row: EmailVerification) -> bool:
    """Mark the row used exactly once: a conditional UPDATE, so two
    concurrent submits of the same code cannot both succeed (APP-6)."""
    # Session.execute is typed as answering a Result; an UPDATE's is a CursorResult.
    result = cast(CursorResult[Any], db.session.execute(
        update(EmailVerification)
        .where(EmailVerification.id == row.id, EmailVerification.consumed_at.is_(None))
        .values(consumed_at=now())
        .execution_options(synchronize_session=False)
    ))
    db.session.refresh(row)
    return result.rowcount == 1
