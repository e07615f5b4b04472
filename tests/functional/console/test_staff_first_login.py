"""AUTH-3 for the bank console (ADM-1): a staff account created or reset by the
bank administrator holds a temporary password the administrator saw; at the
first console login the staff member must replace it (AUTH-2 rules) and can
reach nothing else of the console until then; the change is audited and ends
the member's other sessions. Staff seeded before keep working as they were."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.gate import CONSOLE_PREFIX, Gate, declared_gate
from portal.models import AuditEntry, Branch, StaffUser
from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff

CHANGE_PAGE = "/console/first-login"
NEW_PASSWORD = "Fresh2Passw0rd"


@pytest.fixture
def admin(client, factories):  # type: ignore[no-untyped-def]
    staff = factories.staff(role="bank_admin")
    assert login_staff(client, staff.login_id, DEFAULT_PASSWORD).headers["Location"] == "/console/"
    return staff


def actions(name: str) -> list[AuditEntry]:
    return list(db.session.execute(
        select(AuditEntry).where(AuditEntry.action == name)).scalars())


def temp_password(html: str) -> str:
    found = re.search(r'<code id="temporary-password">([^<]+)</code>', html)
    assert found, "no temporary password shown"
    return found.group(1)


def create_staff(client: Any, login_id: str, role: str = "bank_admin") -> tuple[StaffUser, str]:
    """The administrator creates an account on the console: the account and
    the temporary password shown once."""
    response = client.post_form("/console/staff/new", {
        "login_id": login_id, "name": "新任 花子", "email": f"{login_id}@bank.example.jp",
        "role": role}, token_page="/console/staff/new")
    assert response.status_code == 200
    staff = db.session.execute(
        select(StaffUser).where(StaffUser.login_id == login_id)).scalar_one()
    return staff, temp_password(response.get_data(as_text=True))


def change(client: Any, current: str, new: str, confirm: str | None = None) -> Any:
    return client.post_form(CHANGE_PAGE, {
        "current_password": current, "new_password": new,
        "new_password_confirm": new if confirm is None else confirm}, token_page=CHANGE_PAGE)


@pytest.fixture
def newcomer(app, client, admin):  # type: ignore[no-untyped-def]
    """A bank administrator just created by ``admin``, logged in on a browser of
    their own with the temporary password."""
    staff, password = create_staff(client, "shinnin01")
    browser = app.test_client()
    response = login_staff(browser, staff.login_id, password)
    assert response.status_code == 302
    assert response.headers["Location"] == CHANGE_PAGE
    return staff, password, browser


def test_created_staff_must_change_the_temporary_password_first(newcomer):
    staff, _, browser = newcomer
    assert staff.password_is_temporary
    page = browser.get(CHANGE_PAGE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "新パスワード登録" in html and 'name="current_password"' in html
    assert "担当者管理" not in html  # no console menu until the password is changed
    assert browser.get("/console/logout").status_code == 200  # logout stays reachable


def _console_routes(app: Any) -> list[tuple[str, str, str]]:
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(CONSOLE_PREFIX):
            continue
        if declared_gate(app, rule.endpoint) in (Gate.PUBLIC, Gate.TEMPORARY):
            continue
        values = {arg: 1 for arg in rule.arguments}
        url = adapter.build(rule.endpoint, values)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            found.append((rule.endpoint, method, url))
    return found


def test_every_console_page_and_action_sends_a_temporary_session_to_the_change(app, newcomer):
    _, _, browser = newcomer
    routes = _console_routes(app)
    assert len(routes) > 20
    for endpoint, method, url in routes:
        response = (browser.get(url) if method == "GET"
                    else browser.post_form(url, {}, token_page=CHANGE_PAGE))
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert response.headers["Location"] == CHANGE_PAGE, (endpoint, method)


def test_a_console_action_posted_with_a_temporary_password_is_not_done(newcomer):
    staff, _, browser = newcomer  # a bank administrator: the action would be allowed after
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    response = browser.post_form("/console/branches", {"code": "901", "name": "仮設支店"},
                                 token_page=CHANGE_PAGE)
    assert response.status_code == 302 and response.headers["Location"] == CHANGE_PAGE
    assert db.session.execute(select(Branch).where(Branch.code == "901")).first() is None
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before


@pytest.mark.parametrize(("current", "new", "confirm", "field_error"), [
    ("WrongPassw0rd1", NEW_PASSWORD, None, "現在のパスワードが正しくありません。"),
    (None, NEW_PASSWORD, "Fresh2Passw0rX",
     "新しいパスワード(確認用)が新しいパスワードと一致しません。"),
    (None, "Short1a", None, "パスワードは10桁以上16桁以内で入力してください。"),
    (None, "alllowercase12", None,
     "パスワードは半角英字(大文字、小文字)、数字をすべて含めてください。"),
    (None, "Xshinnin01Y", None, "ログインIDを含むパスワードは使用できません。"),
    (None, "Password123", None,
     "推測されやすいパスワードのため使用できません。別のパスワードを設定してください。"),
    (None, "", None, "入力してください。"),
])
def test_refused_changes_show_field_errors_and_keep_the_password_temporary(
        newcomer, current, new, confirm, field_error):
    staff, password, browser = newcomer
    response = change(browser, password if current is None else current, new, confirm)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_error in html
    assert "新パスワード登録" in html
    db.session.refresh(staff)
    assert staff.password_is_temporary
    assert browser.get("/console/").headers["Location"] == CHANGE_PAGE
    assert actions("password.first_changed") == []


def test_a_wrong_current_password_is_audited(newcomer):
    staff, _, browser = newcomer
    change(browser, "WrongPassw0rd1", NEW_PASSWORD)
    failed = actions("password.first_change_failed")
    assert [(e.actor_label, e.target_id) for e in failed] == [(staff.login_id, str(staff.id))]


def test_the_change_opens_the_console_clears_the_flag_and_ends_other_sessions(app, newcomer):
    staff, password, browser = newcomer
    elsewhere = app.test_client()
    assert login_staff(elsewhere, staff.login_id, password).status_code == 302
    response = change(browser, password, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    home = browser.get("/console/")
    assert home.status_code == 200
    assert "パスワードを登録しました。" in home.get_data(as_text=True)
    assert "担当者管理" in home.get_data(as_text=True)
    assert browser.get("/console/branches").status_code == 200
    db.session.refresh(staff)
    assert not staff.password_is_temporary
    changed = actions("password.first_changed")
    assert [(e.actor_label, e.target_id) for e in changed] == [(staff.login_id, str(staff.id))]
    assert NEW_PASSWORD not in changed[0].detail and password not in changed[0].detail
    # the other browser's session ended; the temporary password no longer works
    assert elsewhere.get("/console/").headers["Location"].startswith("/console/login")
    assert login_staff(app.test_client(), staff.login_id, password).status_code == 401
    again = login_staff(app.test_client(), staff.login_id, NEW_PASSWORD)
    assert again.status_code == 302 and again.headers["Location"] == "/console/"
    # done: the change page is no longer offered
    assert browser.get(CHANGE_PAGE).headers["Location"] == "/console/"


def test_a_reset_by_the_administrator_makes_the_password_temporary_again(app, client, newcomer):
    staff, password, browser = newcomer
    change(browser, password, NEW_PASSWORD)
    response = client.post_form(f"/console/staff/{staff.id}/password", {},
                                token_page="/console/staff")
    reset_to = temp_password(response.get_data(as_text=True))
    db.session.refresh(staff)
    assert staff.password_is_temporary
    assert "仮パスワード未変更" in client.get("/console/staff").get_data(as_text=True)
    fresh = app.test_client()
    assert login_staff(fresh, staff.login_id, reset_to).headers["Location"] == CHANGE_PAGE
    assert fresh.get("/console/staff").headers["Location"] == CHANGE_PAGE


def test_seeded_staff_are_not_temporary(client, factories):
    staff = factories.staff(factories.branch())
    assert not staff.password_is_temporary
    response = login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    assert response.headers["Location"] == "/console/"
    assert client.get(CHANGE_PAGE).headers["Location"] == "/console/"


def test_the_change_page_is_the_consoles_own(client, factories):
    customer = factories.customer(temporary=True)
    login_customer(client, customer.email, DEFAULT_PASSWORD)
    assert client.get(CHANGE_PAGE).headers["Location"].startswith("/console/login")


def test_the_change_page_reads_in_english(newcomer):
    _, password, browser = newcomer
    browser.use_english()
    html = browser.get(CHANGE_PAGE).get_data(as_text=True)
    assert "Enter the temporary password you received from the bank administrator" in html
    assert "新パスワード登録" not in html
    refused = change(browser, password, "Xshinnin01Y").get_data(as_text=True)
    assert "A password containing your login ID cannot be used." in refused


def test_the_company_user_list_links_back_to_the_customer_page(client, factories):
    branch = factories.branch()
    company = factories.company(branch)
    login_staff(client, factories.staff(branch).login_id, DEFAULT_PASSWORD)
    response = client.get(f"/console/companies/{company.id}/users")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'href="/console/companies/{company.id}"' in html
