"""Contract fixtures: a branch with staff, customers of that branch, sample PDFs
and a helper that prepares a package through the console."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import pytest

from portal.extensions import db
from remote_signing.sample import sample_pdf
from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff


@pytest.fixture(scope="session")
def contract_pdf() -> bytes:
    """The sample contract without its own /Title, so a document is titled after
    its file name (the title a PDF carries wins: test_document_titles.py)."""
    return untitled(sample_pdf())


def untitled(pdf: bytes) -> bytes:
    """``pdf`` with an empty /Title, blanked in place (every byte offset stays)."""
    return re.sub(rb"/Title \((?:\\.|[^\\)])*\)",
                  lambda m: b"/Title ()" + b" " * (len(m.group(0)) - 9), pdf, count=1)


@dataclass
class World:
    branch: Any
    staff: Any
    company: Any
    rep: Any
    signer: Any
    viewer: Any
    guarantor_company: Any
    guarantor: Any
    other_branch: Any
    other_staff: Any
    other_company: Any
    other_rep: Any


@pytest.fixture
def world(factories) -> World:
    branch = factories.branch("東京支店")
    staff = factories.staff(branch)
    company = factories.company(branch, name="株式会社テスト商事")
    rep = factories.customer(company, role="representative")
    signer = factories.customer(company, role="signer")
    viewer = factories.customer(company, role="viewer")
    g_company = factories.company(branch, kind="individual", name="保証 一郎")
    guarantor = factories.customer(g_company, role="representative")
    other_branch = factories.branch("大阪支店")
    other_staff = factories.staff(other_branch)
    other_company = factories.company(other_branch, name="株式会社よその会社")
    other_rep = factories.customer(other_company, role="representative")
    return World(branch, staff, company, rep, signer, viewer, g_company, guarantor,
                 other_branch, other_staff, other_company, other_rep)


def package_form(world: World, **overrides: Any) -> dict[str, Any]:
    form = {
        "application_date": "2026-04-01",
        "summary_type": "loan_with_guarantee",
        "loan_amount": "10,000,000",
        "planned_loan_date": "2026-04-15",
        "staff_in_charge_id": str(world.staff.id),
        "party-0-company": str(world.company.id),
        "party-0-position": "debtor",
        "party-1-company": str(world.guarantor_company.id),
        "party-1-position": "guarantor",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def with_files(form: dict[str, Any], pdf: bytes, *, contracts: int = 2,
               important: bytes | None = None) -> dict[str, Any]:
    data = dict(form)
    data["contract_files"] = [(io.BytesIO(pdf), f"金銭消費貸借契約書{n + 1}.pdf")
                              for n in range(contracts)]
    data["important_file"] = (io.BytesIO(important or pdf), "重要事項説明書.pdf")
    return data


def staff_client(app, staff) -> Any:
    client = app.test_client()
    assert login_staff(client, staff.login_id, DEFAULT_PASSWORD).status_code == 302
    return client


def conclude_as_staff(app, world, package_id: int) -> None:
    """The branch staff concludes with the bank's seal (password re-entered)."""
    staff = staff_client(app, world.staff)
    detail = f"/console/contracts/{package_id}"
    assert staff.post_form(f"{detail}/conclude", {"password": DEFAULT_PASSWORD},
                           token_page=detail).status_code == 302
    db.session.expire_all()


def customer_client(app, user) -> Any:
    client = app.test_client()
    assert login_customer(client, user.email, DEFAULT_PASSWORD).status_code == 302
    return client


def create_package(app, world: World, pdf: bytes, *, send: bool = False, **overrides: Any) -> int:
    client = staff_client(app, world.staff)
    response = client.post_form("/console/contracts/new",
                                with_files(package_form(world, **overrides), pdf),
                                token_page="/console/contracts/new",
                                content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    package_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    if send:
        sent = client.post_form(f"/console/contracts/{package_id}/send",
                                token_page=f"/console/contracts/{package_id}")
        assert sent.status_code == 302
    db.session.expire_all()
    return package_id


# --- the signing service as a real process ------------------------------------------------

PIN = "Keiyaku2026!"


@pytest.fixture(scope="session")
def rs_mail():
    from remote_signing.testing import SmtpCapture

    sink = SmtpCapture().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def rs_service(tmp_path_factory, rs_mail):
    from remote_signing.testing import ServiceProcess

    # The PIN KDF's cost is the signing service's own tests' subject, not these.
    proc = ServiceProcess(tmp_path_factory.mktemp("contracts-rs"), smtp_port=rs_mail.port,
                          env={"RS_KDF_MEMORY_KIB": "8192", "RS_KDF_TIME_COST": "1"}).start()
    yield proc
    proc.stop()


@pytest.fixture
def signing_app(app, rs_service):
    """The portal app pointed at the real signing service process."""
    from remote_signing.service.config import DEV_CONSOLE_SECRET, DEV_PORTAL_SECRET

    app.config.update(SIGNING_SERVICE_URL=rs_service.url, SIGNING_CLIENT_ID="portal",
                      SIGNING_CLIENT_SECRET=DEV_PORTAL_SECRET,
                      SIGNING_CONSOLE_CLIENT_ID="console",
                      SIGNING_CONSOLE_CLIENT_SECRET=DEV_CONSOLE_SECRET)
    return app


def issue_credential(app, user, pin: str = PIN) -> str:
    from portal.certs.models import CertState, SigningCertificate
    from remote_signing.client import SigningClient

    client = SigningClient.from_config(app.config)
    try:
        info = client.create_credential(user_id=user.mypage_id, name=user.display_name,
                                        email=user.email, organization=user.company.name, pin=pin)
    finally:
        client.close()
    # the certificates area's portal-side record, as 発行 creates it
    db.session.add(SigningCertificate(
        user_id=user.id, company_id=user.company_id, credential_id=info.credential_id,
        state=CertState.ACTIVE, pin_locked=False, serial_hex=info.serial_hex,
        subject=info.subject[:500], valid_from=info.valid_from, valid_to=info.valid_to,
        revocation_reason=""))
    db.session.commit()
    return info.credential_id


def open_and_confirm(client, package) -> None:
    for doc in package.documents:
        assert client.get(f"/contracts/{package.id}/documents/{doc.id}").status_code == 200
    page = f"/contracts/{package.id}/confirm"
    response = client.post_form(page, {"important_confirmed": "1", "documents_confirmed": "1"},
                                token_page=page)
    assert response.status_code == 302, response.get_data(as_text=True)


def send_pin(client, package_id: int, pin: str = PIN) -> Any:
    """1. PIN入力 → 送信 (SIGN-2): the service checks the PIN and mails the code."""
    page = f"/contracts/{package_id}/sign/pin"
    return client.post_form(page, {"pin": pin}, token_page=page)


def enter_code(client, package_id: int, code: str) -> Any:
    """2. 認証コード入力 → 認証."""
    page = f"/contracts/{package_id}/sign/code"
    return client.post_form(page, {"otp": code}, token_page=page)


def execute_signature(client, package_id: int) -> Any:
    """電子署名."""
    page = f"/contracts/{package_id}/sign/execute"
    return client.post_form(page, {}, token_page=page)


def mails_to(sink, email: str) -> int:
    return sum(1 for m in sink.messages if email in str(m["To"]))


def sign_via_dialog(client, package_id: int, user, rs_mail, pin: str = PIN) -> Any:
    """PIN (送信) → code from the mail (認証) → 電子署名."""
    before = len(rs_mail.messages)
    sent = send_pin(client, package_id, pin)
    assert sent.status_code == 302, sent.get_data(as_text=True)
    code = rs_mail.otp_for(user.email, before)
    assert enter_code(client, package_id, code).status_code == 302
    return execute_signature(client, package_id)
