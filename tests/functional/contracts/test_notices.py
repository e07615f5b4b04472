"""HOME-2 with CON-3, CON-4, CON-5, CON-6 (#13 item 12): each contract notice names its
package (申込概要, 融資金額, 申込日); 「ご署名をお願いします」 goes once the user has
nothing left to sign (the party signed, the package was concluded, made void or
withdrawn); every party, the rejecting one included, is told of 不成立."""

from __future__ import annotations

import pytest

from portal.contracts.models import ContractPackage
from portal.contracts.services import (
    CONCLUDED_NOTICE,
    SIGN_REQUEST_NOTICE,
    VOID_NOTICE,
    WITHDRAWN_NOTICE,
)
from portal.extensions import db
from portal.models import Notice
from tests.functional.contracts.conftest import (
    conclude_as_staff,
    create_package,
    customer_client,
    issue_credential,
    open_and_confirm,
    sign_via_dialog,
    staff_client,
)

SUBJECT = "貸出契約（保証契約含む）／10,000,000 円／申込日 2026/04/01"


def _texts(user) -> list[str]:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return [n.text for n in db.session.query(Notice).filter(Notice.user_id == user.id)]


def _home(app, user) -> str:  # type: ignore[no-untyped-def]
    return customer_client(app, user).get("/").get_data(as_text=True)


def test_a_notice_names_its_package_in_the_visitors_language(app, world, contract_pdf):
    first = create_package(app, world, contract_pdf, send=True)
    second = create_package(app, world, contract_pdf, send=True, loan_amount="3,000,000",
                            application_date="2026-03-07")
    html = _home(app, world.rep)
    assert (f'<a href="/contracts/{first}">{SIGN_REQUEST_NOTICE}'
            f'<span class="notice-subject">{SUBJECT}</span></a>') in html
    assert (f'<a href="/contracts/{second}">{SIGN_REQUEST_NOTICE}<span class="notice-subject">'
            "貸出契約（保証契約含む）／3,000,000 円／申込日 2026/03/07</span></a>") in html
    english = customer_client(app, world.rep)
    english.use_english()
    page = english.get("/").get_data(as_text=True)
    assert " / application date 2026/04/01</span>" in page
    assert "申込日" not in page.split('class="notices"')[1].split("</ul>")[0]


def test_rejecting_retires_the_requests_and_tells_every_party_the_rejecting_one_too(
        app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    assert SIGN_REQUEST_NOTICE in _texts(world.rep) and SIGN_REQUEST_NOTICE in _texts(
        world.guarantor)
    rep = customer_client(app, world.rep)
    page = f"/contracts/{package_id}/confirm"
    assert rep.post_form(f"/contracts/{package_id}/reject", {"comment": "金額が相違しています"},
                         token_page=page).status_code == 302
    for user in (world.rep, world.guarantor, world.signer, world.viewer):
        assert _texts(user) == [VOID_NOTICE], user.email
    html = _home(app, world.rep)
    assert f"{VOID_NOTICE}<span class=\"notice-subject\">{SUBJECT}</span>" in html
    assert "ご署名をお願いします" not in html


def test_withdrawing_retires_the_requests(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    staff = staff_client(app, world.staff)
    detail = f"/console/contracts/{package_id}"
    assert staff.post_form(f"{detail}/withdraw", token_page=detail).status_code == 302
    for user in (world.rep, world.guarantor):
        assert _texts(user) == [WITHDRAWN_NOTICE]


@pytest.mark.slow
def test_signing_retires_the_signers_request_and_conclusion_replaces_the_rest(
        signing_app, world, contract_pdf, rs_mail):
    issue_credential(signing_app, world.rep)
    issue_credential(signing_app, world.guarantor)
    package_id = create_package(signing_app, world, contract_pdf, send=True)
    package = db.session.get(ContractPackage, package_id)
    rep = customer_client(signing_app, world.rep)
    open_and_confirm(rep, package)
    assert sign_via_dialog(rep, package_id, world.rep, rs_mail).status_code == 302
    # the rep has signed; the company's other signer could only have signed for the
    # same party: both are done, the guarantor is still asked
    assert SIGN_REQUEST_NOTICE not in _texts(world.rep)
    assert SIGN_REQUEST_NOTICE not in _texts(world.signer)
    assert _texts(world.guarantor) == [SIGN_REQUEST_NOTICE]
    guarantor = customer_client(signing_app, world.guarantor)
    open_and_confirm(guarantor, db.session.get(ContractPackage, package_id))
    assert sign_via_dialog(guarantor, package_id, world.guarantor, rs_mail).status_code == 302
    assert _texts(world.guarantor) == []
    conclude_as_staff(signing_app, world, package_id)
    for user in (world.rep, world.guarantor, world.viewer):
        assert _texts(user) == [CONCLUDED_NOTICE]
