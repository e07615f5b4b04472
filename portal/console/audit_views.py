"""AUD-2: search and CSV export of the operation log (bank administrator)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Response, render_template, request
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import Select, select

from portal import audit
from portal.auth.decorators import staff_required
from portal.clock import JST
from portal.console.views import bp
from portal.extensions import db
from portal.models import AuditEntry
from portal.permissions import Permission, require
from portal.validation import Text

PAGE_SIZE = 50
CSV_LIMIT = 100_000
DATE_ERRORS: dict[str, Any] = {"invalid": "日付を正しく入力してください（例：2026-04-01）。"}
# Checked before any time arithmetic: year 1 or 9999 would overflow at the JST
# day boundary, and the log holds nothing outside these years.
DATE_RANGE = validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31),
                            error="日付が範囲外です。正しい日付を入力してください。")
BAD_COMPANY_ID = "お客さまIDが正しくありません。"
BAD_PAGE = "ページ番号が正しくありません。"


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
    def check_range(self, data: dict, **_: object) -> None:
        if data["date_from"] and data["date_to"] and data["date_from"] > data["date_to"]:
            raise ValidationError("終了日は開始日以降にしてください。", "date_to")


def jst_day_start(day: date) -> datetime:
    """00:00 JST of ``day``: a date filter takes whole days in 日本時間."""
    return datetime.combine(day, time(), JST)


def _query(criteria: dict) -> Select:
    query = select(AuditEntry)
    if criteria["date_from"]:
        query = query.where(AuditEntry.at >= jst_day_start(criteria["date_from"]))
    if criteria["date_to"]:
        end = jst_day_start(criteria["date_to"] + timedelta(days=1))
        query = query.where(AuditEntry.at < end)
    if criteria["action"]:
        query = query.where(AuditEntry.action.startswith(criteria["action"]))
    if criteria["actor"]:
        query = query.where(AuditEntry.actor_label == criteria["actor"])
    if criteria["company_id"] is not None:
        query = query.where(AuditEntry.company_id == criteria["company_id"])
    return query.order_by(AuditEntry.id.desc())


def _criteria() -> tuple[dict, dict]:
    raw = {k: v for k, v in request.args.items() if v != "" and k in AuditSearchSchema().fields}
    try:
        return AuditSearchSchema().load(raw), {}
    except ValidationError as exc:
        return AuditSearchSchema().load({}), exc.messages  # type: ignore[return-value]


@bp.route("/audit")
@staff_required
@require(Permission.CONSOLE_AUDIT_READ)
def audit_log():  # type: ignore[no-untyped-def]
    criteria, errors = _criteria()
    rows = []
    if not errors:
        offset = (criteria["page"] - 1) * PAGE_SIZE
        page_query = _query(criteria).limit(PAGE_SIZE + 1).offset(offset)
        rows = db.session.execute(page_query).scalars().all()
    page = render_template("console/audit.html", rows=rows[:PAGE_SIZE],
                           has_next=len(rows) > PAGE_SIZE,
                           criteria=criteria, errors=errors, values=request.args)
    return page, 400 if errors else 200


@bp.route("/audit.csv")
@staff_required
@require(Permission.CONSOLE_AUDIT_READ)
def audit_csv():  # type: ignore[no-untyped-def]
    criteria, errors = _criteria()
    if errors:
        return render_template("console/audit.html", rows=[], has_next=False, criteria=criteria,
                               errors=errors, values=request.args), 400
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "at_utc", "actor_type", "actor", "company_id", "ip", "action",
                     "target_type", "target_id", "detail", "hash"])
    for e in db.session.execute(_query(criteria).limit(CSV_LIMIT)).scalars():
        writer.writerow([e.id, e.at.isoformat(), e.actor_type, e.actor_label, e.company_id or "",
                         e.ip, e.action, e.target_type, e.target_id, e.detail, e.hash])
    audit.record("audit.exported", actor=current_user._get_current_object(),
                 detail={k: str(v) for k, v in criteria.items() if v})
    db.session.commit()
    # UTF-8 with BOM so Excel opens the Japanese text correctly.
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=audit-log.csv"})
