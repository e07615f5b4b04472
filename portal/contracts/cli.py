"""``flask --app wsgi contracts list``, ``contracts export ID --out FILE``,
``contracts revalidate [--dry-run]`` (SIGN-6). The demo packages: ``flask demo contracts``."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import Blueprint
from sqlalchemy import select

from portal.extensions import db
from portal.filestore import get_file_store

from . import longterm
from .models import ContractPackage


def register(bp: Blueprint) -> None:
    @bp.cli.command("list")
    @click.option("--limit", default=1000, show_default=True)
    def list_packages(limit: int) -> None:
        """Print ids, summary types and states."""
        rows = db.session.execute(select(ContractPackage).order_by(ContractPackage.id)
                                  .limit(limit)).scalars()
        for package in rows:
            click.echo(f"{package.id}\t{package.summary_type}\t{package.state}\t"
                       f"{package.application_date:%Y-%m-%d}\t{package.loan_amount or ''}\t"
                       f"{package.summary_label}\t{package.state_label}")

    @bp.cli.command("export")
    @click.argument("package_id", type=int)
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
    def export(package_id: int, out: str) -> None:
        """Write the package's final signed PDF (first contract document)."""
        package = db.session.get(ContractPackage, package_id)
        if package is None or not package.contract_documents:
            click.echo(f"package {package_id} not found", err=True)
            sys.exit(1)
        data = get_file_store().get(package.contract_documents[0].current_key)
        Path(out).write_bytes(data)
        click.echo(f"wrote {len(data)} bytes to {out} (state {package.state})")

    @bp.cli.command("revalidate")
    @click.option("--dry-run", is_flag=True,
                  help="check and report only: no renewal, no alert, no mail")
    @click.option("--unchecked-days", type=click.IntRange(min=1), default=None,
                  help="open only documents not found sound within this many days "
                       "(a daily run with 30 covers the archive every 30 days)")
    @click.option("--workers", type=click.IntRange(min=0), default=None,
                  help="worker processes opening the files (default INTEGRITY_WORKERS; "
                       "0: in this process)")
    def revalidate(dry_run: bool, unchecked_days: int | None, workers: int | None) -> None:
        """SIGN-6: re-validate every stored signed contract, check the SHA-256 of every
        other stored file (originals, revisions, 締結証明書, KYC files, powers of
        attorney); renew timestamps; alert.

        Exit status 1 when a file does not validate (or a renewal failed),
        2 when the signing service cannot be reached."""
        def show(result: longterm.DocumentResult) -> None:
            if result.file_ref:  # other stored files: only findings are listed
                if result.outcome is longterm.Outcome.MISMATCH:
                    click.echo(f"file {result.file_ref}\t{result.outcome.value}\t{result.title}")
                    for line in result.problems:
                        click.echo(f"    {line}")
                return
            click.echo(f"package {result.package_id}\tdocument {result.document_id}\t"
                       f"{result.outcome.value}\t{result.title}")
            for line in result.problems + result.notes:
                click.echo(f"    {line}")

        try:
            summary = longterm.revalidate(
                dry_run=dry_run, on_result=show,
                unchecked_for=timedelta(days=unchecked_days) if unchecked_days else None,
                workers=workers)
        except longterm.ServiceUnreachable as exc:
            click.echo(exc.message, err=True)
            sys.exit(2)
        totals = summary.totals()
        click.echo(("DRY RUN (nothing written) " if dry_run else "")
                   + " ".join(f"{k}={v}" for k, v in totals.items() if k != "dry_run")
                   + f" alerts_raised={summary.alerts_raised}")
        if summary.mismatches or summary.renewal_failed or summary.files_mismatched:
            sys.exit(1)
