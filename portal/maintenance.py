"""Maintenance windows (AUTH-8): the recurring one (every 2nd Saturday
23:00 to Sunday 07:00 JST) and ad-hoc windows stored by the bank admin.
MyPage shows a maintenance page inside a window; the console stays up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from portal.clock import JST, as_utc, now
from portal.extensions import db
from portal.models import MaintenanceWindow


@dataclass(frozen=True)
class ActiveWindow:
    ends_at: datetime
    message: str


def _second_saturday(day: datetime) -> bool:
    return day.weekday() == 5 and 8 <= day.day <= 14


def recurring_window(moment: datetime) -> ActiveWindow | None:
    local = as_utc(moment).astimezone(JST)
    if _second_saturday(local) and local.hour >= 23:
        end = (local + timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)
        return ActiveWindow(end, "定期メンテナンス")
    yesterday = local - timedelta(days=1)
    if local.weekday() == 6 and _second_saturday(yesterday) and local.hour < 7:
        end = local.replace(hour=7, minute=0, second=0, microsecond=0)
        return ActiveWindow(end, "定期メンテナンス")
    return None


def active_window(moment: datetime | None = None) -> ActiveWindow | None:
    moment = moment or now()
    if current_app.config["MAINTENANCE_RECURRING_ENABLED"]:
        found = recurring_window(moment)
        if found:
            return found
    row = db.session.execute(
        select(MaintenanceWindow)
        .where(MaintenanceWindow.starts_at <= moment, MaintenanceWindow.ends_at > moment)
        .order_by(MaintenanceWindow.ends_at.desc())
    ).scalars().first()
    if row is None:
        return None
    return ActiveWindow(as_utc(row.ends_at).astimezone(JST), row.message or "臨時メンテナンス")
