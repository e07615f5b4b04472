"""Form data and small steps shared by the users functional tests."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEntry, CustomerUser

HANDLE_RE = re.compile(r"/users/drafts/([A-Za-z0-9_-]+)/")


def person(email: str, role: str = "signer", **extra: Any) -> dict[str, Any]:
    data = {
        "last_name": "佐藤", "first_name": "花子", "last_name_kana": "サトウ",
        "first_name_kana": "ハナコ", "last_name_en": "Sato", "first_name_en": "Hanako",
        "birth_date": "19850314", "mobile": "09011112222", "email": email,
        "email_confirm": email, "department": "経理部", "title": "部長",
        "identity_method": "documents", "role": role,
    }
    data.update(extra)
    return data


def handle_of(response: Any) -> str:
    found = HANDLE_RE.search(response.headers.get("Location", "")) or HANDLE_RE.search(
        response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:2000]
    return found.group(1)


def start_new_user(client: Any, data: dict[str, Any], **kwargs: Any) -> Any:
    return client.post_form("/users/new", data, token_page="/users/new", **kwargs)


def register_draft(client: Any, handle: str) -> Any:
    return client.post_form(f"/users/drafts/{handle}/register",
                            token_page=f"/users/drafts/{handle}/confirm")


def user_by_email(email: str) -> CustomerUser | None:
    return db.session.execute(
        select(CustomerUser).where(CustomerUser.email == email)).scalar_one_or_none()


def count_users(company_id: int) -> int:
    return len(db.session.execute(select(CustomerUser).where(
        CustomerUser.company_id == company_id, CustomerUser.state == "active")).scalars().all())


def actions() -> list[str]:
    return [e.action for e in db.session.execute(
        select(AuditEntry).order_by(AuditEntry.id)).scalars()]


TEMP_RE = re.compile(r"仮パスワード：(\S+)")


def temporary_password(sink: Any, address: str) -> str:
    found = TEMP_RE.search(sink.body(sink.last_to(address, "仮パスワード")))
    assert found
    return found.group(1)
