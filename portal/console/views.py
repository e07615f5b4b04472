"""Bank console: login, home, maintenance windows."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from portal import audit
from portal.auth import services, sessions
from portal.auth.decorators import staff_required
from portal.auth.schemas import StaffLoginSchema
from portal.auth.views import handle_login_form, safe_next
from portal.clock import JST
from portal.extensions import db
from portal.models import MaintenanceWindow
from portal.permissions import Permission, require

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    return handle_login_form(
        StaffLoginSchema(), services.authenticate_staff, "console/login.html",
        lambda _staff: safe_next(request.args.get("next"), url_for("console.home")),
    )


@bp.route("/")
@staff_required
def home():  # type: ignore[no-untyped-def]
    return render_template("console/home.html")


@bp.route("/logout", methods=["GET"])
@staff_required
def logout_confirm():  # type: ignore[no-untyped-def]
    return render_template("logout_confirm.html", layout="console/base.html",
                           logout_endpoint="console.logout", cancel_endpoint="console.home")


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        audit.record("logout", actor=current_user._get_current_object())
    sessions.end_session()
    db.session.commit()
    flash("ログアウトしました。", "info")
    return redirect(url_for("console.login"))


class MaintenanceSchema(Schema):
    starts_at = fields.DateTime(required=True, format="%Y-%m-%dT%H:%M",
                                error_messages={"required": "入力してください。",
                                                "invalid": "日時を正しく入力してください。"})
    ends_at = fields.DateTime(required=True, format="%Y-%m-%dT%H:%M",
                              error_messages={"required": "入力してください。",
                                              "invalid": "日時を正しく入力してください。"})
    message = fields.String(load_default="", validate=validate.Length(
        max=500, error="500文字以内で入力してください。"))

    @validates_schema
    def check_order(self, data: dict[str, datetime], **_: object) -> None:
        if data["ends_at"] <= data["starts_at"]:
            raise ValidationError("終了日時は開始日時より後にしてください。", "ends_at")


@bp.route("/maintenance", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_MAINTENANCE)
def maintenance():  # type: ignore[no-untyped-def]
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            form = {k: v for k, v in request.form.items() if k != "csrf_token"}
            data = MaintenanceSchema().load(form)
        except ValidationError as exc:
            errors = exc.messages  # type: ignore[assignment]
        else:
            window = MaintenanceWindow(
                starts_at=data["starts_at"].replace(tzinfo=JST),
                ends_at=data["ends_at"].replace(tzinfo=JST),
                message=data["message"],
                created_by=current_user.id,
            )
            db.session.add(window)
            db.session.flush()
            audit.record("maintenance.scheduled", actor=current_user._get_current_object(),
                         target=window)
            db.session.commit()
            flash("臨時メンテナンスを登録しました。", "info")
            return redirect(url_for("console.maintenance"))
    windows = db.session.execute(
        select(MaintenanceWindow).order_by(MaintenanceWindow.starts_at.desc()).limit(50)
    ).scalars().all()
    return render_template("console/maintenance.html", windows=windows, errors=errors,
                           values=request.form), 400 if errors else 200


from portal.console import audit_views  # noqa: E402,F401  (registers the AUD-2 routes)
