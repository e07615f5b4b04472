"""Commands: ``rs export-root``, ``certs notify-expiring`` (CERT-5). The demo's
``demo sign-sample`` lives in the demo room (``portal.demo.cli``)."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import Flask
from flask.cli import AppGroup

from .services import send_expiry_notices, signing_client

rs_cli = AppGroup("rs", help="Remote signing service (RS-1/RS-2).")
certs_cli = AppGroup("certs", help="Signing certificates (CERT-5).")


@rs_cli.command("export-root")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def export_root(out: Path) -> None:
    """Write the signing CA's root certificate (PEM)."""
    with signing_client() as api:
        der = api.root_certificate()
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    out.write_bytes(pem)
    click.echo(f"root certificate written to {out}")


@certs_cli.command("notify-expiring")
def notify_expiring() -> None:
    """Mail (once) every holder whose certificate expires within 30 days."""
    click.echo(f"expiry notices queued: {send_expiry_notices()}")


def init_app(app: Flask) -> None:
    app.cli.add_command(rs_cli)
    app.cli.add_command(certs_cli)
