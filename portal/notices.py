"""お知らせ (HOME-1, HOME-2): the notices of a user and the bank's system notices of
the moment (written in the console, ADM-1)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from sqlalchemy import delete, or_, select

from portal.clock import now
from portal.extensions import db
from portal.models import CustomerUser, Notice, SystemNotice

MAX_SHOWN = 99


def notify(*, text: str, company_id: int | None = None, user_id: int | None = None,
           link: str | None = None) -> Notice:
    notice = Notice(text=text, company_id=company_id, user_id=user_id, link=link)
    db.session.add(notice)
    return notice


def retire(*, link: str, text: str, user_ids: Collection[int] | None = None) -> None:
    """Remove the notices with ``text`` and ``link`` (of ``user_ids`` only, if given):
    a request the user no longer has to act on (#13 item 12)."""
    query = delete(Notice).where(Notice.link == link, Notice.text == text)
    if user_ids is not None:
        query = query.where(Notice.user_id.in_(list(user_ids)))
    db.session.execute(query, execution_options={"synchronize_session": False})


# What a notice is about (e.g. its contract package), named by the area that owns its
# link, in the visitor's language when the page is shown: link prefix -> a function
# of the ids after the prefix that answers {id: subject} (one query per page).
SubjectsOf = Callable[[Collection[int]], dict[int, str]]
_subjects_by_prefix: dict[str, SubjectsOf] = {}


def name_subjects(prefix: str, subjects_of: SubjectsOf) -> None:
    _subjects_by_prefix[prefix] = subjects_of


def subjects(notices: Sequence[Notice]) -> dict[int, str]:
    """{notice id: what it is about} for the notices whose link names a subject."""
    wanted: dict[str, dict[int, list[int]]] = {}
    for notice in notices:
        for prefix in _subjects_by_prefix:
            rest = (notice.link or "").removeprefix(prefix)
            if rest != notice.link and rest.isdigit():
                wanted.setdefault(prefix, {}).setdefault(int(rest), []).append(notice.id)
    shown: dict[int, str] = {}
    for prefix, ids in wanted.items():
        for subject_id, text in _subjects_by_prefix[prefix](ids.keys()).items():
            for notice_id in ids.get(subject_id, []):
                shown[notice_id] = text
    return shown


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
    """The bank's お知らせ (ADM-1) whose period ``[starts_at, ends_at)`` holds now:
    what MyPage HOME shows."""
    moment = now()
    query = (select(SystemNotice)
             .where(SystemNotice.starts_at <= moment, SystemNotice.ends_at > moment)
             .order_by(SystemNotice.starts_at.desc(), SystemNotice.id.desc())
             .limit(MAX_SHOWN))
    return list(db.session.execute(query).scalars())
