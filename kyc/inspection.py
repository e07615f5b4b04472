"""One uploaded file through the checks and the scanner, without a database.

The service wraps this with quarantine, storage and audit. Order: name and
size first (so an oversize file never reaches clamd), then the scan runs in a
helper thread while this thread sniffs the content and hashes it (the scan
waits on clamd's socket, so the two overlap). A file refused for its content
is still scanned, so malware in disguise shows up as malware in the audit log.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from kyc.checks import CheckedName, check_content, check_filename, check_size
from kyc.errors import ContentMismatch, Infected
from kyc.interfaces import ScannerUnavailable, ScanResult, VirusScanner


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


T = TypeVar("T")


class Background(Generic[T]):
    """Runs ``fn`` in a helper thread; ``result()`` joins and re-raises its error.

    Used for work that waits on I/O (clamd's socket, the file store's write)
    so that it overlaps with the checks in the request thread."""

    def __init__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            self._value = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread by result()
            self._error = exc

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def _verdict(scan: Background[ScanResult]) -> None:
    """Raises ``Infected`` or ``ScannerUnavailable``; returns only for a clean file."""
    result = scan.result()
    if result.infected:
        raise Infected(result.signature or "unknown")


def scan_or_raise(data: bytes, scanner: VirusScanner) -> None:
    """Raises ``Infected`` or ``ScannerUnavailable``; returns only for a clean file."""
    result = scanner.scan(data)
    if result.infected:
        raise Infected(result.signature or "unknown")


def inspect_upload(
    filename: str | None, data: bytes, *, limit: int, scanner: VirusScanner
) -> InspectedFile:
    checked = check_before_scan(filename, len(data), limit)
    scan = Background(scanner.scan, data)
    try:
        fmt = check_content(data, checked)
    except ContentMismatch:
        try:
            _verdict(scan)
        except ScannerUnavailable:
            pass  # refused for its content anyway; nothing to keep
        raise
    digest = hashlib.sha256(data).hexdigest()
    _verdict(scan)
    return InspectedFile(checked, fmt, len(data), digest)
