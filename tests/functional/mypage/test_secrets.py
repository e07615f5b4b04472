"""AUD-3, APP-4, MAIL-2: codes and temporary passwords of issue 3's flows are
in no database row and no log line in clear (only the delivered mail has them)."""

from __future__ import annotations

import logging
import re

from sqlalchemy import select

from portal.extensions import db
from portal.mail import deliver_pending
from portal.mypage.models import Application
from tests.conftest import DEFAULT_PASSWORD, login_staff
from tests.functional.mypage.conftest import INDIVIDUAL_FORM


def _has_code(text: str, code: str) -> bool:
    """The code as a separate number (not inside a hex digest)."""
    return re.search(rf"(?<![0-9a-f]){code}(?![0-9a-f])", text) is not None


def _database_text() -> str:
    parts: list[str] = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).all():
            parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_codes_and_temporary_passwords_never_rest_in_clear(client, flow, factories, smtp_sink,
                                                           caplog):
    caplog.set_level(logging.DEBUG)
    branch = factories.branch()
    flow.send_code(INDIVIDUAL_FORM, branch.id)
    before = _database_text()
    code = flow.code(INDIVIDUAL_FORM["email"])
    assert not _has_code(before, code)
    flow.verify(code)
    application = db.session.execute(select(Application)).scalar_one()
    staff = factories.staff(branch)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    client.post_form(f"/console/applications/{application.id}/approve", {},
                     token_page="/console/invitations")
    undelivered = _database_text()
    deliver_pending()
    body = smtp_sink.body(smtp_sink.last_to(INDIVIDUAL_FORM["email"], "仮パスワード"))
    temporary = body.split("仮パスワード：")[1].split()[0]
    after = _database_text()
    for text in (undelivered, after):
        assert temporary not in text and not _has_code(text, code)
    logs = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert temporary not in logs and not _has_code(logs, code)
