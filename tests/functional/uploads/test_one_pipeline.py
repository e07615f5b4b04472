"""Issue #15 item 3 (KYC-3, KYC-4, USR-3, CON-1): the one upload pipeline.

The same hostile file sent through the three entry points — a KYC document
(MyPage 本人確認書類), a paper power of attorney (ユーザ新規登録, 委任状登録方法
「ファイルアップロード」) and a contract PDF (console 案件作成) — is refused
with the same field error (the contract form puts its field's label in front),
nothing of it is stored, and an infected file is audited as malware on every
path. The scanner is the real clamd, chosen by configuration
(``VIRUS_SCANNER``) behind a wrapper that counts its calls: each file is
scanned at most once, and a file refused for its name or size never reaches it.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from kyc import devtools
from kyc.interfaces import scanner_from_config
from kyc.models import KycFile
from portal.contracts.models import ContractDocument
from portal.extensions import db
from portal.models import AuditEntry, CustomerUser
from portal.scanning import ScanResult, VirusScanner
from portal.users.models import PowerOfAttorney
from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff
from tests.functional.contracts.conftest import package_form
from tests.functional.users.helpers import person

LIMIT = 1024 * 1024
VIRUS = ("ファイルからウイルスが検出されたため、アップロードできません。"
         "ファイルを確認のうえ、別のファイルを選択してください。")
NOT_A_PDF = "ファイルの内容が拡張子（.pdf）と一致しません。PDFのファイルを選択してください。"
TOO_LARGE = "ファイルサイズが上限（1MB）を超えています。1MB以下のファイルを選択してください。"
EMPTY = "ファイルの中身が空です（0バイト）。内容のあるファイルを選択してください。"
# The contract form has asked for a file in its own words since CON-1, before any check.
CONTRACT_EMPTY = "契約書のファイルを選択してください。"


@dataclass(frozen=True)
class Hostile:
    name: str
    data: bytes
    message: str
    scans: int  # scanner calls per entry point


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 2048  # a Windows program
HOSTILE = {
    "eicar": Hostile("契約書.pdf", devtools.EICAR, VIRUS, 1),  # malware in disguise
    "exe_as_pdf": Hostile("契約書.pdf", EXE, NOT_A_PDF, 1),  # still scanned for the log
    "oversize": Hostile("契約書.pdf", devtools.sample_pdf() + b"\0" * LIMIT, TOO_LARGE, 0),
    "empty": Hostile("契約書.pdf", b"", EMPTY, 0),
}


class CountingScanner:
    """The scanner configuration chooses (real clamd), counting its calls."""

    def __init__(self, inner: VirusScanner, calls: list[str]) -> None:
        self.inner = inner
        self.calls = calls

    def scan(self, data: bytes) -> ScanResult:
        self.calls.append(digest(data))
        return self.inner.scan(data)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def scans() -> list[str]:
    """The SHA-256 of every file the scanner was asked about, in order."""
    return []


@pytest.fixture
def app_config(app_config: dict[str, Any], clamd_address: tuple[str, int],
               scans: list[str]) -> dict[str, Any]:
    def counting(config: Mapping[str, Any]) -> VirusScanner:
        return CountingScanner(scanner_from_config({**config, "VIRUS_SCANNER": "clamd"}), scans)

    return {**app_config, "CLAMD_HOST": clamd_address[0], "CLAMD_PORT": clamd_address[1],
            "UPLOAD_MAX_BYTES": LIMIT, "VIRUS_SCANNER": counting}


@pytest.fixture
def world(factories: Any) -> SimpleNamespace:
    branch = factories.branch("東京支店")
    company = factories.company(branch, name="株式会社テスト商事")
    guarantor_company = factories.company(branch, kind="individual", name="保証 一郎")
    factories.customer(guarantor_company, role="representative")
    return SimpleNamespace(staff=factories.staff(branch), company=company,
                           guarantor_company=guarantor_company,
                           kyc_user=factories.customer(company, role="signer"),
                           rep=factories.customer(company, role="representative"))


def _token(client: Any, page: str) -> dict[str, str]:
    html = client.get(page).get_data(as_text=True)
    return {"csrf_token": html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]}


def kyc_upload(app: Any, world: SimpleNamespace, name: str, data: bytes) -> Any:
    client = app.test_client()
    assert login_customer(client, world.kyc_user.mypage_id, DEFAULT_PASSWORD).status_code == 302
    agreed = client.post("/mypage/kyc/consent", data={
        **_token(client, "/mypage/kyc/consent"), "understood": "1", "decision": "agree"})
    sid = int(agreed.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    page = f"/mypage/kyc/{sid}"
    client.post(f"/mypage/kyc/{sid}/type", data={
        **_token(client, page), "category": "identity", "document_type": "drivers_license"})
    response = client.post(f"/mypage/kyc/{sid}/files", data={
        **_token(client, page), "category": "identity", "slot": "front",
        "file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    return response


def poa_upload(app: Any, world: SimpleNamespace, name: str, data: bytes) -> Any:
    client = app.test_client()
    assert login_customer(client, world.rep.mypage_id, DEFAULT_PASSWORD).status_code == 302
    form = dict(person("paper@example.jp", role="signer"), poa_method="upload",
                file=(io.BytesIO(data), name))
    response = client.post_form("/users/new", form, token_page="/users/new",
                                content_type="multipart/form-data")
    return response


def contract_upload(app: Any, world: SimpleNamespace, name: str, data: bytes) -> Any:
    client = app.test_client()
    assert login_staff(client, world.staff.login_id, DEFAULT_PASSWORD).status_code == 302
    form = dict(package_form(world), contract_files=[(io.BytesIO(data), name)],
                important_file=(io.BytesIO(devtools.sample_pdf()), "重要事項説明書.pdf"))
    response = client.post_form("/console/contracts/new", form,
                                token_page="/console/contracts/new",
                                content_type="multipart/form-data")
    return response


def stored_blobs(app: Any) -> list[Path]:
    root = Path(app.config["FILESTORE_PATH"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def audit_details(action: str) -> list[dict[str, Any]]:
    return [json.loads(e.detail or "{}") for e in db.session.execute(
        select(AuditEntry).where(AuditEntry.action == action)).scalars()]


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_the_same_hostile_upload_is_refused_alike_at_every_entry_point(
        app: Any, world: SimpleNamespace, scans: list[str], case: str) -> None:
    hostile = HOSTILE[case]
    pages = {}
    for entry, upload in (("kyc", kyc_upload), ("poa", poa_upload),
                          ("contract", contract_upload)):
        scans.clear()
        response = upload(app, world, hostile.name, hostile.data)
        assert response.status_code == 400, entry
        pages[entry] = response.get_data(as_text=True)
        # each check once: one scan at most, none for a file refused by name or size
        assert scans.count(digest(hostile.data)) == hostile.scans, entry

    assert hostile.message in pages["kyc"]
    assert hostile.message in pages["poa"]
    contract = CONTRACT_EMPTY if case == "empty" else f"契約書：{hostile.message}"
    assert contract in pages["contract"]

    # Nothing of the file is kept anywhere.
    assert db.session.execute(select(KycFile)).first() is None
    assert db.session.execute(select(PowerOfAttorney)).first() is None
    assert db.session.execute(select(ContractDocument)).first() is None
    assert db.session.execute(select(CustomerUser).where(
        CustomerUser.email == "paper@example.jp")).first() is None
    assert stored_blobs(app) == []

    infected = [*audit_details("kyc.file.infected"), *audit_details("contract.file.infected"),
                *[d for d in audit_details("poa.upload_refused") if d["reason"] == "infected"]]
    if case == "eicar":  # malware is audited as malware on every path, with its signature
        assert len(infected) == 3
        assert {d["signature"] for d in infected} == {"Portal.Test.EICAR.UNOFFICIAL"}
        assert {d["size"] for d in infected} == {len(devtools.EICAR)}
    else:
        assert infected == []


def test_a_clean_file_is_scanned_and_stored_once_per_entry_point(
        app: Any, world: SimpleNamespace, scans: list[str]) -> None:
    """The control: a clean PDF is accepted at every entry point after one scan
    and one encrypted write (the contract form sends 契約書 and 重要事項説明)."""
    pdf = devtools.sample_pdf("clean")
    assert kyc_upload(app, world, "免許証.pdf", pdf).status_code == 302
    assert poa_upload(app, world, "委任状.pdf", pdf).status_code == 302
    assert contract_upload(app, world, "契約書.pdf", pdf).status_code == 302
    assert len(scans) == 4 and scans[:3] == [digest(pdf)] * 3  # + the 重要事項説明
    assert len(stored_blobs(app)) == 4
    [kyc_file] = db.session.execute(select(KycFile)).scalars()
    assert kyc_file.size == len(pdf) and kyc_file.format == "pdf"
    assert [d["format"] for d in audit_details("poa.uploaded")] == ["pdf"]
    assert len(db.session.execute(select(ContractDocument)).scalars().all()) == 2
