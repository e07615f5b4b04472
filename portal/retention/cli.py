"""``flask --app wsgi retention run [--dry-run]`` (for a scheduler) and
``retention tombstones`` (CON-9)."""

from __future__ import annotations

from datetime import datetime

import click
from flask import Blueprint

from portal.clock import to_jst

from . import services


def _day(value: datetime | None) -> str:
    return to_jst(value).strftime("%Y-%m-%d") if value else "-"


def register(bp: Blueprint) -> None:
    @bp.cli.command("run")
    @click.option("--dry-run", is_flag=True, help="Change nothing; print what would go.")
    def run_command(dry_run: bool) -> None:
        """Delete what is due under the retention policy, send advance notices."""
        report = services.run(dry_run=dry_run)
        for c in report.held:
            click.echo(f"held\tpackage {c.package_id}\t{c.due.label}\tdue {_day(c.due.due_at)}")
        if dry_run:
            for c in report.would_delete:
                click.echo(f"would delete\tpackage {c.package_id}\t{c.due.label}\t"
                           f"due {_day(c.due.due_at)}")
            for company_id in report.identity:
                click.echo(f"would delete\tidentity documents and personal data of company "
                           f"{company_id}")
            for app_id in report.applications:
                click.echo(f"would delete\tapplication {app_id}")
            click.echo(f"dry run: {len(report.would_delete)} packages would be deleted, "
                       f"{len(report.held)} held; nothing changed")
            return
        for t in report.deleted:
            click.echo(f"deleted\tpackage {t.package_id}\t{t.policy}\ttombstone {t.id}")
        for company_id in report.identity:
            click.echo(f"deleted\tidentity documents and personal data of company {company_id}")
        for app_id in report.applications:
            click.echo(f"deleted\tapplication {app_id}")
        click.echo(f"retention: {len(report.deleted)} packages deleted, {len(report.held)} held, "
                   f"{report.blobs} files destroyed, {report.notices} notices sent")

    @bp.cli.command("tombstones")
    def tombstones_command() -> None:
        """List tombstones: package id, type, dates, policy and file hashes."""
        for t in services.tombstones():
            click.echo(f"{t.package_id}\t{t.summary_type}\t{t.final_state}\tbranch {t.branch_id}"
                       f"\tapplied {t.application_date:%Y-%m-%d}\tconcluded {_day(t.concluded_at)}"
                       f"\tended {_day(t.ended_at)}\tdeleted {_day(t.deleted_at)}\t{t.policy}")
            for f in t.files:
                click.echo(f"\t{f['ref']}\tsha256 {f['sha256']}")
