"""Real gunicorn for the concurrency tests (issue #11 item 3).

``LivePortal`` runs ``gunicorn --workers 2 --threads 4 wsgi:app`` (the
``make run`` settings) on a free loopback port against one prepared database,
with the configuration passed as ``PORTAL_*`` environment variables, as an
operator would. ``Browser`` is one visitor (a ``requests`` session that logs
in with the CSRF token of the form, as a browser does) and records every
answer so a test can assert that nothing answered 5xx.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
WORKERS, THREADS = 2, 4  # the Makefile's `make run` settings

T = TypeVar("T")


def portal_env(config: dict[str, Any]) -> dict[str, str]:
    """The test's app configuration as the ``PORTAL_*`` variables the app reads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    for key, value in config.items():
        if key in {"TESTING", "SQLITE_BUSY_TIMEOUT_S"}:
            continue  # production behaviour; the default busy timeout (30 s)
        if isinstance(value, bool):
            value = "1" if value else "0"
        env[f"PORTAL_{key}"] = str(value)
    return env


class LivePortal:
    def __init__(self, env: dict[str, str], port: int, log_dir: Path) -> None:
        self.env = env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_dir / "gunicorn.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> LivePortal:
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}",
                 "--workers", str(WORKERS), "--threads", str(THREADS),
                 "--graceful-timeout", "5", "--no-control-socket", "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log()[-3000:]}")
            try:
                if requests.get(self.url + "/login", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer: {self.log()[-3000:]}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        # Quick shutdown (SIGQUIT): the test is over, so the workers need not
        # wait out the browsers' idle keep-alive connections.
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def flask(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``flask --app wsgi …`` with the same environment as the server."""
        return subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT,
                              env=self.env, capture_output=True, text=True, timeout=120)

    def audit_verify(self) -> str:
        done = self.flask("audit", "verify")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "intact" in done.stdout, done.stdout
        return done.stdout


class Answers:
    """Every (method, path, status) any browser of one test received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: list[tuple[str, str, int]] = []

    def add(self, method: str, url: str, status: int) -> None:
        with self._lock:
            self.seen.append((method, url, status))

    def server_errors(self) -> list[tuple[str, str, int]]:
        return [s for s in self.seen if s[2] >= 500]


class Browser:
    """One visitor of the live portal."""

    def __init__(self, base_url: str, answers: Answers) -> None:
        self.base_url = base_url
        self.answers = answers
        self.http = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 120)
        response = self.http.request(method, self.base_url + path, **kwargs)
        self.answers.add(method, path, response.status_code)
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def csrf_token(self, page: str) -> str:
        html = self.get(page).text
        found = CSRF_RE.search(html)
        assert found, f"no CSRF token on {page}: {html[:500]}"
        return found.group(1)

    def post_form(self, path: str, data: dict[str, Any] | None = None, *, token_page: str,
                  token: str | None = None, **kwargs: Any) -> requests.Response:
        payload = dict(data or {})
        payload["csrf_token"] = token or self.csrf_token(token_page)
        return self.request("POST", path, data=payload, **kwargs)

    def login_customer(self, identifier: str, password: str) -> requests.Response:
        return self.post_form("/login", {"identifier": identifier, "password": password},
                              token_page="/login")

    def login_staff(self, login_id: str, password: str) -> requests.Response:
        return self.post_form("/console/login", {"login_id": login_id, "password": password},
                              token_page="/console/login")

    def twin(self) -> Browser:
        """The same browser in a second tab: same cookies (a double click)."""
        other = Browser(self.base_url, self.answers)
        other.http.cookies.update(self.http.cookies)
        return other


def in_parallel(tasks: Iterable[Callable[[], T]], *, start_together: bool = True) -> list[T]:
    """Run every task on its own thread, released at the same moment."""
    tasks = list(tasks)
    gate = threading.Barrier(len(tasks)) if start_together else None

    def run(task: Callable[[], T]) -> T:
        if gate is not None:
            gate.wait(30)
        return task()

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        futures = [pool.submit(run, t) for t in tasks]
        return [f.result() for f in futures]
