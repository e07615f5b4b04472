"""Maintenance windows (AUTH-8): the recurring one (every 2nd Saturday
23:00 to Sunday 07:00 JST) and ad-hoc windows stored by the bank admin.
MyPage shows a maintenance page inside a window; the console stays up.

Ad-hoc windows are typed in 日本時間 and stored as aware UTC. They can be
edited and cancelled until they end; a cancelled window keeps its row
(取消済) so the console and the audit log tell the whole story."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, bindparam, select, update

from portal import audit
from portal.clock import JST, as_utc, now
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import MaintenanceWindow, StaffUser

RECURRING_MESSAGE = "定期メンテナンス"
ADHOC_MESSAGE = "臨時メンテナンス"
LIST_LIMIT = 50

ENDED = "終了した臨時メンテナンスは変更・取消できません。"
CANCELLED = "取り消された臨時メンテナンスは変更・取消できません。"
END_IN_PAST = "終了日時は現在より後にしてください。"
END_BEFORE_START = "終了日時は開始日時より後にしてください。"


@dataclass(frozen=True)
class ActiveWindow:
    ends_at: datetime
    message: str


def _jst(value: datetime) -> datetime:
    """A stored instant in JST; a corrupt far-future row must not crash MyPage."""
    try:
        return as_utc(value).astimezone(JST)
    except OverflowError:
        return datetime.max.replace(tzinfo=JST)


def _second_saturday(day: datetime) -> bool:
    return day.weekday() == 5 and 8 <= day.day <= 14


def recurring_window(moment: datetime) -> ActiveWindow | None:
    """The window is judged on the JST calendar: in UTC it runs Saturday
    14:00 to 22:00, so a UTC date test would pick the wrong days."""
    local = _jst(moment)
    if _second_saturday(local) and local.hour >= 23:
        end = (local + timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)
        return ActiveWindow(end, RECURRING_MESSAGE)
    yesterday = local - timedelta(days=1)
    if local.weekday() == 6 and _second_saturday(yesterday) and local.hour < 7:
        end = local.replace(hour=7, minute=0, second=0, microsecond=0)
        return ActiveWindow(end, RECURRING_MESSAGE)
    return None


_WINDOWS = MaintenanceWindow.__table__.c
_MOMENT = bindparam("moment", type_=_WINDOWS.starts_at.type)
_ACTIVE_ADHOC = (
    select(_WINDOWS.ends_at, _WINDOWS.message)
    .where(_WINDOWS.starts_at <= _MOMENT, _WINDOWS.ends_at > _MOMENT,
           _WINDOWS.cancelled_at.is_(None))
    .order_by(_WINDOWS.ends_at.desc()).limit(1)
)


def active_window(moment: datetime | None = None) -> ActiveWindow | None:
    moment = moment or now()
    if current_app.config["MAINTENANCE_RECURRING_ENABLED"]:
        found = recurring_window(moment)
        if found:
            return found
    # Every MyPage request asks: two columns of one row, no entity to build, from a
    # statement built once (building it cost more than running it).
    row = db.session.connection().execute(_ACTIVE_ADHOC, {"moment": moment}).first()
    if row is None:
        return None
    return ActiveWindow(_jst(row.ends_at), row.message or ADHOC_MESSAGE)


# --- the console's ad-hoc windows -------------------------------------------------


@dataclass(frozen=True)
class WindowRow:
    """One listed window, already in 日本時間 (never raises on odd rows)."""

    id: int
    starts: str
    ends: str
    message: str
    status: str  # 予定 / 実施中 / 終了済 / 取消済
    changeable: bool


def _label(value: datetime | None, fmt: str = "%Y/%m/%d %H:%M") -> str:
    if value is None:
        return "—"
    try:
        return as_utc(value).astimezone(JST).strftime(fmt)
    except (OverflowError, ValueError):
        return "—"


def _status(window: MaintenanceWindow, moment: datetime) -> str:
    if window.cancelled_at is not None:
        return "取消済"
    if as_utc(window.ends_at) <= moment:
        return "終了済"
    if as_utc(window.starts_at) <= moment:
        return "実施中"
    return "予定"


def row_for(window: MaintenanceWindow, moment: datetime | None = None) -> WindowRow:
    status = _status(window, moment or now())
    return WindowRow(window.id, _label(window.starts_at), _label(window.ends_at),
                     window.message, status, status in ("予定", "実施中"))


def listing(limit: int = LIST_LIMIT) -> list[WindowRow]:
    moment = now()
    found = db.session.execute(
        select(MaintenanceWindow)
        .order_by(MaintenanceWindow.starts_at.desc(), MaintenanceWindow.id.desc()).limit(limit)
    ).scalars().all()
    return [row_for(w, moment) for w in found]


def typed_value(value: datetime) -> str:
    """The ``datetime-local`` value (日本時間) an edit form starts from."""
    return _label(value, "%Y-%m-%dT%H:%M").replace("—", "")


def _snapshot(window: MaintenanceWindow) -> dict[str, Any]:
    return {"starts_at": _label(window.starts_at, "%Y-%m-%dT%H:%M+09:00"),
            "ends_at": _label(window.ends_at, "%Y-%m-%dT%H:%M+09:00"),
            "message": window.message}


def _check_times(starts_at: datetime, ends_at: datetime, moment: datetime) -> None:
    if ends_at <= starts_at:
        raise DomainError(END_BEFORE_START, field="ends_at")
    if ends_at <= moment:
        raise DomainError(END_IN_PAST, field="ends_at")


def _check_changeable(window: MaintenanceWindow, moment: datetime) -> None:
    if window.cancelled_at is not None:
        raise DomainError(CANCELLED)
    if as_utc(window.ends_at) <= moment:
        raise DomainError(ENDED)


def get_window(window_id: int) -> MaintenanceWindow:
    window = db.session.get(MaintenanceWindow, window_id)
    if window is None:
        raise NotFound()
    return window


def schedule(actor: StaffUser, *, starts_at: datetime, ends_at: datetime,
             message: str) -> MaintenanceWindow:
    moment = now()
    _check_times(starts_at, ends_at, moment)
    window = MaintenanceWindow(starts_at=starts_at, ends_at=ends_at, message=message,
                               created_by=actor.id, created_at=moment)
    db.session.add(window)
    db.session.flush()
    audit.record("maintenance.scheduled", actor=actor, target=window,
                 detail={"after": _snapshot(window)})
    return window


def edit(actor: StaffUser, window_id: int, *, starts_at: datetime, ends_at: datetime,
         message: str) -> MaintenanceWindow:
    """Change a window that has not ended (a running one may be extended or
    shortened, but not into the past: cancelling is for that)."""
    window = db.session.execute(
        select(MaintenanceWindow).where(MaintenanceWindow.id == window_id).with_for_update()
    ).scalar_one_or_none()
    if window is None:
        raise NotFound()
    moment = now()
    _check_changeable(window, moment)
    _check_times(starts_at, ends_at, moment)
    before = _snapshot(window)
    window.starts_at, window.ends_at, window.message = starts_at, ends_at, message
    window.updated_at, window.updated_by = moment, actor.id
    after = _snapshot(window)
    if after != before:
        audit.record("maintenance.updated", actor=actor, target=window,
                     detail={"before": before, "after": after})
    return window


def cancel(actor: StaffUser, window_id: int) -> MaintenanceWindow:
    """One conditional UPDATE decides: of two parallel cancellations exactly
    one changes the row and writes the audit entry, the other is refused."""
    window = get_window(window_id)
    moment = now()
    result = db.session.execute(
        update(MaintenanceWindow)
        .where(MaintenanceWindow.id == window_id, MaintenanceWindow.cancelled_at.is_(None),
               MaintenanceWindow.ends_at > moment)
        .values(cancelled_at=moment, cancelled_by=actor.id, updated_at=moment,
                updated_by=actor.id)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(window)
    if cast(CursorResult[Any], result).rowcount != 1:
        _check_changeable(window, moment)  # says why: cancelled meanwhile, or ended
        raise DomainError(CANCELLED)
    audit.record("maintenance.cancelled", actor=actor, target=window,
                 detail={"before": _snapshot(window) | {"status": "有効"},
                         "after": {"status": "取消済",
                                   "cancelled_at": _label(moment, "%Y-%m-%dT%H:%M:%S+09:00")}})
    return window
