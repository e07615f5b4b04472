"""KYC functional fixtures: a private real clamd, two branches, customers
and staff, and helpers that drive the screens through the test client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from kyc import devtools
from kyc.devtools import ClamdProcess

DEFAULT_PASSWORD = "Passw0rdTest1"


@pytest.fixture(scope="session")
def kyc_clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClamdProcess]:
    daemon = ClamdProcess(tmp_path_factory.mktemp("kyc-clamd")).start()
    yield daemon
    daemon.stop()


@pytest.fixture
def app_config(app_config: dict[str, Any], kyc_clamd: ClamdProcess) -> dict[str, Any]:
    app_config.update(CLAMD_HOST="127.0.0.1", CLAMD_PORT=kyc_clamd.port, CLAMD_TIMEOUT=5.0)
    return app_config


@dataclass
class World:
    branch: Any
    other_branch: Any
    staff: Any
    other_staff: Any
    admin: Any
    company: Any
    user: Any
    colleague: Any


@pytest.fixture
def world(factories: Any) -> World:
    branch = factories.branch("東京支店")
    other_branch = factories.branch("大阪支店")
    company = factories.company(branch)
    return World(
        branch=branch, other_branch=other_branch,
        staff=factories.staff(branch), other_staff=factories.staff(other_branch),
        admin=factories.staff(None, role="bank_admin"),
        company=company, user=factories.customer(company),
        colleague=factories.customer(company, role="administrator"),
    )


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


JPEG = devtools.sample_image("JPEG")  # the files ``submit_complete`` uploads
PDF = devtools.sample_pdf()


class KycDriver:
    """Drives the MyPage KYC screens for one logged-in customer."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def token(self, page: str = "/mypage/kyc/consent") -> str:
        html = self.client.get(page).get_data(as_text=True)
        found = CSRF_RE.search(html)
        assert found, f"no CSRF token on {page}"
        return found.group(1)

    def login(self, user: Any) -> None:
        response = self.client.post_form("/login", {"identifier": user.mypage_id,
                                                    "password": DEFAULT_PASSWORD})
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]

    def agree(self) -> int:
        response = self.client.post("/mypage/kyc/consent", data={
            "csrf_token": self.token(), "understood": "1", "decision": "agree"})
        assert response.status_code == 302, response.get_data(as_text=True)[:800]
        return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])

    def choose(self, submission_id: int, category: str, code: str) -> Any:
        return self.client.post(f"/mypage/kyc/{submission_id}/type", data={
            "csrf_token": self.token(), "category": category, "document_type": code})

    def upload(self, submission_id: int, category: str, slot: str, name: str,
               data: bytes) -> Any:
        return self.client.post(
            f"/mypage/kyc/{submission_id}/files",
            data={"csrf_token": self.token(), "category": category, "slot": slot,
                  "file": (BytesIO(data), name)},
            content_type="multipart/form-data",
        )

    def post(self, url: str, **data: Any) -> Any:
        return self.client.post(url, data={"csrf_token": self.token(), **data})

    def submit_complete(self) -> int:
        """Consent, a driver's licence (front JPEG, back PDF) and a business card:
        a complete submission sent for review; returns its id."""
        sid = self.agree()
        self.choose(sid, "identity", "drivers_license")
        self.choose(sid, "employment", "business_card")
        assert self.upload(sid, "identity", "front", "front.jpg", JPEG).status_code == 302
        assert self.upload(sid, "identity", "back", "back.pdf", PDF).status_code == 302
        assert self.upload(sid, "employment", "card", "card.jpg", JPEG).status_code == 302
        assert self.post(f"/mypage/kyc/{sid}/submit").status_code == 302
        return sid


class StaffDriver:
    def __init__(self, client: Any) -> None:
        self.client = client

    def login(self, staff: Any) -> None:
        response = self.client.post_form("/console/login", {"login_id": staff.login_id,
                                                            "password": DEFAULT_PASSWORD},
                                         token_page="/console/login")
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]

    def post(self, url: str, **data: Any) -> Any:
        html = self.client.get("/console/logout").get_data(as_text=True)
        token = CSRF_RE.search(html)
        assert token, "no CSRF token on the console logout page"
        return self.client.post(url, data={"csrf_token": token.group(1), **data})


@pytest.fixture
def kyc(client: Any) -> KycDriver:
    return KycDriver(client)


@pytest.fixture
def staff_client(app: Any) -> StaffDriver:
    return StaffDriver(app.test_client())


def stored_blobs(app: Any) -> list[Path]:
    root = Path(app.config["FILESTORE_PATH"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
