"""AUTH-8 (#11 item 4): MyPage's maintenance check reads the windows once per
worker and second; start and end stay exact, a change made in this worker is
seen at once, one made by another worker within CACHE_SECONDS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import insert

from portal import maintenance
from portal.clock import JST
from portal.extensions import db
from portal.models import MaintenanceWindow

# A Thursday, far from the recurring 2nd-Saturday window.
NOON_JST = datetime(2026, 12, 3, 12, 0, tzinfo=JST)


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(NOON_JST, tick=False) as traveller:
        yield traveller


def status(client) -> int:  # type: ignore[no-untyped-def]
    return client.get("/login").status_code


def test_a_window_opens_and_closes_mypage_at_its_exact_instants(client, clock):
    starts = NOON_JST + timedelta(milliseconds=300)
    db.session.add(MaintenanceWindow(starts_at=starts, ends_at=starts + timedelta(seconds=2),
                                     message="臨時メンテナンス"))
    db.session.commit()
    assert status(client) == 200  # read once for this second
    clock.move_to(starts - timedelta(microseconds=1))
    assert status(client) == 200
    clock.move_to(starts)
    assert status(client) == 503
    clock.move_to(starts + timedelta(seconds=2))
    assert status(client) == 200


def test_a_change_in_this_worker_is_seen_at_once(client, clock):
    assert status(client) == 200
    db.session.add(MaintenanceWindow(starts_at=NOON_JST - timedelta(minutes=1),
                                     ends_at=NOON_JST + timedelta(hours=1), message=""))
    db.session.commit()
    assert status(client) == 503
    window = db.session.query(MaintenanceWindow).one()
    window.cancelled_at = datetime.now(UTC)
    db.session.commit()
    assert status(client) == 200


def test_another_workers_change_is_seen_within_the_cache_time(client, clock):
    assert status(client) == 200
    # Written without this worker's ORM (as another gunicorn worker would).
    with db.engine.begin() as conn:
        conn.execute(insert(MaintenanceWindow.__table__).values(
            starts_at=NOON_JST - timedelta(minutes=1), ends_at=NOON_JST + timedelta(hours=1),
            message="", created_at=NOON_JST))
    clock.shift(timedelta(seconds=maintenance.CACHE_SECONDS))
    assert status(client) == 503
