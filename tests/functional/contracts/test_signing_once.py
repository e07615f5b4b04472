"""SIGN-2, PIN-5, CON-4 (#15 item 1): each request of the signing dialog goes into
the signing room once and leaves one trace per outcome: one commit and one audit
entry of its own (a signature also moves the party's life cycle, which the state
machine audits as ``contract.party.state``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import has_request_context
from sqlalchemy import event, func, select

from portal.contracts.models import ContractPackage
from portal.contracts.states import PartyState
from portal.extensions import db
from portal.models import AuditEntry
from tests.functional.contracts.conftest import (
    PIN,
    create_package,
    customer_client,
    issue_credential,
    open_and_confirm,
)

pytestmark = pytest.mark.slow


@dataclass
class Trace:
    commits: int = 0
    actions: Counter[str] = field(default_factory=Counter)


@contextmanager
def traced() -> Iterator[Trace]:
    """Commits made while a request is handled, and the audit entries it wrote."""
    trace = Trace()

    def count(_session: Any) -> None:
        if has_request_context():
            trace.commits += 1

    first_new = (db.session.scalar(select(func.max(AuditEntry.id))) or 0) + 1
    event.listen(db.session, "after_commit", count)
    try:
        yield trace
    finally:
        event.remove(db.session, "after_commit", count)
    db.session.expire_all()
    trace.actions.update(db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.id >= first_new)))


def _post(client: Any, page: str, data: dict[str, str]) -> Callable[[], Any]:
    token = client.csrf_token(page)  # the page is opened before the request is traced
    return lambda: client.post(page, data={**data, "csrf_token": token})


@pytest.fixture
def sent(signing_app, world, contract_pdf):  # type: ignore[no-untyped-def]
    issue_credential(signing_app, world.rep)
    package_id = create_package(signing_app, world, contract_pdf, send=True)
    return db.session.get(ContractPackage, package_id)


def test_each_dialog_request_commits_once_and_writes_one_audit_entry(
        signing_app, world, sent, rs_mail) -> None:  # type: ignore[no-untyped-def]
    rep = customer_client(signing_app, world.rep)
    open_and_confirm(rep, sent)
    pin_page, code_page = f"/contracts/{sent.id}/sign/pin", f"/contracts/{sent.id}/sign/code"

    wrong_pin = _post(rep, pin_page, {"pin": "Wrong-Pin-2026"})
    with traced() as trace:
        assert wrong_pin().status_code == 400
    assert (trace.commits, trace.actions) == (1, Counter({"contract.sign.refused": 1}))

    before = len(rs_mail.messages)
    send = _post(rep, pin_page, {"pin": PIN})
    with traced() as trace:
        assert send().status_code == 302
    assert (trace.commits, trace.actions) == (1, Counter({"certs.sign_code_sent": 1}))
    code = rs_mail.otp_for(world.rep.email, before)

    wrong_code = _post(rep, code_page, {"otp": "000000" if code != "000000" else "111111"})
    with traced() as trace:
        refused = wrong_code()
    assert refused.status_code == 400 and "認証コードが正しくありません" in refused.get_data(
        as_text=True)
    assert (trace.commits, trace.actions) == (1, Counter({"contract.sign.refused": 1}))

    authenticate = _post(rep, code_page, {"otp": code})
    with traced() as trace:
        assert authenticate().status_code == 302
    assert (trace.commits, trace.actions) == (1, Counter({"contract.sign.authenticated": 1}))

    sign = _post(rep, f"/contracts/{sent.id}/sign/execute", {})
    with traced() as trace:
        done = sign()
    assert done.status_code == 302 and done.headers["Location"].endswith("/sign/done")
    assert (trace.commits, trace.actions) == (
        1, Counter({"contract.signed": 1, "contract.party.state": 1}))
    db.session.expire_all()
    assert db.session.get(ContractPackage, sent.id).parties[0].state == PartyState.SIGNED


def test_a_refused_signature_commits_once_and_writes_one_audit_entry(
        signing_app, world, sent, rs_mail) -> None:  # type: ignore[no-untyped-def]
    """電子署名 with the signing service gone: the user is back at the PIN."""
    rep = customer_client(signing_app, world.rep)
    open_and_confirm(rep, sent)
    before = len(rs_mail.messages)
    assert _post(rep, f"/contracts/{sent.id}/sign/pin", {"pin": PIN})().status_code == 302
    code = rs_mail.otp_for(world.rep.email, before)
    assert _post(rep, f"/contracts/{sent.id}/sign/code", {"otp": code})().status_code == 302
    sign = _post(rep, f"/contracts/{sent.id}/sign/execute", {})
    signing_app.config["SIGNING_SERVICE_URL"] = "http://127.0.0.1:9"  # nothing listens
    with traced() as trace:
        refused = sign()
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "電子署名サービスに接続できませんでした" in html
    assert "<strong>1. PIN入力</strong>" in html
    assert (trace.commits, trace.actions) == (1, Counter({"contract.sign.refused": 1}))
    db.session.expire_all()
    assert db.session.get(ContractPackage, sent.id).parties[0].state == PartyState.UNSIGNED
