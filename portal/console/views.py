"""Bank console: login, home, maintenance windows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from portal import audit
from portal import maintenance as windows
from portal.auth import services, sessions
from portal.auth.decorators import first_login_page, public, staff_required
from portal.auth.password_change import change_password_view
from portal.auth.schemas import StaffLoginSchema
from portal.auth.views import handle_login_form
from portal.blueprints import console_bp as bp
from portal.console import (
    admin,
    admin_views,
    applications,
    audit_views,
    customer_views,
    invitations,
    menu,
)
from portal.console.schemas import JstDateTime
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.permissions import Permission, require
from portal.web import safe_next

# The console's other view modules, imported for the routes they add to ``bp``:
# AUD-2 (operation log), ADM-1 (branches, staff, notices, customer page), and
# issue 3's 利用登録のご案内 and MyPage利用申込の審査; the menu adds its template global.
ROUTE_MODULES = (admin_views, audit_views, customer_views, applications, invitations, menu)

@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    return handle_login_form(StaffLoginSchema(), services.authenticate_staff,
                             "console/login.html", _after_staff_login)


def _after_staff_login(staff: Any) -> str:
    if staff.password_is_temporary:
        return url_for("console.first_login")
    return safe_next(request.args.get("next"), url_for("console.home"))


@bp.route("/first-login", methods=["GET", "POST"])
@first_login_page
def first_login() -> ResponseReturnValue:
    """AUTH-3: a password set by the bank administrator is replaced before
    anything else of the console opens (the gate sends every page here)."""
    return change_password_view(admin.change_temporary_password, first_login=True, console=True)


@bp.route("/")
@staff_required
def home() -> ResponseReturnValue:
    return render_template("console/home.html")


@bp.route("/logout", methods=["GET"])
@first_login_page  # under /console: any staff member, also one still on a temporary password
def logout_confirm() -> ResponseReturnValue:
    return render_template("logout_confirm.html", layout="console/base.html",
                           logout_endpoint="console.logout", cancel_endpoint="console.home")


@bp.route("/logout", methods=["POST"])
@public
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        audit.record("logout", actor=current_user._get_current_object())
    sessions.end_session()
    db.session.commit()
    flash("ログアウトしました。", "info")
    return redirect(url_for("console.login"))


class MaintenanceSchema(Schema):
    starts_at = JstDateTime(required=True, error_messages={"required": "入力してください。",
                                                           "null": "入力してください。"})
    ends_at = JstDateTime(required=True, error_messages={"required": "入力してください。",
                                                         "null": "入力してください。"})
    message = fields.String(load_default="", validate=validate.Length(
        max=500, error="500文字以内で入力してください。"))

    @validates_schema(skip_on_field_errors=True)
    def check_order(self, data: dict[str, datetime], **_: object) -> None:
        if data["ends_at"] <= data["starts_at"]:
            raise ValidationError(windows.END_BEFORE_START, "ends_at")


def _maintenance_form() -> tuple[dict[str, Any], dict[str, list[str]]]:
    form = {k: v for k, v in request.form.items() if k in MaintenanceSchema().fields}
    try:
        return MaintenanceSchema().load(form), {}
    except ValidationError as exc:
        return {}, exc.messages_dict


def _domain_errors(exc: DomainError) -> dict[str, list[str]]:
    return {exc.field or "_form": [exc.msgid]}


def _save_window(save: Callable[..., Any], done: str) -> dict[str, list[str]]:
    """Parse the window form and save it (schedule or edit): the field errors,
    or none after a commit and a flash message."""
    data, errors = _maintenance_form()
    if errors:
        return errors
    try:
        save(current_user._get_current_object(), **data)
    except DomainError as exc:
        db.session.rollback()
        return _domain_errors(exc)
    db.session.commit()
    flash(done, "info")
    return {}


@bp.route("/maintenance", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_MAINTENANCE)
def maintenance() -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        errors = _save_window(windows.schedule, "臨時メンテナンスを登録しました。")
        if not errors:
            return redirect(url_for("console.maintenance"))
    return render_template("console/maintenance.html", windows=windows.listing(),
                           errors=errors, values=request.form), 400 if errors else 200


@bp.route("/maintenance/<int:window_id>", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_MAINTENANCE)
def maintenance_edit(window_id: int) -> ResponseReturnValue:
    window = windows.get_window(window_id)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        errors = _save_window(partial(windows.edit, window_id=window_id),
                              "臨時メンテナンスを変更しました。")
        if not errors:
            return redirect(url_for("console.maintenance"))
        values: Mapping[str, Any] = request.form
    else:
        values = {"starts_at": windows.typed_value(window.starts_at),
                  "ends_at": windows.typed_value(window.ends_at), "message": window.message}
    return render_template("console/maintenance_edit.html", window=windows.row_for(window),
                           errors=errors, values=values), 400 if errors else 200


@bp.route("/maintenance/<int:window_id>/cancel", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_MAINTENANCE)
def maintenance_cancel(window_id: int) -> ResponseReturnValue:
    try:
        windows.cancel(current_user._get_current_object(), window_id)
    except NotFound:
        raise
    except DomainError as exc:  # ended or already cancelled
        db.session.rollback()
        flash(exc.msgid, "error")
        return redirect(url_for("console.maintenance"))
    db.session.commit()
    flash("臨時メンテナンスを取り消しました。", "info")
    return redirect(url_for("console.maintenance"))

