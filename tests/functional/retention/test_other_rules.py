"""CON-9 rules beyond finished packages: a withdrawn package and a terminated
customer's identity documents and powers of attorney (KYC-5, AUD-3)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import time_machine
from sqlalchemy import select

from kyc.models import KycConsent, KycFile, KycSubmission
from portal.audit import verify_chain
from portal.certs.models import PoaKind
from portal.contracts.models import ContractPackage
from portal.extensions import db
from portal.filestore import get_file_store
from portal.retention import services
from portal.retention.policy import add_years
from portal.users.models import PoaPurpose, PowerOfAttorney
from tests.functional.contracts.conftest import create_package, staff_client
from tests.functional.retention.conftest import ONE_PARTY, run_cli


def test_a_withdrawn_package_goes_after_its_configured_period(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True, **ONE_PARTY)
    staff = staff_client(app, world.staff)
    assert staff.post_form(f"/console/contracts/{package_id}/withdraw",
                           token_page=f"/console/contracts/{package_id}").status_code == 302
    db.session.expire_all()
    ended = db.session.get(ContractPackage, package_id).ended_at
    days = app.config["RETENTION_UNCONCLUDED_DAYS"]
    with time_machine.travel(ended + timedelta(days=days) - timedelta(hours=1), tick=False):
        run_cli(app, "run")
    assert db.session.get(ContractPackage, package_id) is not None
    with time_machine.travel(ended + timedelta(days=days, hours=1), tick=False):
        run_cli(app, "run")
    db.session.expire_all()
    assert db.session.get(ContractPackage, package_id) is None
    assert services.tombstone_of(package_id).policy == f"unconcluded:{days}d"


def _stored(kind: str, data: bytes) -> tuple[str, str]:
    return get_file_store().put(data, kind=kind), hashlib.sha256(data).hexdigest()


def test_identity_documents_go_seven_years_after_termination_not_before(app, world):
    store = get_file_store()
    consent = KycConsent(user_id=world.rep.id, document_version="1")
    db.session.add(consent)
    db.session.flush()
    submission = KycSubmission(user_id=world.rep.id, company_id=world.company.id,
                               consent_id=consent.id)
    db.session.add(submission)
    db.session.flush()
    kyc_key, kyc_sha = _stored("kyc", b"%PDF-1.4 license")
    db.session.add(KycFile(submission_id=submission.id, category="identity",
                           document_type="license", slot="front", storage_key=kyc_key,
                           original_name="免許証.pdf", format="pdf", size=16, sha256=kyc_sha))
    poa_key, poa_sha = _stored("poa", b"%PDF-1.4 poa")
    db.session.add(PowerOfAttorney(
        company_id=world.company.id, kind=PoaKind.UPLOAD, purpose=list(PoaPurpose)[0],
        agent_user_id=world.signer.id, registered_by=world.rep.id, file_key=poa_key,
        filename="委任状.pdf", content_format="pdf", sha256=poa_sha, size=12))
    db.session.commit()
    other_key, _ = _stored("kyc", b"another customer's file")

    termination = services.terminate(world.staff, world.company)
    db.session.commit()
    paths = [store._path(k) for k in (kyc_key, poa_key)]  # type: ignore[attr-defined]
    with time_machine.travel(add_years(termination.terminated_at, 7) - timedelta(days=1),
                             tick=False):
        run_cli(app, "run")
    assert all(p.exists() for p in paths)
    with time_machine.travel(add_years(termination.terminated_at, 7) + timedelta(days=1),
                             tick=False):
        run_cli(app, "run")
    assert not any(p.exists() for p in paths)
    assert db.session.execute(select(KycFile)).first() is None
    assert db.session.execute(select(PowerOfAttorney)).first() is None
    assert store.get(other_key) == b"another customer's file"
    assert verify_chain().ok

