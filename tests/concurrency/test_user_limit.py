"""USR-1 under load: registrations sent in parallel when the company has 9
users make exactly one 10th user, never an 11th."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEntry, CustomerUser, UserState
from tests.functional.users.helpers import HANDLE_RE, person

from .conftest import assert_healthy
from .live import Browser, in_parallel
from .world import PASSWORD, count

pytestmark = pytest.mark.concurrency

DRAFTS_PER_ACTOR = 3


def test_usr1_parallel_registrations_at_the_limit_never_make_11_users(
        factories, live, browser, answers):
    company = factories.company()
    actors = [factories.customer(company, role="representative"),
              factories.customer(company, role="administrator"),
              factories.customer(company, role="administrator")]
    for _ in range(6):
        factories.customer(company, role="viewer")
    company_id, logins = company.id, [a.email for a in actors]
    active = (CustomerUser.company_id == company_id, CustomerUser.state == UserState.ACTIVE)
    assert count(CustomerUser, *active) == 9

    registrations = []
    for n, login in enumerate(logins):
        me: Browser = browser()
        assert me.login_customer(login, PASSWORD).status_code == 302
        for k in range(DRAFTS_PER_ACTOR):
            started = me.post_form("/users/new",
                                   person(f"new{n}-{k}@example.jp", role="viewer"),
                                   token_page="/users/new")
            assert started.status_code == 302, started.text[:2000]
            handle = HANDLE_RE.search(started.headers["Location"]).group(1)  # type: ignore[union-attr]
            token = me.csrf_token(f"/users/drafts/{handle}/confirm")
            registrations.append(lambda me=me, handle=handle, token=token: me.post_form(
                f"/users/drafts/{handle}/register", token_page="", token=token))

    answered = in_parallel(registrations)

    assert all(r.status_code in (302, 303, 400) for r in answered), \
        [r.status_code for r in answered]
    assert count(CustomerUser, *active) == 10
    created = list(db.session.execute(select(AuditEntry.action).where(
        AuditEntry.action == "user.created")).scalars())
    assert len(created) == 1
    assert_healthy(live, answers)
