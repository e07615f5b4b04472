"""AUD-2: search and CSV export of the operation log (bank administrator).
Actions and targets are shown with their 日本語 labels (``labels``); an
operator is found by login ID / MyPageID or by part of a name or email."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from portal import audit
from portal.auth.decorators import staff_required
from portal.blueprints import console_bp as bp
from portal.clock import JST, to_jst
from portal.console.labels import action_label, actor_type_label, target_label
from portal.extensions import db
from portal.models import AuditEntry, CustomerUser, StaffUser
from portal.permissions import Permission, require
from portal.validation import Text

PAGE_SIZE = 50
# The export is for people (Excel, in Japanese) and for the record: labels next
# to the stored codes, times in 日本時間 with their offset.
CSV_HEADERS = ["No.", "日時（日本時間）", "操作者の種別", "操作者ID", "操作者名", "お客さまID",
               "IPアドレス", "操作", "操作コード", "対象", "対象ID", "詳細", "ハッシュ"]
CSV_LIMIT = 100_000
DATE_ERRORS: dict[str, Any] = {"invalid": "日付を正しく入力してください（例：2026-04-01）。"}
# Checked before any time arithmetic: year 1 or 9999 would overflow at the JST
# day boundary, and the log holds nothing outside these years.
DATE_RANGE = validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31),
                            error="日付が範囲外です。正しい日付を入力してください。")
BAD_COMPANY_ID = "お客さまIDが正しくありません。"
BAD_PAGE = "ページ番号が正しくありません。"
PAGE_OUT_OF_RANGE = ("%(page)sページ目はありません。該当する操作ログは%(total)s件"
                     "（%(pages)sページ）です。")
SPACES = (" ", "\u3000")


class AuditSearchSchema(Schema):
    date_from = fields.Date(load_default=None, error_messages=DATE_ERRORS, validate=DATE_RANGE)
    date_to = fields.Date(load_default=None, error_messages=DATE_ERRORS, validate=DATE_RANGE)
    action = Text(max_length=64, load_default="")
    actor = Text(max_length=64, load_default="")
    # A database id (INTEGER): anything else would overflow the driver, not match.
    company_id = fields.Integer(load_default=None, strict=False,
                                validate=validate.Range(min=1, max=2**31 - 1,
                                                        error=BAD_COMPANY_ID),
                                error_messages={"invalid": "半角数字で入力してください。"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000,
                                                                  error=BAD_PAGE),
                          error_messages={"invalid": BAD_PAGE})

    @validates_schema
    def check_range(self, data: dict[str, Any], **_: object) -> None:
        if data["date_from"] and data["date_to"] and data["date_from"] > data["date_to"]:
            raise ValidationError("終了日は開始日以降にしてください。", "date_to")


def jst_day_start(day: date) -> datetime:
    """00:00 JST of ``day``: a date filter takes whole days in 日本時間."""
    return datetime.combine(day, time(), JST)


def _squeezed(column: Any) -> Any:
    for space in SPACES:
        column = func.replace(column, space, "")
    return column


def _actor_matches(text: str) -> ColumnElement[bool]:
    """The login ID / MyPageID itself, or part of an operator's name (spaces
    ignored, so 「山田太郎」 finds 山田 太郎) or email address."""
    name = "".join(c for c in text if c not in SPACES)
    email = text.lower()
    customers = select(CustomerUser.id).where(or_(
        _squeezed(CustomerUser.last_name + CustomerUser.first_name).contains(
            name, autoescape=True),
        (CustomerUser.last_name_kana + CustomerUser.first_name_kana).contains(
            name, autoescape=True),
        func.lower(CustomerUser.email).contains(email, autoescape=True)))
    staff = select(StaffUser.id).where(or_(
        _squeezed(StaffUser.name).contains(name, autoescape=True),
        func.lower(StaffUser.email).contains(email, autoescape=True)))
    return or_(AuditEntry.actor_label == text,
               and_(AuditEntry.actor_type == "customer", AuditEntry.actor_id.in_(customers)),
               and_(AuditEntry.actor_type == "staff", AuditEntry.actor_id.in_(staff)))


def operator_names(entries: list[AuditEntry]) -> dict[tuple[str, int], str]:
    """(actor_type, actor_id) → the operator's name, read once per page."""
    wanted: dict[str, set[int]] = {"customer": set(), "staff": set()}
    for e in entries:
        if e.actor_type in wanted and e.actor_id is not None:
            wanted[e.actor_type].add(e.actor_id)
    names: dict[tuple[str, int], str] = {}
    if wanted["customer"]:
        for user in db.session.execute(select(CustomerUser).where(
                CustomerUser.id.in_(wanted["customer"]))).scalars():
            names[("customer", user.id)] = user.display_name
    if wanted["staff"]:
        for staff in db.session.execute(select(StaffUser).where(
                StaffUser.id.in_(wanted["staff"]))).scalars():
            names[("staff", staff.id)] = staff.display_name
    return names


def _query(criteria: dict[str, Any]) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if criteria["date_from"]:
        query = query.where(AuditEntry.at >= jst_day_start(criteria["date_from"]))
    if criteria["date_to"]:
        end = jst_day_start(criteria["date_to"] + timedelta(days=1))
        query = query.where(AuditEntry.at < end)
    if criteria["action"]:
        query = query.where(AuditEntry.action.startswith(criteria["action"]))
    if criteria["actor"]:
        query = query.where(_actor_matches(criteria["actor"]))
    if criteria["company_id"] is not None:
        query = query.where(AuditEntry.company_id == criteria["company_id"])
    return query.order_by(AuditEntry.id.desc())


def _criteria() -> tuple[dict[str, Any], dict[str, Any]]:
    raw = {k: v for k, v in request.args.items() if v != "" and k in AuditSearchSchema().fields}
    try:
        return AuditSearchSchema().load(raw), {}
    except ValidationError as exc:
        return AuditSearchSchema().load({}), exc.messages_dict


@bp.route("/audit")
@staff_required
@require(Permission.CONSOLE_AUDIT_READ)
def audit_log() -> ResponseReturnValue:
    criteria, errors = _criteria()
    rows: list[AuditEntry] = []
    out_of_range = None
    if not errors:
        offset = (criteria["page"] - 1) * PAGE_SIZE
        page_query = _query(criteria).limit(PAGE_SIZE + 1).offset(offset)
        rows = list(db.session.execute(page_query).scalars())
        if not rows and criteria["page"] > 1:
            out_of_range = _range_of(criteria)
    page = render_template("console/audit.html", rows=rows[:PAGE_SIZE],
                           has_next=len(rows) > PAGE_SIZE, names=operator_names(rows),
                           action_label=action_label, target_label=target_label,
                           out_of_range=out_of_range, out_of_range_text=PAGE_OUT_OF_RANGE,
                           criteria=criteria, errors=errors, values=request.args)
    return page, 400 if errors else 200


def _range_of(criteria: dict[str, Any]) -> dict[str, int]:
    """What a page past the end is told: the total and the last page."""
    total = db.session.execute(
        select(func.count()).select_from(_query(criteria).order_by(None).subquery())
    ).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    return {"page": criteria["page"], "total": total, "pages": pages}


@bp.route("/audit.csv")
@staff_required
@require(Permission.CONSOLE_AUDIT_READ)
def audit_csv() -> ResponseReturnValue:
    criteria, errors = _criteria()
    if errors:
        return render_template("console/audit.html", rows=[], has_next=False, criteria=criteria,
                               errors=errors, values=request.args), 400
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADERS)
    entries = list(db.session.execute(_query(criteria).limit(CSV_LIMIT)).scalars())
    names = operator_names(entries)
    for e in entries:
        writer.writerow([
            e.id, to_jst(e.at).isoformat(timespec="seconds"), actor_type_label(e.actor_type),
            e.actor_label, names.get((e.actor_type, e.actor_id or 0), ""), e.company_id or "",
            e.ip, action_label(e.action), e.action, target_label(e.target_type),
            e.target_id, e.detail, e.hash])
    audit.record("audit.exported", actor=current_user._get_current_object(),
                 detail={k: str(v) for k, v in criteria.items() if v})
    db.session.commit()
    # UTF-8 with BOM so Excel opens the Japanese text correctly; the charset is
    # named once (``mimetype`` would have Werkzeug append a second one).
    return Response("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=audit-log.csv"})
