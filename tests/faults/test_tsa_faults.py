"""Issue #16 item 5, CON-4, CON-6, SIGN-1, SIGN-6: the portal's TSAs stopped.

Two TSAs are configured (SIGNING_TSA_URLS), each a private instance of the
signing service on the same database and keys as the one that signs (redundant
nodes of the bank's TSA, under the same root). With the first stopped the
second stamps the party signatures, the bank seal and the archive timestamp.
With both stopped, 電子署名, 締結 and the SIGN-6 renewal are refused with the
existing messages and nothing is stored (package, parties, documents, files,
signature rows as before; audit chain intact); once a TSA is back the same
action succeeds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portal.certs.messages import UNAVAILABLE
from portal.contracts import longterm
from portal.contracts.models import ContractPackage, ContractSignature, SignatureKind
from portal.contracts.states import PackageState, PartyState
from portal.extensions import db
from portal.filestore import get_file_store
from remote_signing.client import SigningClient
from remote_signing.testing import SmtpCapture
from tests.functional.contracts.conftest import execute_signature, sign_via_dialog
from tests.functional.remote_signing.test_rs_timestamp_chain import (
    assert_every_signature_and_timestamp_trusted,
)

from .contract_state import assert_audit_intact, snapshot
from .support import HookProxy, SigningService
from .test_signing_service_faults import (
    SEAL_FAILED,
    all_signed,
    assert_refused_with,
    code_typed,
    conclude,
    party_states,
)

pytestmark = pytest.mark.slow


def tsa_node(rs: SigningService, workdir: Path, smtp_port: int) -> SigningService:
    """Another instance of ``rs`` (same database, master key, key store settings)."""
    shared = {k: v for k, v in rs.env.items()
              if (k.startswith("RS_") or k == "SOFTHSM2_CONF")
              and k not in {"RS_PUBLIC_URL", "RS_LOG_FILE"}}
    return SigningService(workdir, smtp_port=smtp_port, env=shared)


@pytest.fixture
def tsas(rs: SigningService, rs_mail: SmtpCapture,
         tmp_path: Path) -> Iterator[tuple[SigningService, SigningService, HookProxy]]:
    first = tsa_node(rs, tmp_path / "tsa1", rs_mail.port).start()
    second = tsa_node(rs, tmp_path / "tsa2", rs_mail.port).start()
    watch = HookProxy(second.url).start()  # notes each request the second TSA gets
    yield first, second, watch
    watch.stop()
    second.stop()
    first.stop()


@pytest.fixture
def tsa_app(signing_app: Any, tsas: tuple[SigningService, SigningService, HookProxy]) -> Any:
    first, _second, watch = tsas
    signing_app.config["SIGNING_TSA_URLS"] = [f"{first.url}/tsa", f"{watch.url}/tsa"]
    return signing_app


def contract_files(package_id: int) -> list[bytes]:
    db.session.expire_all()
    package = db.session.get(ContractPackage, package_id)
    assert package is not None
    files = [get_file_store().get(d.current_key) for d in package.contract_documents]
    db.session.commit()
    return files


def root_der(app: Any) -> bytes:
    client = SigningClient.from_config(app.config)
    try:
        return client.root_certificate()
    finally:
        client.close()


def archive_rows(package_id: int) -> int:
    count = db.session.query(ContractSignature).filter_by(
        package_id=package_id, kind=SignatureKind.ARCHIVE_TIMESTAMP).count()
    db.session.commit()
    return count


def renew(app: Any) -> longterm.RunSummary:
    app.config["LONGTERM_RENEW_DAYS"] = 3700  # the TSA certificate (10 years) is due
    summary = longterm.revalidate()
    db.session.commit()
    return summary


def test_first_tsa_stopped_the_second_stamps_signatures_seal_and_renewal(
        tsa_app: Any, people: Any, package_id: int, rep: Any, rs_mail: SmtpCapture,
        tsas: tuple[SigningService, SigningService, HookProxy]) -> None:
    first, _second, watch = tsas
    first.stop()

    all_signed(tsa_app, people, package_id, rep, rs_mail)
    assert conclude(tsa_app, people, package_id).status_code == 302
    assert snapshot(tsa_app, package_id).package == PackageState.CONCLUDED
    assert "/tsa" in watch.seen
    root = root_der(tsa_app)
    for data in contract_files(package_id):
        checked = assert_every_signature_and_timestamp_trusted(data, root)
        assert [c.split(":")[0] for c in checked[:3]] == ["Party1", "Party2", "BankSeal"]

    summary = renew(tsa_app)
    assert summary.renewed == len(summary.results) > 0 and summary.mismatches == 0
    for data in contract_files(package_id):
        checked = assert_every_signature_and_timestamp_trusted(data, root)
        assert sum(c.endswith("document timestamp") for c in checked) == 2
    assert_audit_intact()


def test_no_tsa_refuses_the_signature_and_the_seal_and_stores_nothing(
        tsa_app: Any, people: Any, package_id: int, rep: Any, rs_mail: SmtpCapture,
        tsas: tuple[SigningService, SigningService, HookProxy]) -> None:
    first, second, _watch = tsas
    code_typed(rep, package_id, people.rep, rs_mail)
    before = snapshot(tsa_app, package_id)
    first.stop()
    second.stop()
    assert_refused_with(execute_signature(rep, package_id), UNAVAILABLE)
    assert snapshot(tsa_app, package_id) == before
    assert_audit_intact()

    second.start()
    assert sign_via_dialog(rep, package_id, people.rep, rs_mail).status_code == 302
    assert party_states(package_id) == [PartyState.SIGNED, PartyState.UNSIGNED]

    # the guarantor signs with the TSA up; 締結 finds none
    all_signed_but_rep(tsa_app, people, package_id, rs_mail)
    before = snapshot(tsa_app, package_id)
    second.stop()
    assert_refused_with(conclude(tsa_app, people, package_id), SEAL_FAILED)
    assert snapshot(tsa_app, package_id) == before
    assert_audit_intact()

    first.start()
    assert conclude(tsa_app, people, package_id).status_code == 302
    assert snapshot(tsa_app, package_id).package == PackageState.CONCLUDED
    assert_audit_intact()


def all_signed_but_rep(app: Any, people: Any, package_id: int, rs_mail: SmtpCapture) -> None:
    from tests.functional.contracts.conftest import customer_client, open_and_confirm

    guarantor = customer_client(app, people.guarantor)
    open_and_confirm(guarantor, db.session.get(ContractPackage, package_id))
    assert sign_via_dialog(guarantor, package_id, people.guarantor, rs_mail).status_code == 302
    assert snapshot(app, package_id).package == PackageState.ALL_SIGNED


def test_no_tsa_refuses_the_archive_timestamp_and_keeps_the_stored_file(
        tsa_app: Any, people: Any, package_id: int, rep: Any, rs_mail: SmtpCapture,
        tsas: tuple[SigningService, SigningService, HookProxy]) -> None:
    first, second, _watch = tsas
    all_signed(tsa_app, people, package_id, rep, rs_mail)
    assert conclude(tsa_app, people, package_id).status_code == 302
    before = snapshot(tsa_app, package_id)
    files = contract_files(package_id)
    first.stop()
    second.stop()

    summary = renew(tsa_app)
    assert summary.renewal_failed == len(files) and summary.renewed == 0
    assert summary.mismatches == 0  # the stored files are sound; only the renewal failed
    assert snapshot(tsa_app, package_id) == before
    assert contract_files(package_id) == files
    assert archive_rows(package_id) == 0
    assert_audit_intact()

    second.start()
    summary = renew(tsa_app)
    assert summary.renewed == len(files)
    assert archive_rows(package_id) == len(files)
    root = root_der(tsa_app)
    for old, new in zip(files, contract_files(package_id), strict=True):
        assert new.startswith(old)  # an incremental update of the stored file
        assert_every_signature_and_timestamp_trusted(new, root)
