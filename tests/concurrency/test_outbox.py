"""MAIL-2 with several deliverers: senders running at the same time on one
database (threads here, each with its own app context and connection, as
`flask mail deliver --loop` on two hosts would) send every mail exactly once."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from flask import Flask
from sqlalchemy import select

from portal.extensions import db
from portal.mail import deliver_pending, queue_mail
from portal.models import MailOutbox, OutboxStatus
from portal.sqlite_tx import deferred_transactions

pytestmark = pytest.mark.concurrency

MAILS, SENDERS, BATCH = 60, 4, 5


def deliver_until_empty(app: Flask, gate: threading.Barrier) -> int:
    sent = 0
    with app.app_context(), deferred_transactions(False):  # BEGIN IMMEDIATE, as in production
        gate.wait(30)
        while True:
            counts = deliver_pending(limit=BATCH)
            if not any(counts.values()):
                return sent
            sent += counts["sent"]


def test_mail2_parallel_deliverers_send_each_mail_once(app, smtp_server):
    for n in range(MAILS):
        queue_mail("application_code", f"person{n}@example.jp", code=f"{n:06d}", minutes=10)
    db.session.commit()
    ids = [m.message_id for m in db.session.execute(select(MailOutbox)).scalars()]
    smtp_server.clear()

    gate = threading.Barrier(SENDERS)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(deliver_until_empty(app, gate)))
               for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert sum(results) == MAILS and len(results) == SENDERS
    received = Counter(str(m["Message-ID"]) for m in smtp_server.messages)
    assert received == Counter(ids)  # every mail, none twice
    db.session.commit()
    rows = db.session.execute(select(MailOutbox)).scalars().all()
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert all(r.attempts == 1 and r.body_encrypted is None for r in rows)
