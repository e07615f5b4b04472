"""Issue #12 item 5, MAIL-1/MAIL-2, APP-6, AUTH-5, SIGN-2: the mail server
stopped during the application, the password reset and signing.

* The portal's own mail (application code, reset code, the staff's
  "all signed" mail) waits in the outbox while a private SMTP server is down
  and is delivered exactly once after it comes back; the codes still work.
* The one-time code of 電子署名 is mailed by the signing service itself while
  the user waits (a code that arrives late is useless): with its SMTP server
  down the user is told at 送信 that the code could not be sent, nothing waits
  or changes, and 送信 succeeds once the server is back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from portal.certs.messages import OTP_MAIL
from portal.clock import now
from portal.contracts.models import ContractPackage
from portal.extensions import db
from portal.mail import deliver_pending
from portal.models import MailOutbox
from remote_signing.testing import SmtpCapture
from tests.application_forms import INDIVIDUAL_FORM
from tests.conftest import SmtpSink
from tests.functional.contracts.conftest import (
    customer_client,
    open_and_confirm,
    send_pin,
    sign_via_dialog,
)
from tests.functional.mypage.conftest import ApplyFlow

from .contract_state import assert_audit_intact, snapshot

pytestmark = pytest.mark.slow

NEW_PASSWORD = "Kaisei-Pass2026"
DELAYED = "ただいまメールの送信が遅れています。"


@pytest.fixture
def portal_smtp(app: Any) -> Any:
    """The portal's SMTP server, private to the test so it may stop it."""
    sink = SmtpSink().start()
    app.config["SMTP_PORT"] = sink.port
    yield sink
    sink.stop()


def outbox_states() -> list[str]:
    states = [str(r.status) for r in db.session.execute(
        select(MailOutbox).order_by(MailOutbox.id)).scalars()]
    db.session.commit()
    return states


def deliver_later(minutes: int = 1) -> dict[str, int]:
    """One pass of the delivery loop after the backoff has passed."""
    with time_machine.travel(now() + timedelta(minutes=minutes), tick=True):
        return deliver_pending()


def test_application_and_password_reset_mail_wait_for_the_server(
        app: Any, client: Any, factories: Any, portal_smtp: SmtpSink) -> None:
    branch = factories.branch()
    user = factories.customer()
    email = user.email
    portal_smtp.stop()

    flow = ApplyFlow(client, portal_smtp)
    assert flow.send_code(INDIVIDUAL_FORM, branch.id).headers["Location"].endswith("/apply/verify")
    resetter = app.test_client()
    started = resetter.post_form("/password/forgot", {"login_id": user.mypage_id},
                                 token_page="/password/forgot")
    assert started.headers["Location"].endswith("/password/reset")

    # the pages waiting for the codes say nothing before the first failed attempt ...
    assert DELAYED not in client.get("/apply/verify").get_data(as_text=True)
    assert deliver_pending() == {"sent": 0, "deferred": 2, "failed": 0}
    assert outbox_states() == ["pending", "pending"]
    # ... and tell the user once the mail server has failed to take the mail
    assert DELAYED in client.get("/apply/verify").get_data(as_text=True)
    assert DELAYED in resetter.get("/password/reset").get_data(as_text=True)
    rows = db.session.execute(select(MailOutbox)).scalars().all()
    assert all(r.body_encrypted is not None and r.last_error.startswith("connect") for r in rows)
    db.session.commit()

    portal_smtp.start()
    assert deliver_pending()["sent"] == 0  # still in its backoff: nothing hammers the server
    assert deliver_later()["sent"] == 2
    assert deliver_later(5)["sent"] == 0  # exactly once
    assert outbox_states() == ["sent", "sent"]
    assert DELAYED not in client.get("/apply/verify").get_data(as_text=True)
    assert len(portal_smtp.to(INDIVIDUAL_FORM["email"])) == 1
    assert len(portal_smtp.to(email)) == 1

    # the late codes still complete what the users started
    code = portal_smtp.code_in_last(INDIVIDUAL_FORM["email"], "認証コード")
    assert flow.verify(code).headers["Location"].endswith("/apply/done")
    reset_code = portal_smtp.code_in_last(email, "認証コード")
    done = resetter.post_form("/password/reset",
                              {"code": reset_code, "new_password": NEW_PASSWORD,
                               "new_password_confirm": NEW_PASSWORD},
                              token_page="/password/reset")
    assert done.headers["Location"].endswith("/login")
    assert_audit_intact()


def test_signing_code_mail_down_at_send(signing_app: Any, people: Any, package_id: int,
                                        rep: Any, rs_mail: SmtpCapture,
                                        portal_smtp: SmtpSink) -> None:
    before = snapshot(signing_app, package_id)
    rs_mail.stop()
    sent = send_pin(rep, package_id)
    assert sent.status_code == 400
    assert OTP_MAIL in sent.get_data(as_text=True)
    code_page = rep.get(f"/contracts/{package_id}/sign/code")
    assert code_page.headers["Location"].endswith("/sign/pin")  # nothing waits
    assert snapshot(signing_app, package_id) == before
    assert_audit_intact()

    back = SmtpCapture(port=rs_mail.port).start()
    try:
        # the portal's own mail of the signing (staff: all signed) waits too
        portal_smtp.stop()
        assert sign_via_dialog(rep, package_id, people.rep, back).status_code == 302
        guarantor = customer_client(signing_app, people.guarantor)
        open_and_confirm(guarantor, db.session.get(ContractPackage, package_id))
        assert sign_via_dialog(guarantor, package_id, people.guarantor, back).status_code == 302
    finally:
        back.stop()
    assert deliver_pending()["sent"] == 0
    portal_smtp.start()
    assert deliver_later()["sent"] >= 1
    assert len(portal_smtp.to(people.staff.email)) == 1
    assert deliver_later(5)["sent"] == 0
