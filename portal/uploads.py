"""One upload pipeline (KYC-3, KYC-4; issue #15 item 3) for identity documents
(KYC), paper powers of attorney (USR-3) and contract PDFs (CON-1).

``receive`` takes one file through each check once, in this order:

1. name (NFC, no control or separator characters, an allowed extension) and
   size (never empty, within the limit): nothing has read or scanned the
   content yet, so an oversize file never reaches the scanner;
2. the virus scan starts in a helper thread (it waits on the scanner's socket);
3. meanwhile the content type is proven by magic bytes, then the caller's own
   checks run (PDF structure, allowed formats);
4. the encrypted write into the file store overlaps the end of the scan;
5. the verdict: infected → the blob is deleted and the refusal audited; no
   verdict → the bytes are held (quarantine) or refused, as the caller says;
6. the caller keeps the file (its row) and the pipeline audits it.

A file refused for its content still waits for its verdict, so malware in
disguise is refused (and audited) as malware. Each caller supplies only what
differs: an ``UploadPolicy`` (extensions, size limit, store kind, extra checks,
audit actions, quarantine or refusal without a verdict) and the scanner, which
``kyc.interfaces.scanner_from_config`` chooses by configuration (a shared module
never imports an area, so the scanner comes in as an argument).
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from portal import audit
from portal.errors import DomainError
from portal.filestore import get_file_store
from portal.i18n import gettext
from portal.scanning import ScannerUnavailable, ScanResult, UnavailableReason, VirusScanner
from portal.validation import clean_file_name

# --- refusals (each with the Japanese message the user sees, on the field "file") ---------

SCAN_PENDING_MESSAGE = "ウイルススキャン中です。しばらく時間を置いてから再度操作をしてください"


class UploadRejected(DomainError):
    """A file was refused; nothing of it is stored."""

    code = "rejected"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


class NoFile(UploadRejected):
    code = "no_file"

    def __init__(self) -> None:
        super().__init__("ファイルを選択してください。")


class BadFilename(UploadRejected):
    code = "bad_filename"


class ExtensionNotAllowed(UploadRejected):
    code = "extension"


class EmptyFile(UploadRejected):
    code = "empty"

    def __init__(self) -> None:
        super().__init__("ファイルの中身が空です（0バイト）。内容のあるファイルを選択してください。")


class FileTooLarge(UploadRejected):
    code = "too_large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(gettext(
            "ファイルサイズが上限（%(size)s）を超えています。%(size)s以下のファイルを選択してください。",
            size=format_size(limit_bytes)))


class ContentMismatch(UploadRejected):
    code = "content_mismatch"


class Infected(UploadRejected):
    code = "infected"

    def __init__(self, signature: str) -> None:
        super().__init__(
            "ファイルからウイルスが検出されたため、アップロードできません。"
            "ファイルを確認のうえ、別のファイルを選択してください。"
        )
        self.signature = signature


class ScanPending(DomainError):
    """The scanner could not answer; the bytes wait encrypted in quarantine (KYC-4)."""

    status_code = 202

    def __init__(self) -> None:
        super().__init__(SCAN_PENDING_MESSAGE, field="file")


def format_size(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)}MB"
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f}MB"
    return f"{n // 1024}KB" if n >= 1024 else gettext("%(n)sバイト", n=n)


# --- formats ------------------------------------------------------------------------------

# Every extension the pipeline can prove by content (KYC-3's list, also the PoA's).
DOCUMENT_EXTENSIONS = ("docx", "xlsx", "pdf", "jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff")
MAX_FILENAME_CHARS = 255
_OOXML_TYPES_LIMIT = 1024 * 1024

FORMAT_LABELS = {
    "pdf": "PDF",
    "jpeg": "JPEG画像",
    "png": "PNG画像",
    "gif": "GIF画像",
    "bmp": "BMP画像",
    "tiff": "TIFF画像",
    "docx": "Word文書（.docx）",
    "xlsx": "Excelファイル（.xlsx）",
}

EXTENSION_FORMAT = {
    "pdf": "pdf", "jpg": "jpeg", "jpeg": "jpeg", "png": "png", "gif": "gif",
    "bmp": "bmp", "tif": "tiff", "tiff": "tiff", "docx": "docx", "xlsx": "xlsx",
}

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# Formats a browser can show inline without running anything (staff preview).
PREVIEWABLE_IMAGES = frozenset({"jpeg", "png", "gif", "bmp"})


@dataclass(frozen=True)
class CheckedName:
    original: str  # NFC, kept as metadata only; never used as a storage name
    extension: str  # lower case, without the dot

    @property
    def format(self) -> str:
        return EXTENSION_FORMAT[self.extension]


def check_filename(name: str | None,
                   extensions: tuple[str, ...] = DOCUMENT_EXTENSIONS) -> CheckedName:
    if name is None or not name.strip():
        raise NoFile()
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise BadFilename("ファイル名に使用できない文字（NUL などの制御文字）が含まれています。"
                          "ファイル名を変更してから選択してください。")
    if "/" in name or "\\" in name:
        raise BadFilename("ファイル名にフォルダの区切り文字（/ や \\）は使用できません。"
                          "ファイル名を変更してから選択してください。")
    name = clean_file_name(name)  # NFC; bidi and zero-width characters removed
    if len(name) > MAX_FILENAME_CHARS:
        raise BadFilename(gettext(
            "ファイル名が長すぎます。%(n)s文字以内のファイル名にしてください。",
            n=MAX_FILENAME_CHARS))
    stem, dot, ext = name.rpartition(".")
    ext = ext.lower()
    if not dot or ext not in extensions:
        raise ExtensionNotAllowed(gettext(
            "アップロードできるファイルの拡張子は%(extensions)sです。",
            extensions=",".join(extensions)))
    if not stem.strip(" ."):
        raise BadFilename("ファイル名を確認してください"
                          "（拡張子だけのファイル名は使用できません）。")
    return CheckedName(original=name, extension=ext)


def check_size(size: int, limit: int) -> None:
    if size <= 0:
        raise EmptyFile()
    if size > limit:
        raise FileTooLarge(limit)


def _is_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-4096:]


def _is_jpeg(data: bytes) -> bool:
    return data.startswith(b"\xff\xd8\xff")


def _is_png(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"


def _is_gif(data: bytes) -> bool:
    return data[:6] in (b"GIF87a", b"GIF89a")


def _is_bmp(data: bytes) -> bool:
    if len(data) < 26 or not data.startswith(b"BM"):
        return False
    pixel_offset = int.from_bytes(data[10:14], "little")
    dib_size = int.from_bytes(data[14:18], "little")
    return dib_size in {12, 40, 52, 56, 64, 108, 124} and 14 + dib_size <= pixel_offset <= len(data)


def _is_tiff(data: bytes) -> bool:
    return data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _ooxml(main_dir: str, main_content_type: bytes) -> Callable[[bytes], bool]:
    """A real OOXML package: a zip with [Content_Types].xml declaring the main part."""

    def check(data: bytes) -> bool:
        if not data.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()
                if "[Content_Types].xml" not in names:
                    return False
                if not any(n.startswith(main_dir) for n in names):
                    return False
                if archive.getinfo("[Content_Types].xml").file_size > _OOXML_TYPES_LIMIT:
                    return False
                types = archive.read("[Content_Types].xml")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError,
                ValueError, EOFError, OSError):
            return False
        return main_content_type in types

    return check


SNIFFERS: dict[str, Callable[[bytes], bool]] = {
    "pdf": _is_pdf,
    "jpeg": _is_jpeg,
    "png": _is_png,
    "gif": _is_gif,
    "bmp": _is_bmp,
    "tiff": _is_tiff,
    "docx": _ooxml(
        "word/",
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ),
    "xlsx": _ooxml(
        "xl/", b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    ),
}


def identify(data: bytes) -> str | None:
    """What the bytes really are, as far as the known formats go."""
    for fmt, sniff in SNIFFERS.items():
        if sniff(data):
            return fmt
    return None


def _looks_like_markup(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<")


def check_content(data: bytes, checked: CheckedName) -> str:
    """The format the bytes prove, or a refusal saying what they are instead."""
    fmt = checked.format
    if SNIFFERS[fmt](data):
        return fmt
    message = gettext("ファイルの内容が拡張子（.%(extension)s）と一致しません。",
                      extension=checked.extension)
    actual = identify(data)
    if actual is not None:
        message += gettext("このファイルの内容は%(format)sです。",
                           format=gettext(FORMAT_LABELS[actual]))
    elif _looks_like_markup(data):
        message += gettext("HTML・SVG などのテキストファイルはアップロードできません。")
    message += gettext("%(format)sのファイルを選択してください。",
                       format=gettext(FORMAT_LABELS[fmt]))
    raise ContentMismatch(message)


# --- the pipeline ---------------------------------------------------------------------------

ContentCheck = Callable[[bytes, str], None]
"""A caller's own check of the proven bytes ``(data, format)``; raises a ``DomainError``."""


@dataclass(frozen=True)
class UploadAudit:
    """The caller's audit actions; ``None``: that outcome is not audited here."""

    refused: str | None = None
    infected: str | None = None
    stored: str | None = None
    quarantined: str | None = None


@dataclass(frozen=True)
class UploadPolicy:
    """What differs between the callers of the one pipeline."""

    limit: int
    audit: UploadAudit
    store_kind: str | None  # None: checked only; the caller stores it later (contract PDFs)
    extensions: tuple[str, ...] = DOCUMENT_EXTENSIONS
    checks: tuple[ContentCheck, ...] = ()
    quarantine: bool = False  # no verdict: hold the encrypted bytes (True) or refuse (False)


@dataclass(frozen=True)
class AuditTo:
    """Who uploads, and what a refusal is recorded against."""

    actor: Any
    target: Any = None
    company_id: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    name: CheckedName
    format: str
    size: int
    sha256: str
    key: str | None = None  # the encrypted blob; None when the policy stores nothing
    unscanned: UnavailableReason | None = None  # held in quarantine: no verdict yet

    @property
    def held(self) -> bool:
        return self.unscanned is not None


T = TypeVar("T")

# The scan and the encrypted write wait on sockets and disks, not on the CPU;
# no task waits on another, and a scan ends by CLAMD_TIMEOUT at the latest.
_helpers = ThreadPoolExecutor(max_workers=32, thread_name_prefix="upload")


def receive(filename: str | None, data: bytes, policy: UploadPolicy, *,
            scanner: VirusScanner, audit_to: AuditTo, keep: Callable[[Received], T]) -> T:
    """Check, scan, encrypt and store one file, each once; ``keep`` records it
    (e.g. its row, which the stored/quarantined audit entry points at).

    Refusals raise (``Infected`` and other ``DomainError``s) after their audit
    entry is added (the caller commits so it survives). Without a verdict the
    file is held (``Received.held``) if the policy quarantines, else
    ``ScannerUnavailable`` is raised and nothing is stored."""
    try:
        received = _inspect(filename, data, policy, scanner, hold=policy.quarantine)
    except DomainError as refusal:
        _audit_refusal(policy.audit, audit_to, refusal, filename, data)
        raise
    kept = keep(received)
    action = policy.audit.quarantined if received.held else policy.audit.stored
    _record(action, audit_to, kept, _kept_detail(received))
    return kept


def recheck(filename: str | None, data: bytes, policy: UploadPolicy, *,
            scanner: VirusScanner, audit_to: AuditTo) -> Received:
    """The checks and a new scan of bytes already held in quarantine (a retry):
    refusals audited as on upload; ``ScannerUnavailable`` while there is still
    no verdict. Nothing is written."""
    try:
        return _inspect(filename, data, policy, scanner, hold=False, write=False)
    except DomainError as refusal:
        _audit_refusal(policy.audit, audit_to, refusal, filename, data)
        raise


def _inspect(filename: str | None, data: bytes, policy: UploadPolicy, scanner: VirusScanner,
             *, hold: bool, write: bool = True) -> Received:
    name = check_filename(filename, policy.extensions)
    check_size(len(data), policy.limit)
    scan = _helpers.submit(scanner.scan, data)
    try:
        fmt = check_content(data, name)
        for check in policy.checks:
            check(data, fmt)
    except DomainError:
        _verdict_if_any(scan)  # malware in disguise is refused as malware
        raise
    written = None
    if write and policy.store_kind is not None:
        written = _helpers.submit(get_file_store().put, data, kind=policy.store_kind)
    digest = hashlib.sha256(data).hexdigest()
    try:
        _verdict(scan)
    except ScannerUnavailable as unavailable:
        if not hold or written is None:
            _discard(written)
            raise
        return Received(name, fmt, len(data), digest, written.result(), unavailable.reason)
    except Infected:
        _discard(written)
        raise
    return Received(name, fmt, len(data), digest, written.result() if written else None)


def _verdict(scan: Future[ScanResult]) -> None:
    """Raises ``Infected`` or ``ScannerUnavailable``; returns only for a clean file."""
    result = scan.result()
    if result.infected:
        raise Infected(result.signature or "unknown")


def _verdict_if_any(scan: Future[ScanResult]) -> None:
    try:
        _verdict(scan)
    except ScannerUnavailable:
        pass  # refused for its content anyway; nothing to keep


def _discard(written: Future[str] | None) -> None:
    if written is not None:
        get_file_store().delete(written.result())


def _audit_refusal(actions: UploadAudit, to: AuditTo, refusal: DomainError,
                   filename: str | None, data: bytes) -> None:
    detail: dict[str, Any] = {"reason": getattr(refusal, "code", "rejected"), "size": len(data),
                              "name": clean_file_name(filename or "")[:300]}
    if data:
        detail["sha256"] = hashlib.sha256(data).hexdigest()
    if isinstance(refusal, Infected):
        detail["signature"] = refusal.signature
    _record(actions.infected if isinstance(refusal, Infected) else actions.refused,
            to, to.target, detail)


def _kept_detail(received: Received) -> dict[str, Any]:
    detail: dict[str, Any] = {"format": received.format, "size": received.size,
                              "sha256": received.sha256}
    if received.unscanned is not None:
        detail["reason"] = str(received.unscanned)
    return detail


def _record(action: str | None, to: AuditTo, target: Any, detail: dict[str, Any]) -> None:
    if action is not None:
        audit.record(action, actor=to.actor, target=target, company_id=to.company_id,
                     detail={**to.detail, **detail})
