"""ADM-1 (#13 item 7): the bank administrator manages branches, staff accounts
and the system notices shown on MyPage HOME; branch staff cannot; hostile
input gets field errors, never a 5xx; every change is in the operation log."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import time_machine
from sqlalchemy import select

from portal.clock import JST
from portal.extensions import db
from portal.models import AuditEntry, Branch, StaffRole, StaffUser, SystemNotice
from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff

TODAY_JST = datetime(2026, 12, 3, 14, 0, tzinfo=JST)


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(TODAY_JST, tick=False) as traveller:
        yield traveller


@pytest.fixture
def admin(client, factories, clock):  # type: ignore[no-untyped-def]
    staff = factories.staff(role="bank_admin")
    assert login_staff(client, staff.login_id, DEFAULT_PASSWORD).status_code == 302
    return staff


def actions(name: str) -> list[AuditEntry]:
    return list(db.session.execute(
        select(AuditEntry).where(AuditEntry.action == name)).scalars())


def temp_password(html: str) -> str:
    found = re.search(r'<code id="temporary-password">([^<]+)</code>', html)
    assert found, "no temporary password shown"
    return found.group(1)


# --- permissions ---------------------------------------------------------------------------

ADMIN_PAGES = ["/console/branches", "/console/staff", "/console/staff/new", "/console/notices"]
ADMIN_POSTS = ["/console/branches", "/console/staff/new", "/console/notices",
               "/console/staff/{other}/disable", "/console/staff/{other}/password"]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_branch_staff_are_refused_the_admin_pages(client, factories, page):
    staff = factories.staff(factories.branch())
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    assert client.get(page).status_code == 403


@pytest.mark.parametrize("page", ADMIN_POSTS)
def test_branch_staff_cannot_post_admin_forms(client, factories, page):
    branch = factories.branch()
    staff, other = factories.staff(branch), factories.staff(branch)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    form = {"code": "901", "name": "不正支店", "login_id": "evil1", "email": "e@x.jp",
            "role": "bank_admin", "title": "t", "body": "b"}
    posted = client.post_form(page.format(other=other.id), form, token_page="/console/logout")
    assert posted.status_code == 403
    assert db.session.execute(select(Branch).where(Branch.code == "901")).first() is None
    assert db.session.execute(select(AuditEntry).where(
        AuditEntry.action.startswith("staff."))).first() is None
    db.session.refresh(other)
    assert other.active


def test_admin_menu_lists_the_new_pages(client, admin):
    html = client.get("/console/").get_data(as_text=True)
    for label in ("支店管理", "担当者管理", "お知らせ管理"):
        assert label in html


# --- branches ------------------------------------------------------------------------------

def test_admin_creates_and_renames_a_branch(client, admin):
    created = client.post_form("/console/branches", {"code": "205", "name": "横浜支店"},
                               token_page="/console/branches")
    assert created.status_code == 302
    branch = db.session.execute(select(Branch).where(Branch.code == "205")).scalar_one()
    assert "横浜支店" in client.get("/console/branches").get_data(as_text=True)
    page = f"/console/branches/{branch.id}"
    assert client.post_form(page, {"name": "横浜中央支店"}, token_page=page).status_code == 302
    db.session.refresh(branch)
    assert branch.name == "横浜中央支店"
    renamed = actions("branch.renamed")
    assert [(e.actor_label, e.target_id) for e in renamed] == [(admin.login_id, str(branch.id))]
    assert "横浜支店" in renamed[0].detail and len(actions("branch.created")) == 1


def test_branch_form_refuses_bad_and_duplicate_input(client, admin, factories):
    existing = factories.branch("大阪支店")
    cases = [
        ({"code": "12", "name": "支店"}, "店番は半角数字3～4桁で入力してください。"),
        ({"code": "１２３", "name": "支店"}, "店番は半角数字3～4桁で入力してください。"),
        ({"code": "777", "name": "支" * 51}, "50文字以内で入力してください。"),
        ({"code": "777", "name": ""}, "入力してください。"),
        ({"code": existing.code, "name": "新支店"}, "この店番はすでに登録されています。"),
        ({"code": "778", "name": "大阪支店"}, "この支店名はすでに登録されています。"),
    ]
    for form, message in cases:
        response = client.post_form("/console/branches", form, token_page="/console/branches")
        assert response.status_code == 400, form
        assert message in response.get_data(as_text=True), form
    assert db.session.execute(select(Branch)).scalars().all() == [existing]


def test_unknown_branch_is_not_found(client, admin):
    assert client.get("/console/branches/999999").status_code == 404


# --- staff -----------------------------------------------------------------------------------

def test_admin_creates_staff_who_logs_in_with_the_temporary_password(client, app, admin,
                                                                       factories):
    branch = factories.branch("名古屋支店")
    response = client.post_form("/console/staff/new", {
        "login_id": "nagoya01", "name": "名古屋 一郎", "email": "Nagoya01@Bank.example.jp",
        "role": "branch_staff", "branch_id": str(branch.id)}, token_page="/console/staff/new")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    password = temp_password(response.get_data(as_text=True))
    staff = db.session.execute(
        select(StaffUser).where(StaffUser.login_id == "nagoya01")).scalar_one()
    assert (staff.role, staff.branch_id, staff.email) == (
        StaffRole.BRANCH_STAFF, branch.id, "nagoya01@bank.example.jp")
    assert password not in staff.password_hash
    assert not any(password in e.detail for e in db.session.execute(select(AuditEntry)).scalars())
    other = app.test_client()
    assert login_staff(other, "nagoya01", password).status_code == 302
    # AUTH-3: the temporary password is replaced first (test_staff_first_login.py)
    assert other.post_form("/console/first-login", {
        "current_password": password, "new_password": "Nagoya2Passw0rd",
        "new_password_confirm": "Nagoya2Passw0rd"},
        token_page="/console/first-login").status_code == 302
    assert other.get("/console/branches").status_code == 403  # branch staff, not admin


def test_staff_form_field_errors(client, admin, factories):
    taken = factories.staff(factories.branch())
    cases = [
        ({"login_id": "ab", "name": "x", "email": "a@b.jp", "role": "bank_admin"},
         "login_id", "ログインIDは半角英数字"),
        ({"login_id": taken.login_id.upper(), "name": "x", "email": "a@b.jp",
          "role": "bank_admin"}, "login_id", "このログインIDはすでに使われています。"),
        ({"login_id": "okid1", "name": "x" * 51, "email": "a@b.jp", "role": "bank_admin"},
         "name", "50文字以内で入力してください。"),
        ({"login_id": "okid1", "name": "x", "email": "not-mail", "role": "bank_admin"},
         "email", "メールアドレスの形式が正しくありません。"),
        ({"login_id": "okid1", "name": "x", "email": "a@b.jp", "role": "root"},
         "role", "選択肢の中から選択してください。"),
        ({"login_id": "okid1", "name": "x", "email": "a@b.jp", "role": "branch_staff"},
         "branch_id", "支店担当者には所属支店を選択してください。"),
        ({"login_id": "okid1", "name": "x", "email": "a@b.jp", "role": "branch_staff",
          "branch_id": "99999999999999"}, "branch_id", "選択してください。"),
        ({"login_id": "okid1", "name": "x", "email": "a@b.jp", "role": "branch_staff",
          "branch_id": "424242"}, "branch_id", "選択した支店が見つかりません。"),
    ]
    for form, field, message in cases:
        response = client.post_form("/console/staff/new", form, token_page="/console/staff/new")
        html = response.get_data(as_text=True)
        assert response.status_code == 400, form
        assert f'id="{field}-error"' in html and message in html, form
    assert db.session.execute(select(StaffUser).where(StaffUser.login_id == "okid1")).first() \
        is None


def test_disable_ends_the_session_and_login_until_enabled(client, app, admin, factories):
    staff = factories.staff(factories.branch())
    theirs = app.test_client()
    login_staff(theirs, staff.login_id, DEFAULT_PASSWORD)
    assert theirs.get("/console/").status_code == 200
    client.post_form(f"/console/staff/{staff.id}/disable", token_page="/console/staff")
    assert theirs.get("/console/").status_code == 302  # back to the login page
    assert login_staff(theirs, staff.login_id, DEFAULT_PASSWORD).status_code != 302
    client.post_form(f"/console/staff/{staff.id}/enable", token_page="/console/staff")
    assert login_staff(theirs, staff.login_id, DEFAULT_PASSWORD).status_code == 302
    assert [e.action for e in db.session.execute(select(AuditEntry).where(
        AuditEntry.action.startswith("staff."))).scalars()] == ["staff.disabled", "staff.enabled"]


def test_reset_password_replaces_the_old_one(client, app, admin, factories):
    staff = factories.staff(factories.branch())
    response = client.post_form(f"/console/staff/{staff.id}/password",
                                token_page="/console/staff")
    password = temp_password(response.get_data(as_text=True))
    other = app.test_client()
    assert login_staff(other, staff.login_id, DEFAULT_PASSWORD).status_code != 302
    assert login_staff(other, staff.login_id, password).status_code == 302
    assert len(actions("staff.password_reset")) == 1


def test_admin_cannot_disable_or_demote_themself(client, admin):
    client.post_form(f"/console/staff/{admin.id}/disable", token_page="/console/logout")
    page = f"/console/staff/{admin.id}"
    demote = client.post_form(page, {"name": admin.name, "email": admin.email,
                                     "role": "branch_staff", "branch_id": ""}, token_page=page)
    assert demote.status_code == 400
    db.session.refresh(admin)
    assert admin.active and admin.role == StaffRole.BANK_ADMIN


def test_edit_moves_staff_to_another_branch(client, admin, factories):
    old, new = factories.branch("旧支店"), factories.branch("新支店")
    staff = factories.staff(old)
    page = f"/console/staff/{staff.id}"
    response = client.post_form(page, {"name": "担当 変更", "email": staff.email,
                                       "role": "branch_staff", "branch_id": str(new.id)},
                                token_page=page)
    assert response.status_code == 302
    db.session.refresh(staff)
    assert (staff.branch_id, staff.name) == (new.id, "担当 変更")
    assert "branch_id" in actions("staff.updated")[0].detail


# --- system notices ------------------------------------------------------------------------

def post_notice(client, **form):  # type: ignore[no-untyped-def]
    values = {"title": "年末年始の営業について", "body": "12月31日から1月3日まで休業します。\n以上",
              "starts_at": "2026-12-03T13:00", "ends_at": "2026-12-04T09:00", **form}
    return client.post_form("/console/notices", values, token_page="/console/notices")


def test_notice_shows_on_mypage_home_only_within_its_period(client, app, admin, factories,
                                                            clock):
    assert post_notice(client).status_code == 302
    assert post_notice(client, title="来週のお知らせ", starts_at="2026-12-10T00:00",
                       ends_at="2026-12-11T00:00").status_code == 302
    customer = factories.customer()
    mypage = app.test_client()
    login_customer(mypage, customer.mypage_id, DEFAULT_PASSWORD)
    html = mypage.get("/").get_data(as_text=True)
    assert "年末年始の営業について" in html and "<p>以上</p>" in html
    assert "来週のお知らせ" not in html
    clock.move_to(datetime(2026, 12, 4, 9, 0, tzinfo=JST))  # the end is exclusive
    assert "年末年始の営業について" not in mypage.get("/").get_data(as_text=True)
    clock.move_to(datetime(2026, 12, 10, 0, 0, tzinfo=JST))
    login_customer(mypage, customer.mypage_id, DEFAULT_PASSWORD)  # the session timed out
    assert "来週のお知らせ" in mypage.get("/").get_data(as_text=True)


def test_notice_edit_and_delete_are_audited(client, admin, clock):
    post_notice(client)
    notice = db.session.execute(select(SystemNotice)).scalar_one()
    page = f"/console/notices/{notice.id}"
    edit = client.get(page).get_data(as_text=True)
    assert 'value="2026-12-03T13:00"' in edit  # shown back in 日本時間
    assert client.post_form(page, {"title": "変更後", "body": "本文",
                                   "starts_at": "2026-12-03T13:00",
                                   "ends_at": "2026-12-05T00:00"},
                            token_page=page).status_code == 302
    db.session.refresh(notice)
    assert notice.title == "変更後"
    client.post_form(f"{page}/delete", token_page="/console/notices")
    assert db.session.execute(select(SystemNotice)).first() is None
    assert [len(actions(f"system_notice.{a}")) for a in ("created", "updated", "deleted")] \
        == [1, 1, 1]


def test_notice_form_refuses_hostile_input(client, admin, clock):
    cases = [
        ({"ends_at": "2026-12-03T12:00"}, "ends_at",
         "掲載終了は掲載開始より後の日時にしてください。"),
        ({"starts_at": "2026-02-31T10:00"}, "starts_at", "日時を正しく入力してください。"),
        ({"starts_at": "9999-12-31T23:59"}, "starts_at",
         "日時は前年から5年後までの範囲で入力してください。"),
        ({"ends_at": ""}, "ends_at", "入力してください。"),
        ({"title": "件" * 101}, "title", "100文字以内で入力してください。"),
        ({"body": "本" * 2001}, "body", "2000文字以内で入力してください。"),
        ({"body": "nul\x00byte"}, "body", "改行・タブなどの制御文字は使用できません。"),
    ]
    for form, field, message in cases:
        response = post_notice(client, **form)
        html = response.get_data(as_text=True)
        assert response.status_code == 400, form
        assert f'id="{field}-error"' in html and message in html, form
        # the refused field is marked as such (red border, announced), not only its message
        assert f'aria-describedby="{field}-error"' in html, form
    assert db.session.execute(select(SystemNotice)).first() is None
    assert client.post_form("/console/notices/424242/delete",
                            token_page="/console/notices").status_code == 404


def test_admin_pages_read_in_english(client, admin, factories, clock):
    from tests.i18n_support import leftover_japanese

    branch = factories.branch("札幌支店")
    member = factories.staff(branch)
    post_notice(client)
    client.use_english()
    data = (admin.display_name, member.display_name, branch.name, "年末年始の営業について",
            "12月31日から1月3日まで休業します。", "以上")
    for page in ("/console/branches", f"/console/branches/{branch.id}", "/console/staff",
                 "/console/staff/new", f"/console/staff/{member.id}", "/console/notices"):
        html = client.get(page).get_data(as_text=True)
        main = html.split("<main", 1)[1]  # the menu belongs to every area
        assert leftover_japanese(main, *data) == [], page
    refused = client.post_form("/console/branches", {"code": "1", "name": ""},
                               token_page="/console/branches").get_data(as_text=True)
    assert "Please enter a branch code of 3 or 4 half-width digits." in refused
