"""MyPage login/logout (AUTH-1, AUTH-4, AUTH-7)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from marshmallow import ValidationError

from portal.auth import services, sessions
from portal.auth.decorators import customer_required
from portal.auth.schemas import CustomerLoginSchema
from portal.extensions import db

bp = Blueprint("auth", __name__)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after login."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    errors: dict[str, list[str]] = {}
    values = {"identifier": ""}
    if session.pop("expired", False):
        flash("一定時間操作がなかったため、ログアウトしました。再度ログインしてください。", "info")
    if request.method == "POST":
        values["identifier"] = request.form.get("identifier", "")
        try:
            data = CustomerLoginSchema().load(
                {"identifier": request.form.get("identifier", ""),
                 "password": request.form.get("password", "")}
            )
        except ValidationError as exc:
            errors = exc.messages  # type: ignore[assignment]
        else:
            try:
                user = services.authenticate_customer(
                    data["identifier"], data["password"], ip=request.remote_addr or ""
                )
            except services.LoginRefused as exc:
                return render_template("auth/login.html", values=values, errors={},
                                       error=exc.message), 401
            sessions.start_session(user)
            db.session.commit()
            if user.password_is_temporary:
                return redirect(url_for("auth.first_login"))
            return redirect(safe_next(request.args.get("next"), url_for("mypage.home")))
    status = 400 if errors else 200
    return render_template("auth/login.html", values=values, errors=errors, error=None), status


@bp.route("/logout", methods=["GET"])
def logout_confirm():  # type: ignore[no-untyped-def]
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("auth/logout_confirm.html")


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    from portal import audit

    if current_user.is_authenticated:
        audit.record("logout", actor=current_user._get_current_object())
    sessions.end_session()
    db.session.commit()
    return render_template("auth/logged_out.html")


@bp.route("/first-login", methods=["GET", "POST"])
@customer_required
def first_login():  # type: ignore[no-untyped-def]
    """AUTH-3: the temporary password must be replaced before anything else."""
    from portal.auth.password_change import change_password_view

    return change_password_view(first_login=True)
