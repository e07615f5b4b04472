"""Issue #12 item 5, CON-4/CON-6: ``kill -9`` of the portal's gunicorn worker
in the middle of 電子署名 and of 締結.

A private gunicorn (one worker) serves the test's database; the signing
service sits behind ``HookProxy``, whose hook SIGKILLs the worker at the
moment the worker asks for a signature (signHash; the seal's authorizeSignHash):
the signature is being made, nothing is stored yet. The browser loses its
answer; the master starts a new worker. Then
the package, its parties and its documents are as before (no half-signed
revision), the audit chain verifies, and doing it again succeeds."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from portal.contracts.models import ContractPackage
from portal.contracts.states import PackageState, PartyState
from portal.extensions import db
from remote_signing.protocol import API_PREFIX
from remote_signing.testing import SmtpCapture, free_port
from tests.conftest import DEFAULT_PASSWORD

from .contract_state import assert_audit_intact, snapshot
from .support import HookProxy, children, kill9_tree

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SIGN_HASH = f"{API_PREFIX}/signatures/signHash"
SEAL_SIGN = f"{API_PREFIX}/signatures/authorizeSignHash"  # 締結's seal: one call
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PIN = "Keiyaku2026!"


class Gunicorn:
    def __init__(self, config: dict[str, Any], workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        keys = ["DATABASE_URL", "MASTER_KEY", "SECRET_KEY", "FILESTORE_PATH", "SMTP_HOST",
                "SMTP_PORT", "BASE_URL", "SIGNING_SERVICE_URL", "SIGNING_CLIENT_ID",
                "SIGNING_CLIENT_SECRET", "SIGNING_CONSOLE_CLIENT_ID",
                "SIGNING_CONSOLE_CLIENT_SECRET", "DEV_MAILDIR"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        env.update({f"PORTAL_{k}": str(config[k]) for k in keys})
        env["PORTAL_MAINTENANCE_RECURRING_ENABLED"] = "0"
        self.log = workdir / "gunicorn.log"
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "1", "--threads", "2", "--timeout", "120", "--no-control-socket",
                 "wsgi:app"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/login", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not start: " + self.log.read_text()[-2000:])

    def worker(self) -> int:
        [pid] = children(self.proc.pid)
        return pid

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            kill9_tree(self.proc.pid)
            self.proc.wait(5)


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def get(self, page: str) -> requests.Response:
        return self.http.get(self.base + page, allow_redirects=False, timeout=120)

    def post(self, url: str, data: dict[str, str], token_page: str) -> requests.Response:
        found = CSRF_RE.search(self.get(token_page).text)
        assert found, f"no CSRF token on {token_page}"
        return self.http.post(self.base + url, data={**data, "csrf_token": found.group(1)},
                              allow_redirects=False, timeout=120)


@pytest.fixture
def portal(signing_app: Any, tmp_path: Path, package_id: int) -> Iterator[Gunicorn]:
    db.session.commit()
    server = Gunicorn(dict(signing_app.config), tmp_path)
    yield server
    server.stop()


def customer(portal: Gunicorn, email: str, package_id: int) -> Browser:
    browser = Browser(portal.url)
    assert browser.post("/login", {"identifier": email, "password": DEFAULT_PASSWORD},
                        "/login").status_code == 302
    package = db.session.get(ContractPackage, package_id)
    assert package is not None
    doc_ids = [d.id for d in package.documents]
    db.session.commit()
    for doc_id in doc_ids:
        assert browser.get(f"/contracts/{package_id}/documents/{doc_id}").status_code == 200
    page = f"/contracts/{package_id}/confirm"
    assert browser.post(page, {"important_confirmed": "1", "documents_confirmed": "1"},
                        page).status_code == 302
    return browser


def up_to_code(browser: Browser, package_id: int, email: str, mail: SmtpCapture) -> None:
    before = len(mail.messages)
    pin_page = f"/contracts/{package_id}/sign/pin"
    assert browser.post(pin_page, {"pin": PIN}, pin_page).status_code == 302
    code_page = f"/contracts/{package_id}/sign/code"
    assert browser.post(code_page, {"otp": mail.otp_for(email, before)},
                        code_page).status_code == 302


def execute(browser: Browser, package_id: int) -> requests.Response:
    page = f"/contracts/{package_id}/sign/execute"
    return browser.post(page, {}, page)


def sign(browser: Browser, package_id: int, email: str, mail: SmtpCapture) -> None:
    up_to_code(browser, package_id, email, mail)
    done = execute(browser, package_id)
    assert done.status_code == 302 and done.headers["Location"].endswith("/sign/done"), done.text


def kill_worker_at(path: str, portal: Gunicorn, proxy: HookProxy) -> int:
    worker = portal.worker()
    proxy.on(path, lambda: kill9_tree(worker))
    return worker


def assert_worker_died(portal: Gunicorn, worker: int, response: Any) -> None:
    assert isinstance(response, requests.ConnectionError), response  # no answer at all
    portal.wait_ready()
    assert portal.worker() != worker


def attempt(action: Any) -> Any:
    try:
        return action()
    except requests.ConnectionError as exc:
        return exc


def test_worker_killed_in_the_middle_of_electronic_signature(
        signing_app: Any, people: Any, package_id: int, portal: Gunicorn,
        rs_proxy: HookProxy, rs_mail: SmtpCapture) -> None:
    browser = customer(portal, people.rep.email, package_id)
    up_to_code(browser, package_id, people.rep.email, rs_mail)
    before = snapshot(signing_app, package_id)
    worker = kill_worker_at(SIGN_HASH, portal, rs_proxy)
    assert_worker_died(portal, worker, attempt(lambda: execute(browser, package_id)))
    assert SIGN_HASH in rs_proxy.seen
    assert snapshot(signing_app, package_id) == before
    assert_audit_intact()

    sign(browser, package_id, people.rep.email, rs_mail)
    after = snapshot(signing_app, package_id)
    assert after.parties == (PartyState.SIGNED, PartyState.UNSIGNED)
    assert_audit_intact()


def test_worker_killed_in_the_middle_of_conclusion(
        signing_app: Any, people: Any, package_id: int, portal: Gunicorn,
        rs_proxy: HookProxy, rs_mail: SmtpCapture) -> None:
    sign(customer(portal, people.rep.email, package_id), package_id, people.rep.email, rs_mail)
    sign(customer(portal, people.guarantor.email, package_id), package_id,
         people.guarantor.email, rs_mail)
    before = snapshot(signing_app, package_id)
    assert before.package == PackageState.ALL_SIGNED

    staff = Browser(portal.url)
    assert staff.post("/console/login", {"login_id": people.staff.login_id,
                                         "password": DEFAULT_PASSWORD},
                      "/console/login").status_code == 302
    detail = f"/console/contracts/{package_id}"
    worker = kill_worker_at(SEAL_SIGN, portal, rs_proxy)
    died = attempt(lambda: staff.post(f"{detail}/conclude", {"password": DEFAULT_PASSWORD},
                                      detail))
    assert_worker_died(portal, worker, died)
    assert snapshot(signing_app, package_id) == before
    assert_audit_intact()

    done = staff.post(f"{detail}/conclude", {"password": DEFAULT_PASSWORD}, detail)
    assert done.status_code == 302, done.text
    assert snapshot(signing_app, package_id).package == PackageState.CONCLUDED
    assert_audit_intact()
