"""AUTH-8 ad-hoc maintenance windows (issue #11 "One rule for time"): typed in
日本時間, fired at that JST instant, edited and cancelled with an audit trail,
bad input answered with field errors, never a 500."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.clock import JST, as_utc
from portal.extensions import db
from portal.models import AuditEntry, MaintenanceWindow
from tests.conftest import DEFAULT_PASSWORD, login_staff

# A Thursday, far from the recurring 2nd-Saturday window.
TODAY_JST = datetime(2026, 12, 3, 14, 0, tzinfo=JST)
PAGE = "/console/maintenance"


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(TODAY_JST, tick=False) as traveller:
        yield traveller


@pytest.fixture
def admin(client, factories, clock):  # type: ignore[no-untyped-def]
    staff = factories.staff(role="bank_admin")
    assert login_staff(client, staff.login_id, DEFAULT_PASSWORD).status_code == 302
    return staff


def schedule(client, starts: str, ends: str, message: str = ""):  # type: ignore[no-untyped-def]
    return client.post_form(PAGE, {"starts_at": starts, "ends_at": ends, "message": message},
                            token_page=PAGE)


def only_window() -> MaintenanceWindow:
    return db.session.execute(select(MaintenanceWindow)).scalar_one()


def audit_entries(action: str) -> list[AuditEntry]:
    return list(db.session.execute(
        select(AuditEntry).where(AuditEntry.action == action)).scalars())


def mypage_status(client) -> int:  # type: ignore[no-untyped-def]
    return client.get("/login").status_code


def test_typed_jst_times_fire_at_that_jst_instant(client, admin, clock):
    assert schedule(client, "2026-12-03T14:56", "2026-12-03T14:58", "臨時").status_code == 302
    window = only_window()
    assert as_utc(window.starts_at) == datetime(2026, 12, 3, 5, 56, tzinfo=UTC)

    listed = client.get(PAGE).get_data(as_text=True)
    assert "2026/12/03 14:56" in listed and "2026/12/03 14:58" in listed

    clock.move_to(datetime(2026, 12, 3, 14, 55, 59, tzinfo=JST))
    assert mypage_status(client) == 200
    clock.move_to(datetime(2026, 12, 3, 14, 57, tzinfo=JST))
    page = client.get("/login")
    assert page.status_code == 503
    assert "終了予定：2026/12/03 14:58（日本時間）" in page.get_data(as_text=True)
    clock.move_to(datetime(2026, 12, 3, 14, 58, 1, tzinfo=JST))
    assert mypage_status(client) == 200


def test_clock_jumps_open_and_close_mypage_exactly_at_the_boundaries(client, admin, clock):
    schedule(client, "2026-12-03T23:30", "2026-12-04T01:15")
    start = datetime(2026, 12, 3, 23, 30, tzinfo=JST)
    end = datetime(2026, 12, 4, 1, 15, tzinfo=JST)
    for moment, status in [(start - timedelta(microseconds=1), 200), (start, 503),
                           (end - timedelta(microseconds=1), 503), (end, 200),
                           (start + timedelta(minutes=1), 503),  # jump back into it
                           (start - timedelta(days=1), 200)]:
        clock.move_to(moment)
        assert mypage_status(client) == status, moment


@pytest.mark.parametrize("starts, ends, field, message", [
    ("2026-12-03T16:00", "2026-12-03T15:00", "ends_at", "終了日時は開始日時より後にしてください。"),
    ("2026-12-03T16:00", "2026-12-03T16:00", "ends_at", "終了日時は開始日時より後にしてください。"),
    ("0001-01-01T00:00", "2026-12-03T16:00", "starts_at", "日時は前年から5年後までの範囲で"),
    ("2026-12-03T16:00", "9999-12-31T23:59", "ends_at", "日時は前年から5年後までの範囲で"),
    ("2024-12-31T23:00", "2026-12-03T16:00", "starts_at", "日時は前年から5年後までの範囲で"),
    ("2026-12-03T16:00", "2032-01-01T00:00", "ends_at", "日時は前年から5年後までの範囲で"),
    ("2026-02-30T10:00", "2026-12-03T16:00", "starts_at", "日時を正しく入力してください。"),
    ("2026-12-03", "2026-12-03T16:00", "starts_at", "日時を正しく入力してください。"),
    ("abc", "2026-12-03T16:00\x00", "starts_at", "日時を正しく入力してください。"),
    ("2026-12-03T16:00", "", "ends_at", "入力してください。"),
    ("2026-12-02T10:00", "2026-12-03T13:59", "ends_at", "終了日時は現在より後にしてください。"),
])
def test_bad_times_are_field_errors_and_nothing_is_stored(client, admin, starts, ends, field,
                                                          message):
    response = schedule(client, starts, ends)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in html and message in html
    assert db.session.query(MaintenanceWindow).count() == 0


def test_year_out_of_range_is_explained_in_english(client, admin):
    client.use_english()
    html = schedule(client, "0001-01-01T00:00", "9999-12-31T23:59").get_data(as_text=True)
    assert "Please enter a date and time between last year and five years from now." in html


def test_edit_is_audited_with_before_and_after(client, admin):
    schedule(client, "2026-12-10T01:00", "2026-12-10T03:00", "旧")
    window = only_window()
    edit_page = client.get(f"{PAGE}/{window.id}").get_data(as_text=True)
    assert 'value="2026-12-10T01:00"' in edit_page and 'value="2026-12-10T03:00"' in edit_page
    response = client.post_form(f"{PAGE}/{window.id}", {"starts_at": "2026-12-10T02:00",
                                                         "ends_at": "2026-12-10T05:30",
                                                         "message": "新"},
                                token_page=f"{PAGE}/{window.id}")
    assert response.status_code == 302
    window = only_window()
    assert as_utc(window.ends_at) == datetime(2026, 12, 9, 20, 30, tzinfo=UTC)
    assert window.updated_by == admin.id
    [entry] = audit_entries("maintenance.updated")
    assert json.loads(entry.detail) == {
        "before": {"starts_at": "2026-12-10T01:00+09:00", "ends_at": "2026-12-10T03:00+09:00",
                   "message": "旧"},
        "after": {"starts_at": "2026-12-10T02:00+09:00", "ends_at": "2026-12-10T05:30+09:00",
                  "message": "新"}}


def test_bad_edit_is_a_field_error_and_changes_nothing(client, admin):
    schedule(client, "2026-12-10T01:00", "2026-12-10T03:00")
    window = only_window()
    response = client.post_form(f"{PAGE}/{window.id}", {"starts_at": "2026-12-10T04:00",
                                                         "ends_at": "9999-12-31T00:00"},
                                token_page=f"{PAGE}/{window.id}")
    assert response.status_code == 400
    assert "日時は前年から5年後までの範囲で入力してください。" in response.get_data(as_text=True)
    assert as_utc(only_window().ends_at) == datetime(2026, 12, 9, 18, 0, tzinfo=UTC)
    assert audit_entries("maintenance.updated") == []


def test_cancelled_window_stays_listed_and_mypage_opens(client, admin, clock):
    schedule(client, "2026-12-03T13:00", "2026-12-03T18:00", "臨時")
    assert mypage_status(client) == 503
    window = only_window()
    response = client.post_form(f"{PAGE}/{window.id}/cancel", token_page=f"{PAGE}/{window.id}")
    assert response.status_code == 302
    html = client.get(PAGE).get_data(as_text=True)
    assert "臨時メンテナンスを取り消しました。" in html
    assert 'data-status="取消済"' in html and "2026/12/03 13:00" in html
    assert mypage_status(client) == 200
    window = only_window()
    assert window.cancelled_by == admin.id and as_utc(window.cancelled_at) == TODAY_JST
    [entry] = audit_entries("maintenance.cancelled")
    detail = json.loads(entry.detail)
    assert detail["before"]["status"] == "有効" and detail["after"]["status"] == "取消済"
    assert detail["before"]["starts_at"] == "2026-12-03T13:00+09:00"


def test_an_ended_window_cannot_be_edited_or_cancelled(client, admin, clock):
    schedule(client, "2026-12-03T14:10", "2026-12-03T14:20")
    window = only_window()
    edit_url = f"{PAGE}/{window.id}"
    token = client.csrf_token(edit_url)
    clock.move_to(datetime(2026, 12, 3, 14, 20, tzinfo=JST))

    assert "終了した、または取り消された" in client.get(edit_url).get_data(as_text=True)
    edit = client.post(edit_url, data={"csrf_token": token, "starts_at": "2026-12-03T15:00",
                                       "ends_at": "2026-12-03T16:00"})
    assert edit.status_code == 400
    assert "終了した臨時メンテナンスは変更・取消できません。" in edit.get_data(as_text=True)
    cancel = client.post(f"{edit_url}/cancel", data={"csrf_token": token})
    assert cancel.status_code == 302
    listed = client.get(PAGE).get_data(as_text=True)
    assert "終了した臨時メンテナンスは変更・取消できません。" in listed
    assert 'data-status="終了済"' in listed
    assert only_window().cancelled_at is None
    assert audit_entries("maintenance.updated") == audit_entries("maintenance.cancelled") == []


def test_unknown_window_is_not_found(client, admin):
    assert client.get(f"{PAGE}/999999").status_code == 404
    assert client.post_form(f"{PAGE}/999999/cancel", token_page=PAGE).status_code == 404


def test_parallel_cancellations_change_the_window_once(app, client, factories, admin):
    schedule(client, "2026-12-10T01:00", "2026-12-10T03:00")
    window_id = only_window().id
    second_admin = factories.staff(role="bank_admin")
    other = app.test_client()
    with app.app_context():
        login_staff(other, second_admin.login_id, DEFAULT_PASSWORD)
    clients = [(client, client.csrf_token(PAGE)), (other, other.csrf_token(PAGE))]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def cancel(c, token) -> None:  # type: ignore[no-untyped-def]
        with app.app_context():
            barrier.wait()
            response = c.post(f"{PAGE}/{window_id}/cancel", data={"csrf_token": token})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=cancel, args=pair) for pair in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert statuses == [302, 302]
    assert len(audit_entries("maintenance.cancelled")) == 1
    assert only_window().cancelled_at is not None
    messages = [c.get(PAGE).get_data(as_text=True) for c, _ in clients]
    assert sum("臨時メンテナンスを取り消しました。" in m for m in messages) == 1
    assert sum("取り消された臨時メンテナンスは変更・取消できません。" in m for m in messages) == 1


def test_the_console_lists_bad_rows_without_failing(client, admin, clock):
    db.session.add_all([
        MaintenanceWindow(starts_at=datetime(2026, 12, 3, 6, 0, tzinfo=UTC),
                          ends_at=datetime(2026, 12, 3, 5, 0, tzinfo=UTC), message="逆転"),
        MaintenanceWindow(starts_at=datetime(2026, 12, 3, 4, 0, tzinfo=UTC),
                          ends_at=datetime(9999, 12, 31, 23, 0, tzinfo=UTC), message="遠い未来"),
    ])
    db.session.commit()
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "逆転" in page.get_data(as_text=True) and "遠い未来" in page.get_data(as_text=True)
    assert mypage_status(client) == 503  # the far-future row is active, and shown


def test_the_recurring_window_closes_mypage_on_the_jst_second_saturday(app, client):
    app.config["MAINTENANCE_RECURRING_ENABLED"] = True
    for moment, status in [(datetime(2026, 12, 12, 13, 59, 59, tzinfo=UTC), 200),
                           (datetime(2026, 12, 12, 14, 0, tzinfo=UTC), 503),  # 23:00 JST
                           (datetime(2026, 12, 12, 21, 59, 59, tzinfo=UTC), 503),
                           (datetime(2026, 12, 12, 22, 0, tzinfo=UTC), 200)]:  # 07:00 JST
        with time_machine.travel(moment, tick=False):
            assert mypage_status(client) == status, moment
