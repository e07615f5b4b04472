"""SIGN-7 (#16 item 4), CON-6, SIGN-1, SIGN-2, AUD-1: the 締結証明書 of a concluded
package. Two parties sign through the real dialog against the real signing
service, the branch staff concludes; the certificate is downloadable by the
parties (MyPage) and the staff (console) and by nobody else, says who signed
with which certificate at which timestamped time, how each signer showed sole
control (PIN and code checked by the service, the masked address the code went
to, client address and browser), each document's SHA-256 before and after
signing, the conclusion and the staff member, and the operation-log entries;
and it is sealed by the bank as PAdES B-LTA that pyHanko validates."""

from __future__ import annotations

import subprocess
from io import BytesIO

import pytest
from asn1crypto import x509 as ax509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp

from portal.clock import to_jst
from portal.contracts.models import (
    ContractPackage,
    ContractSignature,
    SignatureKind,
    SigningEvidence,
)
from portal.contracts.seal import console_client
from portal.extensions import db
from portal.filestore import get_file_store
from portal.models import AuditEntry
from remote_signing.pdf import Trust
from tests.functional.contracts.conftest import (
    conclude_as_staff,
    create_package,
    customer_client,
    issue_credential,
    open_and_confirm,
    sign_via_dialog,
    staff_client,
)

pytestmark = pytest.mark.slow

REP_BROWSER = "Mozilla/5.0 (Windows NT 10.0) RepBrowser/1.0"
GUARANTOR_BROWSER = "Mozilla/5.0 (iPhone) GuarantorBrowser/2.0"


def _text(data: bytes, tmp_path) -> str:
    path = tmp_path / "evidence.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"],
                         capture_output=True, text=True, check=True).stdout
    return _compact(out)


def _compact(value: str) -> str:
    """Without spaces: pdftotext renders the PDF's separators as it likes."""
    return value.replace(" ", "").replace("\u3000", "")


def _jst(value) -> str:
    return _compact(to_jst(value).strftime("%Y/%m/%d %H:%M:%S JST"))


def _masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[0]}***@{domain}"


def _root() -> ax509.Certificate:
    client = console_client()
    try:
        return ax509.Certificate.load(client.root_certificate())
    finally:
        client.close()


def _timestamp_times(document_bytes: bytes, field: str, root) -> list:
    reader = PdfFileReader(BytesIO(document_bytes), strict=False)
    sig = next(s for s in reader.embedded_signatures if s.field_name == field)
    status = validate_pdf_signature(sig, signer_validation_context=Trust(root).context(),
                                    ts_validation_context=Trust(root).context())
    assert status.timestamp_validity is not None
    return status.timestamp_validity.timestamp


def _entries(action: str, **where) -> list[AuditEntry]:
    query = db.session.query(AuditEntry).filter(AuditEntry.action == action)
    for name, value in where.items():
        query = query.filter(getattr(AuditEntry, name) == value)
    return query.order_by(AuditEntry.id).all()


@pytest.fixture
def concluded(signing_app, world, contract_pdf, rs_mail):
    issue_credential(signing_app, world.rep)
    issue_credential(signing_app, world.guarantor)
    package_id = create_package(signing_app, world, contract_pdf, send=True)
    package = db.session.get(ContractPackage, package_id)
    for user, browser in ((world.rep, REP_BROWSER), (world.guarantor, GUARANTOR_BROWSER)):
        client = customer_client(signing_app, user)
        client.environ_base["HTTP_USER_AGENT"] = browser
        open_and_confirm(client, package)
        assert sign_via_dialog(client, package_id, user, rs_mail).status_code == 302
    conclude_as_staff(signing_app, world, package_id)
    return db.session.get(ContractPackage, package_id)


def test_the_certificate_of_a_concluded_package_proves_signers_control_digests_and_log(
        signing_app, world, concluded, tmp_path):
    package = concluded
    assert package.evidence_key and package.evidence_sha256
    issued = _entries("contract.evidence.issued", target_id=str(package.id))
    assert len(issued) == 1 and package.evidence_sha256 in issued[0].detail

    # the parties download it from the package page, next to the report
    rep = customer_client(signing_app, world.rep)
    page = rep.get(f"/contracts/{package.id}").get_data(as_text=True)
    assert f"/contracts/{package.id}/evidence.pdf" in page
    assert "締結証明書（PDF）をダウンロード" in page
    mine = rep.get(f"/contracts/{package.id}/evidence.pdf")
    assert mine.status_code == 200 and "attachment" in mine.headers["Content-Disposition"]
    stored = get_file_store().get(package.evidence_key)
    assert mine.data == stored
    guarantor = customer_client(signing_app, world.guarantor)
    assert guarantor.get(f"/contracts/{package.id}/evidence.pdf").data == stored
    # the branch staff from the console package page
    staff = staff_client(signing_app, world.staff)
    detail = staff.get(f"/console/contracts/{package.id}").get_data(as_text=True)
    assert f"/console/contracts/{package.id}/evidence.pdf" in detail
    assert staff.get(f"/console/contracts/{package.id}/evidence.pdf").data == stored
    # another customer and another branch's staff: "not found"
    other = customer_client(signing_app, world.other_rep)
    assert other.get(f"/contracts/{package.id}/evidence.pdf").status_code == 404
    other_staff = staff_client(signing_app, world.other_staff)
    assert other_staff.get(f"/console/contracts/{package.id}/evidence.pdf").status_code == 404
    downloads = _entries("contract.evidence.downloaded", target_id=str(package.id))
    assert [e.actor_id for e in downloads] == [world.rep.id, world.guarantor.id, world.staff.id]

    text = _text(stored, tmp_path)
    assert "締結証明書" in text and f"案件番号：{package.id}" in text
    root = _root()
    store = get_file_store()
    documents = package.contract_documents
    for party, user, browser in ((package.parties[0], world.rep, REP_BROWSER),
                                 (package.parties[1], world.guarantor, GUARANTOR_BROWSER)):
        # the signer and the certificate
        assert _compact(f"氏名{user.display_name}会社{user.company.name}役割{user.role.label}") \
            in text
        serial = db.session.query(ContractSignature).filter_by(
            party_id=party.id, kind=SignatureKind.PARTY).first().certificate_serial
        assert f"シリアル番号{int(serial, 16):x}" in text
        # the signing time from each document's signature timestamp
        for document in documents:
            stamped = _timestamp_times(store.get(document.current_key),
                                       party.signature_field, root)
            assert _compact(f"{document.title}：") + _jst(stamped) in text
        # sole control: PIN and code checked by the service, masked address, browser
        sent = [e for e in _entries("certs.sign_code_sent", actor_id=user.id)][-1]
        signed = _entries("contract.signed", target_id=str(party.id))[-1]
        assert f"署名用PIN：電子署名サービスが照合（{_jst(sent.at)}）" in text
        assert f"認証コードの送信：{_masked(user.email)}宛に送信（{_jst(sent.at)}）" in text
        checked = _entries("contract.sign.authenticated", target_id=str(party.id))[-1]
        assert f"認証コードの照合：電子署名サービスが照合（{_jst(checked.at)}）" in text  # at 認証
        assert user.email not in text
        assert _compact(browser) in text and f"IPアドレス{signed.ip}" in text
        # the operation-log entries that record it
        for entry in (sent, signed):
            assert f"No.{entry.id}" in text and entry.hash in text
    # each document before signing and after (as stored now)
    for document in documents:
        assert f"署名前（登録時）：{document.original_sha256}" in text
        assert f"銀行電子印の付与後（締結）：{document.current_sha256}" in text
    # the conclusion, the staff member and their entries
    assert f"締結日時：{_jst(package.concluded_at)}" in text
    assert _compact(f"{world.staff.name}（ログインID{world.staff.login_id}）") in text
    sealed = _entries("contract.bank_sealed", target_id=str(package.id))
    assert len(sealed) == 1 and f"No.{sealed[0].id}" in text and sealed[0].hash in text

    # the bank's seal is PAdES B-LTA and validates from the root
    reader = PdfFileReader(BytesIO(stored), strict=False)
    signatures = reader.embedded_signatures
    assert [str(s.sig_object_type) for s in signatures] == ["/Sig", "/DocTimeStamp"]
    assert "/DSS" in reader.root
    seal = validate_pdf_signature(signatures[0], signer_validation_context=Trust(root).context(),
                                  ts_validation_context=Trust(root).context())
    assert seal.intact and seal.valid and seal.trusted and seal.coverage.name == "ENTIRE_REVISION"
    assert seal.timestamp_validity is not None and seal.timestamp_validity.trusted
    assert "株式会社サンプル銀行" in seal.signing_cert.subject.human_friendly
    archive = validate_pdf_timestamp(signatures[1], validation_context=Trust(root).context())
    assert archive.intact and archive.valid and archive.trusted

    # the links read in English for an English visitor (the PDF itself stays Japanese)
    rep.get("/lang/en?next=/")
    assert "Download the certificate of conclusion (PDF)" in rep.get(
        f"/contracts/{package.id}").get_data(as_text=True)
    staff.get("/lang/en?next=/console")
    assert "Certificate of conclusion (PDF)" in staff.get(
        f"/console/contracts/{package.id}").get_data(as_text=True)


def test_a_package_concluded_before_the_records_gets_a_certificate_saying_no_record(
        signing_app, world, concluded, tmp_path):
    # as if concluded before #16 item 4: no certificate, no sole-control records
    db.session.query(SigningEvidence).delete()
    package = db.session.get(ContractPackage, concluded.id)
    package.evidence_key = None
    package.evidence_sha256 = None
    db.session.commit()

    rep = customer_client(signing_app, world.rep)
    response = rep.get(f"/contracts/{package.id}/evidence.pdf")
    assert response.status_code == 200
    db.session.expire_all()
    package = db.session.get(ContractPackage, concluded.id)
    assert package.evidence_key is not None
    assert response.data == get_file_store().get(package.evidence_key)
    text = _text(response.data, tmp_path)
    assert "認証コードの送信：記録なし" in text and "認証コードの照合：記録なし" in text
    assert "@" not in text  # no address shown when none was recorded
    for party in package.parties:
        signed = _entries("contract.signed", target_id=str(party.id))[-1]
        assert f"No.{signed.id}" in text and signed.hash in text
    assert rep.get(f"/contracts/{package.id}/evidence.pdf").data == response.data


def test_no_certificate_before_conclusion(signing_app, world, contract_pdf):
    package_id = create_package(signing_app, world, contract_pdf, send=True)
    rep = customer_client(signing_app, world.rep)
    assert rep.get(f"/contracts/{package_id}/evidence.pdf").status_code == 404
    assert "evidence.pdf" not in rep.get(f"/contracts/{package_id}").get_data(as_text=True)
    staff = staff_client(signing_app, world.staff)
    assert staff.get(f"/console/contracts/{package_id}/evidence.pdf").status_code == 404

