"""AUTH-8: every 2nd Saturday 23:00 to Sunday 07:00 JST."""

from __future__ import annotations

from datetime import datetime

import pytest

from portal.clock import JST
from portal.maintenance import recurring_window


@pytest.mark.parametrize("local, inside", [
    (datetime(2026, 11, 14, 22, 59), False),  # 2nd Saturday, before
    (datetime(2026, 11, 14, 23, 0), True),
    (datetime(2026, 11, 15, 6, 59), True),    # the Sunday after
    (datetime(2026, 11, 15, 7, 0), False),
    (datetime(2026, 11, 7, 23, 30), False),   # 1st Saturday
    (datetime(2026, 11, 21, 23, 30), False),  # 3rd Saturday
    (datetime(2026, 8, 8, 23, 30), True),     # 2nd Saturday is the 8th
    (datetime(2026, 8, 9, 3, 0), True),
    (datetime(2026, 8, 2, 3, 0), False),      # Sunday after the 1st Saturday
])
def test_recurring_window(local, inside):
    assert (recurring_window(local.replace(tzinfo=JST)) is not None) is inside
