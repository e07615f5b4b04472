"""AUTH-8 maintenance page; HOME-1/HOME-2 notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.clock import now
from portal.extensions import db
from portal.models import MaintenanceWindow
from portal.notices import notify
from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff

# Windows are typed for next year: the console refuses one that has already ended.
NEXT_YEAR = datetime.now(UTC).year + 1


def test_adhoc_window_closes_mypage_but_not_the_console(client, factories):
    db.session.add(MaintenanceWindow(starts_at=now() - timedelta(minutes=5),
                                     ends_at=now() + timedelta(hours=1),
                                     message="臨時メンテナンス"))
    db.session.commit()
    page = client.get("/login")
    assert page.status_code == 503 and "メンテナンス" in page.get_data(as_text=True)
    staff = factories.staff(factories.branch())
    assert login_staff(client, staff.login_id, DEFAULT_PASSWORD).status_code == 302
    assert client.get("/console/").status_code == 200


def test_the_banks_message_is_shown_as_written(client):
    db.session.add(MaintenanceWindow(starts_at=now() - timedelta(minutes=5),
                                     ends_at=now() + timedelta(hours=1),
                                     message="システム更改のため"))
    db.session.commit()
    html = client.get("/login").get_data(as_text=True)
    assert "システム更改のため</p>" in html and "のためのため" not in html
    assert "ただいまご利用いただけません。" in html


def test_bank_admin_schedules_a_window_with_field_errors_for_bad_input(client, factories):
    admin = factories.staff(role="bank_admin")
    login_staff(client, admin.login_id, DEFAULT_PASSWORD)
    bad = client.post_form("/console/maintenance", {"starts_at": "2026-13-40T25:00", "ends_at": ""},
                           token_page="/console/maintenance")
    assert bad.status_code == 400 and "日時を正しく入力してください。" in bad.get_data(as_text=True)
    ok = client.post_form("/console/maintenance", {"starts_at": f"{NEXT_YEAR}-01-01T01:00",
                                                   "ends_at": f"{NEXT_YEAR}-01-01T03:00",
                                                   "message": "臨時"},
                          token_page="/console/maintenance")
    assert ok.status_code == 302
    assert db.session.query(MaintenanceWindow).count() == 1


def test_branch_staff_cannot_schedule_maintenance(client, factories):
    staff = factories.staff(factories.branch())
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    assert client.get("/console/maintenance").status_code == 403


def test_home_shows_at_most_99_notices_newest_first_with_links(client, factories):
    user = factories.customer()
    other_company_user = factories.customer()
    for i in range(105):
        notify(company_id=user.company_id, text=f"お知らせ{i:03d}")
    notify(user_id=user.id, text="契約書への署名準備が整いました。", link="/contracts/1")
    notify(company_id=other_company_user.company_id, text="他社向けのお知らせ")
    db.session.commit()
    login_customer(client, user.email, DEFAULT_PASSWORD)
    html = client.get("/").get_data(as_text=True)
    assert html.count("<li>\n      <time") == 99
    assert html.index("契約書への署名準備が整いました。") < html.index("お知らせ104")
    assert 'href="/contracts/1"' in html
    assert "他社向けのお知らせ" not in html and "お知らせ005" not in html
