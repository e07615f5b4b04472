"""お知らせ (HOME-1, HOME-2)."""

from __future__ import annotations

from sqlalchemy import or_, select

from portal.clock import now
from portal.console.models import SystemNotice
from portal.extensions import db
from portal.models import CustomerUser, Notice

MAX_SHOWN = 99


def notify(*, text: str, company_id: int | None = None, user_id: int | None = None,
           link: str | None = None) -> Notice:
    notice = Notice(text=text, company_id=company_id, user_id=user_id, link=link)
    db.session.add(notice)
    return notice


def notices_for(user: CustomerUser) -> list[Notice]:
    """Newest first, at most 99: global, company-wide and personal notices."""
    query = (
        select(Notice)
        .where(
            or_(
                (Notice.company_id.is_(None) & Notice.user_id.is_(None)),
                (Notice.company_id == user.company_id) & Notice.user_id.is_(None),
                Notice.user_id == user.id,
            )
        )
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(MAX_SHOWN)
    )
    return list(db.session.execute(query).scalars())


def system_notices_now() -> list[SystemNotice]:
    """The bank's お知らせ (ADM-1) whose period ``[starts_at, ends_at)`` holds now."""
    moment = now()
    query = (select(SystemNotice)
             .where(SystemNotice.starts_at <= moment, SystemNotice.ends_at > moment)
             .order_by(SystemNotice.starts_at.desc(), SystemNotice.id.desc())
             .limit(MAX_SHOWN))
    return list(db.session.execute(query).scalars())
