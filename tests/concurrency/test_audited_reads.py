"""AUD-1 under load: parallel audited downloads and previews through real
gunicorn (2 workers × 4 threads) all answer 200, each leaves exactly one
audit entry, and the chain verifies (issue #11: 22 of 36 answered 500)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kyc.models import KycFile
from portal.contracts.models import ContractPackage
from portal.extensions import db
from portal.models import AuditEntry

from .conftest import assert_healthy
from .live import Browser, in_parallel
from .world import PASSWORD, count, make_world, sent_package, submitted_kyc

pytestmark = pytest.mark.concurrency

CUSTOMERS, STAFF, ROUNDS = 5, 3, 3


def test_aud1_parallel_audited_downloads_and_previews_all_answer_200(
        app, factories, live, browser, answers, clamd_address):
    world = make_world(factories)
    package_id = sent_package(app, world)
    submission_id = submitted_kyc(app, world.signer)
    package = db.session.get(ContractPackage, package_id)
    documents = [d.id for d in package.documents]
    kyc_files = list(db.session.execute(
        select(KycFile.id).where(KycFile.submission_id == submission_id)).scalars())
    assert len(documents) == 3 and len(kyc_files) == 3
    rep_email, staff_login = world.rep.email, world.staff.login_id  # threads have no app context
    entries_before = count(AuditEntry)

    def customer() -> list[int]:
        me: Browser = browser()
        assert me.login_customer(rep_email, PASSWORD).status_code == 302
        statuses = []
        for _ in range(ROUNDS):
            for doc in documents:
                statuses.append(me.get(f"/contracts/{package_id}/documents/{doc}").status_code)
                statuses.append(me.get(f"/contracts/{package_id}/documents/{doc}?download=1")
                                .status_code)
        return statuses

    def staff() -> list[int]:
        me: Browser = browser()
        assert me.login_staff(staff_login, PASSWORD).status_code == 302
        statuses = []
        base = f"/console/kyc/{submission_id}"
        for _ in range(ROUNDS):
            statuses.append(me.get(base).status_code)  # the review page …
            for file_id in kyc_files:  # … loads its previews at once in a browser
                statuses.append(me.get(f"{base}/files/{file_id}/preview").status_code)
                statuses.append(me.get(f"{base}/files/{file_id}").status_code)
        return statuses

    results = in_parallel([customer] * CUSTOMERS + [staff] * STAFF)

    assert all(s == 200 for statuses in results for s in statuses), results
    reads = CUSTOMERS * ROUNDS * len(documents) * 2 + STAFF * ROUNDS * len(kyc_files) * 2
    db.session.commit()
    actions = [a for a in db.session.execute(
        select(AuditEntry.action).where(AuditEntry.id > entries_before)).scalars()]
    read_actions = [a for a in actions if "login" not in a and "session" not in a]
    assert len(read_actions) == reads, sorted(set(actions))
    assert_healthy(live, answers)
