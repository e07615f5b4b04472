"""SPEC UI language, CON-1..CON-9: every contract screen reads in English for an
English visitor — the MyPage lists (CON-7) and their search (CON-8) with its
field errors, the package page, the confirmation of the important-matters
explanation and the rejection (CON-4, CON-5), the signing dialog, and the bank
console's list, form and detail through sending, conclusion and repayment.
The Japanese data the test created (company, person and branch names, the
document titles taken from the file names) is all that stays Japanese."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from portal.contracts.models import ContractPackage
from portal.contracts.states import PACKAGE_LIFECYCLE, PARTY_LIFECYCLE, PackageState, PartyState
from portal.extensions import db
from tests.functional.contracts.conftest import (
    World,
    create_package,
    customer_client,
    issue_credential,
    open_and_confirm,
    package_form,
    staff_client,
)
from tests.i18n_support import leftover_japanese

HEADER = re.compile(r"<header\b.*?</header>", re.S)
CONSOLE_MENU = re.compile(r'<nav class="global-menu".*?</nav>', re.S)
DOCUMENT_TITLES = ("金銭消費貸借契約書1", "金銭消費貸借契約書2", "重要事項説明書")


def english(response: Any, *data: str, status: int = 200) -> str:
    """The page is English apart from ``data``. The header (shared layout: the
    signed-in person's name, role and branch) is left to the layout's own tests."""
    assert response.status_code == status, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert leftover_japanese(HEADER.sub(" ", html), *data) == []
    return html


def english_console(response: Any, *data: str, status: int = 200) -> str:
    """A console page: the menu lists other areas' screens too (their own tests
    check those labels); the contracts entry is checked here."""
    html = english(response, *data, status=status)
    assert ">Contract packages</a>" in html
    assert leftover_japanese(CONSOLE_MENU.sub(" ", HEADER.sub(" ", html)), *data) == []
    return html


def unquoted(html: str) -> str:
    return html.replace("&#34;", '"').replace("&#39;", "'")


def data_of(world: World, package_id: int | None = None) -> tuple[str, ...]:
    values = [world.company.name, world.guarantor_company.name, world.branch.name,
              world.staff.name, world.rep.display_name, world.signer.display_name,
              world.guarantor.display_name, *DOCUMENT_TITLES]
    if package_id is not None:
        values.append(db.session.get(ContractPackage, package_id).staff_label)
    return tuple(values)


def _sign_parties(package_id: int, world: World) -> None:
    """Both parties signed (the signing dialog itself is covered below and in test_signing)."""
    package = db.session.get(ContractPackage, package_id)
    for party, user in zip(package.parties, (world.rep, world.guarantor), strict=True):
        PARTY_LIFECYCLE.move(party, PartyState.SIGNED, actor=user)
    PACKAGE_LIFECYCLE.move(package, PackageState.ALL_SIGNED, actor=world.rep)
    db.session.commit()


def _conclude(package_id: int, world: World) -> None:
    PACKAGE_LIFECYCLE.move(db.session.get(ContractPackage, package_id), PackageState.CONCLUDED,
                           actor=world.staff)
    db.session.commit()


# --- MyPage: lists and search (CON-7, CON-8) ---------------------------------------------

def test_the_three_lists_are_english(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    client = customer_client(app, world.rep)
    client.use_english()
    data = data_of(world, package_id)
    to_sign = english(client.get("/contracts/to-sign"), *data)
    assert "<h1>Contracts to sign</h1>" in to_sign
    for column in ("Application date", "Application summary", "Loan amount",
                   "Planned loan date", "Signing position", "Signing status",
                   "Contract progress", "Staff in charge"):
        assert f"<th>{column}</th>" in to_sign
    assert "Loan contract (including guarantee contract)" in to_sign
    assert "10,000,000" in to_sign and "Debtor" in to_sign and "Unsigned" in to_sign
    assert "Awaiting signatures" in to_sign and "Search criteria (can be combined)" in to_sign
    active = english(client.get("/contracts/active"), *data)
    assert "<h1>Active contracts</h1>" in active and "There are no matching contracts." in active
    finished = english(client.get("/contracts/finished"), *data)
    assert "<h1>Finished contracts</h1>" in finished and "kept for 10 years" in finished


def test_search_errors_are_english(app, world, contract_pdf):
    create_package(app, world, contract_pdf, send=True)
    client = customer_client(app, world.rep)
    client.use_english()
    data = data_of(world)
    fields = english(client.get("/contracts/to-sign", query_string={
        "date_from": "2026-02-30", "amount_min": "abc", "counterparty": "x" * 101}),
        *data, status=400)
    assert "This date does not exist." in fields
    assert "Please enter the loan amount in digits (in yen)." in fields
    assert "Please enter no more than 100 characters." in fields
    ranges = english(client.get("/contracts/active", query_string={
        "amount_min": "200", "amount_max": "100"}), *data, status=400)
    assert "Please enter a maximum amount that is not less than the minimum amount." in ranges
    dates = english(client.get("/contracts/finished", query_string={
        "date_from": "2026-05-01", "date_to": "2026-04-01"}), *data, status=400)
    assert "Please enter an end date on or after the start date." in dates
    page = english(client.get("/contracts/to-sign", query_string={"page": "0"}), *data,
                   status=400)
    assert "The page number is not valid." in page


# --- MyPage: package page, confirmation, rejection (CON-4, CON-5) ----------------------

def test_package_page_and_confirmation_are_english(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    client = customer_client(app, world.rep)
    client.use_english()
    data = data_of(world, package_id)
    page = english(client.get(f"/contracts/{package_id}"), *data)
    assert "<h1>Contract details</h1>" in page
    assert "Parties (signing position and signing status)" in page
    assert "Important-matters explanation: 重要事項説明書" in page
    assert ">Download</a>" in page and ">Proceed</button>" in page
    assert "保証 一郎" in page and "Guarantor" in page
    confirm = f"/contracts/{package_id}/confirm"
    html = english(client.get(confirm), *data)
    assert "Loan contract (including guarantee contract) (application date 2026/04/01)" \
        " / Signing position: Debtor" in html
    assert "I have read and understood the contents" in html
    assert "You can tick this box after opening every contract document." in html
    assert ">Go to signing</button>" in html and ">Reject</button>" in html
    unticked = english(client.post_form(confirm, {}, token_page=confirm), *data, status=400)
    assert ('Please tick "I have read and understood the contents" for the important-matters'
            ' explanation.') in unquoted(unticked)
    no_reason = english(client.post_form(f"/contracts/{package_id}/reject", {"comment": ""},
                                         token_page=confirm), *data, status=400)
    assert "Please enter the reason for rejection (signing comment)." in no_reason


def test_rejecting_is_confirmed_in_english(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    client = customer_client(app, world.rep)
    client.use_english()
    confirm = f"/contracts/{package_id}/confirm"
    reason = "金額を確認したいため"
    response = client.post_form(f"/contracts/{package_id}/reject", {"comment": reason},
                                token_page=confirm)
    assert response.status_code == 302
    finished = english(client.get(response.headers["Location"]), *data_of(world, package_id))
    assert "You have rejected the contract. This contract has not been concluded." in finished
    assert "Not concluded" in finished and "Reject" in finished


def test_signing_pin_step_and_its_error_are_english(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    client = customer_client(app, world.rep)
    open_and_confirm(client, db.session.get(ContractPackage, package_id))
    client.use_english()
    data = data_of(world, package_id)
    page = f"/contracts/{package_id}/sign/pin"
    html = english(client.get(page), *data)
    assert "<h1>Electronic signature</h1>" in html
    assert "<strong>1. Enter PIN</strong>" in html and "Signing PIN" in html
    empty = english(client.post_form(page, {"pin": ""}, token_page=page), *data, status=400)
    assert "Please enter your signing PIN." in empty


@pytest.mark.slow
def test_the_signing_dialog_is_english_to_the_end(signing_app, world, contract_pdf, rs_mail):
    issue_credential(signing_app, world.rep)
    package_id = create_package(signing_app, world, contract_pdf, send=True)
    client = customer_client(signing_app, world.rep)
    open_and_confirm(client, db.session.get(ContractPackage, package_id))
    client.use_english()
    data = data_of(world, package_id)
    pin_page = f"/contracts/{package_id}/sign/pin"
    before = len(rs_mail.messages)
    sent = client.post_form(pin_page, {"pin": "Keiyaku2026!"}, token_page=pin_page)
    assert sent.status_code == 302
    code_page = f"/contracts/{package_id}/sign/code"
    html = english(client.get(code_page), *data)
    assert "We have sent a verification code to your registered email address." in html
    assert "<strong>2. Enter the verification code sent by email</strong>" in html
    letters = english(client.post_form(code_page, {"otp": "abcdef"}, token_page=code_page),
                      *data, status=400)
    assert "Please enter the verification code in half-width digits." in letters
    code = rs_mail.otp_for(world.rep.email, before)
    assert client.post_form(code_page, {"otp": code}, token_page=code_page).status_code == 302
    execute = f"/contracts/{package_id}/sign/execute"
    html = english(client.get(execute), *data)
    assert ">Electronic signature</button>" in html
    done = client.post_form(execute, {}, token_page=execute)
    assert done.status_code == 302
    html = english(client.get(done.headers["Location"]), *data)
    assert "<h1>Signing complete</h1>" in html and "Your signature is complete." in html


def test_concluded_and_repaid_contracts_are_english_on_mypage(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    _sign_parties(package_id, world)
    _conclude(package_id, world)
    client = customer_client(app, world.rep)
    client.use_english()
    data = data_of(world, package_id)
    active = english(client.get("/contracts/active"), *data)
    assert "Concluded" in active and "Signed" in active
    page = english(client.get(f"/contracts/{package_id}"), *data)
    assert "Download the signature verification report (PDF)" in page


# --- the bank console (CON-1, CON-3, CON-6, CON-9) ---------------------------------------

def test_console_list_and_search_errors_are_english(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf)
    client = staff_client(app, world.staff)
    client.use_english()
    data = data_of(world, package_id)
    html = english_console(client.get("/console/contracts"), *data)
    assert "<h1>Contract packages</h1>" in html and ">New package</a>" in html
    assert "<th>Package No.</th>" in html and "In preparation" in html
    assert "株式会社テスト商事 (Debtor: Unsigned)" in html
    assert '<option value="cancelled" >Cancelled by agreement</option>' in html
    bad = english_console(client.get("/console/contracts", query_string={
        "date_to": "20260231x", "state": "draft"}), *data, status=400)
    assert "Please enter the date as yyyymmdd (e.g. 19750314) or select it from the calendar." \
        in bad
    none = english_console(client.get("/console/contracts", query_string={"state": "void"}),
                           *data)
    assert "There are no matching packages." in none


def test_console_form_and_its_errors_are_english(app, world, contract_pdf):
    client = staff_client(app, world.staff)
    client.use_english()
    data = data_of(world)
    new = english_console(client.get("/console/contracts/new"), *data)
    assert "<h1>New package</h1>" in new and "Parties (signing position)" in new
    assert "株式会社テスト商事 (Corporation)" in new and "Party 1" in new
    assert "Signs as the customer (corporation etc.)" in new
    empty = english_console(client.post_form("/console/contracts/new", {},
                                              token_page="/console/contracts/new",
                                              content_type="multipart/form-data"),
                            *data, status=400)
    assert "There are errors in your input." in empty
    assert "Please enter this item." in empty and "Please make a selection." in empty
    assert "Please specify at least one signer (party)." in empty
    assert "Please select at least one contract (PDF)." in empty
    assert "Please select the important-matters explanation (PDF)." in empty
    form = package_form(world, planned_loan_date="2026-03-01", loan_amount="-5")
    form["contract_files"] = (io.BytesIO(b"hello"), "memo.txt")
    form["important_file"] = (io.BytesIO(contract_pdf), "重要事項説明書.pdf")
    wrong = english_console(client.post_form("/console/contracts/new", form,
                                             token_page="/console/contracts/new",
                                             content_type="multipart/form-data"),
                            *data, status=400)
    assert "The loan amount cannot be negative." in wrong
    assert "For the contract, please select a PDF file (.pdf)." in wrong


def test_console_detail_through_sending_conclusion_and_repayment_is_english(
        app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf)
    client = staff_client(app, world.staff)
    client.use_english()
    data = data_of(world, package_id)
    detail = f"/console/contracts/{package_id}"
    html = english_console(client.get(detail), *data)
    assert f"<h1>Contract package {package_id}</h1>" in html
    assert "Important-matters explanation: 重要事項説明書" in html and "(0 signature(s))" in html
    assert ">Edit</a>" in html and ">Send to parties</button>" in html
    assert ">Withdrawal</button>" in html
    edit = english_console(client.get(f"{detail}/edit"), *data)
    assert "<h1>Edit package (in preparation)</h1>" in edit
    assert "Selecting files replaces the registered contracts." in edit
    sent = client.post_form(f"{detail}/send", token_page=detail)
    html = english_console(client.get(sent.headers["Location"]), *data)
    assert "The package has been sent." in html and "Awaiting signatures" in html
    _sign_parties(package_id, world)
    html = english_console(client.get(detail), *data)
    assert "Conclusion (the bank&#39;s electronic signature)" in html
    assert "Signature verification report (PDF)" in html
    no_password = english_console(client.post_form(f"{detail}/conclude", {"password": ""},
                                                   token_page=detail), *data, status=400)
    assert "Please enter your password." in no_password
    wrong = english_console(client.post_form(f"{detail}/conclude", {"password": "Wrong-pass-1"},
                                             token_page=detail), *data, status=400)
    assert "The password is incorrect." in wrong
    _conclude(package_id, world)
    html = english_console(client.get(detail), *data)
    assert "Concluded" in html and ">Record full repayment</button>" in html
    repaid = client.post_form(f"{detail}/repaid", token_page=detail)
    html = english_console(client.get(repaid.headers["Location"]), *data)
    assert "Full repayment has been recorded." in html and "Repaid" in html
