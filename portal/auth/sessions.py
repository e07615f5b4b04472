"""Server-side sessions (AUTH-7).

The signed Flask cookie holds only a random token; the ``user_sessions`` row
behind it is what makes a login valid. Logout and timeouts delete the row, so
a copied cookie is worthless afterwards.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import cache
from typing import Any

from flask import current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy import Select, bindparam, delete, select

from portal.clock import as_utc, now
from portal.crypto import token_digest
from portal.extensions import db, login_manager
from portal.models import CustomerUser, StaffUser, UserSession

TOUCH_EVERY = timedelta(seconds=60)


def start_session(user: CustomerUser | StaffUser) -> None:
    """New session id at login: the old cookie contents are dropped."""
    session.clear()
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=token_digest(token), principal=user.get_id(),
                               ip=request.remote_addr or ""))
    session["sid"] = token
    session.permanent = False
    login_user(user)


def end_session() -> None:
    token = session.get("sid")
    if token:
        db.session.execute(delete(UserSession).where(UserSession.id == token_digest(token)))
    logout_user()
    session.clear()


def end_all_sessions_of(user: CustomerUser | StaffUser) -> None:
    """Used when a user is deleted or locked out by an administrator."""
    db.session.execute(delete(UserSession).where(UserSession.principal == user.get_id()))


def end_other_sessions_of(user: CustomerUser | StaffUser) -> None:
    """After a password change: every other browser of the user must log in again."""
    token = session.get("sid")
    others = delete(UserSession).where(UserSession.principal == user.get_id())
    if token:
        others = others.where(UserSession.id != token_digest(token))
    db.session.execute(others)


def _expired(row: UserSession) -> bool:
    cfg = current_app.config
    moment = now()
    idle = timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])
    absolute = timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"])
    return moment - as_utc(row.last_seen_at) > idle or moment - as_utc(row.created_at) > absolute


def load_user(principal: str) -> Any:
    token = session.get("sid")
    if not token:
        return None
    kind, _, raw_id = principal.partition(":")
    model = {"c": CustomerUser, "s": StaffUser}.get(kind)
    row, user = _session_and_user(token_digest(token), model, raw_id)
    if row is None or row.principal != principal:
        return None
    if _expired(row):
        db.session.delete(row)
        db.session.commit()
        session["expired"] = True
        return None
    if user is None or not user.is_active:
        return None
    if now() - as_utc(row.last_seen_at) > TOUCH_EVERY:
        row.last_seen_at = now()
        db.session.commit()
    return user


# A call, not a decorator: flask_login is untyped, so its decorator would erase load_user's type.
login_manager.user_loader(load_user)


@cache
def _session_with(model: Any) -> Select[Any]:
    """Built once per kind of user: building the statement cost as much as running it."""
    return (select(UserSession, model)
            .outerjoin(model, model.id == bindparam("session_user_id"))
            .where(UserSession.id == bindparam("session_digest")))


def _session_and_user(digest: str, model: Any, raw_id: str) -> tuple[UserSession | None, Any]:
    """The session row and its user in one round trip (every page asks for both)."""
    if model is None or not raw_id.isdigit():
        return db.session.get(UserSession, digest), None
    found = db.session.execute(
        _session_with(model), {"session_user_id": int(raw_id), "session_digest": digest}
    ).first()
    return (found[0], found[1]) if found is not None else (None, None)
