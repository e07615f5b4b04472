"""CON-9, AUD-1, AUD-3: the retention run deletes a package's files and rows when
its period is over (never before, never while held), leaves a tombstone, keeps
the audit chain verifiable, and tells users beforehand."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal import clock
from portal.audit import verify_chain
from portal.contracts.models import ContractDocument, ContractPackage
from portal.contracts.states import PackageState
from portal.extensions import db
from portal.models import AuditEntry, Notice
from portal.retention import services
from portal.retention.models import DeletionNotice, LegalHold, Tombstone
from portal.retention.policy import add_years
from tests.conftest import DEFAULT_PASSWORD, login_staff
from tests.functional.contracts.conftest import customer_client, staff_client
from tests.functional.retention.conftest import blob_paths, finished_package, run_cli


def _exists(package_id: int) -> bool:
    db.session.expire_all()
    return db.session.get(ContractPackage, package_id) is not None


def test_finished_package_stays_until_ten_years_after_its_end_then_only_a_tombstone_is_left(
        app, world, contract_pdf):
    end = clock.now()
    package_id = finished_package(app, world, contract_pdf, ended_at=end)
    blobs = blob_paths(app, package_id)
    package = db.session.get(ContractPackage, package_id)
    hashes = {d.original_sha256 for d in package.documents} | {package.evidence_sha256}
    assert blobs and all(p.exists() for p in blobs)

    with time_machine.travel(add_years(end, 10) - timedelta(days=1), tick=False):
        result = run_cli(app, "run")
    assert result.exit_code == 0, result.output
    assert _exists(package_id) and all(p.exists() for p in blobs)

    with time_machine.travel(add_years(end, 10) + timedelta(days=1), tick=False):
        result = run_cli(app, "run")
    assert result.exit_code == 0, result.output
    assert f"deleted\tpackage {package_id}\tfinished:10y" in result.output
    assert not _exists(package_id)
    assert not any(p.exists() for p in blobs)  # the blob and its wrapped key are gone
    assert db.session.execute(select(ContractDocument).where(
        ContractDocument.package_id == package_id)).first() is None

    tombstone = services.tombstone_of(package_id)
    assert tombstone is not None and tombstone.policy == "finished:10y"
    assert tombstone.final_state == PackageState.REPAID
    assert tombstone.ended_at == end and tombstone.application_date.isoformat() == "2026-04-01"
    assert hashes <= {f["sha256"] for f in tombstone.files}
    assert tombstone.pending_keys == ""
    entries = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "retention.package_deleted")).scalars().all()
    assert [e.target_id for e in entries] == [str(package_id)]
    assert verify_chain().ok
    listed = run_cli(app, "tombstones")
    assert listed.exit_code == 0 and str(package_id) in listed.output
    assert next(iter(hashes)) in listed.output


def test_an_overdraft_drawdown_goes_after_its_shorter_period_and_not_before(
        app, world, contract_pdf):
    end = clock.now()
    loan = finished_package(app, world, contract_pdf, ended_at=end)
    overdraft = finished_package(app, world, contract_pdf, summary="overdraft", ended_at=end)
    days = app.config["RETENTION_OVERDRAFT_DAYS"]
    assert days < 3650

    with time_machine.travel(end + timedelta(days=days) - timedelta(hours=1), tick=False):
        run_cli(app, "run")
    assert _exists(overdraft) and _exists(loan)
    with time_machine.travel(end + timedelta(days=days, hours=1), tick=False):
        run_cli(app, "run")
    assert not _exists(overdraft)
    assert _exists(loan)  # a finished loan keeps its ten years
    assert services.tombstone_of(overdraft).policy == f"overdraft:{days}d"


def _bank_admin_client(app, factories):
    admin = factories.staff(None, role="bank_admin")
    client = app.test_client()
    assert login_staff(client, admin.login_id, DEFAULT_PASSWORD).status_code == 302
    return client


def test_a_held_package_survives_its_period_and_goes_once_the_hold_is_lifted(
        app, world, contract_pdf, factories):
    end = clock.now()
    package_id = finished_package(app, world, contract_pdf, ended_at=end)
    company_held = finished_package(app, world, contract_pdf, ended_at=end)
    admin = _bank_admin_client(app, factories)
    assert admin.post_form("/console/retention/holds",
                           {"package_id": str(package_id), "reason": "訴訟対応（東京地裁）"},
                           token_page="/console/retention/holds").status_code == 302
    # A hold on the whole customer keeps its other packages too.
    assert admin.post_form("/console/retention/holds",
                           {"company_id": str(world.company.id), "reason": "調査中"},
                           token_page="/console/retention/holds").status_code == 302
    page = admin.get("/console/retention/holds").get_data(as_text=True)
    assert "訴訟対応（東京地裁）" in page and "調査中" in page

    later = add_years(end, 11)
    with time_machine.travel(later, tick=False):
        result = run_cli(app, "run")
        assert f"held\tpackage {package_id}" in result.output
        assert _exists(package_id) and _exists(company_held)
        # No other path deletes it either: the service and a plain ORM delete refuse.
        with pytest.raises(services.RetentionRefused):
            services.delete_package(package_id, at=clock.now())
        db.session.rollback()
        with pytest.raises(Exception, match="訴訟ホールド"):
            db.session.delete(db.session.get(ContractPackage, package_id))
            db.session.flush()
        db.session.rollback()
    assert _exists(package_id)

    holds = db.session.execute(select(LegalHold).order_by(LegalHold.id)).scalars().all()
    for hold in holds:
        assert admin.post_form(f"/console/retention/holds/{hold.id}/lift",
                               {"reason": "判決確定"},
                               token_page="/console/retention/holds").status_code == 302
    with time_machine.travel(later, tick=False):
        run_cli(app, "run")
    assert not _exists(package_id) and not _exists(company_held)
    actions = db.session.execute(select(AuditEntry.action).where(
        AuditEntry.action.like("retention.hold%"))).scalars().all()
    assert sorted(actions) == ["retention.hold_lifted"] * 2 + ["retention.hold_placed"] * 2
    assert verify_chain().ok


def test_a_hold_needs_a_reason_and_a_known_target(app, world, factories):
    admin = _bank_admin_client(app, factories)
    missing = admin.post_form("/console/retention/holds", {"package_id": "12", "reason": ""},
                              token_page="/console/retention/holds")
    assert missing.status_code == 400 and "入力してください" in missing.get_data(as_text=True)
    unknown = admin.post_form("/console/retention/holds",
                              {"package_id": "99999999999", "reason": "x"},
                              token_page="/console/retention/holds")
    assert unknown.status_code == 400
    staff = staff_client(app, world.staff)
    assert staff.get("/console/retention/holds").status_code in (403, 404)


def test_a_dry_run_deletes_nothing_and_prints_what_would_go(app, world, contract_pdf):
    end = clock.now()
    package_id = finished_package(app, world, contract_pdf, ended_at=end)
    blobs = blob_paths(app, package_id)
    audit_count = db.session.query(AuditEntry).count()
    with time_machine.travel(add_years(end, 10) + timedelta(days=1), tick=False):
        result = run_cli(app, "run", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would delete\tpackage {package_id}\tfinished:10y" in result.output
    assert _exists(package_id) and all(p.exists() for p in blobs)
    assert db.session.query(Tombstone).count() == 0
    assert db.session.query(AuditEntry).count() == audit_count


def test_a_deleted_package_is_404_for_customers_and_shows_its_tombstone_to_staff(
        app, world, contract_pdf, factories):
    end = clock.now()
    package_id = finished_package(app, world, contract_pdf, ended_at=end)
    document_id = db.session.get(ContractPackage, package_id).documents[0].id
    customer = customer_client(app, world.rep)
    assert customer.get(f"/contracts/{package_id}").status_code == 200
    with time_machine.travel(add_years(end, 10) + timedelta(days=1), tick=False):
        run_cli(app, "run")
    for url in (f"/contracts/{package_id}", f"/contracts/{package_id}/documents/{document_id}",
                f"/contracts/{package_id}/report.pdf"):
        assert customer.get(url).status_code == 404, url
    staff = staff_client(app, world.staff)
    page = staff.get(f"/console/contracts/{package_id}")
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    assert "削除済みの案件" in html and "finished:10y" in html
    assert services.tombstone_of(package_id).files[0]["sha256"] in html
    # Staff of another branch see no tombstone of this branch's package.
    other = staff_client(app, world.other_staff)
    assert "削除済みの案件" not in other.get(f"/console/contracts/{package_id}").get_data(
        as_text=True)
    # The bank administrator lists tombstones and exports them for auditors.
    admin = _bank_admin_client(app, factories)
    assert str(package_id) in admin.get("/console/retention/tombstones").get_data(as_text=True)
    csv = admin.get("/console/retention/tombstones.csv")
    body = csv.get_data().decode("utf-8")
    assert body.startswith("\ufeff案件番号,申込概要")
    assert f"\r\n{package_id},貸出契約のみ,完済," in body


def test_users_are_told_90_and_30_days_before_deletion_once_each(
        app, world, contract_pdf, smtp_sink):
    from portal.mail import deliver_pending

    end = clock.now()
    package_id = finished_package(app, world, contract_pdf, summary="overdraft", ended_at=end)
    due = end + timedelta(days=app.config["RETENTION_OVERDRAFT_DAYS"])
    for days_left in (120, 89, 80, 29, 10):
        with time_machine.travel(due - timedelta(days=days_left), tick=False):
            run_cli(app, "run")
    sent = db.session.execute(select(DeletionNotice.days_before).where(
        DeletionNotice.package_id == package_id)).scalars().all()
    assert sorted(sent) == [30, 90]
    notices = db.session.execute(select(Notice).where(
        Notice.company_id == world.company.id, Notice.link == f"/contracts/{package_id}",
        Notice.text.like("%削除されます%"))).scalars().all()
    assert len(notices) == 2
    with time_machine.travel(due - timedelta(days=1), tick=False):
        deliver_pending()
    mails = [m for m in smtp_sink.to(world.rep.email) if "削除予定" in str(m["Subject"])]
    assert len(mails) == 2
    assert f"/contracts/{package_id}" in smtp_sink.body(mails[0])
    assert _exists(package_id)


def test_retention_pages_read_in_english(app, world, contract_pdf, factories):
    from tests.i18n_support import leftover_japanese

    end = clock.now()
    package_id = finished_package(app, world, contract_pdf, ended_at=end)
    with time_machine.travel(add_years(end, 10) + timedelta(days=1), tick=False):
        run_cli(app, "run")
    admin = _bank_admin_client(app, factories)
    admin.use_english()
    branch = world.branch.name
    staff_name = "担当"  # the factories' staff names (data, not UI text)
    for url in ("/console/retention/tombstones", "/console/retention/holds",
                f"/console/contracts/{package_id}"):
        page = admin.get(url).get_data(as_text=True)
        assert leftover_japanese(page, branch, staff_name) == [], url
    staff = staff_client(app, world.staff)
    staff.use_english()
    page = staff.get(f"/console/companies/{world.company.id}/terminate").get_data(as_text=True)
    assert leftover_japanese(page, world.company.name, branch, staff_name) == []
