"""APP-6, PIN-1, CERT-2 under load: the same form submitted several times at
once from one browser (a double click, a second tab) stores exactly one
application, one registered PIN and one issued certificate."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select

from portal.certs.models import CertState, SigningCertificate
from portal.extensions import db
from portal.mail import deliver_pending
from portal.models import AuditEntry
from portal.mypage.models import Application
from tests.application_forms import INDIVIDUAL_FORM
from tests.functional.certs.helpers import approve_kyc

from .conftest import assert_healthy
from .live import Browser, in_parallel
from .world import PASSWORD, count

pytestmark = pytest.mark.concurrency

CLICKS = 6
PIN = "Shomei2026A!"


def audited(action: str) -> int:
    return count(AuditEntry, AuditEntry.action == action)


def test_app6_parallel_submits_of_the_application_code_store_one_application(
        factories, live, browser, answers, smtp_server):
    branch = factories.branch()
    form = dict(INDIVIDUAL_FORM, branch_id=str(branch.id))
    me: Browser = browser()
    sent = me.post_form("/apply/send-code", form, token_page="/apply?kind=individual")
    assert sent.status_code == 302, sent.text[:2000]
    deliver_pending()
    code = smtp_server.code_in_last(form["email"], "認証コード")
    token = me.csrf_token("/apply/verify")

    tabs = [me.twin() for _ in range(CLICKS)]
    answered = in_parallel(
        lambda tab=tab: tab.post_form("/apply/verify", {"code": code}, token_page="",
                                      token=token) for tab in tabs)

    assert [r.status_code for r in answered] == [302] * CLICKS, [r.text[:300] for r in answered]
    assert all(r.headers["Location"].endswith("/apply/done") for r in answered)
    assert count(Application) == 1
    assert audited("application.submitted") == 1
    assert_healthy(live, answers)


def _ready_for_pin(factories):  # noqa: ANN202
    from portal.auth.services import new_mypage_id

    user = factories.customer(role="representative")
    user.mypage_id = new_mypage_id()  # unique in the signing service that outlives the test
    user.first_name = "太郎"
    db.session.commit()
    approve_kyc(user)
    return user


def credentials_in_service(service, mypage_id: str) -> int:  # noqa: ANN001
    with sqlite3.connect(service.db_path) as conn:
        return int(conn.execute("SELECT count(*) FROM rs_credential WHERE user_id = ?",
                                (mypage_id,)).fetchone()[0])


def test_pin1_cert2_parallel_pin_registrations_and_issues_make_one_certificate(
        factories, live, browser, answers, signing_service):
    user = _ready_for_pin(factories)
    user_id, mypage_id = user.id, user.mypage_id
    me: Browser = browser()
    assert me.login_customer(user.email, PASSWORD).status_code == 302

    token = me.csrf_token("/certs/pin/register")
    answered = in_parallel(
        lambda tab=tab: tab.post_form("/certs/pin/register", {"pin": PIN, "pin_confirm": PIN},
                                      token_page="", token=token)
        for tab in [me.twin() for _ in range(CLICKS)])
    assert all(r.status_code in (200, 302, 400) for r in answered), \
        [r.status_code for r in answered]
    assert any(r.status_code == 302 for r in answered)
    mine = (SigningCertificate.user_id == user_id,)
    assert count(SigningCertificate, *mine) == 1
    assert audited("certs.pin_registered") == 1
    assert credentials_in_service(signing_service, mypage_id) == 1  # no orphan key

    token = me.csrf_token("/certs/pin/issue")
    answered = in_parallel(
        lambda tab=tab: tab.post_form("/certs/pin/issue", {}, token_page="", token=token)
        for tab in [me.twin() for _ in range(CLICKS)])
    assert all(r.status_code < 500 for r in answered), [r.status_code for r in answered]
    db.session.commit()
    certs = list(db.session.execute(select(SigningCertificate).where(*mine)).scalars())
    assert [c.state for c in certs] == [CertState.ACTIVE]
    assert audited("certs.active") == 1
    assert_healthy(live, answers)
