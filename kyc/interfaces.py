"""The virus scanner behind a door (KYC-4): the one place that chooses, by
configuration, which scanner the upload pipeline (``portal.uploads``) talks to.

``VIRUS_SCANNER`` is ``"clamd"`` (every profile: ``kyc.scanner.ClamdScanner``
at ``CLAMD_HOST``:``CLAMD_PORT`` with ``CLAMD_TIMEOUT``) or a factory
``(config) -> VirusScanner`` set in code (tests wrap the real clamd scanner to
count its calls). ``check_scanner_setting`` runs in the app factory, so an
unknown name stops the start, not the first upload. The protocol itself lives
in the shared ``portal.scanning`` so that the shared pipeline never imports
this area.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kyc.scanner import ClamdScanner
from portal.config import ConfigError
from portal.scanning import VirusScanner

ScannerFactory = Callable[[Mapping[str, Any]], VirusScanner]
BACKENDS: dict[str, ScannerFactory] = {"clamd": ClamdScanner.from_config}


def check_scanner_setting(config: Mapping[str, Any]) -> None:
    """``VIRUS_SCANNER`` names a known scanner or is a factory set in code."""
    backend = config.get("VIRUS_SCANNER", "clamd")
    if not callable(backend) and backend not in BACKENDS:
        raise ConfigError(f"VIRUS_SCANNER: unknown scanner {backend!r} (allowed: "
                          f"{', '.join(BACKENDS)}, or in code a factory (config) -> VirusScanner)")


def scanner_from_config(config: Mapping[str, Any]) -> VirusScanner:
    """Read per call, so a changed ``CLAMD_PORT`` takes effect at the next upload."""
    check_scanner_setting(config)
    backend = config.get("VIRUS_SCANNER", "clamd")
    if callable(backend):
        scanner: VirusScanner = backend(config)
        return scanner
    return BACKENDS[backend](config)
