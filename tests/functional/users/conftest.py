"""Fixtures of the users area: a real signing service process (its OTP mail
goes to the test SMTP sink), credentials for users, and logged-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from portal.auth.services import new_mypage_id
from portal.certs.models import CertState, SigningCertificate
from portal.extensions import db
from remote_signing.client import SigningClient
from remote_signing.service.config import DEV_PORTAL_SECRET
from remote_signing.testing import ServiceProcess
from tests.conftest import DEFAULT_PASSWORD, SmtpSink, login_customer

PIN = "PoaSign2026!"


@pytest.fixture(scope="session")
def signing_service(tmp_path_factory: pytest.TempPathFactory,
                    smtp_server: SmtpSink) -> Iterator[ServiceProcess]:
    workdir = tmp_path_factory.mktemp("users-signing")
    service = ServiceProcess(workdir, smtp_port=smtp_server.port,
                             env={"RS_KDF_MEMORY_KIB": "8192", "RS_KDF_TIME_COST": "1"})
    service.start(timeout=60)
    yield service
    service.stop()


@pytest.fixture
def app_config(app_config: dict[str, Any], signing_service: ServiceProcess) -> dict[str, Any]:
    return {**app_config, "SIGNING_SERVICE_URL": signing_service.url,
            "SIGNING_CLIENT_ID": "portal", "SIGNING_CLIENT_SECRET": DEV_PORTAL_SECRET}


@pytest.fixture
def rs_client(signing_service: ServiceProcess) -> Iterator[SigningClient]:
    client = SigningClient(signing_service.url, "portal", DEV_PORTAL_SECRET)
    yield client
    client.close()


class People:
    """Users with unique MyPageIDs (the signing service outlives each test)."""

    def __init__(self, factories: Any, rs: SigningClient) -> None:
        self.factories = factories
        self.rs = rs

    def user(self, company: Any, role: str = "representative", **values: Any) -> Any:
        user = self.factories.customer(company, role=role, **values)
        user.mypage_id = new_mypage_id()
        user.first_name = "太郎"  # the factory's "太郎<n>" is not full-width (APP-2)
        db.session.commit()
        return user

    def with_certificate(self, company: Any, role: str = "representative",
                         **values: Any) -> Any:
        user = self.user(company, role, **values)
        self.certify(user)
        return user

    def certify(self, user: Any) -> str:
        info = self.rs.create_credential(user_id=user.mypage_id, name=user.display_name,
                                         email=user.email, organization=user.company.name,
                                         pin=PIN)
        _mirror_in_portal(user, info)
        return info.credential_id

    def credential_statuses(self, user: Any) -> list[str]:
        return [self.rs.credential_info(c).status
                for c in self.rs.list_credentials(user_id=user.mypage_id)]


def _mirror_in_portal(user: Any, info: Any) -> None:
    """The portal-side record of the certificate, as 発行 adds it."""
    db.session.add(SigningCertificate(
        user_id=user.id, company_id=user.company_id, credential_id=info.credential_id,
        state=CertState.ACTIVE, pin_locked=False, serial_hex=info.serial_hex,
        subject=info.subject[:500], valid_from=info.valid_from, valid_to=info.valid_to,
        revocation_reason=""))
    db.session.commit()


@pytest.fixture
def people(factories: Any, rs_client: SigningClient) -> People:
    return People(factories, rs_client)


@pytest.fixture
def company(factories: Any) -> Any:
    return factories.company()


def login(client: Any, user: Any) -> Any:
    response = login_customer(client, user.email, DEFAULT_PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def other_client(app: Any) -> Any:
    return app.test_client()


