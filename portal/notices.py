"""お知らせ (HOME-1, HOME-2)."""

from __future__ import annotations

from sqlalchemy import or_, select

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
