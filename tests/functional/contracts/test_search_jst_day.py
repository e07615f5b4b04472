"""CON-8 date filters (issue #11/#12): 申込日 is a calendar date in 日本時間, a
date range takes whole days (date_to includes its day) on MyPage and in the
console whatever the server's clock zone, and far years are field errors."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

import time_machine

from portal.clock import JST, now
from portal.contracts.models import ContractPackage, ContractParty, SummaryType
from portal.contracts.states import PackageState, PartyState
from portal.extensions import db
from tests.functional.contracts.conftest import customer_client, staff_client

# 00:30 JST on 2026-12-03 is still 2026-12-02 in UTC and in the suite's TZ (Los Angeles).
JUST_AFTER_MIDNIGHT_JST = datetime(2026, 12, 3, 0, 30, tzinfo=JST)
DAYS = {date(2026, 12, 2): "2,000,000 円", date(2026, 12, 3): "3,000,000 円",
        date(2026, 12, 4): "4,000,000 円"}


def _package(world, day: date, amount: int) -> None:  # type: ignore[no-untyped-def]
    package = ContractPackage(branch_id=world.branch.id, application_date=day,
                              summary_type=SummaryType.LOAN_ONLY, loan_amount=amount,
                              planned_loan_date=day, staff_in_charge_id=world.staff.id,
                              staff_label="東京支店 担当", created_by_id=world.staff.id,
                              state=PackageState.CONCLUDED, sent_at=now())
    package.parties.append(ContractParty(company_id=world.company.id, signing_position="debtor",
                                         state=PartyState.SIGNED))
    db.session.add(package)


def _listed(client, url: str, **params: str) -> set[date]:  # type: ignore[no-untyped-def]
    response = client.get(f"{url}?{urlencode(params)}")
    assert response.status_code == 200, params
    html = response.get_data(as_text=True)
    return {day for day, amount in DAYS.items() if amount in html}


FILTERS = [
    ({"date_from": "2026-12-03", "date_to": "2026-12-03"}, {date(2026, 12, 3)}),
    ({"date_from": "2026-12-03"}, {date(2026, 12, 3), date(2026, 12, 4)}),
    ({"date_to": "2026-12-03"}, {date(2026, 12, 2), date(2026, 12, 3)}),
    ({"date_from": "20261202", "date_to": "2026/12/02"}, {date(2026, 12, 2)}),
    ({"date_from": "2026-12-05"}, set()),
]


def test_date_range_takes_whole_jst_days_on_mypage_and_console(app, world):
    for day in DAYS:
        _package(world, day, int(DAYS[day].split(",")[0]) * 1_000_000)
    db.session.commit()
    with time_machine.travel(JUST_AFTER_MIDNIGHT_JST, tick=False):
        customer = customer_client(app, world.rep)
        staff = staff_client(app, world.staff)
        for params, expected in FILTERS:
            assert _listed(customer, "/contracts/active", **params) == expected, params
            assert _listed(staff, "/console/contracts", **params) == expected, params


HOSTILE = [
    ({"date_to": "9999-12-31"}, "日付が範囲外です。正しい日付を入力してください。"),
    ({"date_from": "9999-12-31"}, "日付が範囲外です。正しい日付を入力してください。"),
    ({"date_from": "2101-01-01"}, "日付が範囲外です。正しい日付を入力してください。"),
    ({"date_from": "1999-12-31"}, "日付が範囲外です。正しい日付を入力してください。"),
    ({"date_from": "0001-01-01"}, "1900年1月1日以降の日付を入力してください。"),
    ({"date_to": "00010101"}, "1900年1月1日以降の日付を入力してください。"),
    ({"date_to": "99999-01-01"}, "yyyymmdd（例: 19750314）の形式で"),
]


def test_far_years_are_field_errors_on_mypage_and_console(app, world):
    customer = customer_client(app, world.rep)
    staff = staff_client(app, world.staff)
    for params, message in HOSTILE:
        for client, url in ((customer, "/contracts/active"), (staff, "/console/contracts")):
            response = client.get(f"{url}?{urlencode(params)}")
            assert response.status_code == 400, (url, params)
            assert message in response.get_data(as_text=True), (url, params)


def test_far_years_are_explained_in_english(app, world):
    customer = customer_client(app, world.rep)
    customer.use_english()
    response = customer.get("/contracts/active?date_to=9999-12-31")
    assert response.status_code == 400
    assert "The date is out of range. Please enter a valid date." in response.get_data(
        as_text=True)
