"""ADM-1, CO-1, AUD-4 (#13 item 8): staff find a customer of their branch and
open its company, users, KYC submissions, certificate requests and packages;
they record the deposit branch and debtor status, which decides who edits the
company info; from the page they delete a user whose certificate request is
open (guide §3.4.3)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from kyc.models import KycConsent, KycState, KycSubmission
from portal.certs.models import CertificateRequest, CertReason, CertRequestState
from portal.contracts.models import ContractPackage, ContractParty, SigningPosition, SummaryType
from portal.contracts.states import PackageState
from portal.extensions import db
from portal.models import AuditEntry, UserState
from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff


@pytest.fixture
def branch(factories):  # type: ignore[no-untyped-def]
    return factories.branch("東京支店")


@pytest.fixture
def staff(client, factories, branch):  # type: ignore[no-untyped-def]
    member = factories.staff(branch)
    assert login_staff(client, member.login_id, DEFAULT_PASSWORD).status_code == 302
    return member


def rows_of(html: str) -> int:
    return html.count('class="customer-row"')


def test_search_by_name_kana_number_email_and_mypage_id(client, staff, branch, factories):
    acme = factories.company(branch, name="株式会社アクメ")
    other = factories.company(branch, name="山川商店")
    acme.name_kana, other.name_kana = "アクメ", "ヤマカワショウテン"
    user = factories.customer(acme)
    factories.customer(other)
    for query in ("アクメ", "アク", str(acme.id), f"000{acme.id}", user.email.upper(),
                  user.email.split("@")[0], user.mypage_id):
        html = client.get("/console/customers", query_string={"q": query}).get_data(
            as_text=True)
        assert "株式会社アクメ" in html and "山川商店" not in html, query
    everyone = client.get("/console/customers").get_data(as_text=True)
    assert rows_of(everyone) == 2
    # LIKE wildcards are taken literally
    assert rows_of(client.get("/console/customers?q=%25").get_data(as_text=True)) == 0


def test_search_never_shows_another_branchs_customer(client, staff, factories):
    elsewhere = factories.company(factories.branch("大阪支店"), name="大阪の会社")
    html = client.get("/console/customers?q=大阪").get_data(as_text=True)
    assert "大阪の会社" not in html
    assert client.get(f"/console/companies/{elsewhere.id}").status_code == 404


def test_overlong_search_is_a_field_error(client, staff):
    response = client.get("/console/customers", query_string={"q": "あ" * 101})
    assert response.status_code == 400
    assert "100文字以内で入力してください。" in response.get_data(as_text=True)


def test_bank_admin_has_no_customer_pages(client, factories, branch):
    company = factories.company(branch)
    admin = factories.staff(role="bank_admin")
    login_staff(client, admin.login_id, DEFAULT_PASSWORD)
    assert client.get("/console/customers").status_code == 403
    assert client.get(f"/console/companies/{company.id}").status_code == 403


def _world(factories, branch):  # type: ignore[no-untyped-def]
    company = factories.company(branch, name="株式会社ページ")
    rep = factories.customer(company)
    signer = factories.customer(company, role="signer")
    consent = KycConsent(user_id=signer.id, document_version="1")
    db.session.add(consent)
    db.session.flush()
    db.session.add(KycSubmission(user_id=signer.id, company_id=company.id, consent_id=consent.id,
                                 state=KycState.SUBMITTED))
    db.session.add(CertificateRequest(company_id=company.id, subject_user_id=signer.id,
                                      requested_by=rep.id, reason=CertReason.PIN_FORGOTTEN,
                                      state=CertRequestState.REQUESTED))
    return company, rep, signer


def _package(branch, staff, company, **values):  # type: ignore[no-untyped-def]
    package = ContractPackage(branch_id=branch.id, application_date=date(2026, 11, 30),
                              summary_type=SummaryType(list(SummaryType)[0]),
                              loan_amount=12_000_000, staff_in_charge_id=staff.id,
                              staff_label="東京支店 担当", created_by_id=staff.id,
                              state=PackageState.DRAFT, **values)
    db.session.add(package)
    db.session.flush()
    db.session.add(ContractParty(package_id=package.id, signing_position=SigningPosition.DEBTOR,
                                 company_id=company.id))
    db.session.commit()
    return package


def test_customer_page_links_everything_about_the_customer(client, staff, branch, factories):
    company, rep, signer = _world(factories, branch)
    package = _package(branch, staff, company)
    html = client.get(f"/console/companies/{company.id}").get_data(as_text=True)
    submission = db.session.execute(select(KycSubmission)).scalar_one()
    for link in (f"/console/companies/{company.id}/users", f"/console/kyc/{submission.id}",
                 f"/console/contracts/{package.id}", f"/console/users/{signer.id}/delete",
                 f"/console/companies/{company.id}/terminate"):  # 解約 (#14, CON-11)
        assert f'href="{link}"' in html, link
    assert rep.mypage_id in html and signer.email in html
    assert "証明書発行依頼中" in html and "PIN失念" in html and "12,000,000円" in html
    search = client.get("/console/customers?q=ページ").get_data(as_text=True)
    assert f'href="/console/companies/{company.id}"' in search
    assert 'href="/console/customers"' in client.get("/console/").get_data(as_text=True)


def test_staff_delete_a_user_with_an_open_request_from_the_page(client, staff, branch,
                                                                factories):
    company, _rep, signer = _world(factories, branch)
    db.session.commit()
    page = f"/console/users/{signer.id}/delete"
    assert "証明書発行依頼中" in client.get(page).get_data(as_text=True)
    assert client.post_form(page, token_page=page).status_code == 200
    db.session.refresh(signer)
    assert signer.state == UserState.DELETED
    html = client.get(f"/console/companies/{company.id}").get_data(as_text=True)
    assert f'id="user-{signer.id}"' not in html


def test_bank_fields_decide_who_edits_the_company_info(client, app, staff, branch, factories):
    company = factories.company(branch)
    rep = factories.customer(company)
    page = f"/console/companies/{company.id}"
    html = client.get(page).get_data(as_text=True)
    assert "お客さまがMyPageで変更" in html and 'id="company-edit"' not in html
    saved = client.post_form(f"{page}/bank", {"deposit_branch_id": str(branch.id)},
                             token_page=page)
    assert saved.status_code == 302
    db.session.refresh(company)
    assert (company.deposit_branch_id, company.is_debtor) == (branch.id, False)
    html = client.get(page).get_data(as_text=True)
    assert "当金庫で変更（届出事項変更届）" in html and 'id="company-edit"' in html
    assert client.get(f"/console/companies/{company.id}/edit").status_code == 200
    # the customer can no longer change it in MyPage
    mypage = app.test_client()
    login_customer(mypage, rep.mypage_id, DEFAULT_PASSWORD)
    assert mypage.get("/company/edit").status_code != 200
    other = factories.branch("渋谷支店")
    client.post_form(f"{page}/bank", {"deposit_branch_id": str(other.id), "is_debtor": "on"},
                     token_page=page)
    db.session.refresh(company)
    assert (company.deposit_branch_id, company.is_debtor) == (other.id, True)
    entries = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "company.bank_fields_updated")).scalars().all()
    assert len(entries) == 2 and all(e.company_id == company.id for e in entries)
    assert '"edit_channel": ["mypage", "bank"]' in entries[0].detail


def test_bank_fields_refuse_hostile_input(client, staff, branch, factories):
    company = factories.company(branch)
    page = f"/console/companies/{company.id}"
    for value in ("abc", "99999999999999999999", "424242"):
        response = client.post_form(f"{page}/bank", {"deposit_branch_id": value},
                                    token_page=page)
        assert response.status_code == 400, value
        assert 'id="deposit_branch_id-error"' in response.get_data(as_text=True), value
    db.session.refresh(company)
    assert company.deposit_branch_id is None


def test_another_branch_cannot_record_bank_fields(client, factories, branch):
    company = factories.company(branch)
    outsider = factories.staff(factories.branch("大阪支店"))
    login_staff(client, outsider.login_id, DEFAULT_PASSWORD)
    response = client.post_form(f"/console/companies/{company.id}/bank",
                                {"is_debtor": "on"}, token_page="/console/logout")
    assert response.status_code == 404
    db.session.refresh(company)
    assert not company.is_debtor


def test_customer_pages_read_in_english(client, staff, branch, factories):
    from tests.i18n_support import leftover_japanese

    company, rep, signer = _world(factories, branch)
    _package(branch, staff, company)
    client.use_english()
    data = (company.name, company.name_kana, company.address, rep.display_name,
            signer.display_name, branch.name, staff.display_name, "東京支店 担当")
    for page in ("/console/customers", f"/console/companies/{company.id}"):
        html = client.get(page).get_data(as_text=True)
        assert leftover_japanese(html.split("<main", 1)[1], *data) == [], page
