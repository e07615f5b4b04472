"""Issue #16 item 3, SIGN-1, SIGN-3: a signed file proves itself to a validator
that trusts only the bank's root and fetches nothing.

The RFC 3161 tokens of the service's TSA carry the TSA certificate and its
issuing CA; the signatures carry their chains; every certificate the service
issues names its issuer's certificate (AIA caIssuers), its OCSP responder (end
entities) and its CRL, all on the service's own public URL. Checked with pyHanko
(``allow_fetching=False``, a ValidationContext with the root and nothing else)
on a B-T sample before any DSS and on a concluded package (B-LTA)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
import requests
from asn1crypto import cms, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

from remote_signing.client import SigningClient
from remote_signing.pdf import sign_documents
from remote_signing.sample import sample_pdf
from remote_signing.service.config import DEV_CONSOLE_SECRET, DEV_PORTAL_SECRET
from remote_signing.testing import ServiceProcess, SmtpCapture
from tests.functional.contracts import conftest as contracts
from tests.functional.remote_signing.rs_support import PIN, new_credential, otp

world = contracts.world  # the contract fixtures' branch, staff and customers

DOC_TIMESTAMP = "/DocTimeStamp"
TSA_NAME = "サンプル銀行 タイムスタンプ局"
# a CMS certificate set is DER-sorted: the order inside the token says nothing
TSA_AND_ISSUER = {TSA_NAME, "サンプル銀行 電子契約発行認証局"}


def root_only(root_der: bytes) -> ValidationContext:
    """What an independent validator has: the root, no other certificate, no network."""
    return ValidationContext(trust_roots=[ax509.Certificate.load(root_der)],
                             allow_fetching=False)


def assert_every_signature_and_timestamp_trusted(pdf: bytes, root_der: bytes) -> list[str]:
    """Every signature and its signature timestamp, and every document timestamp:
    intact, valid, trusted. Returns what was checked (field: kind)."""
    checked = []
    reader = PdfFileReader(BytesIO(pdf))
    for sig in reader.embedded_signatures:
        if str(sig.sig_object_type) == DOC_TIMESTAMP:
            ts = validate_pdf_timestamp(sig, validation_context=root_only(root_der))
            assert (ts.intact, ts.valid, ts.trusted) == (True, True, True), (sig.field_name, ts)
            checked.append(f"{sig.field_name}: document timestamp")
            continue
        status = validate_pdf_signature(sig, signer_validation_context=root_only(root_der),
                                        ts_validation_context=root_only(root_der))
        assert (status.intact, status.valid, status.trusted) == (True, True, True), (
            sig.field_name, status.summary())
        ts = status.timestamp_validity
        assert ts is not None, f"{sig.field_name} has no signature timestamp"
        assert (ts.intact, ts.valid, ts.trusted) == (True, True, True), (sig.field_name, ts)
        checked.append(f"{sig.field_name}: signature + timestamp")
    return checked


def token_certificates(pdf: bytes) -> list[set[str]]:
    """The subjects' common names of the certificates inside each signature's
    timestamp token (unsigned attribute signature_time_stamp_token)."""
    out = []
    for sig in PdfFileReader(BytesIO(pdf)).embedded_regular_signatures:
        attrs = sig.signer_info["unsigned_attrs"]
        for attr in attrs:
            if attr["type"].native == "signature_time_stamp_token":
                token: cms.ContentInfo = attr["values"][0]
                certs = token["content"]["certificates"]
                out.append({c.chosen.subject.native["common_name"] for c in certs})
    return out


def test_sign1_b_t_sample_validates_with_only_the_root_trusted_and_no_fetching(
    rs_client: SigningClient, rs_mail: SmtpCapture
) -> None:
    info, email = new_credential(rs_client, name="山田 太郎")
    [signed] = sign_documents(rs_client, info, [sample_pdf()], pin=PIN,
                              otp=otp(rs_client, rs_mail, info, email))
    root = rs_client.root_certificate()
    assert "/DSS" not in PdfFileReader(BytesIO(signed)).root  # B-T: nothing but the CMS
    assert assert_every_signature_and_timestamp_trusted(signed, root) == [
        "Signature1: signature + timestamp"]
    # the token itself carries the TSA certificate and the CA that issued it
    assert token_certificates(signed) == [TSA_AND_ISSUER]


def test_tsa_token_carries_its_chain_only_when_asked(rs_client: SigningClient) -> None:
    """RFC 3161 certReq: true → TSA + issuing CA; false → no certificates."""
    import hashlib

    def ask(cert_req: bool) -> tsp.TimeStampResp:
        req = tsp.TimeStampReq({
            "version": "v1",
            "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                                "hashed_message": hashlib.sha256(b"x").digest()},
            "cert_req": cert_req,
        })
        return tsp.TimeStampResp.load(rs_client.timestamp(req.dump()))

    with_certs = ask(True)["time_stamp_token"]["content"]["certificates"]
    assert {c.chosen.subject.native["common_name"] for c in with_certs} == TSA_AND_ISSUER
    assert not ask(False)["time_stamp_token"]["content"]["certificates"]


def _urls(cert: x509.Certificate) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"ca_issuers": [], "ocsp": [], "crl": []}
    try:
        aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
        for desc in aia.value:
            kind = ("ocsp" if desc.access_method == AuthorityInformationAccessOID.OCSP
                    else "ca_issuers")
            found[kind].append(desc.access_location.value)
    except x509.ExtensionNotFound:
        pass
    try:
        dps = cert.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS)
        found["crl"] = [n.value for dp in dps.value for n in dp.full_name or []]
    except x509.ExtensionNotFound:
        pass
    return found


def test_every_issued_certificate_names_issuer_ocsp_and_crl_urls_of_the_service(
    rs_process: ServiceProcess, rs_client: SigningClient
) -> None:
    base = rs_process.url
    info, _ = new_credential(rs_client, name="佐藤 花子")
    console = SigningClient(base, "console", DEV_CONSOLE_SECRET, timeout=30)
    try:
        seal = console.credential_info(console.list_credentials()[0])
    finally:
        console.close()
    load = x509.load_der_x509_certificate
    issuing_url, root_url = f"{base}/ca/issuing.cer", f"{base}/ca/root.cer"
    ocsp_url, crl_url = f"{base}/ocsp", f"{base}/crl/issuing.crl"
    end_entity = {"ca_issuers": [issuing_url], "ocsp": [ocsp_url], "crl": [crl_url]}
    assert _urls(load(info.certificates[0])) == end_entity  # a user's certificate
    assert _urls(load(seal.certificates[0])) == end_entity  # the bank seal
    assert _urls(load(info.certificates[1])) == {  # the issuing CA
        "ca_issuers": [root_url], "ocsp": [], "crl": [f"{base}/crl/root.crl"]}
    assert _urls(_tsa_certificate(rs_client)) == end_entity  # the TSA
    # the delegated OCSP responder (id-pkix-ocsp-nocheck: nobody asks for its status)
    assert _urls(_ocsp_responder(base, load(info.certificates[0]),
                                 load(info.certificates[1]))) == {
        "ca_issuers": [issuing_url], "ocsp": [], "crl": []}
    # the chains the service hands out end at its root
    assert info.certificates[-1] == seal.certificates[-1] == rs_client.root_certificate()


def _ocsp_responder(base: str, cert: x509.Certificate,
                    issuer: x509.Certificate) -> x509.Certificate:
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
    answer = requests.post(f"{base}/ocsp", data=req.public_bytes(serialization.Encoding.DER),
                           headers={"Content-Type": "application/ocsp-request"}, timeout=30)
    resp = ocsp.load_der_ocsp_response(answer.content)
    assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
    [responder] = resp.certificates
    return responder


def _tsa_certificate(client: SigningClient) -> x509.Certificate:
    import hashlib

    req = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": hashlib.sha256(b"chain").digest()},
        "cert_req": True,
    })
    token = tsp.TimeStampResp.load(client.timestamp(req.dump()))["time_stamp_token"]
    [tsa] = [c.chosen for c in token["content"]["certificates"]
             if c.chosen.subject.native["common_name"] == TSA_NAME]
    return x509.load_der_x509_certificate(tsa.dump())


# --- a concluded package (B-LTA) through the portal ----------------------------------

@pytest.fixture
def portal_on_rs(app: Any, rs_process: ServiceProcess) -> Any:
    app.config.update(SIGNING_SERVICE_URL=rs_process.url, SIGNING_CLIENT_ID="portal",
                      SIGNING_CLIENT_SECRET=DEV_PORTAL_SECRET,
                      SIGNING_CONSOLE_CLIENT_ID="console",
                      SIGNING_CONSOLE_CLIENT_SECRET=DEV_CONSOLE_SECRET)
    return app


@pytest.mark.slow
def test_sign1_concluded_package_validates_with_only_the_root_trusted_and_no_fetching(
    portal_on_rs: Any, world: Any, rs_mail: SmtpCapture, rs_client: SigningClient
) -> None:
    from portal.contracts.models import ContractPackage
    from portal.extensions import db
    from portal.filestore import get_file_store

    pdf = sample_pdf()
    for user in (world.rep, world.guarantor):
        contracts.issue_credential(portal_on_rs, user)
    package_id = contracts.create_package(portal_on_rs, world, pdf, send=True)
    for user in (world.rep, world.guarantor):
        client = contracts.customer_client(portal_on_rs, user)
        contracts.open_and_confirm(client, db.session.get(ContractPackage, package_id))
        assert contracts.sign_via_dialog(client, package_id, user, rs_mail).status_code == 302
    contracts.conclude_as_staff(portal_on_rs, world, package_id)
    package = db.session.get(ContractPackage, package_id)
    assert package is not None and package.concluded_at is not None
    root = rs_client.root_certificate()
    for document in package.contract_documents:
        concluded = get_file_store().get(document.current_key)
        checked = assert_every_signature_and_timestamp_trusted(concluded, root)
        assert checked[:3] == ["Party1: signature + timestamp",
                               "Party2: signature + timestamp",
                               "BankSeal: signature + timestamp"]
        assert len(checked) == 4 and checked[3].endswith(": document timestamp")
