"""One uploaded file through the checks and the scanner, without a database.

The service wraps this with quarantine, storage and audit. Order: name and
size first (so an oversize file never reaches clamd), then the content sniff,
then the scan. A file refused for its content is still offered to the
scanner, so malware in disguise shows up as malware in the audit log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from kyc.checks import CheckedName, check_content, check_filename, check_size
from kyc.errors import ContentMismatch, Infected
from kyc.interfaces import ScannerUnavailable, VirusScanner


@dataclass(frozen=True)
class InspectedFile:
    name: CheckedName
    format: str
    size: int
    sha256: str


def check_before_scan(filename: str | None, size: int, limit: int) -> CheckedName:
    checked = check_filename(filename)
    check_size(size, limit)
    return checked


def scan_or_raise(data: bytes, scanner: VirusScanner) -> None:
    """Raises ``Infected`` or ``ScannerUnavailable``; returns only for a clean file."""
    result = scanner.scan(data)
    if result.infected:
        raise Infected(result.signature or "unknown")


def inspect_upload(
    filename: str | None, data: bytes, *, limit: int, scanner: VirusScanner
) -> InspectedFile:
    checked = check_before_scan(filename, len(data), limit)
    try:
        fmt = check_content(data, checked)
    except ContentMismatch:
        try:
            scan_or_raise(data, scanner)
        except ScannerUnavailable:
            pass  # refused for its content anyway; nothing to keep
        raise
    scan_or_raise(data, scanner)
    return InspectedFile(checked, fmt, len(data), hashlib.sha256(data).hexdigest())
