"""The issue's "Bad input" list through the upload pipeline's checks and the
real clamd (KYC-3, KYC-4), without storing or auditing anything."""

from __future__ import annotations

import hashlib
import time

import pytest

from kyc import devtools
from kyc.scanner import ClamdScanner
from portal.scanning import ScannerUnavailable
from portal.uploads import (
    AuditTo,
    BadFilename,
    ContentMismatch,
    EmptyFile,
    ExtensionNotAllowed,
    FileTooLarge,
    Infected,
    Received,
    UploadAudit,
    UploadPolicy,
    recheck,
)

LIMIT = 10 * 1024 * 1024


POLICY = UploadPolicy(limit=LIMIT, audit=UploadAudit(), store_kind=None)


def inspect(name: str, data: bytes, scanner: ClamdScanner) -> Received:
    return recheck(name, data, POLICY, scanner=scanner, audit_to=AuditTo(actor=None))


def test_eicar_named_pdf_is_refused_as_a_virus(scanner: ClamdScanner) -> None:
    with pytest.raises(Infected) as refused:
        inspect("license.pdf", devtools.EICAR, scanner)
    assert refused.value.signature == "Portal.Test.EICAR.UNOFFICIAL"
    assert "ウイルスが検出されたため" in refused.value.message


def test_eicar_inside_a_docx_is_found(scanner: ClamdScanner) -> None:
    docx = devtools.sample_docx({"word/media/eicar.bin": devtools.EICAR})
    with pytest.raises(Infected):
        inspect("在籍証明書.docx", docx, scanner)


def test_eicar_appended_to_a_valid_pdf_is_found(scanner: ClamdScanner) -> None:
    with pytest.raises(Infected):
        inspect("license.pdf", devtools.sample_pdf() + devtools.EICAR, scanner)


def test_png_renamed_pdf_is_refused(scanner: ClamdScanner) -> None:
    with pytest.raises(ContentMismatch, match="PNG画像です"):
        inspect("license.pdf", devtools.sample_image("PNG"), scanner)


@pytest.mark.parametrize("body", [b"<html><body>hi</body></html>",
                                  b"<svg xmlns='http://www.w3.org/2000/svg'/>"])
def test_html_or_svg_renamed_jpg_is_refused(body: bytes, scanner: ClamdScanner) -> None:
    with pytest.raises(ContentMismatch, match="HTML・SVG"):
        inspect("face.jpg", body, scanner)


def test_empty_file_is_refused(scanner: ClamdScanner) -> None:
    with pytest.raises(EmptyFile):
        inspect("license.pdf", b"", scanner)


def test_eleven_megabytes_never_reaches_clamd(silent_listener) -> None:  # type: ignore[no-untyped-def]
    # The "scanner" is a socket that counts connections: the refusal must come first.
    counting = ClamdScanner("127.0.0.1", silent_listener.port, timeout=5.0)
    big = devtools.sample_pdf() + b"\x00" * (11 * 1024 * 1024)
    started = time.monotonic()
    with pytest.raises(FileTooLarge, match="上限（10MB）"):
        inspect("license.pdf", big, counting)
    assert time.monotonic() - started < 1
    assert silent_listener.connections == 0


@pytest.mark.parametrize("name, error", [
    ("../../license.pdf", BadFilename),
    ("license\x00.pdf", BadFilename),
    ("あ" * 296 + ".pdf", BadFilename),
    ("license.exe", ExtensionNotAllowed),
])
def test_bad_names_are_refused_before_scanning(name: str, error: type[Exception],
                                               silent_listener) -> None:  # type: ignore[no-untyped-def]
    counting = ClamdScanner("127.0.0.1", silent_listener.port, timeout=5.0)
    with pytest.raises(error):
        inspect(name, devtools.sample_pdf(), counting)
    assert silent_listener.connections == 0


@pytest.mark.parametrize("name, make", [
    ("license.pdf", devtools.sample_pdf),
    ("face.jpg", lambda: devtools.sample_image("JPEG")),
    ("face.png", lambda: devtools.sample_image("PNG")),
    ("face.tiff", lambda: devtools.sample_image("TIFF")),
    ("在籍証明書.docx", devtools.sample_docx),
    ("在籍証明書.xlsx", devtools.sample_xlsx),
])
def test_clean_files_are_accepted_after_a_real_scan(name: str, make, scanner: ClamdScanner) -> None:  # type: ignore[no-untyped-def]
    data = make()
    inspected = inspect(name, data, scanner)
    assert inspected.size == len(data)
    assert inspected.sha256 == hashlib.sha256(data).hexdigest()
    assert inspected.name.original == name


def test_clean_file_with_scanner_down_is_never_accepted(silent_listener) -> None:  # type: ignore[no-untyped-def]
    down = ClamdScanner("127.0.0.1", silent_listener.port, timeout=0.3)
    with pytest.raises(ScannerUnavailable):
        inspect("license.pdf", devtools.sample_pdf(), down)


def test_content_mismatch_with_scanner_down_is_still_refused(silent_listener) -> None:  # type: ignore[no-untyped-def]
    down = ClamdScanner("127.0.0.1", silent_listener.port, timeout=0.3)
    with pytest.raises(ContentMismatch):
        inspect("license.pdf", devtools.sample_image("PNG"), down)
