"""CERT-2, CERT-6, PIN-1, KYC-6: the certificate REISSUE path end to end for each
reason, through the screens, with the real signing service and the real clamd:
電子証明書発行依頼 → 本人確認書類アップロード → staff approval → 初期PIN登録 → 発行
→ the old certificate is revoked (asked over OCSP) → the new one signs."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy import select

from portal.certs import services
from portal.certs.models import CertificateRequest, CertRequestState, CertState, SigningCertificate
from portal.extensions import db
from portal.web import date_jst
from remote_signing.testing import validate_with_pyhanko
from tests.conftest import DEFAULT_PASSWORD, login_customer
from tests.functional.certs.helpers import approve_kyc, code_from, register_and_issue
from tests.functional.kyc.conftest import KycDriver, StaffDriver
from tests.functional.users.helpers import handle_of

NEW_PIN = "Saihakko2026B!"


@pytest.fixture
def app_config(app_config: dict[str, Any], clamd_address: tuple[str, int]) -> dict[str, Any]:
    host, port = clamd_address  # the shared real clamd (KYC-4 scan of the new documents)
    app_config.update(CLAMD_HOST=host, CLAMD_PORT=port, CLAMD_TIMEOUT=10.0)
    return app_config


def _card_status(client: Any, user: Any) -> str:
    page = client.get("/settings").get_data(as_text=True)
    card = page.split(f'id="certs-card-{user.id}"')[1]
    found = re.search(r'class="signing-status">([^<]*)</dd>', card)  # ステータス (CERT-6)
    assert found, page[:2000]
    return found.group(1)


def _request(client: Any, subject: Any, reason: str) -> None:
    """電子証明書発行依頼 by the representative for themselves (no PoA, CERT-3)."""
    url = f"/users/{subject.id}/certificate-request"
    started = client.post_form(url, {"reason": reason, "identity_method": "documents"},
                               token_page=url)
    assert started.status_code == 302, started.get_data(as_text=True)[:1000]
    handle = handle_of(started)
    done = client.post_form(f"/users/drafts/{handle}/register",
                            token_page=f"/users/drafts/{handle}/confirm")
    assert done.status_code == 302, done.get_data(as_text=True)[:1000]


def _upload_kyc(kyc: KycDriver) -> int:
    return kyc.submit_complete()


def _ocsp(credential_id: str) -> ocsp.OCSPResponse:
    """Ask the CA's OCSP responder (the URL in the certificate's AIA) over HTTP."""
    with services.signing_client() as api:
        chain = api.credential_info(credential_id).certificates
    cert = x509.load_der_x509_certificate(chain[0])
    issuer = x509.load_der_x509_certificate(chain[1])
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    [url] = [d.access_location.value for d in aia
             if d.access_method == x509.oid.AuthorityInformationAccessOID.OCSP]
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
    answer = requests.post(url, data=req.public_bytes(serialization.Encoding.DER),
                           headers={"Content-Type": "application/ocsp-request"}, timeout=10)
    response = ocsp.load_der_ocsp_response(answer.content)
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    return response


def _sign_sample(client: Any, user: Any, sink: Any) -> bytes:
    before = len(sink.messages)
    sent = client.post("/certs/dialog/send-code",
                       data={"csrf_token": client.csrf_token("/certs/sample"), "pin": NEW_PIN})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    code = code_from(sink, user.email, before)
    signed = client.post_form("/certs/sample", {"code": code},
                              token_page="/certs/sample")
    assert signed.status_code == 200 and signed.mimetype == "application/pdf", \
        signed.get_data(as_text=True)[:1000]
    return signed.data


@pytest.mark.parametrize("reason", ["details_changed", "extend_validity", "pin_forgotten"])
def test_cert2_reissue_walks_kyc_pin_and_issue_then_revokes_the_old_certificate(
    reason: str, app: Any, client: Any, factories: Any, smtp_sink: Any
) -> None:
    company = factories.company()
    rep = factories.customer(company)
    rep.first_name = "太郎"  # the factory's "太郎<n>" is not full-width (APP-2)
    db.session.commit()
    staff = StaffDriver(app.test_client())
    approve_kyc(rep)
    login_customer(client, rep.mypage_id, DEFAULT_PASSWORD)
    register_and_issue(client)
    old = services.current_certificate(rep)
    assert old is not None and old.state is CertState.ACTIVE
    old_id, old_expiry = old.credential_id, old.valid_to
    assert _card_status(client, rep) == "署名可能"

    _request(client, rep, reason)
    assert _card_status(client, rep) == "証明書発行依頼中"
    assert "初期PIN登録・証明書発行" not in client.get("/settings").get_data(as_text=True)
    expected_old = "revoked" if reason == "pin_forgotten" else "active"  # CERT-2: at once
    assert _ocsp_and_service(old_id) == expected_old

    sid = _upload_kyc(KycDriver(client))
    assert _card_status(client, rep) == "本人確認書類確認中"
    assert client.get("/certs/pin/register").status_code == 200
    assert "確認が完了していないため" in client.get("/certs/pin/register").get_data(as_text=True)

    staff.login(factories.staff(company.application_branch))
    assert staff.post(f"/console/kyc/{sid}/approve").status_code == 302
    assert _card_status(client, rep) == "PIN登録待ち"
    settings = client.get("/settings").get_data(as_text=True)
    assert f'id="register-pin-{rep.id}"' in settings
    assert "初期PIN (確認用)" in client.get("/certs/pin/register").get_data(as_text=True)

    r = client.post_form("/certs/pin/register", {"pin": NEW_PIN, "pin_confirm": NEW_PIN},
                         token_page="/certs/pin/register")
    assert r.status_code == 302 and r.headers["Location"].endswith("/certs/pin/issue")
    assert _card_status(client, rep) == "証明書発行待ち"  # #13 item 2
    assert _ocsp_and_service(old_id) == expected_old  # not before 発行
    issued = client.post_form("/certs/pin/issue", {}, token_page="/certs/pin/issue")
    assert issued.status_code == 200, issued.get_data(as_text=True)[:1000]

    new = services.current_certificate(rep)
    assert new is not None and new.state is CertState.ACTIVE and new.credential_id != old_id
    assert new.credential_id in issued.get_data(as_text=True)
    # a fresh 5 years from the new issuance (the service's clock is real, so within
    # one test the new expiry can only equal or pass the old one)
    assert new.valid_to is not None and new.valid_from is not None
    assert new.valid_to >= old_expiry and 4.99 < (new.valid_to - new.valid_from).days / 365.25
    assert _ocsp_and_service(old_id) == "revoked"
    expected_reason = (x509.ReasonFlags.key_compromise if reason == "pin_forgotten"
                       else x509.ReasonFlags.superseded)
    assert _ocsp(old_id).revocation_reason is expected_reason
    assert _ocsp_and_service(new.credential_id) == "active"
    [old_row] = db.session.scalars(select(SigningCertificate).where(
        SigningCertificate.credential_id == old_id))
    assert old_row.state is CertState.REVOKED
    [request] = db.session.scalars(select(CertificateRequest))
    assert request.state == CertRequestState.ISSUED

    settings = client.get("/settings").get_data(as_text=True)
    assert _card_status(client, rep) == "署名可能"
    card = settings.split(f'id="certs-card-{rep.id}"')[1].split("</dl>")[0]
    assert date_jst(new.valid_to) in card

    signed = _sign_sample(client, rep, smtp_sink)
    with services.signing_client() as api:
        root = api.root_certificate()
    report = validate_with_pyhanko(signed, root)
    assert report.intact and report.valid and report.trusted and not report.revoked


def _ocsp_and_service(credential_id: str) -> str:
    """The service's credential status, checked against what OCSP publishes."""
    with services.signing_client() as api:
        status = api.credential_info(credential_id).status
    published = _ocsp(credential_id).certificate_status
    assert (published is ocsp.OCSPCertStatus.REVOKED) == (status == "revoked"), (status, published)
    return status
