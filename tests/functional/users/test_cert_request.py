"""CERT-2, CERT-3: 電子証明書発行依頼 with the PoA each case needs."""

from __future__ import annotations

import io

from sqlalchemy import select

from kyc import devtools
from portal.certs.models import CertificateRequest, CertRequestState, PoaKind
from portal.certs.requests import open_cert_request
from portal.certs.services import revoke_user_certificate
from portal.extensions import db
from portal.users.models import PowerOfAttorney
from tests.functional.users.conftest import login
from tests.functional.users.helpers import actions, handle_of
from tests.functional.users.test_poa_signing import _otp, _send_code, _send_pin


def _request(client, subject, reason="details_changed", **extra):
    url = f"/users/{subject.id}/certificate-request"
    return client.post_form(url, {"reason": reason, "identity_method": "documents", **extra},
                            token_page="/logout", **({"content_type": "multipart/form-data"}
                                                     if "file" in extra else {}))


def _card(html, user):
    return html.split(f'id="user-card-{user.id}"')[1].split("</article>")[0]


def _requests():
    return db.session.execute(select(CertificateRequest)).scalars().all()


def test_cert3_representative_for_self_needs_no_poa(client, people, company, smtp_sink):
    rep = people.with_certificate(company)
    login(client, rep)
    form = client.get(f"/users/{rep.id}/certificate-request").get_data(as_text=True)
    assert "発行理由" in form and "PIN失念" in form and "有効期限延長" in form
    assert "委任状不要" in form
    handle = handle_of(_request(client, rep, "extend_validity"))
    confirm = client.get(f"/users/drafts/{handle}/confirm").get_data(as_text=True)
    assert "有効期限延長" in confirm and "書類提出による確認" in confirm
    done = client.post_form(f"/users/drafts/{handle}/register",
                            token_page=f"/users/drafts/{handle}/confirm")
    assert done.status_code == 302
    assert "本人確認書類の登録が必要" in client.get(done.headers["Location"]).get_data(as_text=True)
    [request] = _requests()
    assert request.state == CertRequestState.REQUESTED and request.poa_id is None
    assert people.credential_statuses(rep) == ["active"]  # revoked only when the new one comes
    assert "cert_request.created" in actions()


def test_cert3_manager_for_another_signer_signs_a_system_poa(client, people, company,
                                                             smtp_sink):
    rep = people.with_certificate(company)
    signer = people.with_certificate(company, "signer")
    login(client, rep)
    form = client.get(f"/users/{signer.id}/certificate-request").get_data(as_text=True)
    assert "システム作成" in form
    handle = handle_of(_request(client, signer, "details_changed"))
    assert "署名画面へ" in client.get(f"/users/drafts/{handle}/confirm").get_data(as_text=True)
    _send_pin(client, handle)
    done = _send_code(client, handle, _otp(smtp_sink, rep.email))
    assert done.status_code == 302
    [request] = _requests()
    poa = db.session.get(PowerOfAttorney, request.poa_id)
    assert poa.kind == PoaKind.SYSTEM and poa.agent_user_id == signer.id
    assert poa.registered_by == rep.id
    # status on the card; deleting is refused while the request is in progress
    listing = client.get("/users/").get_data(as_text=True)
    assert f'id="delete-{signer.id}"' not in listing
    card = listing.split(f'id="user-card-{signer.id}"')[1].split("</article>")[0]
    assert "証明書発行依頼中" in card  # CERT-6


def test_cert3_signer_for_self_uploads_a_paper_poa(client, people, company, clamd_address):
    people.user(company)
    signer = people.with_certificate(company, "signer")
    login(client, signer)
    assert "ファイルアップロード" in client.get(
        f"/users/{signer.id}/certificate-request").get_data(as_text=True)
    missing = _request(client, signer)
    assert missing.status_code == 400 and "委任状ファイル" in missing.get_data(as_text=True)
    eicar = _request(client, signer, file=(io.BytesIO(devtools.sample_pdf("x").replace(
        b"%%EOF", devtools.EICAR + b"\n%%EOF")), "poa.pdf"))
    assert eicar.status_code == 400 and "ウイルス" in eicar.get_data(as_text=True)
    image = devtools.sample_image("png")
    ok = _request(client, signer, "pin_forgotten", file=(io.BytesIO(image), "委任状.png"))
    assert ok.status_code == 302, ok.get_data(as_text=True)[:500]
    handle = handle_of(ok)
    done = client.post_form(f"/users/drafts/{handle}/register",
                            token_page=f"/users/drafts/{handle}/confirm")
    assert done.status_code == 302
    [request] = _requests()
    assert db.session.get(PowerOfAttorney, request.poa_id).kind == PoaKind.UPLOAD
    # CERT-2: PIN失念 revokes the old certificate at once
    assert people.credential_statuses(signer) == ["revoked"]


def test_cert3_signer_cannot_request_for_someone_else(client, people, company):
    rep = people.with_certificate(company)
    signer = people.user(company, "signer")
    other = people.with_certificate(company, "signer")
    login(client, signer)
    for target in (other, rep):
        assert client.get(f"/users/{target.id}/certificate-request").status_code == 404
        assert _request(client, target).status_code == 404
    assert _requests() == []


def test_cert2_no_request_for_a_user_who_never_had_a_certificate(client, people, company):
    """Guide §3.5.1: a request asks for a certificate again (記載事項変更, PIN失念,
    有効期限延長); a new user's first one comes after documents and PIN (CERT-1)."""
    rep = people.with_certificate(company)
    newcomer = people.user(company, "signer")
    login(client, rep)
    url = f"/users/{newcomer.id}/certificate-request"
    assert f'href="{url}"' not in _card(client.get("/users/").get_data(as_text=True), newcomer)
    assert client.get(url).status_code == 404
    assert _request(client, newcomer).status_code == 404
    assert _requests() == []
    people.certify(newcomer)
    assert f'href="{url}"' in _card(client.get("/users/").get_data(as_text=True), newcomer)
    revoke_user_certificate(newcomer, "name_changed", actor=rep)  # CERT-4: still renewable
    db.session.commit()
    assert client.get(url).status_code == 200
    assert _request(client, newcomer).status_code == 302


def test_cert3_viewers_have_no_certificate_to_request(client, people, company):
    rep = people.user(company)
    viewer = people.user(company, "viewer")
    login(client, rep)
    assert client.get(f"/users/{viewer.id}/certificate-request").status_code == 404
    client.post_form("/logout")
    login(client, viewer)
    assert client.get(f"/users/{viewer.id}/certificate-request").status_code == 404


def test_cert2_a_second_request_while_one_is_open_is_refused(client, people, company):
    rep = people.with_certificate(company)
    login(client, rep)
    handle = handle_of(_request(client, rep))
    client.post_form(f"/users/drafts/{handle}/register",
                     token_page=f"/users/drafts/{handle}/confirm")
    again = _request(client, rep)
    assert again.status_code == 400 and "発行依頼中" in again.get_data(as_text=True)
    assert len(_requests()) == 1


def test_cert2_request_closes_when_the_new_certificate_is_issued(client, people, company):
    rep = people.with_certificate(company)
    login(client, rep)
    handle = handle_of(_request(client, rep))
    client.post_form(f"/users/drafts/{handle}/register",
                     token_page=f"/users/drafts/{handle}/confirm")
    assert open_cert_request(rep) is not None
    people.certify(rep)  # KYC approved, PIN registered, 発行
    assert open_cert_request(rep) is None
    db.session.commit()
    [request] = _requests()
    assert request.state == CertRequestState.ISSUED


def test_cert2_the_subject_is_asked_to_upload_kyc_again(client, people, company, smtp_sink):
    from portal.mail import deliver_pending
    from portal.notices import notices_for

    rep = people.user(company)
    signer = people.with_certificate(company, "signer")
    login(client, rep)
    handle = handle_of(_request(client, signer, "pin_forgotten"))
    # a system PoA is needed: sign it
    _send_pin(client, handle)
    # rep has no certificate: the request cannot be signed, nothing is created
    assert _requests() == []
    people.certify(rep)
    assert _send_pin(client, handle).status_code == 302
    assert _send_code(client, handle, _otp(smtp_sink, rep.email)).status_code == 302
    deliver_pending()
    body = smtp_sink.body(smtp_sink.last_to(signer.email, "電子証明書発行依頼"))
    assert "PIN失念" in body and "本人確認書類" in body and "失効しました" in body
    [notice] = [n for n in notices_for(signer) if "電子証明書発行依頼" in n.text]
    assert notice.user_id == signer.id
