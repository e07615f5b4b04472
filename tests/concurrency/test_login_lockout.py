"""AUTH-4 under load: wrong passwords sent in parallel on one account lock it
exactly at the 5th, through real gunicorn on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEntry

from .conftest import assert_healthy
from .live import in_parallel
from .world import PASSWORD

pytestmark = pytest.mark.concurrency

ATTEMPTS = 9
LIMIT = 5  # LOGIN_MAX_FAILURES


def test_auth4_parallel_wrong_passwords_lock_the_account_exactly_at_the_5th(
        factories, live, browser, answers):
    user = factories.customer()
    identifier, target_id = user.email, str(user.id)

    def wrong(n: int):  # noqa: ANN202
        return lambda: browser().login_customer(identifier, f"Wrong-Passw0rd-{n}")

    refused = in_parallel(wrong(n) for n in range(ATTEMPTS))
    assert all(r.status_code in (200, 400, 401) for r in refused), [r.status_code for r in refused]

    db.session.commit()
    entries = [(e.action, e.detail) for e in db.session.execute(
        select(AuditEntry).where(AuditEntry.target_type == "CustomerUser",
                                 AuditEntry.target_id == target_id)
        .order_by(AuditEntry.id)).scalars()]
    failures = [d for a, d in entries if a == "login.failure"]
    assert len(failures) == LIMIT, entries  # the 6th… guesses were never checked
    assert ['"locked": true' in d for d in failures] == [False] * (LIMIT - 1) + [True]
    assert [a for a, _ in entries].count("account.locked") == 1
    assert [a for a, _ in entries].count("login.refused_locked") == ATTEMPTS - LIMIT

    # the right password is refused too while the lock holds
    late = browser().login_customer(identifier, PASSWORD)
    assert late.status_code != 302 and "ロック" in late.text
    assert_healthy(live, answers)
