"""Who may open a page (AUTH-3, AUTH-6, AUTH-11): one gate for every route,
deny by default.

Each view declares its gate with a decorator (``public``, ``customer_required``,
``first_login_page``, ``email_verification_page``, ``staff_required``); one
``before_request`` reads the declaration of the endpoint being opened and
decides. A view without a declaration gets the strictest gate of its side: the
console's staff gate under ``/console``, else a customer whose first-login
change is done and whose email change is verified. Roles and objects are
checked after the gate by ``portal.permissions`` (``@require``,
``get_or_404_for``). ``tests/functional/foundation/test_gate.py`` walks the
URL map and fails on any route without a declaration.

This is a shared module: it never imports an area (endpoints are named).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from flask import Flask, current_app, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal.models import CustomerUser, StaffUser

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "portal_gate"
CONSOLE_PREFIX = "/console"


class Gate(StrEnum):
    PUBLIC = "public"  # anyone (login, apply, forgotten password, static, language)
    TEMPORARY = "temporary"  # temporary password (AUTH-3): a customer, or staff under /console
    EMAIL_PENDING = "email_pending"  # a customer whose new address waits for its code
    CUSTOMER = "customer"  # first-login change done and email verified (MyPage default)
    STAFF = "staff"  # bank staff (console default)


# Endpoints without a view function of the portal's own.
BUILTIN: dict[str, Gate] = {"static": Gate.PUBLIC}


def _declare(gate: Gate) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        setattr(view, ATTRIBUTE, gate)
        return view

    return decorate


public = _declare(Gate.PUBLIC)
first_login_page = _declare(Gate.TEMPORARY)
email_verification_page = _declare(Gate.EMAIL_PENDING)
customer_required = _declare(Gate.CUSTOMER)
staff_required = _declare(Gate.STAFF)


def declared_gate(app: Flask, endpoint: str) -> Gate | None:
    """The gate a view declared, or None (then ``gate_of`` applies the default)."""
    if endpoint in BUILTIN:
        return BUILTIN[endpoint]
    view = app.view_functions.get(endpoint)
    gate = getattr(view, ATTRIBUTE, None)
    return Gate(gate) if gate is not None else None


def gate_of(app: Flask, endpoint: str, path: str) -> Gate:
    declared = declared_gate(app, endpoint)
    if declared is not None:
        return declared
    return Gate.STAFF if path.startswith(CONSOLE_PREFIX) else Gate.CUSTOMER


def refusal(gate: Gate, user: Any, *, console: bool = False) -> str | None:
    """Where to send ``user`` instead of a page behind ``gate`` (None: let in);
    ``console``: the page is under /console (staff side)."""
    if gate is Gate.PUBLIC:
        return None
    if gate is Gate.STAFF or console:
        return _staff_refusal(gate, user)
    if not isinstance(user, CustomerUser):
        return "auth.login"
    if gate is Gate.TEMPORARY:
        return None
    if user.password_is_temporary:
        return "auth.first_login"
    if gate is Gate.EMAIL_PENDING or not user.pending_email:
        return None
    return "mypage.email_verify"


def _staff_refusal(gate: Gate, user: Any) -> str | None:
    """A staff member whose password an administrator set (created or reset)
    reaches only the console's first-login change and logout (AUTH-3)."""
    if not isinstance(user, StaffUser):
        return "console.login"
    if gate is Gate.TEMPORARY or not user.password_is_temporary:
        return None
    return "console.first_login"


def init_app(app: Flask) -> None:
    @app.before_request
    def page_gate() -> ResponseReturnValue | None:
        if request.endpoint is None or request.url_rule is None:
            return None  # 404/405: nothing behind it to protect
        path = request.url_rule.rule
        gate = gate_of(current_app, request.endpoint, path)
        target = refusal(gate, current_user._get_current_object(),
                         console=path.startswith(CONSOLE_PREFIX))
        if target is None:
            return None
        if target in ("auth.login", "console.login"):
            return redirect(url_for(target, next=request.full_path))
        return redirect(url_for(target))
