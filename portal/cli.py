"""Flask CLI commands of the shared parts: ``audit verify``, ``mail deliver``."""

from __future__ import annotations

import sys
import time

import click
from flask import Flask
from flask.cli import AppGroup

from portal.audit import verify_chain
from portal.extensions import db
from portal.mail import deliver_pending
from portal.sqlite_tx import deferred_transactions

audit_cli = AppGroup("audit", help="Operation log (AUD-1).")
mail_cli = AppGroup("mail", help="Mail outbox (MAIL-2).")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Exit 0 on an intact chain; non-zero naming the first bad entry."""
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
    while True:
        counts = deliver_pending()
        if counts["sent"] or counts["deferred"] or counts["failed"] or not loop:
            click.echo(f"mail: sent {counts['sent']}, deferred {counts['deferred']}, "
                       f"failed {counts['failed']}")
        if not loop:
            return
        db.session.remove()
        time.sleep(interval)


def init_app(app: Flask) -> None:
    for group in (audit_cli, mail_cli):
        app.cli.add_command(group)
