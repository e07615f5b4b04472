"""MAIL-1, MAIL-2: outbox in the same transaction; a down SMTP server loses
nothing and nothing is sent twice."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from portal.clock import now
from portal.extensions import db
from portal.mail import deliver_pending, queue_mail
from portal.models import MailOutbox, Notice, OutboxStatus
from tests.conftest import SmtpSink, free_port


def queue_welcome(to="taro@example.jp"):
    return queue_mail("notice", to, name="山田 太郎", text="確認コード 493817 をご利用ください。")


def test_mail_is_japanese_utf8_with_a_plain_text_part(app, smtp_sink):
    queue_welcome()
    db.session.commit()
    assert deliver_pending()["sent"] == 1
    msg = smtp_sink.last_to("taro@example.jp")
    assert msg["Subject"] == "【電子契約サービス】お知らせ"
    plain = msg.get_body(preferencelist=("plain",))
    assert plain.get_content_charset() == "utf-8"
    assert "山田 太郎 様" in plain.get_content()
    assert msg.get_body(preferencelist=("html",)) is not None


def test_outbox_row_exists_only_if_the_change_commits(app):
    db.session.add(Notice(text="rolled back"))
    queue_welcome()
    db.session.rollback()
    assert db.session.scalar(select(MailOutbox.id)) is None


def test_smtp_down_keeps_mail_queued_then_delivers_exactly_once(app):
    port = free_port()
    app.config["SMTP_PORT"] = port
    queue_welcome()
    db.session.commit()

    counts = deliver_pending()  # nobody listens on the port
    assert counts == {"sent": 0, "deferred": 1, "failed": 0}
    row = db.session.scalar(select(MailOutbox))
    assert row.status == OutboxStatus.PENDING and row.body_encrypted is not None

    sink = SmtpSink(port).start()
    try:
        assert deliver_pending()["sent"] == 0  # backoff not yet elapsed
        with time_machine.travel(now() + timedelta(minutes=2), tick=False):
            assert deliver_pending()["sent"] == 1
            assert deliver_pending()["sent"] == 0
        with time_machine.travel(now() + timedelta(hours=2), tick=False):
            assert deliver_pending()["sent"] == 0
        assert len(sink.messages) == 1
    finally:
        sink.stop()
    db.session.expire_all()
    row = db.session.scalar(select(MailOutbox))
    assert row.status == OutboxStatus.SENT and row.body_encrypted is None


def test_a_crashed_sender_claim_is_retried_later(app, smtp_sink):
    row = queue_welcome()
    db.session.commit()
    row.status = OutboxStatus.SENDING  # as if a sender died after claiming
    row.claimed_at = now()
    db.session.commit()
    assert deliver_pending()["sent"] == 0
    with time_machine.travel(now() + timedelta(minutes=11), tick=False):
        assert deliver_pending()["sent"] == 1


def test_mail_deliver_command(app, smtp_sink):
    queue_welcome()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["mail", "deliver"])
    assert result.exit_code == 0 and "sent 1" in result.output
    assert len(smtp_sink.to("taro@example.jp")) == 1
