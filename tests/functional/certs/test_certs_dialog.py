"""SIGN-2, PIN-5: the signing dialog's steps and messages against the real service."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.audit import AuditEntry
from portal.certs import dialog, services
from portal.certs.messages import SAD_INVALID, CertError
from portal.extensions import db
from remote_signing.client import PinProof
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


def _send(client, pin: str = PIN):  # type: ignore[no-untyped-def]
    """送信 in the dialog as the browser's script makes it."""
    return client.post(
        "/certs/dialog/send-code", data={"csrf_token": client.csrf_token("/login"), "pin": pin}
    )


def test_sign2_pin_first_then_code_signs_two_documents(app, client, factories, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    rep = _ready_user(app, client, factories)
    sent = dialog.send_code(rep, PIN)
    assert sent.credential_id == services.active_credential_id(rep)
    code = code_from(smtp_sink, rep.email)
    docs = [sample_pdf(), sample_pdf()]
    signed = dialog.sign_pdfs(
        rep,
        docs,
        proof=sent.proof,
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
        dialog.sign_pdfs(rep, docs, proof=sent.proof, code=code)
    assert reused.value.msgid == SAD_INVALID and reused.value.field is None


def test_pin5_wrong_pin_is_refused_at_send_and_no_code_is_mailed(
    app, client, factories, smtp_sink
) -> None:  # type: ignore[no-untyped-def]
    rep = _ready_user(app, client, factories)
    before = len(smtp_sink.to(rep.email))
    wrong_pin = _send(client, pin="WrongPin9A")
    assert wrong_pin.status_code == 400 and wrong_pin.get_json()["field"] == "pin"
    message = wrong_pin.get_json()["message"]
    assert message.startswith("署名用PINが正しくありません。") and "あと4回" in message
    assert wrong_pin.get_json()["step"] == "pin"
    import time

    time.sleep(0.3)  # a code would have arrived by now
    assert len(smtp_sink.to(rep.email)) == before
    refused = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "certs.sign_pin_refused")
    ).all()
    assert len(refused) == 1 and "WrongPin9A" not in str(refused[0].detail)


def test_sign2_wrong_code_can_be_typed_again_with_the_same_pin(
    app, client, factories, smtp_sink
) -> None:  # type: ignore[no-untyped-def]
    rep = _ready_user(app, client, factories)
    sent = dialog.send_code(rep, PIN)
    code = code_from(smtp_sink, rep.email)
    bad_code = "000000" if code != "000000" else "111111"
    with pytest.raises(CertError) as wrong_code:
        dialog.sign_pdfs(rep, [sample_pdf()], proof=sent.proof, code=bad_code)
    assert (wrong_code.value.field, wrong_code.value.message) == (
        "code",
        "認証コードが正しくありません。（あと4回間違えるとPINロックされます）",
    )
    assert dialog.back_to(wrong_code.value) is dialog.Step.CODE  # the same PIN proof
    [signed] = dialog.sign_pdfs(rep, [sample_pdf()], proof=sent.proof, code=code)
    assert signed.startswith(sample_pdf()[:8])


def test_pin5_five_wrong_pins_lock_then_only_unlock_helps(
    app, client, factories, smtp_sink
) -> None:  # type: ignore[no-untyped-def]
    rep = _ready_user(app, client, factories)
    messages = []
    for _ in range(5):
        with pytest.raises(CertError) as exc:
            dialog.send_code(rep, "WrongPin9A")
        messages.append(exc.value.message)
    assert "あと1回" in messages[3]
    assert messages[-1].startswith("PINロック中のため署名はできません")
    assert services.signing_status(rep) == "署名不可"
    with pytest.raises(CertError) as correct:
        dialog.send_code(rep, PIN)
    assert correct.value.message.startswith("PINロック中のため署名はできません")
    services.set_lock(factories.customer(rep.company, role="administrator"), rep, locked=False)
    assert services.signing_status(rep) == "署名可能"
    assert dialog.send_code(rep, PIN).credential_id


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
        dialog.sign_pdfs(rep, [sample_pdf()], proof=PinProof(pin_token="t" * 43), code="123456")
    assert exc.value.message.startswith("電子署名サービスに接続できませんでした")
    assert services.signing_status(rep) == "署名可能"
    after = db.session.scalar(select(db.func.count(AuditEntry.id)))
    assert after == before


def test_sign2_codes_follow_a_changed_email(app, client, factories, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    rep = _ready_user(app, client, factories)
    rep.email = "new-address@example.jp"
    db.session.commit()
    services.sync_email(rep)
    assert _send(client).status_code == 200
    assert code_from(smtp_sink, "new-address@example.jp")


def test_sign2_dialog_page_signs_the_sample_and_stores_nothing(
    app, client, factories, smtp_sink
) -> None:  # type: ignore[no-untyped-def]
    from portal.certs.models import SigningCertificate

    rep = _ready_user(app, client, factories)
    page = client.get("/certs/sample").get_data(as_text=True)
    assert 'id="dialog-send"' in page and "電子証明書ID" in page and 'name="csrf_token"' in page
    assert 'name="pin"' not in page  # the PIN goes to 送信 only, never with the form
    rows_before = db.session.scalar(select(db.func.count(SigningCertificate.id)))

    wrong = _send(client, pin="WrongPin9A")
    assert wrong.status_code == 400 and wrong.get_json()["field"] == "pin"
    assert "署名用PINが正しくありません" in wrong.get_json()["message"]
    assert "あと4回" in wrong.get_json()["message"]
    empty = _send(client, pin="")
    assert empty.status_code == 400 and empty.get_json()["field"] == "pin"

    sent = _send(client)
    assert sent.status_code == 200
    assert sent.get_json()["credential_id"] == services.active_credential_id(rep)
    code = code_from(smtp_sink, rep.email)
    assert PIN not in client.session_contents()
    r = client.post_form("/certs/sample", {"code": "12ab"}, token_page="/certs/sample")
    assert r.status_code == 400 and "半角数字" in r.get_data(as_text=True)
    bad_code = "000000" if code != "000000" else "111111"
    r = client.post_form("/certs/sample", {"code": bad_code}, token_page="/certs/sample")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "認証コードが正しくありません" in page
    assert 'data-start-step="code"' in page and sent.get_json()["credential_id"] in page
    r = client.post_form("/certs/sample", {"code": code}, token_page="/certs/sample")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    with services.signing_client() as api:
        report = validate_with_pyhanko(r.data, api.root_certificate())
    assert report.intact and report.trusted and report.timestamp_valid
    assert db.session.scalar(select(db.func.count(SigningCertificate.id))) == rows_before
    again = client.post_form("/certs/sample", {"code": code}, token_page="/certs/sample")
    assert again.status_code == 400
    assert "署名用PINの入力からやり直してください" in again.get_data(as_text=True)


def test_sign2_plain_csc_service_checks_the_pin_at_authorize(
    app, client, factories, smtp_sink
) -> None:  # type: ignore[no-untyped-def]
    """SIGNING_PIN_FIRST=false (an external CSC v2 service without the PIN-first
    extension): 送信 only mails the code, the PIN is checked at 電子署名, and the
    user still gets the PIN message with the attempts left."""
    rep = _ready_user(app, client, factories)
    app.config["SIGNING_PIN_FIRST"] = False
    wrong = dialog.send_code(rep, "WrongPin9A")
    assert wrong.proof.pin_token is None
    code = code_from(smtp_sink, rep.email)
    with pytest.raises(CertError) as refused:
        dialog.sign_pdfs(rep, [sample_pdf()], proof=wrong.proof, code=code)
    assert refused.value.field == "pin" and "あと4回" in refused.value.message
    before = len(smtp_sink.messages)
    right = dialog.send_code(rep, PIN)
    code = code_from(smtp_sink, rep.email, before)
    [signed] = dialog.sign_pdfs(rep, [sample_pdf()], proof=right.proof, code=code)
    with services.signing_client() as api:
        assert validate_with_pyhanko(signed, api.root_certificate()).intact
