"""Flask CLI commands: ``audit verify``, ``mail deliver``, ``demo seed``."""

from __future__ import annotations

import sys
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from portal.extensions import db

audit_cli = AppGroup("audit", help="Operation log (AUD-1).")
mail_cli = AppGroup("mail", help="Mail outbox (MAIL-2).")
demo_cli = AppGroup("demo", help="Demo data for the embedded profile.")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Exit 0 on an intact chain; non-zero naming the first bad entry."""
    from portal.audit import verify_chain
    from portal.sqlite_tx import deferred_transactions

    with deferred_transactions():  # one snapshot, no writer blocked meanwhile
        report = verify_chain()
    if report.ok:
        click.echo(f"audit chain intact: {report.checked} entries")
        return
    click.echo(f"audit chain BROKEN at entry {report.first_bad_id}: {report.reason} "
               f"({report.checked} entries verified before it)", err=True)
    sys.exit(1)


@mail_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Keep delivering until stopped.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
def mail_deliver(loop: bool, interval: float) -> None:
    from portal.mail import deliver_pending

    while True:
        counts = deliver_pending()
        if counts["sent"] or counts["deferred"] or counts["failed"] or not loop:
            click.echo(f"mail: sent {counts['sent']}, deferred {counts['deferred']}, "
                       f"failed {counts['failed']}")
        if not loop:
            return
        db.session.remove()
        time.sleep(interval)


@demo_cli.command("seed")
@click.option("--base-only", is_flag=True,
              help="Only branches, staff and the customer (no certificate, no contracts).")
def demo_seed(base_only: bool) -> None:
    """Create the demo data (idempotent) and print the logins.

    Besides the base data it gives the demo representative a certificate and
    creates one package waiting for their signature and one concluded package;
    that part needs clamd, the signing service and the SMTP sink running."""
    from portal.demo import seed, seed_signing_demo

    for line in seed():
        click.echo(line)
    if not base_only:
        for line in seed_signing_demo():
            click.echo(line)


@demo_cli.command("mailbox")
@click.option("--limit", default=10, show_default=True)
def demo_mailbox(limit: int) -> None:
    """Print the newest mails of the local SMTP sink (embedded profile)."""
    from portal.dev.maildir import read_maildir

    for msg in read_maildir(current_app.config["DEV_MAILDIR"], limit):
        click.echo(f"--- {msg['date']}  To: {msg['to']}\n件名: {msg['subject']}\n\n{msg['body']}")


def init_app(app: Flask) -> None:
    for group in (audit_cli, mail_cli, demo_cli):
        app.cli.add_command(group)
    from portal.certs.cli import init_app as init_certs_cli

    init_certs_cli(app, demo_cli)
