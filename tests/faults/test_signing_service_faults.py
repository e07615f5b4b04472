"""Issue #12 item 5, CON-4/CON-6/SIGN-2: the signing service stopped at 送信,
at 電子署名 and at 締結, and killed with SIGKILL in the middle of 電子署名 and of
締結 (between the authorization and signHash, through ``HookProxy``).

Each time the user or the staff member sees the guide's Japanese message (no
5xx page), nothing changes (package, parties, documents, stored files), the
audit chain verifies, and once the service is back the same action succeeds.
The service restarts on its own database, as an operator would restart it."""

from __future__ import annotations

from typing import Any

import pytest

from portal.certs.messages import UNAVAILABLE
from portal.contracts.models import ContractPackage
from portal.contracts.states import PackageState, PartyState
from portal.extensions import db
from remote_signing.protocol import API_PREFIX
from remote_signing.testing import SmtpCapture
from tests.conftest import DEFAULT_PASSWORD
from tests.functional.contracts.conftest import (
    customer_client,
    enter_code,
    execute_signature,
    open_and_confirm,
    send_pin,
    sign_via_dialog,
    staff_client,
)

from .contract_state import assert_audit_intact, snapshot
from .support import HookProxy, SigningService

pytestmark = pytest.mark.slow

SIGN_HASH = f"{API_PREFIX}/signatures/signHash"
# 締結's seals authorize and sign in one call (the service's authorizeSignHash).
SEAL_SIGN = f"{API_PREFIX}/signatures/authorizeSignHash"
AUTHORIZE = f"{API_PREFIX}/credentials/authorize"
SEAL_FAILED = "銀行の電子署名を付与できませんでした。"


def party_states(package_id: int) -> list[PartyState]:
    db.session.expire_all()
    package = db.session.get(ContractPackage, package_id)
    assert package is not None
    states = [PartyState(p.state) for p in package.parties]
    db.session.commit()
    return states


def code_typed(client: Any, package_id: int, user: Any, rs_mail: SmtpCapture) -> None:
    """送信 and 認証 done: the next click is 電子署名."""
    before = len(rs_mail.messages)
    assert send_pin(client, package_id).status_code == 302
    assert enter_code(client, package_id, rs_mail.otp_for(user.email, before)).status_code == 302


def assert_refused_with(response: Any, message: str) -> None:
    assert response.status_code == 400, response.status_code
    assert message in response.get_data(as_text=True)


def test_service_stopped_at_send(signing_app: Any, people: Any, package_id: int, rep: Any,
                                 rs: SigningService, rs_mail: SmtpCapture) -> None:
    before = snapshot(signing_app, package_id)
    rs.stop()
    sent = send_pin(rep, package_id)
    assert_refused_with(sent, UNAVAILABLE)
    assert not rs_mail.messages  # no code went out
    # no PIN proof waits: the code screen sends the user back to the PIN
    code_page = rep.get(f"/contracts/{package_id}/sign/code")
    assert code_page.status_code == 302 and code_page.headers["Location"].endswith("/sign/pin")
    assert snapshot(signing_app, package_id) == before
    assert_audit_intact()

    rs.start()
    assert sign_via_dialog(rep, package_id, people.rep, rs_mail).status_code == 302
    assert party_states(package_id) == [PartyState.SIGNED, PartyState.UNSIGNED]


def test_service_stopped_at_electronic_signature(signing_app: Any, people: Any,
                                                 package_id: int,
                                                 rep: Any, rs: SigningService,
                                                 rs_mail: SmtpCapture) -> None:
    code_typed(rep, package_id, people.rep, rs_mail)
    before = snapshot(signing_app, package_id)
    rs.stop()
    assert_refused_with(execute_signature(rep, package_id), UNAVAILABLE)
    assert snapshot(signing_app, package_id) == before
    assert_audit_intact()

    rs.start()
    assert sign_via_dialog(rep, package_id, people.rep, rs_mail).status_code == 302
    assert party_states(package_id) == [PartyState.SIGNED, PartyState.UNSIGNED]


def test_service_killed_between_authorize_and_sign_hash(
        signing_app: Any, people: Any, package_id: int, rep: Any, rs: SigningService,
        rs_proxy: HookProxy, rs_mail: SmtpCapture) -> None:
    code_typed(rep, package_id, people.rep, rs_mail)
    before = snapshot(signing_app, package_id)
    rs_proxy.on(SIGN_HASH, rs.kill9)
    assert_refused_with(execute_signature(rep, package_id), UNAVAILABLE)
    assert AUTHORIZE in rs_proxy.seen  # the service had authorized: it died mid-signature
    assert snapshot(signing_app, package_id) == before
    assert_audit_intact()

    rs.start()
    assert sign_via_dialog(rep, package_id, people.rep, rs_mail).status_code == 302
    assert party_states(package_id) == [PartyState.SIGNED, PartyState.UNSIGNED]


def all_signed(signing_app: Any, people: Any, package_id: int, rep: Any,
               rs_mail: SmtpCapture) -> None:
    assert sign_via_dialog(rep, package_id, people.rep, rs_mail).status_code == 302
    guarantor = customer_client(signing_app, people.guarantor)
    open_and_confirm(guarantor, db.session.get(ContractPackage, package_id))
    assert sign_via_dialog(guarantor, package_id, people.guarantor, rs_mail).status_code == 302
    assert snapshot(signing_app, package_id).package == PackageState.ALL_SIGNED


def conclude(signing_app: Any, people: Any, package_id: int) -> Any:
    staff = staff_client(signing_app, people.staff)
    detail = f"/console/contracts/{package_id}"
    return staff.post_form(f"{detail}/conclude", {"password": DEFAULT_PASSWORD},
                           token_page=detail)


def assert_concluded_after_retry(signing_app: Any, people: Any, package_id: int) -> None:
    done = conclude(signing_app, people, package_id)
    assert done.status_code == 302, done.get_data(as_text=True)
    assert snapshot(signing_app, package_id).package == PackageState.CONCLUDED
    assert_audit_intact()


def test_service_stopped_at_conclusion(signing_app: Any, people: Any, package_id: int, rep: Any,
                                       rs: SigningService, rs_mail: SmtpCapture) -> None:
    all_signed(signing_app, people, package_id, rep, rs_mail)
    before = snapshot(signing_app, package_id)
    rs.stop()
    assert_refused_with(conclude(signing_app, people, package_id), SEAL_FAILED)
    assert snapshot(signing_app, package_id) == before
    assert_audit_intact()

    rs.start()
    assert_concluded_after_retry(signing_app, people, package_id)


def test_service_killed_in_the_middle_of_conclusion(
        signing_app: Any, people: Any, package_id: int, rep: Any, rs: SigningService,
        rs_proxy: HookProxy, rs_mail: SmtpCapture) -> None:
    all_signed(signing_app, people, package_id, rep, rs_mail)
    before = snapshot(signing_app, package_id)
    rs_proxy.on(SEAL_SIGN, rs.kill9)
    assert_refused_with(conclude(signing_app, people, package_id), SEAL_FAILED)
    assert snapshot(signing_app, package_id) == before
    assert_audit_intact()

    rs.start()
    assert_concluded_after_retry(signing_app, people, package_id)
