"""Maintenance windows (AUTH-8): the recurring one (every 2nd Saturday
23:00 to Sunday 07:00 JST) and ad-hoc windows stored by the bank admin.
MyPage shows a maintenance page inside a window; the console stays up.

Ad-hoc windows are typed in 日本時間 and stored as aware UTC. They can be
edited and cancelled until they end; a cancelled window keeps its row
(取消済) so the console and the audit log tell the whole story."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flask import current_app, has_app_context
from sqlalchemy import CursorResult, bindparam, event, select, update
from sqlalchemy.orm import Session, object_session

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


# Every MyPage request asks whether an ad-hoc window is on. The answer comes from
# the windows that overlap the next CACHE_SECONDS, read once per worker for that
# second: start and end are still judged to the microsecond against the clock, and
# a change made in this worker (schedule, edit, cancel, any insert/update/delete of
# a row) is seen at once; another worker sees it within CACHE_SECONDS.
CACHE_SECONDS = 1
_CACHE = "portal_maintenance_windows"
_CHANGED = "portal_maintenance_changed"
_WINDOWS = MaintenanceWindow.__table__.c
_OVERLAPPING = (
    select(_WINDOWS.starts_at, _WINDOWS.ends_at, _WINDOWS.message)
    .where(_WINDOWS.starts_at < bindparam("until", type_=_WINDOWS.starts_at.type),
           _WINDOWS.ends_at > bindparam("since", type_=_WINDOWS.ends_at.type),
           _WINDOWS.cancelled_at.is_(None))
)


@dataclass(frozen=True)
class _Overlapping:
    since: datetime
    until: datetime
    windows: tuple[tuple[datetime, datetime, str], ...]  # starts_at, ends_at, message

    def covers(self, moment: datetime) -> bool:
        return self.since <= moment < self.until


def _overlapping(moment: datetime) -> _Overlapping:
    cached: _Overlapping | None = current_app.extensions.get(_CACHE)
    if cached is not None and cached.covers(moment):
        return cached
    try:
        until = moment + timedelta(seconds=CACHE_SECONDS)
    except OverflowError:  # a clock at the end of time
        until = datetime.max.replace(tzinfo=UTC)
    rows = db.session.connection().execute(_OVERLAPPING, {"since": moment, "until": until})
    fresh = _Overlapping(moment, until, tuple((r.starts_at, r.ends_at, r.message) for r in rows))
    current_app.extensions[_CACHE] = fresh
    return fresh


def _forget() -> None:
    if has_app_context():
        current_app.extensions.pop(_CACHE, None)


def _changed(session: Session | None) -> None:
    """A window row changed in ``session``: forget now, and again at its commit
    (another thread may have read the old rows in between)."""
    _forget()
    if session is not None:
        session.info[_CHANGED] = True


@event.listens_for(MaintenanceWindow, "after_insert")
@event.listens_for(MaintenanceWindow, "after_update")
@event.listens_for(MaintenanceWindow, "after_delete")
def _row_changed(_mapper: Any, _connection: Any, target: MaintenanceWindow) -> None:
    _changed(object_session(target))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        _forget()


def active_window(moment: datetime | None = None) -> ActiveWindow | None:
    moment = moment or now()
    if current_app.config["MAINTENANCE_RECURRING_ENABLED"]:
        found = recurring_window(moment)
        if found:
            return found
    active = [w for w in _overlapping(moment).windows if w[0] <= moment < w[1]]
    if not active:
        return None
    _starts, ends_at, message = max(active, key=lambda w: w[1])
    return ActiveWindow(_jst(ends_at), message or ADHOC_MESSAGE)


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
    _changed(db.session())
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
    _changed(db.session())
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
    _changed(db.session())
    db.session.refresh(window)
    if cast(CursorResult[Any], result).rowcount != 1:
        _check_changeable(window, moment)  # says why: cancelled meanwhile, or ended
        raise DomainError(CANCELLED)
    audit.record("maintenance.cancelled", actor=actor, target=window,
                 detail={"before": _snapshot(window) | {"status": "有効"},
                         "after": {"status": "取消済",
                                   "cancelled_at": _label(moment, "%Y-%m-%dT%H:%M:%S+09:00")}})
    return window
