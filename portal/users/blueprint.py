"""The users area's MyPage blueprint (``users``, /users) and the small helpers
its view modules share. ``portal.users.views`` imports every view module of
the area so the routes exist before the blueprint is registered."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request
from flask_login import current_user
from marshmallow import ValidationError

from portal.extensions import db
from portal.models import CustomerUser
from portal.validation import first_errors

bp = Blueprint("users", __name__, url_prefix="/users")


def signed_in_customer() -> CustomerUser:
    user: CustomerUser = current_user._get_current_object()
    return user


def active_colleague_or_404(me: CustomerUser, user_id: int) -> CustomerUser:
    """An active user of the actor's own company; anyone else looks like not found."""
    user = db.session.get(CustomerUser, user_id)
    if user is None or user.company_id != me.company_id or user.state != "active":
        abort(404)
    return user


def form_values() -> dict[str, Any]:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


def field_errors(exc: ValidationError) -> dict[str, list[str]]:
    messages = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
    return {k: [v] for k, v in first_errors(messages).items()}
