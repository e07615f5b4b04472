"""The virus scanner's door (KYC-4): what the upload pipeline (``portal.uploads``)
asks of any scanner. Which scanner answers is chosen by configuration behind
``kyc.interfaces.scanner_from_config`` (clamd in every profile); this shared
module only states the protocol, so the pipeline imports no area.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class UnavailableReason(StrEnum):
    DOWN = "down"  # refused or reset: the daemon is not running
    TIMEOUT = "timeout"  # accepted but no answer in time: busy (queue full) or hung
    ERROR = "error"  # the daemon answered ERROR (e.g. its stream limit)


class ScannerUnavailable(Exception):
    """No verdict: the caller must keep the bytes in quarantine, never accept them."""

    def __init__(self, reason: UnavailableReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ScanResult:
    infected: bool
    signature: str | None = None

    @classmethod
    def clean(cls) -> ScanResult:
        return cls(infected=False)

    @classmethod
    def found(cls, signature: str) -> ScanResult:
        return cls(infected=True, signature=signature)


class VirusScanner(Protocol):
    def scan(self, data: bytes) -> ScanResult:
        """A verdict for ``data``, or ``ScannerUnavailable``."""
        ...
