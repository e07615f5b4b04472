"""SIGN-1, SIGN-2, SIGN-3, RS-1: signing Japanese PDFs through the adapter and the
service running as its own process; independent validation of the result."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from remote_signing.client import CredentialRevoked, PinInvalid, SigningClient
from remote_signing.pdf import SignatureOptions, sign_documents
from remote_signing.sample import sample_pdf
from remote_signing.testing import (
    ServiceProcess,
    SmtpCapture,
    pdfsig,
    qpdf_check,
    validate_with_pyhanko,
)
from tests.functional.remote_signing.rs_support import PIN, new_credential, otp


def test_sign3_signed_japanese_pdf_validates_in_pyhanko_pdfsig_and_qpdf(
    rs_client: SigningClient, rs_mail: SmtpCapture, tmp_path: Path
) -> None:
    info, email = new_credential(rs_client, name="山田 太郎")
    code = otp(rs_client, rs_mail, info, email)
    original = sample_pdf()
    [signed] = sign_documents(
        rs_client,
        info,
        [original],
        pin=PIN,
        otp=code,
        options=SignatureOptions(reason="契約締結", location="東京"),
    )
    assert signed.startswith(original), "must be an incremental update"
    root = rs_client.root_certificate()

    report = validate_with_pyhanko(signed, root)
    assert report.intact and report.valid and report.trusted
    assert report.coverage in {"ENTIRE_FILE", "ENTIRE_REVISION"}
    assert report.timestamp_valid and report.timestamp_trusted
    assert not report.revoked
    assert report.signer_cn == "山田 太郎"

    out = pdfsig(signed, root, tmp_path / "pdfsig")
    assert "Signature is Valid." in out, out
    assert "Certificate is Trusted." in out, out
    assert "山田 太郎" in out
    assert "Total document signed" in out

    code_rc, text = qpdf_check(signed, tmp_path)
    assert code_rc == 0, text
    assert "No syntax or stream encoding errors" in text


def test_sign2_one_authorization_signs_several_documents(
    rs_client: SigningClient, rs_mail: SmtpCapture, rs_process: ServiceProcess
) -> None:
    info, email = new_credential(rs_client, name="佐藤 花子")
    code = otp(rs_client, rs_mail, info, email)
    docs = [sample_pdf() for _ in range(3)]
    mails_before = len(rs_mail.messages)
    signed = sign_documents(rs_client, info, docs, pin=PIN, otp=code)
    assert len(rs_mail.messages) == mails_before, "one code for all documents"
    root = rs_client.root_certificate()
    for original, out in zip(docs, signed, strict=True):
        assert out.startswith(original)
        report = validate_with_pyhanko(out, root)
        assert report.intact and report.trusted and report.timestamp_valid
    log = rs_process.log_path.read_text()
    assert f"authorized credential={info.credential_id} hashes=3" in log
    assert log.count(f"authorized credential={info.credential_id}") == 1


def test_sign2_wrong_pin_signs_nothing(rs_client: SigningClient, rs_mail: SmtpCapture) -> None:
    info, email = new_credential(rs_client)
    code = otp(rs_client, rs_mail, info, email)
    with pytest.raises(PinInvalid) as exc:
        sign_documents(rs_client, info, [sample_pdf(), sample_pdf()], pin="WrongPin99!", otp=code)
    assert exc.value.remaining == 4


def _ocsp_over_http(
    url: str, cert: x509.Certificate, issuer: x509.Certificate
) -> ocsp.OCSPResponse:
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
    r = requests.post(
        url + "/ocsp",
        data=req.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
        timeout=10,
    )
    return ocsp.load_der_ocsp_response(r.content)


def test_cert4_revoked_certificate_shows_in_ocsp_and_crl_and_cannot_sign(
    rs_client: SigningClient, rs_mail: SmtpCapture, rs_process: ServiceProcess, tmp_path: Path
) -> None:
    info, email = new_credential(rs_client, name="鈴木 一郎")
    [before] = sign_documents(
        rs_client, info, [sample_pdf()], pin=PIN, otp=otp(rs_client, rs_mail, info, email)
    )
    user = x509.load_der_x509_certificate(info.certificates[0])
    issuing = x509.load_der_x509_certificate(info.certificates[1])
    assert (
        _ocsp_over_http(rs_process.url, user, issuing).certificate_status
        == ocsp.OCSPCertStatus.GOOD
    )

    assert rs_client.revoke(info.credential_id, "keyCompromise") == "revoked"

    assert _ocsp_over_http(rs_process.url, user, issuing).certificate_status == (
        ocsp.OCSPCertStatus.REVOKED
    )
    crl = x509.load_der_x509_crl(
        requests.get(rs_process.url + "/crl/issuing.crl", timeout=10).content
    )
    entry = crl.get_revoked_certificate_by_serial_number(user.serial_number)
    assert entry is not None
    with pytest.raises(CredentialRevoked):
        rs_client.send_otp(info.credential_id)
    with pytest.raises(CredentialRevoked):
        sign_documents(rs_client, info, [sample_pdf()], pin=PIN, otp="123456")
    assert rs_client.credential_info(info.credential_id).cert_status == "revoked"
    # independent validators now see the earlier signature's certificate as revoked
    assert validate_with_pyhanko(before, rs_client.root_certificate()).revoked
    assert "Certificate has been Revoked" in pdfsig(before, rs_client.root_certificate(), tmp_path)


def test_rs1_signature_hash_in_service_matches_pdf_digest(
    rs_client: SigningClient, rs_mail: SmtpCapture
) -> None:
    info, email = new_credential(rs_client)
    h = hashlib.sha256(b"signed attributes").digest()
    auth = rs_client.authorize(
        info.credential_id, [h], pin=PIN, otp=otp(rs_client, rs_mail, info, email)
    )
    [sig] = rs_client.sign_hashes(auth)
    from cryptography.hazmat.primitives.asymmetric import padding, utils

    x509.load_der_x509_certificate(info.certificate).public_key().verify(  # type: ignore[call-arg]
        sig, h, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())
    )
