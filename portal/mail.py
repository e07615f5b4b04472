"""Mail outbox (MAIL-1, MAIL-2).

``queue_mail`` writes an outbox row in the caller's transaction, so a mail
exists exactly when the change that caused it is committed. ``deliver_pending``
claims due rows, sends them over SMTP and marks them sent; a down server
leaves them pending with a backoff. Bodies are sealed with the master key and
wiped after delivery: codes and temporary passwords never rest in clear.
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, has_request_context, render_template, request
from sqlalchemy import or_, select, update

from portal.clock import now
from portal.crypto import seal, unseal
from portal.extensions import db
from portal.i18n import force_locale
from portal.models import MailOutbox, OutboxStatus

log = logging.getLogger(__name__)

# A claim older than this is treated as a crashed sender and retried.
STALE_CLAIM = timedelta(minutes=10)
# MAIL-1: every subject starts with the service's name (one place adds it).
SUBJECT_PREFIX = "【電子契約サービス】"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


def public_base_url() -> str:
    """The address links point to (invitation URL, QR code, mails): BASE_URL if
    configured, else the address the portal was started on (``make run PORT=…``),
    else the request's own address. Production never trusts the request's Host
    header for links (a forged Host would put a foreign address in mails)."""
    cfg = current_app.config
    if cfg.get("BASE_URL"):
        return str(cfg["BASE_URL"]).rstrip("/")
    host, port = str(cfg.get("RUN_HOST") or ""), cfg.get("RUN_PORT")
    if port and host not in WILDCARD_HOSTS:
        return f"http://{host}:{port}"
    if has_request_context() and cfg.get("PROFILE") != "production":
        return request.host_url.rstrip("/")
    if port:
        return f"http://127.0.0.1:{port}"
    return DEFAULT_BASE_URL


def _render(template: str, context: dict[str, object]) -> tuple[str, str]:
    with force_locale("ja"):  # MAIL-1: mail is Japanese whatever the sender's screen language
        text = render_template(f"mail/{template}.txt", **context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"mail template {template} must start with 'Subject:'")
    return with_prefix(first.removeprefix("Subject:").strip()), body.lstrip("\n")


def with_prefix(subject: str) -> str:
    return subject if subject.startswith(SUBJECT_PREFIX) else SUBJECT_PREFIX + subject


def queue_mail(template: str, to: str, **context: object) -> MailOutbox:
    context.setdefault("base_url", public_base_url())
    subject, body = _render(template, context)
    domain = current_app.config["MAIL_FROM"].rsplit("@", 1)[-1].rstrip(">")
    message_id = make_msgid(idstring=uuid.uuid4().hex, domain=domain)
    row = MailOutbox(
        template=template,
        to_addr=to,
        subject=subject,
        body_encrypted=seal(body.encode("utf-8"), context=message_id.encode()),
        message_id=message_id,
        status=OutboxStatus.PENDING,
        next_attempt_at=now(),
    )
    db.session.add(row)
    return row


def delivery_delayed() -> bool:
    """True while mail the outbox owes has failed at least once and is not yet
    sent, i.e. the mail server is not answering (MAIL-2). Pages that wait for
    a mailed code say so; it is never asked per address, so it tells nobody
    whether an account exists."""
    owed = select(MailOutbox.id).where(
        MailOutbox.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
        MailOutbox.attempts > 0,
    ).limit(1)
    return db.session.execute(owed).first() is not None


def build_message(row: MailOutbox, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = row.to_addr
    msg["Subject"] = row.subject
    msg["Message-ID"] = row.message_id
    msg["Date"] = formatdate(localtime=False)
    msg.set_content(body, charset="utf-8")
    paragraphs = html.escape(body).replace("\n", "<br>\n")
    msg.add_alternative(
        f'<!doctype html><html lang="ja"><body><div style="font-family:sans-serif">'
        f"{paragraphs}</div></body></html>",
        subtype="html",
        charset="utf-8",
    )
    return msg


def _smtp_connection() -> smtplib.SMTP:
    cfg = current_app.config
    timeout = 10
    if cfg["SMTP_TLS"]:
        conn: smtplib.SMTP = smtplib.SMTP_SSL(
            cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        conn = smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=timeout)
        if cfg["SMTP_STARTTLS"]:
            conn.starttls(context=ssl.create_default_context())
    if cfg["SMTP_USER"]:
        conn.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
    return conn


def _claim_due(limit: int) -> list[int]:
    """Mark due rows as SENDING and commit, so another sender skips them."""
    moment = now()
    due = select(MailOutbox.id).where(
        or_(
            (MailOutbox.status == OutboxStatus.PENDING) & (MailOutbox.next_attempt_at <= moment),
            (MailOutbox.status == OutboxStatus.SENDING)
            & (MailOutbox.claimed_at < moment - STALE_CLAIM),
        )
    ).order_by(MailOutbox.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(db.session.execute(due).scalars())
    if ids:
        db.session.execute(
            update(MailOutbox).where(MailOutbox.id.in_(ids))
            .values(status=OutboxStatus.SENDING, claimed_at=moment)
        )
    db.session.commit()
    return ids


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def deliver_pending(limit: int = 100) -> dict[str, int]:
    """One delivery pass. Returns counts of sent and deferred messages."""
    counts = {"sent": 0, "deferred": 0, "failed": 0}
    ids = _claim_due(limit)
    if not ids:
        return counts
    try:
        conn = _smtp_connection()
    except (OSError, smtplib.SMTPException) as exc:
        for row_id in ids:
            _defer(row_id, f"connect: {type(exc).__name__}", counts)
        db.session.commit()
        return counts
    try:
        for row_id in ids:
            row = db.session.get(MailOutbox, row_id)
            if row is None or row.body_encrypted is None:
                continue
            body = unseal(row.body_encrypted, context=row.message_id.encode()).decode("utf-8")
            message = build_message(row, body)
            # The claim protects the row; no transaction (on SQLite: no write
            # lock) is held while the SMTP server answers.
            db.session.commit()
            try:
                conn.send_message(message)
            except (OSError, smtplib.SMTPException) as exc:
                _defer(row_id, f"send: {type(exc).__name__}", counts)
            else:
                row.status = OutboxStatus.SENT
                row.sent_at = now()
                row.attempts += 1
                row.body_encrypted = None
                counts["sent"] += 1
            db.session.commit()
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return counts


def _defer(row_id: int, error: str, counts: dict[str, int]) -> None:
    row = db.session.get(MailOutbox, row_id)
    if row is None:
        return
    row.attempts += 1
    row.last_error = error[:500]
    if row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        row.status = OutboxStatus.FAILED
        counts["failed"] += 1
        log.error("mail %s gave up after %s attempts", row.id, row.attempts)
    else:
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = now() + _backoff(row.attempts)
        counts["deferred"] += 1
    row.claimed_at = None
