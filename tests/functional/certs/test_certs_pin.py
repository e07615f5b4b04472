"""PIN-1, PIN-3, PIN-4, CERT-1, CERT-6: the PIN screens against the real service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from portal.audit import AuditEntry
from portal.certs import services
from portal.certs.models import CertState, SigningCertificate
from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, login_customer
from tests.functional.certs.helpers import PIN, approve_kyc, register_and_issue


def _login(client, user):  # type: ignore[no-untyped-def]
    r = login_customer(client, user.mypage_id, DEFAULT_PASSWORD)
    assert r.status_code in (200, 302)


def test_pin1_register_then_issue_makes_the_user_signable(app, client, factories) -> None:  # type: ignore[no-untyped-def]
    rep = factories.customer()
    approve_kyc(rep)
    _login(client, rep)
    assert services.signing_status(rep) == "PIN登録待ち"
    page = client.get("/certs/pin/register").get_data(as_text=True)
    assert "初期PIN (確認用)" in page and 'name="csrf_token"' in page

    r = client.post_form(
        "/certs/pin/register", {"pin": PIN, "pin_confirm": PIN}, token_page="/certs/pin/register"
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/certs/pin/issue")
    cert = db.session.scalar(select(SigningCertificate).where(SigningCertificate.user_id == rep.id))
    assert cert.state is CertState.PIN_REGISTERED
    assert "初期PINの登録が完了しました" in client.get("/certs/pin/issue").get_data(as_text=True)

    r = client.post_form("/certs/pin/issue", {}, token_page="/certs/pin/issue")
    text = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "署名用PINが発行されました。契約書への電子署名が可能となります。" in text
    db.session.refresh(cert)
    assert cert.state is CertState.ACTIVE and cert.credential_id in text
    years = (cert.valid_to - cert.valid_from).days / 365.25
    assert 4.99 < years < 5.01
    assert services.signing_status(rep) == "署名可能"
    assert cert.valid_to.strftime("%Y/%m/%d")[:4] in text
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"certs.pin_registered", "certs.active"} <= actions


def test_pin1_each_broken_rule_is_named_and_nothing_is_registered(app, client, factories) -> None:  # type: ignore[no-untyped-def]
    rep = factories.customer()
    approve_kyc(rep)
    _login(client, rep)
    cases = {
        "Ab1": "8文字以上32文字以内",
        "abcdefgh1": "大文字",
        "Abcdefg_1": "使用できない記号（_）",
        "Abcdefg(1)": "使用できない記号（( )）",
        "Ａbcdefgh1": "半角の英数字",
        "A" * 33: "8文字以上32文字以内",
    }
    for pin, rule in cases.items():
        r = client.post_form(
            "/certs/pin/register",
            {"pin": pin, "pin_confirm": pin},
            token_page="/certs/pin/register",
        )
        assert r.status_code == 400
        assert rule in r.get_data(as_text=True), pin
    r = client.post_form(
        "/certs/pin/register",
        {"pin": PIN, "pin_confirm": PIN + "x"},
        token_page="/certs/pin/register",
    )
    assert "確認用の入力が一致しません" in r.get_data(as_text=True)
    assert db.session.scalar(select(SigningCertificate)) is None


def test_pin1_before_kyc_approval_registration_is_refused(app, client, factories) -> None:  # type: ignore[no-untyped-def]
    rep = factories.customer()
    _login(client, rep)
    text = client.get("/certs/pin/register").get_data(as_text=True)
    assert 'id="not-ready"' in text and 'name="pin"' not in text
    r = client.post_form(
        "/certs/pin/register", {"pin": PIN, "pin_confirm": PIN}, token_page="/login"
    )
    assert r.status_code == 200 and db.session.scalar(select(SigningCertificate)) is None


def test_pin3_change_pin_needs_the_current_one(app, client, factories) -> None:  # type: ignore[no-untyped-def]
    rep = factories.customer()
    approve_kyc(rep)
    _login(client, rep)
    register_and_issue(client)
    new = "Kaeta2027Pin"
    r = client.post_form(
        "/certs/pin/change",
        {"current_pin": "WrongPin9A", "new_pin": new, "new_pin_confirm": new},
        token_page="/certs/pin/change",
    )
    text = r.get_data(as_text=True)
    assert r.status_code == 400 and "現在のPINが正しくありません" in text and "あと4回" in text
    r = client.post_form(
        "/certs/pin/change",
        {"current_pin": PIN, "new_pin": "short", "new_pin_confirm": "short"},
        token_page="/certs/pin/change",
    )
    assert "8文字以上32文字以内" in r.get_data(as_text=True)
    r = client.post_form(
        "/certs/pin/change",
        {"current_pin": PIN, "new_pin": new, "new_pin_confirm": new},
        token_page="/certs/pin/change",
    )
    assert "PINの変更は完了しました" in r.get_data(as_text=True)
    r = client.post_form(
        "/certs/pin/change",
        {"current_pin": PIN, "new_pin": "Another2028A", "new_pin_confirm": "Another2028A"},
        token_page="/certs/pin/change",
    )
    assert "現在のPINが正しくありません" in r.get_data(as_text=True)


def _company_with_signer(factories):  # type: ignore[no-untyped-def]
    rep = factories.customer()
    signer = factories.customer(rep.company, role="signer")
    approve_kyc(signer)
    return rep, signer


def test_pin4_representative_locks_and_unlocks_another_user(app, client, factories) -> None:  # type: ignore[no-untyped-def]
    rep, signer = _company_with_signer(factories)
    signer_client = app.test_client()
    _login(signer_client, signer)
    register_and_issue(signer_client)
    cert = services.current_certificate(signer)

    _login(client, rep)
    page = client.get(f"/certs/users/{signer.id}/lock").get_data(as_text=True)
    assert "クレデンシャルID" in page and cert.credential_id in page and signer.display_name in page
    r = client.post_form(
        f"/certs/users/{signer.id}/lock", {}, token_page=f"/certs/users/{signer.id}/lock"
    )
    assert "署名用PINロックを行いました" in r.get_data(as_text=True)
    assert services.signing_status(signer) == "署名不可"
    with services.signing_client() as api:
        assert api.credential_info(cert.credential_id).status == "locked"
    r = signer_client.post(
        "/certs/dialog/send-code",
        data={"csrf_token": signer_client.csrf_token("/login"), "pin": PIN},
    )
    assert r.status_code == 400 and "PINロック中のため署名はできません" in r.get_json()["message"]

    r = client.post_form(
        f"/certs/users/{signer.id}/unlock", {}, token_page=f"/certs/users/{signer.id}/unlock"
    )
    assert "署名用PINロックを解除しました" in r.get_data(as_text=True)
    assert services.signing_status(signer) == "署名可能"
    actions = list(db.session.scalars(select(AuditEntry.action)))
    assert "certs.pin_locked" in actions and "certs.pin_unlocked" in actions


def test_pin4_signer_viewer_other_company_and_self_cannot_lock(app, client, factories) -> None:  # type: ignore[no-untyped-def]
    rep, signer = _company_with_signer(factories)
    signer_client = app.test_client()
    _login(signer_client, signer)
    register_and_issue(signer_client)
    viewer = factories.customer(rep.company, role="viewer")
    outsider = factories.customer()  # another company's representative
    for actor in (viewer, outsider):
        c = app.test_client()
        _login(c, actor)
        assert c.get(f"/certs/users/{signer.id}/lock").status_code in (403, 404)
        r = c.post(f"/certs/users/{signer.id}/lock", data={"csrf_token": c.csrf_token("/login")})
        assert r.status_code in (403, 404)
    other_signer = factories.customer(rep.company, role="signer")
    c = app.test_client()
    _login(c, other_signer)
    assert c.get(f"/certs/users/{signer.id}/lock").status_code in (403, 404)
    assert signer_client.get(f"/certs/users/{signer.id}/lock").status_code == 404  # self
    assert services.signing_status(signer) == "署名可能"


def test_cert6_user_card_statuses(app, factories) -> None:  # type: ignore[no-untyped-def]
    rep = factories.customer()
    assert services.signing_status(factories.customer(rep.company, role="viewer")) == (
        "参照権限のため署名はできません"
    )
    assert (
        services.signing_status(factories.customer(rep.company, temporary=True)) == "初回未ログイン"
    )
    assert services.signing_status(rep) == "証明書発行依頼中"
    sub = approve_kyc(rep)
    sub.state = "submitted"
    db.session.commit()
    assert services.signing_status(rep) == "本人確認書類確認中"
    sub.state = "approved"
    db.session.commit()
    assert services.signing_status(rep) == "PIN登録待ち"
    services.register_pin(rep, PIN)
    assert services.signing_status(rep) == "証明書発行待ち"  # #13 item 2: the PIN is registered
    cert = services.issue_certificate(rep)
    assert services.signing_status(rep) == "署名可能"
    assert services.certificate_expiry(rep) == cert.valid_to
    services.revoke_user_certificate(rep, "name_changed")
    db.session.commit()
    assert services.signing_status(rep) == "証明書失効"


def test_cert4_revocation_hook_publishes_and_mails(app, factories, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    from portal.mail import deliver_pending

    rep = factories.customer()
    approve_kyc(rep)
    services.register_pin(rep, PIN)
    cert = services.issue_certificate(rep)
    assert services.revoke_user_certificate(rep, "company_name_changed") == 1
    db.session.commit()
    assert cert.state is CertState.REVOKED and cert.revocation_reason == "company_name_changed"
    with services.signing_client() as api:
        info = api.credential_info(cert.credential_id)
    assert info.status == "revoked" and info.cert_status == "revoked"
    deliver_pending()
    assert any("電子証明書失効" in str(m["Subject"]) for m in smtp_sink.to(rep.email))
    assert services.revoke_user_certificate(rep, "user_deleted") == 0


def test_cert5_expiry_notice_is_sent_once(app, factories, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    from portal.clock import now
    from portal.mail import deliver_pending

    rep = factories.customer()
    approve_kyc(rep)
    services.register_pin(rep, PIN)
    cert = services.issue_certificate(rep)
    assert services.send_expiry_notices() == 0
    cert.valid_to = now() + timedelta(days=29)
    db.session.commit()
    assert services.send_expiry_notices() == 1
    assert services.send_expiry_notices() == 0
    deliver_pending()
    assert len([m for m in smtp_sink.to(rep.email) if "有効期限" in str(m["Subject"])]) == 1


def test_pin2_no_pin_in_the_portal_database(app, client, factories, app_config) -> None:  # type: ignore[no-untyped-def]
    rep = factories.customer()
    approve_kyc(rep)
    _login(client, rep)
    register_and_issue(client)
    new = "Kaeta2027Pin"
    client.post_form(
        "/certs/pin/change",
        {"current_pin": PIN, "new_pin": new, "new_pin_confirm": new},
        token_page="/certs/pin/change",
    )
    db.session.commit()
    url = app_config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        db.engine.dispose()
        path = Path(url.removeprefix("sqlite:///"))
        blob = b"".join(p.read_bytes() for p in (path, Path(str(path) + "-wal")) if p.exists())
        for secret in (PIN, new):
            assert secret.encode() not in blob


def test_cert6_cards_on_settings_page_offer_the_pin_buttons(app, client, factories) -> None:  # type: ignore[no-untyped-def]
    rep, signer = _company_with_signer(factories)
    approve_kyc(rep)
    signer_client = app.test_client()
    _login(signer_client, signer)
    register_and_issue(signer_client)
    _login(client, rep)
    page = client.get("/settings").get_data(as_text=True)
    assert f'id="register-pin-{rep.id}"' in page  # own card: 初期PIN登録・証明書発行
    assert f'id="lock-{signer.id}"' in page and "署名用PINロック ▶" in page
    assert f'id="lock-{rep.id}"' not in page  # never on oneself
    expiry = services.certificate_expiry(signer)
    assert expiry is not None and "署名可能" in page
    mine = signer_client.get("/settings").get_data(as_text=True)
    assert f'id="change-pin-{signer.id}"' in mine and f'id="lock-{rep.id}"' not in mine
    # the sample signature is reached from one's own card once one can sign
    assert f'id="sign-sample-{signer.id}"' in mine and f'id="sign-sample-{signer.id}"' not in page
