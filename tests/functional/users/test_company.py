"""CO-1, CO-2, CERT-4: company info edited by the right party, with confirm."""

from __future__ import annotations

from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, login_staff
from tests.functional.users.conftest import login
from tests.functional.users.helpers import actions

FORM = {"company_name": "株式会社テスト商事", "company_name_kana": "テストショウジ",
        "company_name_en": "Test Shoji", "postal_code": "1000005",
        "address": "東京都千代田区丸の内1-1-1", "established_on": "20000101",
        "phone": "0312345678"}


def _post(client, url, step="register", **changes):
    return client.post_form(url, dict(FORM, step=step, **changes), token_page=url)


def test_co2_manager_edits_company_in_mypage_with_confirm(client, people, factories):
    company = factories.company()  # no deposit account: the customer edits (CO-1)
    admin = people.user(company, "administrator")
    people.user(company)
    login(client, admin)
    page = client.get("/users/company/edit").get_data(as_text=True)
    assert "ご契約情報変更" in page and "株式会社テスト商事" in page
    confirm = _post(client, "/users/company/edit", step="confirm", address="東京都港区1-2-3")
    assert confirm.status_code == 200 and "入力内容確認" in confirm.get_data(as_text=True)
    db.session.refresh(company)
    assert company.address != "東京都港区1-2-3"
    done = _post(client, "/users/company/edit", address="東京都港区1-2-3")
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "変更が完了" in html and "失効" not in html
    db.session.refresh(company)
    assert company.address == "東京都港区1-2-3"
    assert "company.updated" in actions()


def test_co2_bad_input_gets_field_errors(client, people, factories):
    company = factories.company()
    login(client, people.user(company))
    response = _post(client, "/users/company/edit", step="confirm", postal_code="100-0005",
                     company_name_kana="てすと")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "ハイフンなし" in html and "ひらがな" in html


def test_cert4_company_name_change_revokes_every_certificate(client, people, factories):
    company = factories.company()
    rep = people.with_certificate(company)
    signer = people.with_certificate(company, "signer")
    people.user(company, "viewer")
    login(client, rep)
    done = _post(client, "/users/company/edit", company_name="株式会社新社名")
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "証明書の再発行依頼" in html
    assert people.credential_statuses(rep) == ["revoked"]
    assert people.credential_statuses(signer) == ["revoked"]
    db.session.refresh(company)
    assert company.name == "株式会社新社名"


def test_co1_signer_and_viewer_cannot_edit_company(client, people, factories):
    company = factories.company()
    people.user(company)
    for role in ("signer", "viewer"):
        actor = people.user(company, role)
        login(client, actor)
        assert client.get("/users/company/edit").status_code == 403
        client.post_form("/logout")
    db.session.refresh(company)
    assert company.name == "株式会社テスト商事"


def test_co1_debtor_or_same_branch_edits_in_the_console(client, people, factories):
    branch = factories.branch()
    company = factories.company(branch, deposit_branch_id=branch.id)
    rep = people.user(company)
    login(client, rep)
    refused = client.get("/users/company/edit")
    assert refused.status_code == 403 and "届出事項変更届" in refused.get_data(as_text=True)
    client.post_form("/logout")

    other = factories.staff(factories.branch("大阪支店"))
    login_staff(client, other.login_id, DEFAULT_PASSWORD)
    assert client.get(f"/console/companies/{company.id}/edit").status_code == 404
    client.post_form("/console/logout", token_page="/console/logout")

    staff = factories.staff(branch)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    url = f"/console/companies/{company.id}/edit"
    assert "ご契約情報変更" in client.get(url).get_data(as_text=True)
    done = _post(client, url, phone="0399998888")
    assert done.status_code == 200 and "変更が完了" in done.get_data(as_text=True)
    db.session.refresh(company)
    assert company.phone == "0399998888"


def test_co1_staff_cannot_edit_a_customer_who_edits_themselves(client, factories):
    branch = factories.branch()
    company = factories.company(branch)  # no deposit account
    staff = factories.staff(branch)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    response = client.get(f"/console/companies/{company.id}/edit")
    assert response.status_code == 400 and "MyPage" in response.get_data(as_text=True)


def test_co1_individual_edits_own_address(client, people, factories):
    company = factories.company(kind="individual", is_debtor=True)
    me = people.user(company)
    login(client, me)
    url = "/users/company/edit"
    page = client.get(url).get_data(as_text=True)
    assert "法人名" not in page
    done = client.post_form(url, {"step": "register", "postal_code": "1500001",
                                  "address": "東京都渋谷区1-1", "phone": ""}, token_page=url)
    assert done.status_code == 200
    db.session.refresh(company)
    assert company.address == "東京都渋谷区1-1"
