"""SIGN-6 / #14 item 7: ``flask contracts revalidate`` opens every stored file, not
only the signed contracts: originals as uploaded, the revision each party
signature produced, the 締結証明書, KYC files (KYC-5) and powers of attorney.
One flipped byte in any of them is reported by the next run (alert for the bank
administrators, audit entry, exit status 1); clean files report nothing. The
files are opened by worker processes (INTEGRITY_WORKERS)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from kyc.models import KycConsent, KycFile, KycSubmission
from portal import filestore
from portal.certs.models import PoaKind
from portal.clock import now
from portal.contracts.models import (
    ContractPackage,
    ContractSignature,
    LongtermAlert,
    SignatureKind,
)
from portal.extensions import db
from portal.filestore import get_file_store
from portal.mail import deliver_pending
from portal.models import AuditEntry
from portal.users.models import PoaPurpose, PowerOfAttorney
from tests.functional.contracts.conftest import (
    conclude_as_staff,
    create_package,
    customer_client,
    issue_credential,
    open_and_confirm,
    sign_via_dialog,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def concluded(signing_app, world, contract_pdf, rs_mail) -> int:
    """A concluded package (one debtor, two contract documents) with its 締結証明書."""
    issue_credential(signing_app, world.rep)
    package_id = create_package(signing_app, world, contract_pdf, send=True,
                                summary_type="loan_only", **{"party-1-company": None,
                                                             "party-1-position": None})
    client = customer_client(signing_app, world.rep)
    open_and_confirm(client, db.session.get(ContractPackage, package_id))
    assert sign_via_dialog(client, package_id, world.rep, rs_mail).status_code == 302
    conclude_as_staff(signing_app, world, package_id)
    db.session.expire_all()
    return package_id


def _stored(data: bytes, kind: str) -> tuple[str, str]:
    return get_file_store().put(data, kind=kind), hashlib.sha256(data).hexdigest()


@pytest.fixture
def kyc_file(world) -> KycFile:
    consent = KycConsent(user_id=world.rep.id, document_version="2026-01")
    db.session.add(consent)
    db.session.flush()
    submission = KycSubmission(user_id=world.rep.id, company_id=world.company.id,
                               consent_id=consent.id)
    db.session.add(submission)
    db.session.flush()
    key, sha = _stored(b"\xff\xd8\xff\xe0 jpeg of a driving licence" * 50, "kyc")
    stored = KycFile(submission_id=submission.id, category="identity",
                     document_type="driving_licence", slot="front", storage_key=key,
                     original_name="免許証.jpg", format="jpeg", size=1300, sha256=sha)
    db.session.add(stored)
    db.session.commit()
    return stored


@pytest.fixture
def poa(world) -> PowerOfAttorney:
    key, sha = _stored(b"%PDF-1.7 scanned power of attorney" * 40, "poa")
    stored = PowerOfAttorney(company_id=world.company.id, kind=PoaKind.UPLOAD,
                             purpose=PoaPurpose.USER_CREATION, agent_user_id=world.signer.id,
                             registered_by=world.rep.id, file_key=key, filename="委任状.pdf",
                             content_format="pdf", sha256=sha, size=1360)
    db.session.add(stored)
    db.session.commit()
    return stored


def revalidate(app, *args: str):
    result = app.test_cli_runner().invoke(args=["contracts", "revalidate", *args])
    db.session.expire_all()
    return result


def rewrite_under_same_key(monkeypatch, key: str, data: bytes) -> None:
    """Replace a stored file's content, properly encrypted, under its existing key."""
    kind, _, token = key.partition("-")
    with monkeypatch.context() as patch:
        patch.setattr(filestore.secrets, "token_hex", lambda _n: token)
        assert get_file_store().put(data, kind=kind) == key


def flip_on_disk(key: str) -> None:
    """One byte of the encrypted file flipped where it lies."""
    path = get_file_store()._path(key)  # type: ignore[attr-defined]
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))


def kinds_of_files(package_id: int, kyc_file: KycFile, poa: PowerOfAttorney) -> dict[str, str]:
    """file_ref -> file-store key, one file of each kind."""
    package = db.session.get(ContractPackage, package_id)
    document = package.contract_documents[0]
    revision = db.session.execute(select(ContractSignature).where(
        ContractSignature.document_id == document.id,
        ContractSignature.kind == SignatureKind.PARTY)).scalar_one()
    assert revision.result_key not in (None, document.current_key, document.original_key)
    assert package.evidence_key is not None, "the 締結証明書 was not issued at conclusion"
    return {"": document.current_key,  # the signed result
            f"original:{document.id}": document.original_key,
            f"revision:{revision.id}": revision.result_key,
            f"evidence:{package_id}": package.evidence_key,
            f"kyc_file:{kyc_file.id}": kyc_file.storage_key,
            f"poa:{poa.id}": poa.file_key}


def test_sign6_clean_stored_files_report_nothing(signing_app, concluded, kyc_file, poa):
    result = revalidate(signing_app)

    assert result.exit_code == 0, result.output
    # 3 originals (2 contracts, 重要事項説明) + 2 party revisions + 締結証明書 + KYC file + PoA
    assert "mismatches=0" in result.output and "files_checked=8 files_mismatched=0" \
        in result.output, result.output
    assert "\nfile " not in result.output
    assert db.session.query(LongtermAlert).count() == 0
    run = db.session.execute(select(AuditEntry).where(AuditEntry.action == "contract.longterm.run")
                             ).scalars().all()[-1]
    assert json.loads(run.detail)["mismatched_files"] == []


def test_sign6_one_flipped_byte_in_any_kind_of_stored_file_is_reported(
        signing_app, concluded, kyc_file, poa, admins_for_alerts, smtp_sink):
    files = kinds_of_files(concluded, kyc_file, poa)
    untouched = db.session.get(ContractPackage, concluded).contract_documents[1]
    for key in files.values():
        flip_on_disk(key)

    result = revalidate(signing_app)

    assert result.exit_code == 1, result.output
    assert "mismatches=1" in result.output and "files_mismatched=5" in result.output
    alerts = {a.file_ref: a for a in db.session.query(LongtermAlert)}
    assert set(alerts) == set(files)
    for ref, alert in alerts.items():
        assert "完全性" in alert.problems, (ref, alert.problems)
    assert alerts[""].document_id == alerts[next(r for r in files if r.startswith("original"))
                                            ].document_id
    assert alerts[f"kyc_file:{kyc_file.id}"].recorded_sha256 == kyc_file.sha256
    assert all(a.document_id != untouched.id for a in alerts.values())
    for ref in files:
        if ref:
            assert f"file {ref}\tmismatch" in result.output
    mismatches = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "contract.longterm.mismatch")).scalars().all()
    assert sorted(json.loads(m.detail)["file"] or "" for m in mismatches) == sorted(files)
    assert {m.target_type for m in mismatches} == {
        "ContractDocument", "ContractSignature", "ContractPackage", "KycFile", "PowerOfAttorney"}

    # one mail to the bank administrator lists every file
    deliver_pending()
    body = smtp_sink.body(smtp_sink.last_to(admins_for_alerts.email, "長期検証"))
    for alert in alerts.values():
        assert alert.document_title in body
    assert "本人確認書類" in body and "委任状" in body and "文書ID 0" not in body

    # the next run finds them again: counted on the same alerts, none raised twice
    again = revalidate(signing_app)
    assert again.exit_code == 1 and "alerts_raised=0" in again.output
    assert {a.detections for a in db.session.query(LongtermAlert)} == {2}


def test_sign6_content_changed_under_the_same_key_is_a_digest_mismatch(
        signing_app, concluded, kyc_file, poa, monkeypatch):
    """Re-encrypted properly (decrypts fine): only the recorded SHA-256 tells."""
    rewrite_under_same_key(monkeypatch, kyc_file.storage_key, b"another picture")

    result = revalidate(signing_app, "--workers", "0")

    assert result.exit_code == 1 and "files_mismatched=1" in result.output, result.output
    alert = db.session.query(LongtermAlert).one()
    assert alert.file_ref == f"kyc_file:{kyc_file.id}"
    assert "SHA-256が記録値と一致しません" in alert.problems


def test_sign6_skips_tombstones(signing_app, concluded, kyc_file, poa, world):
    """A package deleted after its retention period (CON-9: rows and blobs gone,
    a tombstone left) is never opened nor reported by the next check."""
    from portal.contracts.services import record_repayment
    from portal.retention import services as retention

    package = db.session.get(ContractPackage, concluded)
    record_repayment(world.staff, package)
    db.session.commit()
    tombstone = retention.delete_package(concluded, at=now() + timedelta(days=3700))
    db.session.commit()
    assert tombstone is not None and retention.destroy_pending_blobs() > 0

    result = revalidate(signing_app)

    assert result.exit_code == 0, result.output
    assert "checked=0" in result.output and "files_checked=2 files_mismatched=0" in result.output
    assert f"package {concluded}" not in result.output
    assert db.session.query(LongtermAlert).count() == 0
    assert retention.tombstone_of(concluded) is not None


@pytest.fixture
def admins_for_alerts(factories):
    return factories.staff(role="bank_admin")
