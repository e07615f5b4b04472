"""AUTH-8 recurring window (every 2nd Saturday 23:00 to Sunday 07:00 JST) across
midnight, month ends and year ends, judged from UTC instants: in UTC the whole
window lies on the Saturday (14:00-22:00), so only the JST calendar is right."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.clock import JST
from portal.maintenance import recurring_window


def jst(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=JST)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize("moment, inside", [
    # December 2026: 2nd Saturday is the 12th, the window ends on the year's last weeks
    (jst(2026, 12, 12, 22, 59, 59), False),
    (jst(2026, 12, 12, 23, 0), True),
    (jst(2026, 12, 13, 0, 0), True),           # across midnight
    (jst(2026, 12, 13, 6, 59, 59), True),
    (jst(2026, 12, 13, 7, 0), False),
    # the same instants given in UTC (Saturday 14:00 to 22:00 UTC)
    (utc(2026, 12, 12, 13, 59, 59), False),
    (utc(2026, 12, 12, 14, 0), True),
    (utc(2026, 12, 12, 15, 0), True),          # still Saturday in UTC, Sunday 00:00 JST
    (utc(2026, 12, 12, 21, 59, 59), True),
    (utc(2026, 12, 12, 22, 0), False),
    (utc(2026, 12, 13, 0, 30), False),         # Sunday 00:30 UTC is 09:30 JST: outside
    (utc(2026, 12, 12, 23, 30), False),        # "Saturday 23:30" in UTC is not the window
    # 2nd Saturday on the 14th (February 2026), Sunday the 15th
    (jst(2026, 2, 14, 23, 0), True),
    (jst(2026, 2, 15, 6, 59), True),
    (jst(2026, 2, 21, 23, 30), False),         # 3rd Saturday
    (jst(2026, 2, 7, 23, 30), False),          # 1st Saturday
    (utc(2026, 2, 14, 20, 0), True),
    # January 2028: 2nd Saturday is the 8th (the 1st is a Saturday)
    (jst(2028, 1, 1, 23, 30), False),
    (jst(2028, 1, 2, 3, 0), False),            # Sunday after the 1st Saturday, across New Year
    (jst(2028, 1, 8, 23, 0), True),
    (jst(2028, 1, 9, 6, 59, 59), True),
    (utc(2028, 1, 8, 14, 0), True),
    (utc(2028, 1, 7, 23, 0), False),           # Saturday 08:00 JST
    # year end: 2027-12-31 is a Friday, nothing open around New Year
    (jst(2027, 12, 31, 23, 30), False),
    (jst(2028, 1, 1, 0, 30), False),
    (jst(2027, 12, 11, 23, 0), True),          # December 2027: 2nd Saturday is the 11th
    (utc(2027, 12, 11, 21, 59), True),
    # a month whose 2nd Saturday is the 8th, the Sunday after it the 9th
    (jst(2026, 8, 8, 23, 30), True),
    (jst(2026, 8, 9, 7, 0), False),
])
def test_recurring_window_follows_the_jst_calendar(moment, inside):
    assert (recurring_window(moment) is not None) is inside


@pytest.mark.parametrize("moment", [jst(2026, 12, 12, 23, 0), utc(2026, 12, 12, 21, 59, 59)])
def test_recurring_window_ends_on_sunday_at_seven_jst(moment):
    window = recurring_window(moment)
    assert window is not None and window.ends_at == jst(2026, 12, 13, 7, 0)
    assert window.ends_at.strftime("%Y/%m/%d %H:%M") == "2026/12/13 07:00"
