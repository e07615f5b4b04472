"""Fault fixtures (issue #12 item 5): every component a test stops or kills is
its own private process on a free port; the shared services of
scripts/services.sh are never touched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remote_signing.testing import SmtpCapture
from tests.functional.contracts.conftest import contract_pdf, world  # noqa: F401  (fixtures)

from .support import HookProxy, SigningService


@pytest.fixture
def rs_mail() -> Iterator[SmtpCapture]:
    """The SMTP server the signing service mails codes to (private: tests stop it)."""
    sink = SmtpCapture().start()
    yield sink
    try:
        sink.stop()
    except Exception:  # noqa: BLE001  (already stopped by the test)
        pass


@pytest.fixture
def rs(tmp_path: Path, rs_mail: SmtpCapture) -> Iterator[SigningService]:
    service = SigningService(tmp_path / "rs", smtp_port=rs_mail.port).start()
    yield service
    service.stop()


@pytest.fixture
def rs_proxy(rs: SigningService) -> Iterator[HookProxy]:
    proxy = HookProxy(rs.url).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def signing_app(app: Any, rs_proxy: HookProxy) -> Any:
    """The portal talks to its private signing service through the proxy."""
    from remote_signing.service.config import DEV_CONSOLE_SECRET, DEV_PORTAL_SECRET

    app.config.update(SIGNING_SERVICE_URL=rs_proxy.url, SIGNING_CLIENT_ID="portal",
                      SIGNING_CLIENT_SECRET=DEV_PORTAL_SECRET,
                      SIGNING_CONSOLE_CLIENT_ID="console",
                      SIGNING_CONSOLE_CLIENT_SECRET=DEV_CONSOLE_SECRET)
    return app
