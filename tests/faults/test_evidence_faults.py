"""SIGN-7 (#16 item 4), CON-6: the signing service dies after the documents are sealed,
while the bank seals the 締結証明書. The conclusion stands (the documents carry
the bank's seal), nothing of the certificate is stored, and the certificate is
issued at its first download once the service is back; while it is down the
download answers the seal message, never a 5xx."""

from __future__ import annotations

from typing import Any

from portal.contracts.models import ContractPackage
from portal.contracts.states import PackageState
from portal.extensions import db
from portal.filestore import get_file_store
from portal.models import AuditEntry
from remote_signing.testing import SmtpCapture

from .contract_state import assert_audit_intact, snapshot
from .support import HookProxy, SigningService
from .test_signing_service_faults import SEAL_FAILED, SEAL_SIGN, all_signed, conclude


def test_service_killed_while_sealing_the_certificate(
        signing_app: Any, people: Any, package_id: int, rep: Any, rs: SigningService,
        rs_proxy: HookProxy, rs_mail: SmtpCapture) -> None:
    all_signed(signing_app, people, package_id, rep, rs_mail)
    # the documents' seal is the first signing call of 締結, the certificate's the second
    rs_proxy.on(SEAL_SIGN, lambda: rs_proxy.on(SEAL_SIGN, rs.kill9))
    done = conclude(signing_app, people, package_id)
    assert done.status_code == 302, done.get_data(as_text=True)
    assert snapshot(signing_app, package_id).package == PackageState.CONCLUDED
    package = db.session.get(ContractPackage, package_id)
    assert package is not None and package.evidence_key is None
    deferred = db.session.query(AuditEntry).filter_by(action="contract.evidence.deferred",
                                                     target_id=str(package_id)).count()
    assert deferred == 1
    assert_audit_intact()

    refused = rep.get(f"/contracts/{package_id}/evidence.pdf")
    assert refused.status_code == 400 and SEAL_FAILED in refused.get_data(as_text=True)

    rs.start()
    issued = rep.get(f"/contracts/{package_id}/evidence.pdf")
    assert issued.status_code == 200 and issued.data.startswith(b"%PDF")
    package = db.session.get(ContractPackage, package_id)
    assert package is not None and package.evidence_key is not None
    assert issued.data == get_file_store().get(package.evidence_key)
    assert_audit_intact()
