"""SIGN-1, SIGN-3: a package signed by two parties and concluded validates in
independent tools: pyHanko's long-term validation from the embedded data only,
poppler's pdfsig with the root in an NSS database, and qpdf --check."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from io import BytesIO

import pytest
from asn1crypto import x509 as ax509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

from portal.contracts.models import ContractPackage
from portal.extensions import db
from portal.filestore import get_file_store
from remote_signing.client import SigningClient
from remote_signing.testing import pdfsig, qpdf_check
from tests.functional.contracts.conftest import (
    conclude_as_staff,
    create_package,
    customer_client,
    issue_credential,
    open_and_confirm,
    sign_via_dialog,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def concluded_pdf(signing_app, world, contract_pdf, rs_mail) -> tuple[bytes, bytes]:
    issue_credential(signing_app, world.rep)
    issue_credential(signing_app, world.guarantor)
    package_id = create_package(signing_app, world, contract_pdf, send=True)
    package = db.session.get(ContractPackage, package_id)
    for user in (world.rep, world.guarantor):
        client = customer_client(signing_app, user)
        open_and_confirm(client, package)
        assert sign_via_dialog(client, package_id, user, rs_mail).status_code == 302
    conclude_as_staff(signing_app, world, package_id)
    package = db.session.get(ContractPackage, package_id)
    data = get_file_store().get(package.contract_documents[0].current_key)
    client = SigningClient.from_config(signing_app.config)
    root = client.root_certificate()
    client.close()
    return data, root


def _lta_spec(root: bytes) -> PdfSignatureValidationSpec:
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[ax509.Certificate.load(root)]),
        revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO))
    return PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY)))


def test_every_signature_passes_long_term_validation_from_embedded_data_only(concluded_pdf):
    data, root = concluded_pdf
    reader = PdfFileReader(BytesIO(data))
    names = [s.field_name for s in reader.embedded_signatures]
    assert names[:3] == ["Party1", "Party2", "BankSeal"] and len(names) == 4  # + doc timestamp
    for sig in reader.embedded_signatures[:3]:
        result = asyncio.run(ades_lta_validation(sig, _lta_spec(root)))
        assert result.ades_subindic is AdESPassed.OK, (sig.field_name, result.ades_subindic)


def test_earlier_signatures_stay_valid_and_later_revisions_only_sign_or_add_lta_data(
        concluded_pdf):
    data, root = concluded_pdf
    reader = PdfFileReader(BytesIO(data))
    for sig in reader.embedded_signatures[:3]:
        vc = ValidationContext(trust_roots=[ax509.Certificate.load(root)], allow_fetching=True,
                               time_tolerance=timedelta(seconds=60))
        status = validate_pdf_signature(sig, signer_validation_context=vc)
        assert status.intact and status.valid and status.trusted, sig.field_name
        assert status.docmdp_ok is not False
        assert status.modification_level in (ModificationLevel.NONE,
                                             ModificationLevel.LTA_UPDATES,
                                             ModificationLevel.FORM_FILLING), sig.field_name
    bank = reader.embedded_signatures[2]
    assert bank.signer_cert.subject.native["common_name"] == "株式会社サンプル銀行"


def test_pdfsig_reports_every_signature_valid_and_trusted_and_qpdf_is_clean(concluded_pdf,
                                                                           tmp_path):
    data, root = concluded_pdf
    # Only the root is trusted in the NSS database; pdfsig checks revocation online
    # (OCSP to the signing service's delegated responder, see remote_signing/service/pki.py).
    # Repeated runs: the same file must be trusted every time, not only by a lucky one.
    for run in range(3):
        out = pdfsig(data, root, tmp_path / f"run{run}")
        signatures = out.split("Signature #")[1:]
        assert len(signatures) == 4, out
        for block in signatures[:3]:
            assert "Signature Validation: Signature is Valid." in block, out
            assert "Certificate Validation: Certificate is Trusted." in block, out
            assert "Total document signed" not in block, out
        # The last one is the document timestamp (pdfsig cannot verify RFC 3161 tokens).
        assert "Field Name: Timestamp" in signatures[3] and "Total document signed" in signatures[3]
    rc, text = qpdf_check(data, tmp_path)
    assert rc == 0 and "No syntax or stream encoding errors" in text, text
