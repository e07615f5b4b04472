"""#14 item 6 (CON-9, CON-7, AUD-1): 契約書を一括ダウンロード. A customer user
downloads the signed PDFs and a 署名検証レポート of every concluded and finished
package it may see, as one streamed ZIP with one folder per package; another
customer's packages, packages still in signing and packages that never
concluded are not in it; the download is audited once."""

from __future__ import annotations

import hashlib
import io
import json
import tracemalloc
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.clock import now
from portal.contracts.models import (
    ContractDocument,
    ContractPackage,
    ContractParty,
    DocumentKind,
    SigningPosition,
    SummaryType,
)
from portal.contracts.states import PackageState, PartyState
from portal.extensions import db
from portal.filestore import get_file_store
from portal.models import AuditEntry
from remote_signing.sample import sample_pdf
from tests.functional.contracts.conftest import customer_client

ARCHIVE = "/contracts/archive.zip"


def make_package(world, company, state: PackageState, *, documents: int = 2,
                 pdf: bytes = b"", personal_user=None, day: int = 1,
                 summary: SummaryType = SummaryType.LOAN_ONLY) -> ContractPackage:
    """A package as it stands after its life so far (rows and stored files only)."""
    concluded = state in (PackageState.CONCLUDED, PackageState.REPAID, PackageState.CANCELLED)
    package = ContractPackage(
        branch_id=world.branch.id, application_date=date(2026, 4, day), summary_type=summary,
        loan_amount=1_000_000, staff_in_charge_id=world.staff.id, staff_label="東京支店 担当",
        state=state, created_by_id=world.staff.id, sent_at=now() - timedelta(days=30),
        concluded_at=now() - timedelta(days=20) if concluded else None)
    package.parties.append(ContractParty(
        signing_position=SigningPosition.DEBTOR, company_id=company.id,
        user_id=personal_user.id if personal_user else None,
        state=PartyState.SIGNED if concluded else PartyState.UNSIGNED))
    store = get_file_store()
    for n in range(documents):
        data = (pdf or sample_pdf()) + f"\n% package {day} document {n}\n".encode()
        key = store.put(data, kind="contract")
        sha = hashlib.sha256(data).hexdigest()
        package.documents.append(ContractDocument(
            kind=DocumentKind.CONTRACT, position=n, title=f"金銭消費貸借契約書/第{n + 1}号",
            original_key=key, original_sha256=sha, current_key=key, current_sha256=sha,
            size=len(data), revisions=2))
    db.session.add(package)
    db.session.commit()
    return package


def download(client) -> tuple[object, list[bytes]]:
    response = client.get(ARCHIVE)
    chunks = [bytes(c) for c in response.response] if response.status_code == 200 else []
    return response, chunks


def folders(data: bytes) -> dict[str, dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        out: dict[str, dict[str, bytes]] = {}
        for name in archive.namelist():
            folder, _, file = name.partition("/")
            out.setdefault(folder, {})[file] = archive.read(name)
    return out


def folder(package: ContractPackage) -> str:
    return f"{package.application_date:%Y-%m-%d}_{package.summary_label}_案件{package.id}"


def downloads() -> list[AuditEntry]:
    return list(db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "contract.archive.downloaded")).scalars())


@pytest.fixture
def packages(signing_app, world):
    c = world.company
    return {
        "concluded": make_package(world, c, PackageState.CONCLUDED, day=1),
        "repaid": make_package(world, c, PackageState.REPAID, day=2),
        "cancelled": make_package(world, c, PackageState.CANCELLED, day=3, documents=1,
                                  summary=SummaryType.CANCELLATION),
        "unsigned": make_package(world, c, PackageState.UNSIGNED, day=4),
        "all_signed": make_package(world, c, PackageState.ALL_SIGNED, day=5),
        "void": make_package(world, c, PackageState.VOID, day=6),
        "other_customer": make_package(world, world.other_company, PackageState.CONCLUDED,
                                       day=7),
        "signer_personal": make_package(world, c, PackageState.CONCLUDED, day=8,
                                        personal_user=world.signer),
    }


def test_archive_holds_exactly_the_customers_concluded_and_finished_contracts(
        signing_app, world, packages):
    response, chunks = download(customer_client(signing_app, world.rep))

    assert response.status_code == 200
    assert response.is_streamed and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    got = folders(b"".join(chunks))
    kept = [packages[k] for k in ("concluded", "repaid", "cancelled")]
    assert sorted(got) == sorted(folder(p) for p in kept)
    store = get_file_store()
    for package in kept:
        files = got[folder(package)]
        expected = {f"{d.position + 1:02d}_金銭消費貸借契約書_第{d.position + 1}号.pdf":
                    store.get(d.current_key) for d in package.contract_documents}
        assert {k: v for k, v in files.items() if k != "署名検証レポート.pdf"} == expected
        assert files["署名検証レポート.pdf"].startswith(b"%PDF")
    # audited once, naming the packages handed out
    [entry] = downloads()
    assert entry.actor_id == world.rep.id
    assert json.loads(entry.detail)["packages"] == [p.id for p in kept]


def test_archive_of_another_customer_and_of_a_personal_party(signing_app, world, packages):
    _, chunks = download(customer_client(signing_app, world.other_rep))
    assert list(folders(b"".join(chunks))) == [
        f"2026-04-07_貸出契約のみ_案件{packages['other_customer'].id}"]

    # a package signed personally by one user is that user's, not the company's
    _, chunks = download(customer_client(signing_app, world.signer))
    names = list(folders(b"".join(chunks)))
    assert f"2026-04-08_貸出契約のみ_案件{packages['signer_personal'].id}" in names
    assert len(names) == 4


def test_archive_with_nothing_to_keep_says_so(signing_app, world):
    client = customer_client(signing_app, world.other_rep)
    response = client.get(ARCHIVE)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ダウンロードできる契約書がありません。" in page
    assert downloads() == []


def test_list_pages_offer_the_button_in_both_languages(signing_app, world):
    client = customer_client(signing_app, world.rep)
    for page in ("/contracts/active", "/contracts/finished"):
        html = client.get(page).get_data(as_text=True)
        assert 'href="/contracts/archive.zip"' in html and "契約書を一括ダウンロード" in html
    assert "契約書を一括ダウンロード" not in client.get("/contracts/to-sign").get_data(as_text=True)
    client.get("/lang/en?next=/contracts/active")
    assert "Download all contracts" in client.get("/contracts/active").get_data(as_text=True)


def test_a_large_archive_streams_one_file_at_a_time(signing_app, world, tmp_path):
    """Never the whole archive in memory: 24 packages of ~0.4 MB incompressible PDFs
    (about 9 MB) stream chunk by chunk, and the traced peak per chunk stays flat."""
    pdf = sample_pdf(min_size=400_000)
    for day in range(1, 25):
        make_package(world, world.company, PackageState.CONCLUDED, day=day, documents=1, pdf=pdf)
    client = customer_client(signing_app, world.rep)
    response = client.get(ARCHIVE)
    assert response.is_streamed
    stream = iter(response.response)
    out = tmp_path / "archive.zip"
    with out.open("wb") as handle:
        handle.write(next(stream) + next(stream))  # the first package (fonts loaded)
        tracemalloc.start()
        try:
            chunks = 2
            peaks = []
            for chunk in stream:
                handle.write(chunk)
                chunks += 1
                peaks.append(tracemalloc.get_traced_memory()[1])
                tracemalloc.reset_peak()
        finally:
            tracemalloc.stop()
    total = out.stat().st_size
    assert total > 24 * 350_000 and chunks >= 2 * 24
    assert len(folders(out.read_bytes())) == 24
    # flat: the 20th package costs no more memory than the 1st, while each adds
    # ~0.38 MB to the archive (the per-file peak is pyHanko reading one PDF)
    assert max(peaks[-8:]) < max(peaks[:8]) + 100_000, peaks
