"""CON-4, CON-5: the server enforces the confirmation order; rejection."""

from __future__ import annotations

import pytest

from portal.contracts.models import ContractPackage, PartyConfirmation
from portal.contracts.states import PackageState, PartyState
from portal.extensions import db
from portal.mail import deliver_pending
from portal.models import AuditEntry, Notice
from tests.functional.contracts.conftest import create_package, customer_client


def _open(client, package: ContractPackage, docs) -> None:
    for doc in docs:
        response = client.get(f"/contracts/{package.id}/documents/{doc.id}")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")


def _confirm(client, package_id: int, **boxes):
    page = f"/contracts/{package_id}/confirm"
    data = {k: "1" for k, v in boxes.items() if v}
    return client.post_form(page, data, token_page=page)


@pytest.fixture
def sent(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    return db.session.get(ContractPackage, package_id)


def test_ticking_boxes_before_opening_every_document_is_refused(app, world, sent):
    client = customer_client(app, world.rep)
    refused = _confirm(client, sent.id, important_confirmed=True, documents_confirmed=True)
    assert refused.status_code == 400 and "重要事項説明を開いて" in refused.get_data(as_text=True)
    _open(client, sent, [sent.important_matters, sent.contract_documents[0]])
    refused = _confirm(client, sent.id, important_confirmed=True, documents_confirmed=True)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "まだ開いていない契約書類があります" in html
    assert sent.contract_documents[1].title in html
    assert db.session.query(PartyConfirmation).filter(
        PartyConfirmation.documents_confirmed_at.is_not(None)).count() == 0


def test_boxes_must_be_ticked_after_opening(app, world, sent):
    client = customer_client(app, world.rep)
    _open(client, sent, sent.documents)
    no_boxes = _confirm(client, sent.id)
    assert no_boxes.status_code == 400 and "内容について確認し、理解しました" in no_boxes.get_data(
        as_text=True)
    only_first = _confirm(client, sent.id, important_confirmed=True)
    assert "すべての契約書等について確認し、理解しました" in only_first.get_data(as_text=True)
    ok = _confirm(client, sent.id, important_confirmed=True, documents_confirmed=True)
    assert ok.status_code == 302
    assert ok.headers["Location"].endswith(f"/contracts/{sent.id}/sign/pin")
    assert db.session.query(AuditEntry).filter_by(action="contract.document.viewed").count() == 3


def test_the_signing_dialog_is_refused_by_direct_request_before_the_confirmations(app, world,
                                                                                   sent):
    client = customer_client(app, world.rep)
    for step in ("pin", "code", "execute"):
        assert client.get(f"/contracts/{sent.id}/sign/{step}").status_code == 400
    token = client.csrf_token(f"/contracts/{sent.id}/confirm")
    direct = client.post(f"/contracts/{sent.id}/sign/pin", data={"csrf_token": token,
                                                                  "pin": "Secret-Pin1"})
    assert direct.status_code == 400 and "確認" in direct.get_data(as_text=True)
    # another user of the same company must do their own confirmations
    _open(client, sent, sent.documents)
    _confirm(client, sent.id, important_confirmed=True, documents_confirmed=True)
    other = customer_client(app, world.signer)
    assert other.get(f"/contracts/{sent.id}/sign/pin").status_code == 400


def test_a_viewer_cannot_sign_or_reject(app, world, sent):
    client = customer_client(app, world.viewer)
    assert client.get(f"/contracts/{sent.id}/sign/pin").status_code == 404
    token = client.csrf_token("/logout")
    assert client.post(f"/contracts/{sent.id}/reject",
                       data={"csrf_token": token, "comment": "x"}).status_code == 404
    assert db.session.get(ContractPackage, sent.id).state == PackageState.UNSIGNED


def test_rejecting_without_a_comment_is_refused(app, world, sent):
    client = customer_client(app, world.rep)
    page = f"/contracts/{sent.id}/confirm"
    response = client.post_form(f"/contracts/{sent.id}/reject", {"comment": "   "},
                                token_page=page)
    assert response.status_code == 400
    assert "否認理由（署名コメント）を入力してください" in response.get_data(as_text=True)
    assert db.session.get(ContractPackage, sent.id).state == PackageState.UNSIGNED


def test_rejecting_voids_the_package_for_everyone_and_tells_staff_and_parties(
        app, world, sent, smtp_sink):
    client = customer_client(app, world.rep)
    page = f"/contracts/{sent.id}/confirm"
    assert 'data-confirm="否認すると' in client.get(page).get_data(as_text=True)
    response = client.post_form(f"/contracts/{sent.id}/reject",
                                {"comment": "金額が相違しています"}, token_page=page)
    assert response.status_code == 302
    package = db.session.get(ContractPackage, sent.id)
    assert package.state == PackageState.VOID
    assert [p.state for p in package.parties] == [PartyState.REJECTED, PartyState.UNSIGNED]
    deliver_pending()
    staff_mail = smtp_sink.body(smtp_sink.last_to(world.staff.email, "否認"))
    assert "金額が相違しています" in staff_mail
    assert smtp_sink.last_to(world.guarantor.email, "不成立")
    assert db.session.query(Notice).filter(Notice.user_id == world.guarantor.id,
                                           Notice.text.like("%不成立%")).count() == 1
    # nobody can sign a void package any more
    g_client = customer_client(app, world.guarantor)
    refused = g_client.get(f"/contracts/{sent.id}/confirm")
    assert refused.status_code == 400
    assert "署名を受け付けていません" in refused.get_data(as_text=True)
    assert "不成立" in client.get("/contracts/finished").get_data(as_text=True)


def test_a_withdrawn_package_cannot_be_signed(app, world, sent):
    from tests.functional.contracts.conftest import staff_client

    staff = staff_client(app, world.staff)
    staff.post_form(f"/console/contracts/{sent.id}/withdraw", token_page="/console/contracts/new")
    client = customer_client(app, world.rep)
    refused = client.get(f"/contracts/{sent.id}/sign/pin")
    assert refused.status_code == 400 and "取下げ" in refused.get_data(as_text=True)
