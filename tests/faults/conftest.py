"""Fault fixtures (issue #12 item 5): every component a test stops or kills is
its own private process on a free port; the shared services of
scripts/services.sh are never touched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from portal.contracts.models import ContractPackage
from portal.extensions import db
from remote_signing.testing import SmtpCapture
from tests.functional.contracts import conftest as contracts
from tests.functional.contracts.conftest import (
    create_package,
    customer_client,
    issue_credential,
    open_and_confirm,
)

from .support import HookProxy, SigningService

world = contracts.world  # the contract fixtures' people and sample PDF
contract_pdf = contracts.contract_pdf


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


# --- a package waiting for signatures (the contract faults) ---------------------------

@pytest.fixture
def package_id(signing_app: Any, world: Any, contract_pdf: bytes) -> int:
    issue_credential(signing_app, world.rep)
    issue_credential(signing_app, world.guarantor)
    return create_package(signing_app, world, contract_pdf, send=True)


@pytest.fixture
def people(world: Any, package_id: int) -> Any:
    """The logins as plain values: the audit check detaches the session's objects."""
    return SimpleNamespace(**{
        name: SimpleNamespace(email=getattr(world, name).email,
                              login_id=getattr(getattr(world, name), "login_id", ""))
        for name in ("rep", "guarantor", "staff")})


@pytest.fixture
def rep(signing_app: Any, people: Any, package_id: int) -> Any:
    client = customer_client(signing_app, people.rep)
    open_and_confirm(client, db.session.get(ContractPackage, package_id))
    return client
