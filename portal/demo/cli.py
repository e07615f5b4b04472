"""``flask demo seed``, ``demo contracts``, ``demo mailbox`` and ``demo sign-sample``
(embedded profile)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from portal.certs.dialog import send_code, sign_pdfs
from portal.contracts.demo import seed_contracts
from portal.demo import DEMO_REP_MYPAGE_ID, DEMO_STAFF, seed
from portal.demo.signing import DEMO_SIGNING_PIN, demo_representative, seed_signing_demo
from portal.dev.maildir import maildir_keys, read_maildir, wait_for_code
from remote_signing.sample import sample_pdf

demo_cli = AppGroup("demo", help="Demo data for the embedded profile.")


@demo_cli.command("seed")
@click.option("--base-only", is_flag=True,
              help="Only branches, staff and the customer (no certificate, no contracts).")
def demo_seed(base_only: bool) -> None:
    """Create the demo data (idempotent) and print the logins.

    Besides the base data it gives the demo representative a certificate and
    creates one package waiting for their signature and one concluded package;
    that part needs clamd, the signing service and the SMTP sink running."""
    logins = seed()
    signing = [] if base_only else seed_signing_demo()
    for line in logins + signing:  # the 署名用PIN right under the logins, each credential once
        click.echo(line)


@demo_cli.command("contracts")
@click.option("--pin", default=DEMO_SIGNING_PIN, show_default=True,
              help="the demo representative's signing PIN (certificates area demo)")
def demo_contracts(pin: str) -> None:
    """Demo packages: one to sign, one concluded (after `flask demo seed`)."""
    for line in seed_contracts(staff_login=DEMO_STAFF[0], staff_password=DEMO_STAFF[1],
                               rep_mypage_id=DEMO_REP_MYPAGE_ID, pin=pin):
        click.echo(line)


@demo_cli.command("mailbox")
@click.option("--limit", default=10, show_default=True)
def demo_mailbox(limit: int) -> None:
    """Print the newest mails of the local SMTP sink (embedded profile)."""
    for msg in read_maildir(current_app.config["DEV_MAILDIR"], limit):
        click.echo(f"--- {msg['date']}  To: {msg['to']}\n件名: {msg['subject']}\n\n{msg['body']}")


@demo_cli.command("sign-sample")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--maildir", default=None, help="Maildir of the SMTP sink (default DEV_MAILDIR).")
@click.option("--timeout", default=30.0, show_default=True)
def sign_sample(out: Path, maildir: str | None, timeout: float) -> None:
    """Sign a one-page Japanese sample PDF as the demo representative."""
    rep = demo_representative()
    box = Path(maildir or current_app.config["DEV_MAILDIR"])
    seen = maildir_keys(box)
    sent = send_code(rep, DEMO_SIGNING_PIN)  # 1. PIN入力 → 送信
    try:
        code = wait_for_code(box, rep.email, seen, timeout)
    except TimeoutError as exc:
        raise click.ClickException(str(exc)) from exc
    [signed] = sign_pdfs(  # 2. 認証コード入力 → 電子署名
        rep, [sample_pdf()], proof=sent.proof, code=code, description="サンプル契約書"
    )
    out.write_bytes(signed)
    click.echo(f"signed sample written to {out} ({len(signed):,} bytes) as {rep.display_name}")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_cli)
