"""#14 item 5 (CON-9, KYC-5, AUD-1): staff record 解約. MyPage access ends with a
clear message, certificates are revoked at the signing service, contracts keep
their own rules and the personal data goes 7 years later."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from portal import clock
from portal.audit import verify_chain
from portal.certs.models import CertState, SigningCertificate
from portal.contracts.models import ContractPackage
from portal.extensions import db
from portal.models import AuditEntry, CustomerUser, UserState
from portal.retention.models import CompanyTermination
from portal.retention.policy import add_years
from tests.conftest import DEFAULT_PASSWORD, login_customer
from tests.functional.contracts.conftest import (
    customer_client,
    issue_credential,
    staff_client,
)
from tests.functional.retention.conftest import finished_package, run_cli


def test_terminating_a_customer_ends_mypage_revokes_certificates_and_starts_the_clock(
        signing_app, world, contract_pdf):
    app = signing_app
    email = world.rep.email
    issue_credential(app, world.rep)
    package_id = finished_package(app, world, contract_pdf, ended_at=clock.now())
    signed_in = customer_client(app, world.signer)
    page = f"/console/companies/{world.company.id}/terminate"
    staff = staff_client(app, world.staff)
    confirm = staff.get(page)
    assert confirm.status_code == 200 and "解約を登録する" in confirm.get_data(as_text=True)

    unconfirmed = staff.post_form(page, {"note": "取引解消"}, token_page=page)
    assert unconfirmed.status_code == 400
    assert "確認欄にチェックを入れてください" in unconfirmed.get_data(as_text=True)
    assert staff.post_form(page, {"note": "取引解消", "confirm": "1"},
                           token_page=page).status_code == 302
    assert "解約済みです" in staff.get(page).get_data(as_text=True)

    refused = login_customer(app.test_client(), world.rep.email, DEFAULT_PASSWORD)
    assert refused.status_code != 302
    assert "ご利用は終了しています（解約済み）" in refused.get_data(as_text=True)
    assert signed_in.get("/").status_code == 302  # the open session ended too
    cert = db.session.execute(select(SigningCertificate).where(
        SigningCertificate.user_id == world.rep.id)).scalars().one()
    assert cert.state == CertState.REVOKED
    # A wrong password still says only "wrong": 解約 is not told to a guesser.
    wrong = login_customer(app.test_client(), world.rep.email, "Wrong-password-1")
    assert "解約済み" not in wrong.get_data(as_text=True)
    # Staff of another branch cannot reach the action.
    other = staff_client(app, world.other_staff)
    assert other.get(page).status_code == 404

    terminated_at = db.session.execute(select(CompanyTermination.terminated_at)).scalar_one()
    with time_machine.travel(add_years(terminated_at, 7) - timedelta(days=1), tick=False):
        run_cli(app, "run")
    assert db.session.get(CustomerUser, world.rep.id).email == email
    with time_machine.travel(add_years(terminated_at, 7) + timedelta(days=1), tick=False):
        result = run_cli(app, "run")
    assert f"personal data of company {world.company.id}" in result.output
    erased = db.session.get(CustomerUser, world.rep.id)
    assert erased.state == UserState.DELETED and erased.birth_date is None
    assert "山田" not in erased.last_name and erased.email != email
    # The contract follows its own rule: ten years after its end, not seven.
    assert db.session.get(ContractPackage, package_id) is not None
    actions = set(db.session.execute(select(AuditEntry.action)).scalars())
    assert {"retention.customer_terminated", "login.refused_terminated",
            "retention.personal_data_deleted"} <= actions
    assert verify_chain().ok
