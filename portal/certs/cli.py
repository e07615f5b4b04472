"""Commands: ``rs export-root``, ``certs notify-expiring`` (CERT-5) and
``demo sign-sample`` (signs the sample PDF as the demo representative, end to
end through the adapter and the service, reading the code from the mail)."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from portal.dev.maildir import maildir_keys, wait_for_code
from portal.extensions import db
from portal.models import CustomerUser

rs_cli = AppGroup("rs", help="Remote signing service (RS-1/RS-2).")
certs_cli = AppGroup("certs", help="Signing certificates (CERT-5).")

DEMO_SIGNING_PIN = "DemoPin2026A"


@rs_cli.command("export-root")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def export_root(out: Path) -> None:
    """Write the signing CA's root certificate (PEM)."""
    from .services import signing_client

    with signing_client() as api:
        der = api.root_certificate()
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    out.write_bytes(pem)
    click.echo(f"root certificate written to {out}")


@certs_cli.command("notify-expiring")
def notify_expiring() -> None:
    """Mail (once) every holder whose certificate expires within 30 days."""
    from .services import send_expiry_notices

    click.echo(f"expiry notices queued: {send_expiry_notices()}")


@click.command("sign-sample")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--maildir", default=None, help="Maildir of the SMTP sink (default DEV_MAILDIR).")
@click.option("--timeout", default=30.0, show_default=True)
def sign_sample(out: Path, maildir: str | None, timeout: float) -> None:
    """Sign a one-page Japanese sample PDF as the demo representative."""
    from remote_signing.sample import sample_pdf

    from .dialog import send_code, sign_pdfs

    rep = _demo_representative()
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


def _demo_representative() -> CustomerUser:
    from portal.demo import DEMO_REP_MYPAGE_ID, seed

    from .services import active_credential_id

    rep = db.session.scalar(
        select(CustomerUser).where(CustomerUser.mypage_id == DEMO_REP_MYPAGE_ID)
    )
    if rep is None:
        seed()
        rep = db.session.scalar(
            select(CustomerUser).where(CustomerUser.mypage_id == DEMO_REP_MYPAGE_ID)
        )
    assert rep is not None
    if active_credential_id(rep) is None:
        _give_demo_certificate(rep)
    return rep


def _give_demo_certificate(rep: CustomerUser) -> None:
    """Demo data: the representative's PIN registration and 発行, as one step."""
    from portal import audit

    from .models import CertState, SigningCertificate
    from .services import signing_client

    with signing_client() as api:
        info = api.create_credential(
            user_id=rep.mypage_id,
            name=rep.display_name,
            email=rep.email,
            organization=rep.company.name,
            pin=DEMO_SIGNING_PIN,
        )
    cert = SigningCertificate(
        user_id=rep.id,
        company_id=rep.company_id,
        credential_id=info.credential_id,
        state=CertState.ACTIVE,
        pin_locked=False,
        serial_hex=info.serial_hex,
        subject=info.subject[:500],
        valid_from=info.valid_from,
        valid_to=info.valid_to,
        revocation_reason="",
    )
    db.session.add(cert)
    db.session.flush()
    audit.record(
        "certs.demo_issued",
        target=cert,
        company_id=rep.company_id,
        detail={"credential": info.credential_id},
    )
    db.session.commit()
    click.echo(f"demo certificate issued to {rep.display_name} (署名用PIN: {DEMO_SIGNING_PIN})")


def init_app(app: Flask, demo_group: AppGroup) -> None:
    app.cli.add_command(rs_cli)
    app.cli.add_command(certs_cli)
    demo_group.add_command(sign_sample)
