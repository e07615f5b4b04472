"""SIGN-2/CON-4 under load: the two parties of one package go through the
whole signing dialog at the same moment (PIN → 送信 → the mailed code → 認証 →
電子署名) through real gunicorn; neither signature is lost and the states agree. A
party whose 認証 was overtaken by the other's 電子署名 is told so and starts again
(the authorization covers the revision it prepared, #13 item 10)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from portal.contracts.models import (
    ContractPackage,
    ContractSignature,
)
from portal.contracts.states import PackageState, PartyState
from portal.extensions import db
from portal.filestore import get_file_store
from remote_signing.testing import SmtpCapture
from tests.functional.contracts.conftest import PIN, issue_credential

from .conftest import assert_healthy
from .live import Browser, in_parallel
from .world import PASSWORD, count, make_world, sent_package

pytestmark = pytest.mark.concurrency


def sign_whole_dialog(me: Browser, package_id: int, documents: list[int], email: str,
                      mail: SmtpCapture) -> int:
    assert me.login_customer(email, PASSWORD).status_code == 302
    for doc in documents:
        assert me.get(f"/contracts/{package_id}/documents/{doc}").status_code == 200
    page = f"/contracts/{package_id}/confirm"
    confirmed = me.post_form(page, {"important_confirmed": "1", "documents_confirmed": "1"},
                             token_page=page)
    assert confirmed.status_code == 302, confirmed.text[:2000]
    signed = pin_code_sign(me, package_id, email, mail)
    if signed.status_code == 400 and OVERTAKEN in signed.text:
        # The other party signed between this one's 認証 and 電子署名: the
        # authorization covered the revision before theirs, so it starts again.
        signed = pin_code_sign(me, package_id, email, mail)
    return signed.status_code


OVERTAKEN = "認証の後に契約書類が更新されたため"


def pin_code_sign(me: Browser, package_id: int, email: str, mail: SmtpCapture) -> Any:
    before = len(mail.messages)
    page = f"/contracts/{package_id}/sign/pin"
    sent = me.post_form(page, {"pin": PIN}, token_page=page)  # 送信
    assert sent.status_code == 302, sent.text[:2000]
    code = mail.otp_for(email, before, timeout=60)
    page = f"/contracts/{package_id}/sign/code"
    assert me.post_form(page, {"otp": code}, token_page=page).status_code == 302  # 認証
    page = f"/contracts/{package_id}/sign/execute"
    return me.post_form(page, {}, token_page=page)  # 電子署名


def test_con4_two_parties_signing_one_package_at_once_keep_both_signatures(
        app, factories, live, browser, answers, signing_mail):
    world = make_world(factories)
    for user in (world.rep, world.guarantor):
        issue_credential(app, user)
    package_id = sent_package(app, world)
    package = db.session.get(ContractPackage, package_id)
    documents = [d.id for d in package.documents]
    signers = [world.rep.email, world.guarantor.email]

    results = in_parallel(
        lambda email=email: sign_whole_dialog(browser(), package_id, documents, email,
                                              signing_mail) for email in signers)

    assert results == [302, 302]
    db.session.commit()
    package = db.session.get(ContractPackage, package_id)
    assert package.state == PackageState.ALL_SIGNED
    assert [p.state for p in package.parties] == [PartyState.SIGNED] * 2
    contracts = package.contract_documents
    assert count(ContractSignature, ContractSignature.package_id == package_id) \
        == 2 * len(contracts)
    store = get_file_store()
    for document in contracts:
        reader = PdfFileReader(BytesIO(store.get(document.current_key)), strict=False)
        fields = sorted(s.field_name for s in reader.embedded_signatures)
        assert fields == sorted(p.signature_field for p in package.parties), fields
        assert document.revisions == 2  # one signed revision per party
    rows = db.session.execute(select(ContractSignature.result_sha256).where(
        ContractSignature.package_id == package_id)).scalars().all()
    assert {d.current_sha256 for d in contracts} <= set(rows)
    assert_healthy(live, answers)
