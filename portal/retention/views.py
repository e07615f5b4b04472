"""Console pages of the retention area (CON-9): tombstones (CSV for auditors),
legal holds, 解約 of a customer; and a deleted package's console URLs show its
tombstone to staff (customers get the plain 404 of a missing package)."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate

from portal.auth.decorators import staff_required
from portal.blueprints import console_bp
from portal.clock import to_jst
from portal.contracts.models import SUMMARY_LABELS, ContractPackage
from portal.contracts.states import PACKAGE_LABELS
from portal.errors import DomainError
from portal.extensions import db
from portal.models import Company, StaffUser
from portal.permissions import Permission, can, get_or_404_for, require
from portal.retention.termination import termination_of
from portal.validation import Text, first_errors

from . import cli, policy, services
from .models import Tombstone

bp = Blueprint("retention", __name__, cli_group="retention")
cli.register(bp)

TERMINATED_FLASH = "解約を登録しました。MyPageのご利用を終了し、電子証明書を失効しました。"
ID_ERROR: dict[str, Any] = {"invalid": "半角数字で入力してください。"}
ID_RANGE = validate.Range(min=1, max=2**31 - 1, error="IDが正しくありません。")


class HoldSchema(Schema):
    package_id = fields.Integer(load_default=None, strict=False, validate=ID_RANGE,
                                error_messages=ID_ERROR)
    company_id = fields.Integer(load_default=None, strict=False, validate=ID_RANGE,
                                error_messages=ID_ERROR)
    reason = Text(max_length=500, required=True)


class LiftSchema(Schema):
    reason = Text(max_length=500, load_default="")


class TerminateSchema(Schema):
    note = Text(max_length=500, load_default="")
    confirm = fields.Boolean(required=True, truthy={"1", "yes", "on"},
                             error_messages={"required": "確認欄にチェックを入れてください。",
                                             "invalid": "確認欄にチェックを入れてください。"})


def _me() -> Any:
    return current_user._get_current_object()


Errors = dict[str, list[str]]  # field -> messages, as the field_errors macro shows them


def _form(schema: Schema) -> tuple[dict[str, Any], Errors]:
    try:
        return schema.load({k: v for k, v in request.form.items() if k != "csrf_token"}), {}
    except ValidationError as exc:
        flat = first_errors(exc.messages_dict)
        return {}, {name: [message] for name, message in flat.items()}


# --- a deleted package's console pages -------------------------------------------------------

def may_see_tombstone(staff: StaffUser, tombstone: Tombstone) -> bool:
    return can(staff, Permission.CONSOLE_AUDIT_READ) or staff.branch_id == tombstone.branch_id


@console_bp.before_request
def deleted_package_shows_tombstone() -> ResponseReturnValue | None:
    package_id = (request.view_args or {}).get("package_id")
    endpoint = request.endpoint or ""
    if not isinstance(package_id, int) or not endpoint.startswith("console.contract"):
        return None
    if not current_user.is_authenticated or not isinstance(_me(), StaffUser):
        return None
    if db.session.get(ContractPackage, package_id) is not None:
        return None
    tombstone = services.tombstone_of(package_id)
    if tombstone is None or not may_see_tombstone(_me(), tombstone):
        return None
    return render_template("retention/tombstone.html", t=tombstone, labels=_labels()), 404


def _labels() -> dict[str, Any]:
    return {"summary": {k.value: v for k, v in SUMMARY_LABELS.items()},
            "state": {k.value: v for k, v in PACKAGE_LABELS.items()},
            "policy": policy.POLICY_LABELS}


# --- tombstones ---------------------------------------------------------------------------------

@console_bp.route("/retention/tombstones")
@staff_required
@require(Permission.CONSOLE_AUDIT_READ)
def retention_tombstones() -> ResponseReturnValue:
    return render_template("retention/tombstones.html", tombstones=services.tombstones(),
                           labels=_labels())


CSV_HEADER = ["案件番号", "申込概要", "最終状態", "取扱店番号", "取扱店", "申込日", "締結日時",
              "終了日時", "削除日時", "適用した保存ルール", "ファイル", "SHA-256"]


def _jst(value: Any) -> str:
    return to_jst(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


@console_bp.route("/retention/tombstones.csv")
@staff_required
@require(Permission.CONSOLE_AUDIT_READ)
def retention_tombstones_csv() -> ResponseReturnValue:
    labels = _labels()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for t in services.tombstones():
        base = [t.package_id, labels["summary"].get(t.summary_type, t.summary_type),
                labels["state"].get(t.final_state, t.final_state), t.branch_id, t.branch_name,
                t.application_date.isoformat(), _jst(t.concluded_at), _jst(t.ended_at),
                _jst(t.deleted_at), t.policy]
        for f in t.files or [{"ref": "", "sha256": ""}]:  # one line per deleted file
            writer.writerow([*base, f["ref"], f["sha256"]])
    # UTF-8 with BOM, like the operation-log CSV, so Excel reads the Japanese headers.
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=tombstones.csv"})


# --- legal holds --------------------------------------------------------------------------------

def _holds_page(errors: Errors | None = None, status: int = 200) -> ResponseReturnValue:
    show_all = request.args.get("all") == "1"
    return render_template("retention/holds.html", holds=services.holds(show_all),
                           show_all=show_all, errors=errors or {}, form=request.form), status


@console_bp.route("/retention/holds", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_AUDIT_READ)
def retention_holds() -> ResponseReturnValue:
    if request.method == "GET":
        return _holds_page()
    data, errors = _form(HoldSchema())
    if errors:
        return _holds_page(errors, 400)
    try:
        services.place_hold(_me(), reason=data["reason"], package_id=data["package_id"],
                            company_id=data["company_id"])
    except DomainError as exc:
        db.session.rollback()
        return _holds_page({exc.field or "reason": [exc.msgid]}, 400)
    db.session.commit()
    flash("訴訟ホールドを設定しました。", "info")
    return redirect(url_for("console.retention_holds"))


@console_bp.route("/retention/holds/<int:hold_id>/lift", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_AUDIT_READ)
def retention_hold_lift(hold_id: int) -> ResponseReturnValue:
    data, errors = _form(LiftSchema())
    if errors:
        return _holds_page(errors, 400)
    try:
        services.lift_hold(_me(), hold_id, reason=data["reason"] or "")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.msgid, "error")
        return redirect(url_for("console.retention_holds"))
    db.session.commit()
    flash("訴訟ホールドを解除しました。", "info")
    return redirect(url_for("console.retention_holds"))


# --- 解約 -----------------------------------------------------------------------------------------

@console_bp.route("/companies/<int:company_id>/terminate", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_CUSTOMERS_EDIT)
def company_terminate(company_id: int) -> ResponseReturnValue:
    company = get_or_404_for(_me(), Permission.CONSOLE_CUSTOMERS_EDIT, Company, company_id)
    termination = termination_of(company.id)
    errors: Errors = {}
    if request.method == "POST" and termination is None:
        data, errors = _form(TerminateSchema())
        if not errors and not data.get("confirm"):
            errors = {"confirm": ["確認欄にチェックを入れてください。"]}
        if not errors:
            try:
                services.terminate(_me(), company, note=data["note"] or "")
            except DomainError as exc:
                db.session.rollback()
                errors = {"confirm": [exc.msgid]}
            else:
                db.session.commit()
                flash(TERMINATED_FLASH, "info")
                return redirect(url_for("console.company_terminate", company_id=company.id))
    return render_template(
        "retention/terminate.html", company=company, termination=termination,
        identity_due=policy.identity_due(termination.terminated_at) if termination else None,
        errors=errors, form=request.form), (400 if errors else 200)
