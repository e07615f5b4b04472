"""CERT-1, CERT-4, RS-2: certificate profile, CRL, OCSP and the TSA of the service."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from asn1crypto import core, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Flask

from remote_signing.service import create_app
from remote_signing.service.pki import DOCUMENT_SIGNING_EKU
from tests.unit.remote_signing.rs_helpers import PORTAL, Api


def _chain(api: Api, cred: str) -> list[x509.Certificate]:
    r = api.call("/csc/v2/credentials/info", {"credentialID": cred})
    return [
        x509.load_der_x509_certificate(base64.b64decode(c)) for c in r.json["cert"]["certificates"]
    ]


def _ocsp_status(api: Api, cert: x509.Certificate, issuer: x509.Certificate) -> ocsp.OCSPResponse:
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
    r = api.http.post(
        "/ocsp",
        data=req.public_bytes(serialization.Encoding.DER),
        content_type="application/ocsp-request",
    )
    assert r.status_code == 200 and r.mimetype == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(r.data)


def test_cert1_user_certificate_profile(api: Api) -> None:
    cred = api.create(name="山田 太郎")
    user, issuing, root = _chain(api, cred)
    cn = user.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0]
    assert cn.value == "山田 太郎" and cn._type.name == "UTF8String"
    days = (user.not_valid_after_utc - user.not_valid_before_utc).days
    assert 5 * 365 <= days <= 5 * 366
    ku = user.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    eku = user.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert DOCUMENT_SIGNING_EKU in eku and ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert user.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    user.verify_directly_issued_by(issuing)
    issuing.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)
    info = api.call("/csc/v2/credentials/info", {"credentialID": cred}).json
    assert info["SCAL"] == "2" and info["key"]["len"] == 2048 and info["multisign"] > 1


def test_cert4_revoked_certificate_is_published_and_cannot_sign(api: Api) -> None:
    cred = api.create()
    user, issuing, _ = _chain(api, cred)
    assert _ocsp_status(api, user, issuing).certificate_status == ocsp.OCSPCertStatus.GOOD
    sad = api.sad(cred, [hashlib.sha256(b"x").digest()])
    assert (
        api.admin("revoke", cred, reason="affiliationChanged").json["credentialStatus"] == "revoked"
    )

    resp = _ocsp_status(api, user, issuing)
    assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert resp.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert resp.revocation_reason == x509.ReasonFlags.affiliation_changed
    _assert_signed_by_delegated_responder(resp, issuing)

    crl = x509.load_der_x509_crl(api.http.get("/crl/issuing.crl").data)
    assert crl.is_signature_valid(issuing.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(user.serial_number) is not None

    h = hashlib.sha256(b"x").digest()
    assert api.sign(cred, sad, [h]).json["error"] == "credential_revoked"
    assert api.authorize(cred, [h], otp="123456").json["error"] == "credential_revoked"
    info = api.call("/csc/v2/credentials/info", {"credentialID": cred}).json
    assert info["cert"]["status"] == "revoked"


def _assert_signed_by_delegated_responder(
    resp: ocsp.OCSPResponse, issuing: x509.Certificate
) -> None:
    """RFC 6960 4.2.2.2: a responder certificate issued by the CA, for OCSP signing only,
    embedded in the response and named by key hash (what NSS/pdfsig needs, see pki.py)."""
    [responder] = resp.certificates
    responder.verify_directly_issued_by(issuing)
    eku = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    assert responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    assert responder.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert (
        resp.responder_key_hash
        == x509.SubjectKeyIdentifier.from_public_key(
            responder.public_key()  # type: ignore[arg-type]
        ).digest
    )
    responder.public_key().verify(  # type: ignore[call-arg, union-attr]
        resp.signature, resp.tbs_response_bytes, padding.PKCS1v15(), resp.signature_hash_algorithm
    )


def test_rs2_ocsp_for_user_certificates_is_signed_by_delegated_responder(
    api: Api, rs_config: dict[str, Any]
) -> None:
    cred = api.create()
    user, issuing, _ = _chain(api, cred)
    resp = _ocsp_status(api, user, issuing)
    assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
    _assert_signed_by_delegated_responder(resp, issuing)
    assert resp.next_update_utc is not None and resp.next_update_utc > resp.this_update_utc
    # After a restart the stored (wrapped) responder key answers, not a new one.
    restarted = create_app(rs_config)
    try:
        again = _ocsp_status(Api(restarted.test_client(), api.smtp, PORTAL), user, issuing)
    finally:
        restarted.extensions["rs_engine"].dispose()
    assert again.certificates == resp.certificates


def test_rs2_ocsp_and_crl_times_are_whole_seconds(api: Api) -> None:
    cred = api.create()
    user, issuing, _ = _chain(api, cred)
    resp = _ocsp_status(api, user, issuing)
    assert resp.produced_at_utc.microsecond == 0
    assert resp.this_update_utc.microsecond == 0
    crl = x509.load_der_x509_crl(api.http.get("/crl/issuing.crl").data)
    assert crl.last_update_utc.microsecond == 0


def test_rs2_ocsp_nonce_is_echoed_and_garbage_is_malformed(api: Api) -> None:
    cred = api.create()
    user, issuing, _ = _chain(api, cred)
    nonce = os.urandom(16)
    req = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(user, issuing, hashes.SHA256())
        .add_extension(x509.OCSPNonce(nonce), critical=False)
        .build()
    )
    r = api.http.post("/ocsp", data=req.public_bytes(serialization.Encoding.DER))
    resp = ocsp.load_der_ocsp_response(r.data)
    assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    bad = ocsp.load_der_ocsp_response(api.http.post("/ocsp", data=b"garbage").data)
    assert bad.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def _ts_request(digest: bytes, policy: str | None = None) -> bytes:
    req = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
        "nonce": 123456789,
        "cert_req": True,
    }
    if policy:
        req["req_policy"] = policy
    return tsp.TimeStampReq(req).dump()


def test_rs2_tsa_uses_the_configured_policy_and_its_own_certificate(rs_app: Flask) -> None:
    http = rs_app.test_client()
    digest = hashlib.sha256(b"document").digest()
    r = http.post(
        "/tsa", data=_ts_request(digest), headers=PORTAL, content_type="application/timestamp-query"
    )
    assert r.status_code == 200 and r.mimetype == "application/timestamp-reply"
    resp = tsp.TimeStampResp.load(r.data)
    assert resp["status"]["status"].native == "granted"
    signed = resp["time_stamp_token"]["content"]
    info = signed["encap_content_info"]["content"].parsed
    assert info["policy"].dotted == rs_app.config["RS"]["TSA_POLICY_OID"]
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["nonce"].native == 123456789
    # The token carries the TSA's certificate and its issuing CA (in DER set order).
    certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed["certificates"]]
    tsa_certs = [c for c in certs if not c.extensions.get_extension_for_class(
        x509.BasicConstraints).value.ca]
    assert len(certs) == 2 and len(tsa_certs) == 1
    eku = tsa_certs[0].extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    other = http.post(
        "/tsa",
        data=_ts_request(digest, "1.2.3.4"),
        headers=PORTAL,
        content_type="application/timestamp-query",
    )
    status = tsp.PKIStatusInfo.load(core.load(other.data)[0].dump())
    assert status["status"].native == "rejection"
    assert "unaccepted_policy" in status["fail_info"].native


def test_rs2_tsa_refuses_calls_without_client_credential(rs_app: Flask) -> None:
    r = rs_app.test_client().post(
        "/tsa", data=_ts_request(bytes(32)), content_type="application/timestamp-query"
    )
    assert r.status_code == 401


def test_cert4_ocsp_responder_is_renewed_while_the_service_runs(api: Api) -> None:
    """A service running for a year without restart never answers with an expired
    responder certificate: within 30 days of its expiry the next OCSP request gets
    a new one (and the new one is kept for the next start)."""
    from datetime import UTC, datetime, timedelta

    import time_machine

    cred = api.create()
    user, issuing, _ = _chain(api, cred)
    [first] = _ocsp_status(api, user, issuing).certificates
    assert [c.serial_number for c in _ocsp_status(api, user, issuing).certificates] == [
        first.serial_number
    ]
    later = first.not_valid_after_utc - timedelta(days=29)
    with time_machine.travel(later, tick=False):
        resp = _ocsp_status(api, user, issuing)
        [renewed] = resp.certificates
        assert renewed.serial_number != first.serial_number
        assert renewed.not_valid_before_utc <= datetime.now(UTC) < renewed.not_valid_after_utc
        assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
        _assert_signed_by_delegated_responder(resp, issuing)
