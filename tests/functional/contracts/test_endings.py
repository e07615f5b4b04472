"""CON-2, CON-9: repayment, overdraft drawdowns, cancellation agreements."""

from __future__ import annotations

import pytest

from portal.contracts.models import ContractPackage
from portal.contracts.states import PACKAGE_LIFECYCLE, PARTY_LIFECYCLE, PackageState, PartyState
from portal.extensions import db
from tests.functional.contracts.conftest import (
    conclude_as_staff,
    create_package,
    customer_client,
    issue_credential,
    open_and_confirm,
    sign_via_dialog,
    staff_client,
)

ONE_PARTY = {"party-1-company": None, "party-1-position": None}


def _concluded_by_transitions(world, package_id: int) -> ContractPackage:
    """Test setup: walk the state machine (signing itself is tested elsewhere)."""
    package = db.session.get(ContractPackage, package_id)
    for party in package.parties:
        PARTY_LIFECYCLE.move(party, PartyState.SIGNED, actor=world.rep)
    PACKAGE_LIFECYCLE.move(package, PackageState.ALL_SIGNED, actor=world.rep)
    PACKAGE_LIFECYCLE.move(package, PackageState.CONCLUDED, actor=world.staff)
    db.session.commit()
    return package


@pytest.mark.parametrize("summary,listed_in", [("loan_only", "finished"),
                                               ("overdraft", "active")])
def test_repayment_finishes_a_loan_but_an_overdraft_stays_active(app, world, contract_pdf,
                                                                 summary, listed_in):
    package_id = create_package(app, world, contract_pdf, send=True, summary_type=summary,
                                **ONE_PARTY)
    _concluded_by_transitions(world, package_id)
    staff = staff_client(app, world.staff)
    assert staff.post_form(f"/console/contracts/{package_id}/repaid",
                           token_page="/console/contracts/new").status_code == 302
    db.session.expire_all()
    assert db.session.get(ContractPackage, package_id).state == PackageState.REPAID
    client = customer_client(app, world.rep)
    other = "active" if listed_in == "finished" else "finished"
    assert f"/contracts/{package_id}\"" in client.get(f"/contracts/{listed_in}").get_data(
        as_text=True)
    assert f"/contracts/{package_id}\"" not in client.get(f"/contracts/{other}").get_data(
        as_text=True)
    again = staff.post_form(f"/console/contracts/{package_id}/repaid",
                            token_page="/console/contracts/new")
    assert again.status_code == 409


def test_repayment_before_conclusion_is_refused(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    staff = staff_client(app, world.staff)
    refused = staff.post_form(f"/console/contracts/{package_id}/repaid",
                              token_page="/console/contracts/new")
    assert refused.status_code == 409
    assert db.session.get(ContractPackage, package_id).state == PackageState.UNSIGNED


@pytest.mark.slow
def test_a_concluded_cancellation_agreement_finishes_itself_and_the_package_it_cancels(
        signing_app, world, contract_pdf, rs_mail):
    original_id = create_package(signing_app, world, contract_pdf, send=True, **ONE_PARTY)
    _concluded_by_transitions(world, original_id)
    cancel_id = create_package(signing_app, world, contract_pdf, send=True,
                               summary_type="cancellation", loan_amount="100",
                               cancels_package_id=str(original_id), **ONE_PARTY)
    cancel = db.session.get(ContractPackage, cancel_id)
    assert cancel.cancels_package_id == original_id
    issue_credential(signing_app, world.rep)
    rep = customer_client(signing_app, world.rep)
    open_and_confirm(rep, cancel)
    assert sign_via_dialog(rep, cancel_id, world.rep, rs_mail).status_code == 302
    conclude_as_staff(signing_app, world, cancel_id)
    assert db.session.get(ContractPackage, cancel_id).state == PackageState.CANCELLED
    assert db.session.get(ContractPackage, original_id).state == PackageState.CANCELLED
    finished = rep.get("/contracts/finished").get_data(as_text=True)
    assert f"/contracts/{cancel_id}\"" in finished and f"/contracts/{original_id}\"" in finished
    assert "取消合意済" in finished
    assert f"/contracts/{original_id}\"" not in rep.get("/contracts/active").get_data(as_text=True)


@pytest.mark.slow
def test_demo_seed_adds_a_package_to_sign_and_a_concluded_one(signing_app, rs_mail):
    from portal.contracts.demo import seed_contracts
    from portal.demo import DEMO_REP_MYPAGE_ID, DEMO_STAFF, seed
    from portal.models import CustomerUser

    seed()
    rep = db.session.query(CustomerUser).filter_by(mypage_id=DEMO_REP_MYPAGE_ID).one()
    issue_credential(signing_app, rep)
    count = len(rs_mail.messages)
    lines = seed_contracts(staff_login=DEMO_STAFF[0], staff_password=DEMO_STAFF[1],
                           rep_mypage_id=DEMO_REP_MYPAGE_ID, pin="Keiyaku2026!",
                           read_code=lambda email, _after: rs_mail.otp_for(email, count))
    assert any("concluded" in line for line in lines), lines
    states = sorted(p.state for p in db.session.query(ContractPackage))
    assert states == [PackageState.CONCLUDED, PackageState.UNSIGNED]
    again = seed_contracts(staff_login=DEMO_STAFF[0], staff_password=DEMO_STAFF[1],
                           rep_mypage_id=DEMO_REP_MYPAGE_ID, pin="x")
    assert again == ["contracts: demo packages already present"]
    assert db.session.query(ContractPackage).count() == 2
    command = signing_app.test_cli_runner().invoke(args=["demo", "contracts"])
    assert command.exit_code == 0 and "demo packages already present" in command.output
