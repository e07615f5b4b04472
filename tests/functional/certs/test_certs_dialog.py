"""SIGN-2, PIN-5: the signing dialog's steps and messages against the real service."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.audit import AuditEntry
from portal.certs import dialog, services
from portal.certs.messages import CertError
from portal.extensions import db
from remote_signing.pdf import SignatureOptions
from remote_signing.sample import sample_pdf
from remote_signing.testing import free_port, validate_with_pyhanko
from tests.conftest import DEFAULT_PASSWORD, login_customer
from tests.functional.certs.helpers import PIN, approve_kyc, code_from, register_and_issue


def _ready_user(app, client, factories):  # type: ignore[no-untyped-def]
    rep = factories.customer()
    approve_kyc(rep)
    login_customer(client, rep.mypage_id, DEFAULT_PASSWORD)
    register_and_issue(client)
    return rep


def _send(client):  # type: ignore[no-untyped-def]
    return client.post("/certs/dialog/send-code", data={"csrf_token": client.csrf_token("/login")})


def test_sign2_dialog_send_code_then_sign_two_documents(app, client, factories, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    rep = _ready_user(app, client, factories)
    r = _send(client)
    assert r.status_code == 200 and r.get_json()["credential_id"] == services.active_credential_id(
        rep
    )
    code = code_from(smtp_sink, rep.email)
    docs = [sample_pdf(), sample_pdf()]
    signed = dialog.sign_pdfs(
        rep,
        docs,
        pin=PIN,
        code=code,
        options=SignatureOptions(reason="契約締結", name=rep.display_name),
    )
    with services.signing_client() as api:
        root = api.root_certificate()
    for original, out in zip(docs, signed, strict=True):
        assert out.startswith(original)
        report = validate_with_pyhanko(out, root)
        assert report.intact and report.trusted and report.timestamp_valid
    with pytest.raises(CertError) as reused:
        dialog.sign_pdfs(rep, docs, pin=PIN, code=code)
    assert reused.value.message == "認証コードが正しくありません。" and reused.value.field == "code"


def test_sign2_wrong_pin_and_wrong_code_have_their_own_messages(
    app, client, factories, smtp_sink
) -> None:  # type: ignore[no-untyped-def]
    rep = _ready_user(app, client, factories)
    _send(client)
    code = code_from(smtp_sink, rep.email)
    with pytest.raises(CertError) as wrong_pin:
        dialog.sign_pdfs(rep, [sample_pdf()], pin="WrongPin9A", code=code)
    assert wrong_pin.value.field == "pin"
    assert wrong_pin.value.message.startswith("署名用PINが正しくありません。") and "あと4回" in (
        wrong_pin.value.message
    )
    bad_code = "000000" if code != "000000" else "111111"
    with pytest.raises(CertError) as wrong_code:
        dialog.sign_pdfs(rep, [sample_pdf()], pin=PIN, code=bad_code)
    assert (wrong_code.value.field, wrong_code.value.message) == (
        "code",
        "認証コードが正しくありません。",
    )


def test_pin5_five_wrong_pins_lock_then_only_unlock_helps(
    app, client, factories, smtp_sink
) -> None:  # type: ignore[no-untyped-def]
    rep = _ready_user(app, client, factories)
    signer = factories.customer(rep.company, role="signer")
    _send(client)
    code = code_from(smtp_sink, rep.email)
    messages = []
    for _ in range(5):
        with pytest.raises(CertError) as exc:
            dialog.sign_pdfs(rep, [sample_pdf()], pin="WrongPin9A", code=code)
        messages.append(exc.value.message)
    assert messages[-1].startswith("PINロック中のため署名はできません")
    assert services.signing_status(rep) == "署名不可"
    with pytest.raises(CertError) as correct:
        dialog.sign_pdfs(rep, [sample_pdf()], pin=PIN, code=code)
    assert correct.value.message.startswith("PINロック中のため署名はできません")
    assert signer.id  # a representative/administrator of the company unlocks (PIN-4 test)
    services.set_lock(factories.customer(rep.company, role="administrator"), rep, locked=False)
    assert services.signing_status(rep) == "署名可能"


def test_sign2_service_down_gives_a_clear_message_and_changes_nothing(
    app, client, factories
) -> None:  # type: ignore[no-untyped-def]
    rep = _ready_user(app, client, factories)
    before = db.session.scalar(select(db.func.count(AuditEntry.id)))
    app.config["SIGNING_SERVICE_URL"] = f"http://127.0.0.1:{free_port()}"
    app.config["SIGNING_TIMEOUT"] = 2
    r = _send(client)
    assert r.status_code == 400
    assert r.get_json()["message"].startswith("電子署名サービスに接続できませんでした")
    with pytest.raises(CertError) as exc:
        dialog.sign_pdfs(rep, [sample_pdf()], pin=PIN, code="123456")
    assert exc.value.message.startswith("電子署名サービスに接続できませんでした")
    assert services.signing_status(rep) == "署名可能"
    after = db.session.scalar(select(db.func.count(AuditEntry.id)))
    assert after == before


def test_sign2_codes_follow_a_changed_email(app, client, factories, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    rep = _ready_user(app, client, factories)
    rep.email = "new-address@example.jp"
    db.session.commit()
    services.sync_email(rep)
    _send(client)
    assert code_from(smtp_sink, "new-address@example.jp")


def test_sign2_dialog_page_signs_the_sample_and_stores_nothing(
    app, client, factories, smtp_sink
) -> None:  # type: ignore[no-untyped-def]
    from portal.certs.models import SigningCertificate

    rep = _ready_user(app, client, factories)
    page = client.get("/certs/sample").get_data(as_text=True)
    assert 'id="dialog-send"' in page and "電子証明書ID" in page and 'name="csrf_token"' in page
    rows_before = db.session.scalar(select(db.func.count(SigningCertificate.id)))
    assert _send(client).status_code == 200
    code = code_from(smtp_sink, rep.email)
    r = client.post_form(
        "/certs/sample", {"pin": "WrongPin9A", "code": code}, token_page="/certs/sample"
    )
    assert r.status_code == 400 and "署名用PINが正しくありません" in r.get_data(as_text=True)
    r = client.post_form("/certs/sample", {"pin": PIN, "code": "12ab"}, token_page="/certs/sample")
    assert r.status_code == 400 and "半角数字" in r.get_data(as_text=True)
    r = client.post_form("/certs/sample", {"pin": PIN, "code": code}, token_page="/certs/sample")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    with services.signing_client() as api:
        report = validate_with_pyhanko(r.data, api.root_certificate())
    assert report.intact and report.trusted and report.timestamp_valid
    assert db.session.scalar(select(db.func.count(SigningCertificate.id))) == rows_before
