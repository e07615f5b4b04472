"""The virus scanner behind a door (KYC-4): the one place that chooses, by
configuration, which scanner the upload pipeline (``portal.uploads``) talks to.

``VIRUS_SCANNER`` is ``"clamd"`` (every profile: ``kyc.scanner.ClamdScanner``
at ``CLAMD_HOST``:``CLAMD_PORT`` with ``CLAMD_TIMEOUT``) or a factory
``(config) -> VirusScanner`` set in code (tests wrap the real clamd scanner to
count its calls). The protocol itself lives in the shared ``portal.scanning``
so that the shared pipeline never imports this area.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kyc.scanner import ClamdScanner
from portal.scanning import VirusScanner

ScannerFactory = Callable[[Mapping[str, Any]], VirusScanner]
BACKENDS: dict[str, ScannerFactory] = {"clamd": ClamdScanner.from_config}


def scanner_from_config(config: Mapping[str, Any]) -> VirusScanner:
    """Read per call, so a changed ``CLAMD_PORT`` takes effect at the next upload."""
    backend = config.get("VIRUS_SCANNER", "clamd")
    if callable(backend):
        scanner: VirusScanner = backend(config)
        return scanner
    if backend not in BACKENDS:
        raise ValueError(f"VIRUS_SCANNER: unknown scanner {backend!r} "
                         f"(known: {', '.join(BACKENDS)})")
    return BACKENDS[backend](config)
