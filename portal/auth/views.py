"""MyPage login/logout (AUTH-1, AUTH-4, AUTH-7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import Schema, ValidationError

from portal import audit
from portal.auth import services, sessions
from portal.auth.decorators import first_login_page, public
from portal.auth.password_change import change_password_view
from portal.auth.schemas import CustomerLoginSchema
from portal.extensions import db
from portal.i18n import gettext
from portal.web import safe_next

bp = Blueprint("auth", __name__)


def handle_login_form(schema: Schema, authenticate: Callable[..., Any], template: str,
                      after_login: Callable[[Any], str]) -> ResponseReturnValue:
    """The one login form flow for MyPage and the console: schema errors per
    field, a refused login with its message (401), else a new session."""
    identifier_field = next(name for name in schema.fields if name != "password")
    values = {identifier_field: request.form.get(identifier_field, "")}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            data = schema.load({identifier_field: values[identifier_field],
                                "password": request.form.get("password", "")})
        except ValidationError as exc:
            errors = exc.messages_dict
        else:
            try:
                user = authenticate(data[identifier_field], data["password"],
                                    ip=request.remote_addr or "")
            except services.LoginRefused as exc:
                return render_template(template, values=values, errors={},
                                       error=gettext(exc.message)), 401
            sessions.start_session(user)
            db.session.commit()
            return redirect(after_login(user))
    status = 400 if errors else 200
    return render_template(template, values=values, errors=errors, error=None), status


def _after_customer_login(user: Any) -> str:
    if user.password_is_temporary:
        return url_for("auth.first_login")
    return safe_next(request.args.get("next"), url_for("mypage.home"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    if session.pop("expired", False):
        flash("一定時間操作がなかったため、ログアウトしました。再度ログインしてください。", "info")
    return handle_login_form(CustomerLoginSchema(), services.authenticate_customer,
                             "auth/login.html", _after_customer_login)


@bp.route("/logout", methods=["GET"])
@public
def logout_confirm() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("logout_confirm.html", layout="base.html",
                           logout_endpoint="auth.logout", cancel_endpoint="mypage.home")


@bp.route("/logout", methods=["POST"])
@public
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        audit.record("logout", actor=current_user._get_current_object())
    sessions.end_session()
    db.session.commit()
    return render_template("auth/logged_out.html")


@bp.route("/first-login", methods=["GET", "POST"])
@first_login_page
def first_login() -> ResponseReturnValue:
    """AUTH-3: the temporary password must be replaced before anything else."""
    return change_password_view(services.change_first_password, first_login=True)
