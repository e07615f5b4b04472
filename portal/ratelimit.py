"""Rate limits (AUTH-9): one mechanism, one table of policies, state in the
database so every host (several gunicorn hosts on PostgreSQL, or the embedded
SQLite) counts against the same rows.

A policy counts events per key in a fixed window. ``hit`` records one event;
``blocked`` says whether the key may act now. Two effects:

- ``lock``: reaching the limit blocks the key for one window (and restarts its
  count) — the account lockout of AUTH-4 and the code-check lock of AUTH-9;
- throttle (``lock=False``): once the limit is reached inside the window,
  the key waits until the window ends — issuance and per-address limits.

Keys are whatever the caller names (an account ``c:12``/``s:3``, the typed
identifier of an unknown account, an email address, a client address); only
a keyed digest of ``policy + key`` is stored. Unknown identifiers go through
exactly the same rows and rules as real accounts, so their counters decay
alike. Every function works in the caller's transaction; the row is locked
(PostgreSQL ``FOR UPDATE``; SQLite transactions are ``BEGIN IMMEDIATE``) from
the counting statement to the commit, so parallel requests on any host count
one after another.

This is a shared module: it never imports an area.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import CursorResult, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal import audit
from portal.clock import now
from portal.errors import DomainError
from portal.extensions import db
from portal.i18n import gettext
from portal.models import RateLimitCounter

MSG_ISSUE_LIMIT = ("認証コードの送信回数が上限に達しました。"
                   "%(minutes)s分ほど時間をおいてから、もう一度お試しください。")
MSG_CHECK_LOCKED = ("認証コードの入力誤りが続いたため、この手続きを一時的に停止しました。"
                    "%(minutes)s分ほど時間をおいてから、もう一度お試しください。")
MSG_LOGIN_LOCKED = ("連続してパスワードを間違えたため、アカウントをロックしました。"
                    "一定時間（%(minutes)s分）経過後に再度ログインしてください。")
MSG_LOGIN_THROTTLED = ("ログインの試行回数が多すぎます。"
                       "しばらく時間をおいてから再度お試しください。")


@dataclass(frozen=True)
class Policy:
    """One row of the policy table. ``limit`` and ``window`` are read from the
    configuration keys named here (``window_unit`` seconds per unit)."""

    name: str
    key_kind: str  # what the key is, for the documentation and the audit entry
    limit_setting: str
    window_setting: str
    window_unit: int
    lock: bool
    message: str

    def limit(self) -> int:
        return int(current_app.config[self.limit_setting])

    def window(self) -> timedelta:
        return timedelta(seconds=int(current_app.config[self.window_setting]) * self.window_unit)

    def minutes(self) -> int:
        return max(1, int(self.window().total_seconds() // 60))

    def refusal(self) -> str:
        return gettext(self.message, minutes=self.minutes())


MINUTE = 60
LOGIN_ACCOUNT = Policy("login.account", "account or typed unknown identifier",
                       "LOGIN_MAX_FAILURES", "LOGIN_LOCK_MINUTES", MINUTE, True,
                       MSG_LOGIN_LOCKED)
LOGIN_ADDRESS = Policy("login.address", "client address",
                       "IP_THROTTLE_MAX", "IP_THROTTLE_WINDOW_SECONDS", 1, False,
                       MSG_LOGIN_THROTTLED)
CODE_ISSUE_ACCOUNT = Policy("code.issue.account", "purpose + account or typed identifier",
                            "CODE_ISSUE_MAX_PER_ACCOUNT", "CODE_ISSUE_WINDOW_MINUTES", MINUTE,
                            False, MSG_ISSUE_LIMIT)
CODE_ISSUE_TARGET = Policy("code.issue.target", "email address the code is mailed to",
                           "CODE_ISSUE_MAX_PER_ADDRESS", "CODE_ISSUE_WINDOW_MINUTES", MINUTE,
                           False, MSG_ISSUE_LIMIT)
CODE_ISSUE_CLIENT = Policy("code.issue.client", "client address (pages without login)",
                           "CODE_ISSUE_MAX_PER_CLIENT", "CODE_ISSUE_WINDOW_MINUTES", MINUTE,
                           False, MSG_ISSUE_LIMIT)
CODE_CHECK_ACCOUNT = Policy("code.check.account",
                            "account, typed identifier or applicant address",
                            "CODE_CHECK_MAX_FAILURES", "CODE_CHECK_WINDOW_MINUTES", MINUTE,
                            True, MSG_CHECK_LOCKED)

# The one table of policies (docs/architecture.md "Rate limits").
POLICIES: dict[str, Policy] = {p.name: p for p in (
    LOGIN_ACCOUNT, LOGIN_ADDRESS, CODE_ISSUE_ACCOUNT, CODE_ISSUE_TARGET,
    CODE_ISSUE_CLIENT, CODE_CHECK_ACCOUNT)}


class RateLimited(DomainError):
    """A policy refuses the action; ``message`` is the policy's text (Japanese)."""

    status_code = 429

    def __init__(self, policy: Policy, *, field: str | None = None) -> None:
        super().__init__(policy.refusal(), field=field)
        self.policy = policy


@dataclass(frozen=True)
class Outcome:
    count: int
    locked_now: bool


def unknown_key(identifier: str) -> str:
    """The key of an identifier that names no account (typed, normalised)."""
    return "?" + identifier.strip().lower()


def _digest(policy: Policy, key: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"{policy.name}\x00{key}".encode(), hashlib.sha256).hexdigest()


def _row(policy: Policy, key: str, *, lock: bool = False) -> RateLimitCounter | None:
    if lock:
        _insert_missing(policy, key)
    query = select(RateLimitCounter).where(RateLimitCounter.policy == policy.name,
                                           RateLimitCounter.key == _digest(policy, key))
    if lock:
        query = query.with_for_update()
    return db.session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()


def _insert_missing(policy: Policy, key: str) -> None:
    """Create the row if absent, without failing when another host just did."""
    values: dict[str, Any] = {"policy": policy.name, "key": _digest(policy, key),
                              "window_start": now(), "hits": 0, "blocked_until": None}
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(RateLimitCounter).values(**values).on_conflict_do_nothing())


def _until(policy: Policy, row: RateLimitCounter | None) -> datetime | None:
    if row is None:
        return None
    current = now()
    if policy.lock:
        return row.blocked_until if row.blocked_until and row.blocked_until > current else None
    window_end = row.window_start + policy.window()
    return window_end if row.hits >= policy.limit() and window_end > current else None


def blocked_until(policy: Policy, key: str, *, hold: bool = False) -> datetime | None:
    """When the key may act again, or None if it may act now. ``hold`` keeps
    the key's row locked until the transaction ends, so the decision and the
    count that follows it cannot interleave with another request's."""
    return _until(policy, _row(policy, key, lock=hold))


def blocked(policy: Policy, key: str, *, hold: bool = False) -> bool:
    return blocked_until(policy, key, hold=hold) is not None


def hit(policy: Policy, key: str) -> Outcome:
    """Count one event; a ``lock`` policy locks the key when it reaches the limit."""
    row = _row(policy, key, lock=True)
    assert row is not None
    current = now()
    if current - row.window_start >= policy.window():
        row.window_start, row.hits = current, 0
    row.hits += 1
    locked_now = policy.lock and row.hits >= policy.limit()
    if locked_now:
        row.blocked_until = current + policy.window()
        row.window_start, row.hits = current, 0
    db.session.flush()
    return Outcome(count=row.hits, locked_now=locked_now)


def clear(policy: Policy, key: str) -> None:
    """Forget a key's count and lock (successful login, password reset, 再発行)."""
    row = _row(policy, key)
    if row is not None:
        row.hits, row.blocked_until, row.window_start = 0, None, now()


# --- emailed codes (AUTH-9) ---------------------------------------------------------

def _issue_limits(purpose: str, key: str, address: str | None,
                  client: str | None) -> list[tuple[Policy, str]]:
    limits = [(CODE_ISSUE_ACCOUNT, f"{purpose}:{key}")]
    if address:
        limits.append((CODE_ISSUE_TARGET, address.strip().lower()))
    if client:
        limits.append((CODE_ISSUE_CLIENT, client))
    return limits


def code_issue_refusal(purpose: str, key: str, *, address: str | None = None,
                       client: str | None = None, hold: bool = False) -> Policy | None:
    """The policy that forbids mailing a code now, if any: the account is
    stopped after too many wrong codes, or an issuance limit is reached."""
    for policy, policy_key in [(CODE_CHECK_ACCOUNT, key),
                               *_issue_limits(purpose, key, address, client)]:
        if blocked(policy, policy_key, hold=hold):
            return policy
    return None


def count_code_issue(purpose: str, key: str, *, address: str | None = None,
                     client: str | None = None) -> None:
    for policy, policy_key in _issue_limits(purpose, key, address, client):
        hit(policy, policy_key)


def limit_code_issue(purpose: str, key: str, *, address: str | None = None,
                     client: str | None = None, actor: Any = None) -> None:
    """Spend one code issuance for ``key`` (account, typed identifier or
    applicant address), its target ``address`` and the ``client`` address, or
    raise RateLimited after an audit entry (the caller commits it)."""
    refused = code_issue_refusal(purpose, key, address=address, client=client, hold=True)
    if refused is not None:
        audit_refusal(refused, purpose=purpose, actor=actor)
        raise RateLimited(refused)
    count_code_issue(purpose, key, address=address, client=client)


def audit_refusal(policy: Policy, *, purpose: str, actor: Any = None) -> None:
    audit.record("ratelimit.refused", actor=actor,
                 detail={"policy": policy.name, "purpose": purpose})


def check_code_budget(key: str, *, purpose: str, actor: Any = None,
                      field: str | None = "code") -> None:
    """Before a code is compared: refused (audited) while the account is stopped."""
    if blocked(CODE_CHECK_ACCOUNT, key, hold=True):
        audit_refusal(CODE_CHECK_ACCOUNT, purpose=purpose, actor=actor)
        raise RateLimited(CODE_CHECK_ACCOUNT, field=field)


def count_wrong_code(key: str, *, purpose: str, actor: Any = None,
                     field: str | None = "code") -> None:
    """A wrong code counts toward the account's budget across codes; the one
    that exhausts it stops the flow (audited ``ratelimit.locked``)."""
    if hit(CODE_CHECK_ACCOUNT, key).locked_now:
        audit.record("ratelimit.locked", actor=actor,
                     detail={"policy": CODE_CHECK_ACCOUNT.name, "purpose": purpose})
        raise RateLimited(CODE_CHECK_ACCOUNT, field=field)


# --- housekeeping ---------------------------------------------------------------------

def prune() -> int:
    """Delete the rows that hold nothing any more (window over, not locked):
    what an unknown identifier or a passing address leaves behind."""
    current = now()
    removed = 0
    for policy in POLICIES.values():
        # Session.execute is typed as answering a Result; a DELETE's is a CursorResult.
        result = cast(CursorResult[Any], db.session.execute(
            delete(RateLimitCounter).where(
                RateLimitCounter.policy == policy.name,
                RateLimitCounter.window_start <= current - policy.window(),
                or_(RateLimitCounter.blocked_until.is_(None),
                    RateLimitCounter.blocked_until <= current))))
        removed += result.rowcount
    return removed


def init_app(app: Flask) -> None:
    group = AppGroup("ratelimit", help="Rate-limit counters (AUTH-9).")

    @group.command("prune")
    def prune_command() -> None:
        """Delete counters whose window is over (run from cron, any host)."""
        removed = prune()
        db.session.commit()
        click.echo(f"removed {removed}")

    app.cli.add_command(group)
