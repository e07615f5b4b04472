"""CON-4, CON-6, SIGN-1, SIGN-2: signing through the dialog against the real
signing service, conclusion with the bank's seal, endings."""

from __future__ import annotations

import threading
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from portal.contracts import signing
from portal.contracts.models import ContractPackage, ContractSignature
from portal.contracts.states import PackageState, PartyState
from portal.extensions import db
from portal.filestore import get_file_store
from portal.mail import deliver_pending
from portal.models import AuditEntry, Notice
from tests.conftest import DEFAULT_PASSWORD
from tests.functional.contracts.conftest import (
    PIN,
    create_package,
    customer_client,
    issue_credential,
    open_and_confirm,
    sign_via_dialog,
    staff_client,
)

pytestmark = pytest.mark.slow


def _signatures(data: bytes) -> list[str]:
    return [s.field_name for s in PdfFileReader(BytesIO(data)).embedded_signatures]


def _doc_bytes(package: ContractPackage, n: int = 0) -> bytes:
    return get_file_store().get(package.contract_documents[n].current_key)


@pytest.fixture
def sent(signing_app, world, contract_pdf):
    issue_credential(signing_app, world.rep)
    issue_credential(signing_app, world.guarantor)
    package_id = create_package(signing_app, world, contract_pdf, send=True)
    return db.session.get(ContractPackage, package_id)


def test_two_parties_sign_then_staff_concludes_and_it_becomes_active(
        signing_app, world, sent, rs_mail, smtp_sink):
    rep = customer_client(signing_app, world.rep)
    open_and_confirm(rep, sent)
    done = sign_via_dialog(rep, sent.id, world.rep, rs_mail)
    assert done.status_code == 302 and done.headers["Location"].endswith("/sign/done")
    db.session.expire_all()
    package = db.session.get(ContractPackage, sent.id)
    assert [p.state for p in package.parties] == [PartyState.SIGNED, PartyState.UNSIGNED]
    assert package.state == PackageState.UNSIGNED
    # one PIN + one code signed every contract document (SIGN-2)
    assert all(_signatures(_doc_bytes(package, n)) == ["Party1"] for n in range(2))
    assert "署名済" in rep.get("/contracts/to-sign").get_data(as_text=True)

    guarantor = customer_client(signing_app, world.guarantor)
    open_and_confirm(guarantor, package)
    assert sign_via_dialog(guarantor, package.id, world.guarantor, rs_mail).status_code == 302
    db.session.expire_all()
    package = db.session.get(ContractPackage, sent.id)
    assert package.state == PackageState.ALL_SIGNED
    assert _signatures(_doc_bytes(package)) == ["Party1", "Party2"]

    staff = staff_client(signing_app, world.staff)
    detail = f"/console/contracts/{package.id}"
    wrong = staff.post_form(f"{detail}/conclude", {"password": "Wrong-pass-1"}, token_page=detail)
    assert wrong.status_code == 400 and "パスワードが正しくありません" in wrong.get_data(as_text=True)
    ok = staff.post_form(f"{detail}/conclude", {"password": DEFAULT_PASSWORD}, token_page=detail)
    assert ok.status_code == 302, ok.get_data(as_text=True)
    db.session.expire_all()
    package = db.session.get(ContractPackage, sent.id)
    assert package.state == PackageState.CONCLUDED and package.concluded_at is not None
    final = _doc_bytes(package)
    reader = PdfFileReader(BytesIO(final))
    assert [s.field_name for s in reader.embedded_signatures][:3] == ["Party1", "Party2", "BankSeal"]
    assert "/DSS" in reader.root
    assert db.session.query(ContractSignature).count() == 6
    # the parties are told and the package is in 現在有効な契約
    deliver_pending()
    assert smtp_sink.last_to(world.rep.email, "締結")
    assert smtp_sink.last_to(world.viewer.email, "締結")
    notice = db.session.query(Notice).filter(Notice.user_id == world.rep.id,
                                             Notice.text.like("契約書の締結を行いました%")).one()
    assert notice.link == f"/contracts/{package.id}"
    assert f"/contracts/{package.id}\"" in rep.get("/contracts/active").get_data(as_text=True)
    download = rep.get(f"/contracts/{package.id}/documents/{package.contract_documents[0].id}"
                       "?download=1")
    assert download.data == final and "attachment" in download.headers["Content-Disposition"]
    actions = {e.action for e in db.session.query(AuditEntry)}
    assert {"contract.signed", "contract.bank_sealed", "contract.package.state",
            "contract.party.state", "contract.conclude.password_refused"} <= actions


def test_signing_twice_is_refused(signing_app, world, sent, rs_mail):
    rep = customer_client(signing_app, world.rep)
    open_and_confirm(rep, sent)
    assert sign_via_dialog(rep, sent.id, world.rep, rs_mail).status_code == 302
    again = rep.get(f"/contracts/{sent.id}/sign/pin")
    assert again.status_code == 400 and "署名は完了しています" in again.get_data(as_text=True)
    # another signing user of the same company cannot sign the party again
    other = customer_client(signing_app, world.signer)
    assert other.get(f"/contracts/{sent.id}/confirm").status_code == 400


def test_wrong_pin_signs_nothing_and_says_so(signing_app, world, sent, rs_mail):
    rep = customer_client(signing_app, world.rep)
    open_and_confirm(rep, sent)
    response = sign_via_dialog(rep, sent.id, world.rep, rs_mail, pin="Wrong-Pin-2026")
    assert response.status_code == 400
    assert "署名用PINが正しくありません" in response.get_data(as_text=True)
    db.session.expire_all()
    package = db.session.get(ContractPackage, sent.id)
    assert package.parties[0].state == PartyState.UNSIGNED
    assert _signatures(_doc_bytes(package)) == []


def test_conclusion_before_every_party_signed_is_refused(signing_app, world, sent, rs_mail):
    rep = customer_client(signing_app, world.rep)
    open_and_confirm(rep, sent)
    sign_via_dialog(rep, sent.id, world.rep, rs_mail)
    staff = staff_client(signing_app, world.staff)
    detail = f"/console/contracts/{sent.id}"
    refused = staff.post_form(f"{detail}/conclude", {"password": DEFAULT_PASSWORD},
                              token_page="/console/contracts/new")
    assert refused.status_code == 400
    assert "署名が完了していないため" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ContractPackage, sent.id).state == PackageState.UNSIGNED


def test_two_parties_signing_at_the_same_moment_both_succeed(signing_app, world, sent, rs_mail):
    clients = {}
    for user in (world.rep, world.guarantor):
        clients[user.id] = customer_client(signing_app, user)
        open_and_confirm(clients[user.id], sent)
    codes = {}
    for user in (world.rep, world.guarantor):
        before = len(rs_mail.messages)
        with signing_app.app_context():
            signing.send_code(db.session.get(type(user), user.id))
            db.session.commit()
        codes[user.id] = rs_mail.otp_for(user.email, before)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def sign(user_id: int) -> None:
        try:
            with signing_app.app_context():
                user = db.session.get(type(world.rep), user_id)
                barrier.wait()
                signing.sign_for_party(user, sent.id, pin=PIN, otp=codes[user_id])
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=sign, args=(uid,)) for uid in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    db.session.expire_all()
    package = db.session.get(ContractPackage, sent.id)
    assert package.state == PackageState.ALL_SIGNED
    for n in range(2):
        assert sorted(_signatures(_doc_bytes(package, n))) == ["Party1", "Party2"]
        assert package.contract_documents[n].revisions == 2
