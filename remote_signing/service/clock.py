"""The service's only source of time, so tests can freeze it (time_machine)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def now_seconds() -> datetime:
    """Whole seconds: NSS rejects OCSP/CRL times with fractions."""
    return now().replace(microsecond=0)
