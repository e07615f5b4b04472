"""Checks of a contract PDF uploaded by branch staff (CON-1).

One call, ``inspect_pdf``: the one upload pipeline (``portal.uploads``: name,
size, content, virus scan, KYC-3/4) with what only a contract adds: a PDF
pyHanko can sign incrementally (not broken, not encrypted, at least one page),
its label in every message, and no quarantine (without a verdict the form is
refused). An infected file is audited as ``contract.file.infected``. The PDF is
stored with its package once the whole form is valid (``services._store``).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from flask import current_app
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from kyc.interfaces import scanner_from_config
from portal.errors import DomainError
from portal.i18n import gettext
from portal.models import StaffUser
from portal.scanning import ScannerUnavailable
from portal.uploads import (
    AuditTo,
    ContentMismatch,
    Infected,
    Received,
    UploadAudit,
    UploadPolicy,
    UploadRejected,
    receive,
)
from portal.validation import clean_file_name

from .models import ContractPackage

log = logging.getLogger(__name__)

BROKEN = ("{label}のPDFファイルが壊れているため読み込めません。"
          "ファイルを確認のうえ、再度選択してください。")


class PdfRejected(DomainError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field=field)


class PdfInfected(PdfRejected):
    """The virus scan found malware: refused, and already audited as
    ``contract.file.infected`` (the caller commits although the form is refused)."""


# As ``kyc.file.infected``: who, which package (none while creating one), the
# field, the file's name, size, hash and the signature. Other refusals are not audited.
UPLOAD_AUDIT = UploadAudit(infected="contract.file.infected")


@dataclass(frozen=True)
class InspectedPdf:
    title: str
    data: bytes
    sha256: str


def _title(filename: str) -> str:
    name = clean_file_name(filename).replace("\\", "/").rsplit("/", 1)[-1]
    stem = name[:-4] if name.lower().endswith(".pdf") else name
    return stem.strip()[:200] or "契約書"


def _metadata_title(data: bytes) -> str:
    """The PDF's own title (/Title of its document information), or ""."""
    try:
        info = PdfFileReader(io.BytesIO(data), strict=False).trailer_view.get("/Info")
        title = info.get_object().get("/Title") if info is not None else None
    except (PdfError, KeyError, ValueError, TypeError, IndexError, AttributeError):
        return ""
    text = " ".join(str(title).split()) if title is not None else ""
    return "".join(c for c in text if c.isprintable())[:200]


def _check_structure(data: bytes, label: str, field: str) -> None:
    if not data.lstrip()[:5] == b"%PDF-":
        raise PdfRejected(f"{label}はPDFファイルではありません。"
                          "PDFファイルを選択してください。", field)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        encrypted = reader.encrypted
        pages = 0 if encrypted else int(reader.root["/Pages"]["/Count"])
    except (PdfError, KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        log.info("contract pdf refused as broken: %s", type(exc).__name__)
        raise PdfRejected(BROKEN.format(label=label), field) from exc
    if encrypted:
        raise PdfRejected(f"{label}のPDFファイルはパスワード等で保護（暗号化）されています。"
                          "保護を解除したPDFファイルを選択してください。", field)
    if pages < 1:
        raise PdfRejected(f"{label}のPDFファイルにページがありません。", field)


def upload_policy(label: str, field: str) -> UploadPolicy:
    def structure(data: bytes, _format: str) -> None:
        _check_structure(data, label, field)

    return UploadPolicy(limit=int(current_app.config["UPLOAD_MAX_BYTES"]), audit=UPLOAD_AUDIT,
                        store_kind=None, checks=(structure,))


def inspect_pdf(filename: str | None, data: bytes, *, label: str, field: str,
                actor: StaffUser, package: ContractPackage | None) -> InspectedPdf:
    """Refuse anything that is not a clean, readable, unencrypted PDF: the
    pipeline's checks (name, size, content sniff, PDF structure, virus scan)."""
    if not filename or not data:
        raise PdfRejected(f"{label}のファイルを選択してください。", field)
    if not filename.lower().endswith(".pdf"):
        raise PdfRejected(f"{label}はPDFファイル（.pdf）を選択してください。", field)
    try:
        received = receive(filename, data, upload_policy(label, field),
                           scanner=scanner_from_config(current_app.config),
                           audit_to=AuditTo(actor, package, detail={"field": field}),
                           keep=_checked_only)
    except ContentMismatch as exc:
        if data.lstrip()[:5] == b"%PDF-":  # a damaged PDF is told as broken, not as "not a PDF"
            raise PdfRejected(BROKEN.format(label=label), field) from exc
        raise PdfRejected(_labelled(label, exc.message), field) from exc
    except Infected as exc:
        log.warning("contract pdf infected: %s", exc.signature)
        raise PdfInfected(_labelled(label, exc.message), field) from exc
    except UploadRejected as exc:
        raise PdfRejected(_labelled(label, exc.message), field) from exc
    except ScannerUnavailable as exc:
        log.warning("contract pdf scan unavailable: %s", exc.reason)
        raise PdfRejected("ウイルススキャンを実行できませんでした。しばらく時間を置いてから"
                          "再度操作をしてください。", field) from exc
    # Its own /Title first: file names are often short codes ("kinsen") (#13 item 13)
    title = _metadata_title(data) or _title(filename)
    return InspectedPdf(title, data, received.sha256)


def _checked_only(received: Received) -> Received:
    return received


def _labelled(label: str, message: str) -> str:
    return gettext("%(label)s：%(message)s", label=gettext(label), message=gettext(message))
