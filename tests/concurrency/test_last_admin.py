"""ADM-1 under load: two bank administrators who disable each other at the
same moment leave one active administrator, and neither request fails with a
server error (the rows are locked in one order, so PostgreSQL queues the two
changes instead of aborting one as a deadlock)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from portal.extensions import db
from portal.models import StaffRole, StaffUser

from .conftest import assert_healthy
from .live import Browser, in_parallel
from .world import PASSWORD, count

pytestmark = pytest.mark.concurrency

ROUNDS = 3


def test_adm1_two_administrators_disabling_each_other_leave_one(
        factories, live, browser, answers):
    for _ in range(ROUNDS):
        first = factories.staff(role="bank_admin")
        second = factories.staff(role="bank_admin")
        pair = [(first.login_id, second.id), (second.login_id, first.id)]
        active_admins = (StaffUser.role == StaffRole.BANK_ADMIN, StaffUser.active.is_(True))
        db.session.execute(update(StaffUser).where(
            *active_admins, StaffUser.id.not_in([first.id, second.id])).values(active=False))
        db.session.commit()

        tasks = []
        for login_id, target in pair:
            me: Browser = browser()
            assert me.login_staff(login_id, PASSWORD).status_code == 302
            token = me.csrf_token("/console/staff")
            tasks.append(lambda me=me, target=target, token=token: me.post_form(
                f"/console/staff/{target}/disable", token_page="", token=token))

        answered = in_parallel(tasks)

        assert all(r.status_code < 500 for r in answered), [r.status_code for r in answered]
        assert count(StaffUser, *active_admins) == 1
    assert_healthy(live, answers)
