"""AUD-2 operation log search: a date filter takes whole days in 日本時間 (issue
#11), and hostile search input is a field error, never a 500 (issue #12)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import pytest
import time_machine

from portal import audit
from portal.clock import JST
from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, login_staff

# Stored as UTC: 2026-12-02 14:59, 2026-12-02 15:00, 2026-12-03 14:59, 2026-12-03 15:00.
MOMENTS = {
    "probe.a_1202_2359": datetime(2026, 12, 2, 23, 59, tzinfo=JST),
    "probe.b_1203_0000": datetime(2026, 12, 3, 0, 0, tzinfo=JST),
    "probe.c_1203_2359": datetime(2026, 12, 3, 23, 59, 59, tzinfo=JST),
    "probe.d_1204_0000": datetime(2026, 12, 4, 0, 0, tzinfo=JST),
}


@pytest.fixture
def admin(client, factories):  # type: ignore[no-untyped-def]
    staff = factories.staff(role="bank_admin")
    assert login_staff(client, staff.login_id, DEFAULT_PASSWORD).status_code == 302
    return staff


@pytest.fixture
def probes() -> None:
    for action, moment in MOMENTS.items():
        with time_machine.travel(moment, tick=False):
            audit.record(action)
            db.session.commit()


def found(client, url: str, **params: str) -> set[str]:  # type: ignore[no-untyped-def]
    response = client.get(f"{url}?{urlencode(params | {'action': 'probe.'})}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    return {action for action in MOMENTS if action in body}


FILTERS = [
    ({"date_from": "2026-12-03", "date_to": "2026-12-03"},
     {"probe.b_1203_0000", "probe.c_1203_2359"}),
    ({"date_from": "2026-12-03"}, {"probe.b_1203_0000", "probe.c_1203_2359",
                                   "probe.d_1204_0000"}),
    ({"date_to": "2026-12-03"}, {"probe.a_1202_2359", "probe.b_1203_0000",
                                 "probe.c_1203_2359"}),
    ({"date_from": "2026-12-02", "date_to": "2026-12-02"}, {"probe.a_1202_2359"}),
    ({"date_from": "2026-12-04"}, {"probe.d_1204_0000"}),
]


def test_date_filters_take_the_whole_jst_day(client, admin, probes):
    for url in ("/console/audit", "/console/audit.csv"):
        for params, expected in FILTERS:
            assert found(client, url, **params) == expected, (url, params)


def test_the_page_shows_the_entries_in_japan_time(client, admin, probes):
    html = client.get("/console/audit?date_from=2026-12-03&date_to=2026-12-03").get_data(
        as_text=True)
    assert "2026/12/03 00:00:00" in html and "2026/12/03 23:59:59" in html


HOSTILE = [
    ({"company_id": str(2**63)}, "お客さまIDが正しくありません。"),
    ({"company_id": str(2**64 + 1)}, "お客さまIDが正しくありません。"),
    ({"company_id": str(2**31)}, "お客さまIDが正しくありません。"),
    ({"company_id": "-1"}, "お客さまIDが正しくありません。"),
    ({"company_id": "0"}, "お客さまIDが正しくありません。"),
    ({"company_id": "9" * 1000}, "お客さまIDが正しくありません。"),
    ({"company_id": "1.5"}, "半角数字で入力してください。"),
    ({"date_to": "9999-12-31"}, "日付が範囲外です。正しい日付を入力してください。"),
    ({"date_from": "9999-12-31"}, "日付が範囲外です。正しい日付を入力してください。"),
    ({"date_from": "0001-01-01"}, "日付が範囲外です。正しい日付を入力してください。"),
    ({"date_to": "0001-01-01"}, "日付が範囲外です。正しい日付を入力してください。"),
    ({"date_to": "2026-12-32"}, "日付を正しく入力してください"),
    ({"page": "99999999999999999999999"}, "ページ番号が正しくありません。"),
    ({"page": "0"}, "ページ番号が正しくありません。"),
    ({"action": "kyc\x00"}, "改行・タブなどの制御文字は使用できません。"),
    ({"actor": "x" * 65}, "64文字以内で入力してください。"),
]


def test_hostile_search_input_is_a_japanese_field_error(client, admin):
    for url in ("/console/audit", "/console/audit.csv"):
        for params, message in HOSTILE:
            response = client.get(f"{url}?{urlencode(params)}")
            assert response.status_code == 400, (url, params)
            assert message in response.get_data(as_text=True), (url, params)


ENGLISH = [
    ({"company_id": str(2**63)}, "The customer ID is not valid."),
    ({"date_to": "9999-12-31"}, "The date is out of range. Please enter a valid date."),
    ({"date_from": "0001-01-01"}, "The date is out of range. Please enter a valid date."),
    ({"page": "0"}, "The page number is not valid."),
]


def test_hostile_search_input_is_explained_in_english(client, admin):
    client.use_english()
    for url in ("/console/audit", "/console/audit.csv"):
        for params, message in ENGLISH:
            response = client.get(f"{url}?{urlencode(params)}")
            assert response.status_code == 400, (url, params)
            assert message in response.get_data(as_text=True), (url, params)


def test_a_valid_company_id_still_filters(client, admin, factories):
    user = factories.customer()
    audit.record("probe.mine", actor=user)
    audit.record("probe.other")
    db.session.commit()
    body = client.get(f"/console/audit?company_id={user.company_id}").get_data(as_text=True)
    assert "probe.mine" in body and "probe.other" not in body
