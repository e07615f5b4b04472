"""契約書の一括ダウンロード (#14 item 6, CON-9): a customer user downloads all of
its concluded and finished contracts at once, to keep them.

A ZIP with one folder per package (``<申込日>_<申込概要>_案件<id>/``) holding
its signed PDFs and a 署名検証レポート checked at download time. The package
list is read and the download audited (one entry) in one short transaction
before the first byte; the archive is then written file by file into a
generator (``zipfile`` on an unseekable sink that the generator drains), so
neither the archive nor more than one stored file is held in memory, and no
database transaction stays open while it streams.
"""

from __future__ import annotations

import gc
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from portal import audit
from portal.clock import now, to_jst
from portal.errors import NotFound
from portal.extensions import db
from portal.filestore import get_file_store
from portal.models import CustomerUser
from portal.permissions import Permission, can

from .models import ContractPackage, ContractParty, SummaryType
from .report import build, render
from .services import visible_parties
from .states import PackageState

# 現在有効な契約 and 終了した契約 that were concluded (a void or withdrawn
# package has no signed contract to keep).
KEPT_STATES = (PackageState.CONCLUDED, PackageState.REPAID, PackageState.CANCELLED)
REPORT_NAME = "署名検証レポート.pdf"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


@dataclass(frozen=True, slots=True)
class ArchivedDocument:
    title: str
    current_key: str
    current_sha256: str


@dataclass(frozen=True, slots=True)
class ArchivedPackage:
    """What the archive needs of a package, read before streaming (duck-types the
    package for ``report.build``/``report.render``)."""

    id: int
    application_date: date
    summary_type: str
    staff_label: str
    contract_documents: tuple[ArchivedDocument, ...]

    @property
    def summary_label(self) -> str:
        return SummaryType(self.summary_type).label

    @property
    def folder(self) -> str:
        return safe_name(f"{self.application_date:%Y-%m-%d}_{self.summary_label}_案件{self.id}")


def safe_name(text: str, limit: int = 80) -> str:
    """A file or folder name that Windows, macOS and Linux all accept: NFC, no
    path separators, reserved or control characters, no leading/trailing dots."""
    name = _UNSAFE.sub("_", unicodedata.normalize("NFC", text)).strip(" .")
    return name[:limit] or "_"


def kept_packages(user: CustomerUser) -> list[ArchivedPackage]:
    """The user's concluded and finished packages, as the lists show them (CON-7)."""
    if not can(user, Permission.CONTRACTS_VIEW):
        raise NotFound()
    candidates = db.session.execute(
        select(ContractPackage).join(ContractParty)
        .where(ContractParty.company_id == user.company_id,
               ContractPackage.state.in_(KEPT_STATES),
               ContractPackage.concluded_at.is_not(None))
        .order_by(ContractPackage.application_date, ContractPackage.id).distinct()
    ).scalars()
    return [_snapshot(p) for p in candidates if visible_parties(user, p)]


def _snapshot(package: ContractPackage) -> ArchivedPackage:
    return ArchivedPackage(
        package.id, package.application_date, package.summary_type, package.staff_label,
        tuple(ArchivedDocument(d.title, d.current_key, d.current_sha256)
              for d in package.contract_documents))


def start_download(user: CustomerUser) -> list[ArchivedPackage]:
    """Read the list and write the one audit entry; the caller commits before streaming."""
    packages = kept_packages(user)
    audit.record("contract.archive.downloaded", actor=user, company_id=user.company_id,
                 detail={"packages": [p.id for p in packages]})
    return packages


def archive_name(at: Any = None) -> str:
    return f"契約書一括_{to_jst(at or now()):%Y%m%d}.zip"


class _Sink(io.RawIOBase):
    """Unseekable write target; ``drain`` hands over what zipfile wrote so far."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def stream_zip(packages: list[ArchivedPackage]) -> Iterator[bytes]:
    """The archive, one chunk per stored file (needs an app context, no database)."""
    store = get_file_store()
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=6) as archive:
        for package in packages:
            used: set[str] = set()
            for n, document in enumerate(package.contract_documents, 1):
                name = _unique(f"{n:02d}_{safe_name(document.title)}.pdf", used)
                archive.writestr(f"{package.folder}/{name}", store.get(document.current_key))
                yield sink.drain()
            report = render(package, build(package), now())
            # pyHanko's reader holds the document in reference cycles: free it now,
            # not when the collector next runs (memory would grow by a file a package).
            gc.collect(1)
            archive.writestr(f"{package.folder}/{REPORT_NAME}", report)
            yield sink.drain()
    yield sink.drain()


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 2
    while candidate in used:
        stem, dot, ext = name.rpartition(".")
        candidate = f"{stem}_{n}{dot}{ext}"
        n += 1
    used.add(candidate)
    return candidate
