"""SIGN-6 long-term validation: ``flask contracts revalidate`` re-checks every stored
signed contract (file integrity, recorded SHA-256, every signature and document
timestamp with pyHanko against the signing service's root), adds an archive
timestamp before the newest one's TSA certificate nears expiry, and raises an
alert (console page + mail) to the bank administrators on any mismatch."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from io import BytesIO

import pytest
from asn1crypto import x509 as ax509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import select

from portal import filestore
from portal.contracts.models import (
    AlertState,
    ContractDocument,
    ContractPackage,
    ContractSignature,
    LongtermAlert,
    SignatureKind,
)
from portal.contracts.pdfcheck import lta_spec
from portal.extensions import db
from portal.filestore import FileMissing, get_file_store
from portal.mail import deliver_pending
from portal.models import AuditEntry, MailOutbox
from remote_signing.client import SigningClient
from tests.functional.contracts.conftest import (
    conclude_as_staff,
    create_package,
    customer_client,
    issue_credential,
    open_and_confirm,
    sign_via_dialog,
    staff_client,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def concluded(signing_app, world, contract_pdf, rs_mail) -> int:
    """A concluded package (one debtor, two contract documents): PAdES B-LTA."""
    issue_credential(signing_app, world.rep)
    package_id = create_package(signing_app, world, contract_pdf, send=True,
                                summary_type="loan_only", **{"party-1-company": None,
                                                             "party-1-position": None})
    package = db.session.get(ContractPackage, package_id)
    client = customer_client(signing_app, world.rep)
    open_and_confirm(client, package)
    assert sign_via_dialog(client, package_id, world.rep, rs_mail).status_code == 302
    conclude_as_staff(signing_app, world, package_id)
    return package_id


@pytest.fixture
def admins(factories):
    admin = factories.staff(role="bank_admin")
    retired = factories.staff(role="bank_admin")
    retired.active = False
    db.session.commit()
    return admin, retired


def revalidate(app, *args: str):
    result = app.test_cli_runner().invoke(args=["contracts", "revalidate", *args])
    db.session.expire_all()
    return result


def documents(package_id: int) -> list[ContractDocument]:
    return db.session.get(ContractPackage, package_id).contract_documents


def snapshot(package_id: int) -> list[tuple[str, str, int, int]]:
    return [(d.current_key, d.current_sha256, d.size, d.revisions) for d in documents(package_id)]


def actions(prefix: str) -> list[AuditEntry]:
    return list(db.session.execute(select(AuditEntry).where(AuditEntry.action.like(prefix + "%"))
                                   .order_by(AuditEntry.id)).scalars())


def alert_mails() -> list[MailOutbox]:
    return list(db.session.execute(select(MailOutbox).where(MailOutbox.template
                                                            == "longterm_alert")).scalars())


def root_of(app) -> ax509.Certificate:
    client = SigningClient.from_config(app.config)
    try:
        return ax509.Certificate.load(client.root_certificate())
    finally:
        client.close()


def rewrite_under_same_key(monkeypatch, key: str, data: bytes) -> None:
    """Replace a stored file's content, properly encrypted, under its existing key."""
    with monkeypatch.context() as patch:
        patch.setattr(filestore.secrets, "token_hex", lambda _n: key.split("-", 1)[1])
        assert get_file_store().put(data, kind="contract") == key


def test_sign6_clean_concluded_package_is_ok_and_nothing_changes(signing_app, concluded, admins):
    before = snapshot(concluded)
    signatures = db.session.query(ContractSignature).count()

    result = revalidate(signing_app)

    assert result.exit_code == 0, result.output
    assert "checked=2 ok=2 renewed=0 renewal_due=0 renewal_failed=0 mismatches=0" in result.output
    assert result.output.count(f"package {concluded}\t") == 2
    assert snapshot(concluded) == before
    assert db.session.query(ContractSignature).count() == signatures
    assert db.session.query(LongtermAlert).count() == 0 and alert_mails() == []
    run = json.loads(actions("contract.longterm.run")[-1].detail)
    assert run["checked"] == 2 and run["mismatches"] == 0
    assert actions("contract.longterm.mismatch") == []


def test_sign6_tampered_files_raise_one_alert_and_mail_the_bank_administrators(
        signing_app, concluded, admins, world, monkeypatch, smtp_sink):
    admin, retired = admins
    first, second = documents(concluded)
    store = get_file_store()
    # 1: one byte of the PDF flipped, re-encrypted under the same key (decrypts fine)
    flipped = bytearray(store.get(first.current_key))
    flipped[len(flipped) // 3] ^= 0x01
    rewrite_under_same_key(monkeypatch, first.current_key, bytes(flipped))
    # 2: one byte of the encrypted file flipped on disk
    path = store._path(second.current_key)  # type: ignore[attr-defined]
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0x01
    path.write_bytes(bytes(raw))

    result = revalidate(signing_app)

    assert result.exit_code == 1, result.output
    assert "mismatches=2" in result.output and "alerts_raised=2" in result.output
    alerts = {a.document_id: a for a in db.session.query(LongtermAlert)}
    assert set(alerts) == {first.id, second.id}
    assert all(a.state == AlertState.OPEN and a.package_id == concluded for a in alerts.values())
    assert "SHA-256が記録値と一致しません" in alerts[first.id].problems
    assert "完全性" in alerts[second.id].problems
    assert len(actions("contract.longterm.mismatch")) == 2
    # one mail per active bank administrator, none to the retired one or branch staff
    assert [m.to_addr for m in alert_mails()] == [admin.email]
    deliver_pending()
    mail = smtp_sink.last_to(admin.email, "長期検証")
    body = smtp_sink.body(mail)
    assert f"契約案件 {concluded}" in body and first.title in body
    assert smtp_sink.to(retired.email) == []
    assert not any("長期検証" in str(m["Subject"]) for m in smtp_sink.to(world.staff.email))

    # the next run finds them again: counted on the open alerts, no new alert, no new mail
    again = revalidate(signing_app)
    assert again.exit_code == 1 and "alerts_raised=0" in again.output
    assert db.session.query(LongtermAlert).count() == 2
    assert {a.detections for a in db.session.query(LongtermAlert)} == {2}
    assert len(alert_mails()) == 1

    # the bank administrator sees them in the console and acknowledges one
    console = staff_client(signing_app, admin)
    home = console.get("/console/").get_data(as_text=True)
    assert "長期検証アラート" in home and "未確認 2件" in home
    page = console.get("/console/contracts/longterm-alerts").get_data(as_text=True)
    assert first.title in page and "SHA-256が記録値と一致しません" in page
    ack = console.post_form(f"/console/contracts/longterm-alerts/{alerts[first.id].id}/acknowledge",
                            token_page="/console/contracts/longterm-alerts")
    assert ack.status_code == 302
    db.session.expire_all()
    acknowledged = db.session.get(LongtermAlert, alerts[first.id].id)
    assert acknowledged.state == AlertState.ACKNOWLEDGED
    assert acknowledged.acknowledged_by_id == admin.id
    assert actions("contract.longterm.alert_acknowledged")[-1].actor_id == admin.id


def test_sign6_altered_recorded_hash_is_a_mismatch_and_dry_run_raises_no_alert(
        signing_app, concluded, admins):
    first = documents(concluded)[0]
    first.current_sha256 = hashlib.sha256(b"something else").hexdigest()
    db.session.commit()

    dry = revalidate(signing_app, "--dry-run")  # reports the mismatch, raises nothing
    assert dry.exit_code == 1 and "mismatches=1" in dry.output, dry.output
    assert db.session.query(LongtermAlert).count() == 0 and alert_mails() == []
    assert actions("contract.longterm.mismatch") == []
    assert json.loads(actions("contract.longterm.run")[-1].detail)["mismatched_documents"] \
        == [first.id]

    result = revalidate(signing_app)

    assert result.exit_code == 1 and "mismatches=1" in result.output, result.output
    alert = db.session.query(LongtermAlert).one()
    assert alert.document_id == first.id and "SHA-256" in alert.problems


def test_sign6_renewal_adds_an_archive_timestamp_and_every_signature_still_validates(
        signing_app, concluded, admins):
    # The TSA certificate is valid for 10 years: a window beyond that makes it "near expiry".
    signing_app.config["LONGTERM_RENEW_DAYS"] = 3700
    before = snapshot(concluded)
    old_names = [[s.field_name for s in PdfFileReader(BytesIO(get_file_store().get(d.current_key)),
                                                      strict=False).embedded_signatures]
                 for d in documents(concluded)]

    dry = revalidate(signing_app, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "DRY RUN" in dry.output and "renewed=0 renewal_due=2" in dry.output
    assert snapshot(concluded) == before
    assert db.session.query(ContractSignature).filter_by(
        kind=SignatureKind.ARCHIVE_TIMESTAMP).count() == 0
    assert json.loads(actions("contract.longterm.run")[-1].detail)["dry_run"] is True
    assert actions("contract.longterm.renewed") == []

    result = revalidate(signing_app)
    assert result.exit_code == 0, result.output
    assert "renewed=2" in result.output and "mismatches=0" in result.output

    root = root_of(signing_app)
    store = get_file_store()
    for doc, (old_key, old_sha, _size, revisions), names in zip(
            documents(concluded), before, old_names, strict=True):
        data = store.get(doc.current_key)
        assert doc.current_key != old_key and doc.revisions == revisions + 1
        assert doc.current_sha256 == hashlib.sha256(data).hexdigest() != old_sha
        with pytest.raises(FileMissing):
            store.get(old_key)  # replaced only after the commit; the new one contains it
        archive = db.session.execute(select(ContractSignature).where(
            ContractSignature.document_id == doc.id,
            ContractSignature.kind == SignatureKind.ARCHIVE_TIMESTAMP)).scalar_one()
        assert archive.result_sha256 == doc.current_sha256
        reader = PdfFileReader(BytesIO(data), strict=False)
        sigs = reader.embedded_signatures
        assert [s.field_name for s in sigs] == names + [archive.field_name]
        for sig in sigs:
            if str(sig.sig_object_type) == "/DocTimeStamp":
                status = validate_pdf_timestamp(
                    sig, validation_context=ValidationContext(trust_roots=[root],
                                                              allow_fetching=True))
                assert status.intact and status.valid and status.trusted, sig.field_name
                continue
            lta = asyncio.run(ades_lta_validation(sig, lta_spec(root)))
            assert lta.ades_subindic is AdESPassed.OK, (sig.field_name, lta.ades_subindic)
            vc = ValidationContext(trust_roots=[root], allow_fetching=True,
                                   time_tolerance=timedelta(seconds=60))
            status = validate_pdf_signature(sig, signer_validation_context=vc)
            assert status.intact and status.valid and status.trusted, sig.field_name
        newest = validate_pdf_timestamp(
            sigs[-1], validation_context=ValidationContext(trust_roots=[root],
                                                           allow_fetching=True))
        assert newest.coverage is SignatureCoverageLevel.ENTIRE_FILE
    assert len(actions("contract.longterm.renewed")) == 2
    assert db.session.query(LongtermAlert).count() == 0

    # The same TSA certificate cannot push the horizon further: no second renewal.
    after = snapshot(concluded)
    again = revalidate(signing_app)
    assert again.exit_code == 0 and "renewed=0" in again.output, again.output
    assert "同じ証明書で更新済み" in again.output
    assert snapshot(concluded) == after


def test_sign6_branch_staff_cannot_see_or_acknowledge_alerts(app, world, admins):
    admin, _ = admins
    alert = LongtermAlert(package_id=1, document_id=1, document_title="契約書",
                          recorded_sha256="0" * 64, problems="SHA-256が記録値と一致しません。")
    db.session.add(alert)
    db.session.commit()

    branch = staff_client(app, world.staff)
    home = branch.get("/console/").get_data(as_text=True)
    assert "長期検証アラート" not in home and "longterm-alert-banner" not in home
    assert branch.get("/console/contracts/longterm-alerts").status_code in (403, 404)
    refused = branch.post_form(f"/console/contracts/longterm-alerts/{alert.id}/acknowledge",
                               token_page="/console/logout")
    assert refused.status_code in (403, 404)
    db.session.expire_all()
    assert db.session.get(LongtermAlert, alert.id).state == AlertState.OPEN

    console = staff_client(app, admin)
    assert console.get("/console/contracts/longterm-alerts").status_code == 200


def test_sign6_unreachable_signing_service_fails_the_run_without_alerts(app, admins):
    app.config["SIGNING_SERVICE_URL"] = "http://127.0.0.1:9"  # discard port: nothing listens

    result = revalidate(app)

    assert result.exit_code == 2
    assert "署名サービスに接続できない" in result.output
    assert json.loads(actions("contract.longterm.run")[-1].detail)["error"] == "unreachable"
    assert db.session.query(LongtermAlert).count() == 0 and alert_mails() == []


def test_sign6_failed_renewal_keeps_the_stored_file_and_fails_the_run(signing_app, concluded,
                                                                     admins):
    signing_app.config["LONGTERM_RENEW_DAYS"] = 3700
    signing_app.config["SIGNING_CLIENT_SECRET"] = "not-the-secret"  # the TSA refuses us
    before = snapshot(concluded)

    result = revalidate(signing_app)

    assert result.exit_code == 1, result.output
    assert "renewal_failed=2" in result.output and "mismatches=0" in result.output
    assert "アーカイブタイムスタンプを付与できませんでした" in result.output
    assert snapshot(concluded) == before
    for key, sha, _size, _rev in before:
        assert hashlib.sha256(get_file_store().get(key)).hexdigest() == sha
    assert db.session.query(LongtermAlert).count() == 0
    assert actions("contract.longterm.renewed") == []
    assert len(actions("contract.longterm.renewal_failed")) == 2


def test_sign6_the_alert_page_reads_english_and_keeps_the_recorded_findings(app, admins):
    """SPEC UI language: the console page is English for an English reader; the findings
    stay as recorded at detection time (Japanese, like the audit log)."""
    from tests.i18n_support import leftover_japanese

    admin, _ = admins
    finding = "SHA-256が記録値と一致しません。"
    alert = LongtermAlert(package_id=7, document_id=3, document_title="金銭消費貸借契約書",
                          recorded_sha256="0" * 64, problems=finding)
    db.session.add(alert)
    db.session.commit()
    console = staff_client(app, admin)
    console.use_english()
    page = console.get("/console/contracts/longterm-alerts").get_data(as_text=True)
    assert "Long-term validation alerts" in page and "Acknowledge" in page and "Open" in page
    assert leftover_japanese(page, finding, alert.document_title, admin.display_name) == []
    done = console.post_form(f"/console/contracts/longterm-alerts/{alert.id}/acknowledge",
                             token_page="/console/contracts/longterm-alerts")
    assert "The alert has been acknowledged." in console.get(
        done.headers["Location"]).get_data(as_text=True)


def test_sign6_incremental_run_opens_only_documents_not_found_sound_recently(
        signing_app, concluded, admins):
    """A daily ``--unchecked-days 30`` run spreads a large archive over 30 days: a
    document found sound is skipped until its check is 30 days old; a document
    with a mismatch is never marked sound, so every run opens it again."""
    from datetime import timedelta

    first, second = documents(concluded)
    dry = revalidate(signing_app, "--dry-run", "--unchecked-days", "30")
    assert dry.exit_code == 0 and "checked=2" in dry.output
    assert [d.longterm_checked_at for d in documents(concluded)] == [None, None]  # dry: no mark

    full = revalidate(signing_app, "--unchecked-days", "30")
    assert full.exit_code == 0 and "checked=2 ok=2" in full.output
    assert "skipped_recent=0" in full.output
    assert all(d.longterm_checked_at is not None for d in documents(concluded))

    quiet = revalidate(signing_app, "--unchecked-days", "30")
    assert quiet.exit_code == 0 and "checked=0" in quiet.output
    assert "skipped_recent=2" in quiet.output
    assert json.loads(actions("contract.longterm.run")[-1].detail)["skipped_recent"] == 2

    # 31 days on for the first document only (its recorded check is older), and
    # its recorded hash no longer matches: it is opened, found, alerted.
    first.longterm_checked_at -= timedelta(days=31)
    first.current_sha256 = hashlib.sha256(b"something else").hexdigest()
    db.session.commit()
    due = revalidate(signing_app, "--unchecked-days", "30")
    assert due.exit_code == 1 and "checked=1" in due.output and "mismatches=1" in due.output
    assert f"document {first.id}\tmismatch" in due.output
    assert f"document {second.id}" not in due.output
    again = revalidate(signing_app, "--unchecked-days", "30")
    assert again.exit_code == 1 and "checked=1" in again.output
    assert "skipped_recent=1" in again.output

    everything = revalidate(signing_app)  # without the option every document is opened
    assert "checked=2" in everything.output
