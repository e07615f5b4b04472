"""AUD-3, MAIL-2: no plaintext password or code in the database or the logs."""

from __future__ import annotations

import logging
from pathlib import Path

from portal.extensions import db
from portal.mail import deliver_pending, queue_mail
from tests.conftest import USE_PG, login_customer


def database_bytes(app) -> bytes:
    if USE_PG:
        from sqlalchemy import text

        chunks = []
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(text(f'SELECT * FROM "{table.name}"')):
                chunks.append(repr(tuple(row)).encode())
        return b"\n".join(chunks)
    path = Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
    db.session.remove()
    db.engine.dispose()  # checkpoint the WAL into the main file
    data = path.read_bytes()
    for extra in (path.with_name(path.name + "-wal"),):
        if extra.exists():
            data += extra.read_bytes()
    return data


def test_passwords_and_codes_never_rest_in_clear(app, client, factories, smtp_sink, caplog):
    caplog.set_level(logging.DEBUG)
    password = "Zq7Rt5Pw3Ymn"
    wrong = "Kx9Lv2Nb8Hgf"
    code = "58203917"
    user = factories.customer(password=password)
    email = user.email
    login_customer(client, user.email, wrong)
    login_customer(client, user.email, password)
    queue_mail("notice", user.email, name=user.display_name, text=f"認証コード {code}")
    db.session.commit()
    pending = database_bytes(app)
    deliver_pending()
    delivered = database_bytes(app)
    assert code in smtp_sink.body(smtp_sink.last_to(email))  # the mail itself has it
    # The in-process SMTP sink ("mail.log") is the receiving server, not the portal.
    portal_logs = "\n".join(r.getMessage() for r in caplog.records
                            if not r.name.startswith("mail.log"))
    for secret in (password, wrong, code):
        assert secret.encode() not in pending
        assert secret.encode() not in delivered
        assert secret not in portal_logs
