"""Benchmark (issue #4): one ~10 MB KYC upload through the portal against
clamd INSTREAM of the same bytes alone.

portal: a POST through the Flask app's WSGI stack (multipart parsing, session and
        CSRF, upload checks, clamd INSTREAM, AES-256-GCM encryption and an
        fsync'd write to the file store, database rows and the audit entry);
bare:   the same bytes streamed to the same clamd over a raw socket with
        256 KB chunks (the fastest INSTREAM client; the stock PyPI ``clamd``
        1 KB loop is printed too, for reference).

Median of N runs (default 9, after one warm-up each; the two sides alternate).
Target: portal / bare <= 2.0. Run from the repository root:

    .venv/bin/python bench/kyc_upload.py [--runs 9] [--size N] [--clamd-port 3310] [--check]
"""

from __future__ import annotations

import argparse
import io
import re
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import clamd  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from kyc import devtools  # noqa: E402
from kyc.models import KycFile  # noqa: E402
from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "BenchPassw0rd1"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def bare_instream(port: int, data: bytes, chunk: int = 256 * 1024) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"zINSTREAM\0")
        view = memoryview(data)
        for start in range(0, len(view), chunk):
            part = view[start:start + chunk]
            s.sendall(struct.pack("!L", len(part)))
            s.sendall(part)
        s.sendall(struct.pack("!L", 0))
        reply = b""
        while not reply.endswith(b"\0"):
            got = s.recv(4096)
            if not got:
                break
            reply += got
    return reply.rstrip(b"\0").decode()


def stock_instream(port: int, data: bytes) -> str:
    result = clamd.ClamdNetworkSocket("127.0.0.1", port, timeout=30).instream(io.BytesIO(data))
    return str(result["stream"][0])


def build_portal(workdir: Path, clamd_port: int) -> tuple[Any, Any, int]:
    from portal.auth.services import set_password
    from portal.models import Branch, Company, CompanyKind, CustomerRole, CustomerUser

    app = create_app({
        "TESTING": False, "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "FILESTORE_PATH": str(workdir / "files"), "CLAMD_PORT": clamd_port,
        "CLAMD_TIMEOUT": 30.0, "MAINTENANCE_RECURRING_ENABLED": False,
    })
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        branch = Branch(code="900", name="ベンチ支店")
        db.session.add(branch)
        db.session.flush()
        company = Company(kind=CompanyKind.INDIVIDUAL, name="ベンチ 太郎",
                          application_branch_id=branch.id)
        db.session.add(company)
        db.session.flush()
        user = CustomerUser(company_id=company.id, mypage_id="MP00000900",
                            email="bench@example.jp", role=CustomerRole.REPRESENTATIVE,
                            last_name="ベンチ", first_name="太郎", password_hash="",
                            first_login_done=True)
        set_password(user, PASSWORD)
        db.session.add(user)
        db.session.commit()
    client = app.test_client()

    def token(page: str) -> str:
        found = CSRF_RE.search(client.get(page).get_data(as_text=True))
        assert found, f"no CSRF token on {page}"
        return found.group(1)

    login = client.post("/login", data={"csrf_token": token("/login"),
                                        "identifier": "MP00000900", "password": PASSWORD})
    assert login.status_code in (302, 303), "bench login failed"
    agreed = client.post("/mypage/kyc/consent", data={
        "csrf_token": token("/mypage/kyc/consent"), "understood": "1", "decision": "agree"})
    submission_id = int(agreed.headers["Location"].rsplit("/", 1)[-1])
    client.post(f"/mypage/kyc/{submission_id}/type", data={
        "csrf_token": token("/mypage/kyc/consent"), "category": "identity",
        "document_type": "passport"})
    return app, client, submission_id


def multipart_body(token: str, data: bytes) -> tuple[bytes, str]:
    """Encoded once, as a browser would send it: the client's work is not the portal's."""
    boundary = "----kycbench7MA4YWxkTrZu0gW"
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in (("csrf_token", token), ("category", "identity"), ("slot", "photo"))
    )
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
             'filename="passport.pdf"\r\nContent-Type: application/pdf\r\n\r\n')
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def portal_upload(client: Any, submission_id: int, body: bytes, content_type: str) -> None:
    response = client.post(f"/mypage/kyc/{submission_id}/files", data=body,
                           content_type=content_type)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]


def remove_upload(app: Any, client: Any, submission_id: int, token: str) -> None:
    """Untimed: each timed run is a first upload to an empty slot, not a replacement."""
    with app.app_context():
        file_id = db.session.query(KycFile.id).filter_by(submission_id=submission_id).scalar()
    response = client.post(f"/mypage/kyc/{submission_id}/files/{file_id}/delete",
                           data={"csrf_token": token})
    assert response.status_code == 302


def timed(fn: Any, *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--size", type=int, default=10 * 1024 * 1024 - 10_000)
    parser.add_argument("--clamd-port", type=int, default=None,
                        help="use a running clamd (default: start a private one)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the ratio is above 2.0")
    args = parser.parse_args()
    if args.runs < 7:
        parser.error("use at least 7 runs")

    with tempfile.TemporaryDirectory(prefix="kyc-bench-") as tmp:
        workdir = Path(tmp)
        daemon = None if args.clamd_port else devtools.ClamdProcess(workdir / "clamd").start()
        port = args.clamd_port or daemon.port  # type: ignore[union-attr]
        try:
            data = devtools.large_pdf(args.size)
            app, client, submission_id = build_portal(workdir, port)
            token = CSRF_RE.search(client.get("/mypage/kyc/consent").get_data(as_text=True))
            assert token
            assert bare_instream(port, data) == "stream: OK"
            assert stock_instream(port, data) == "OK"
            body, content_type = multipart_body(token.group(1), data)
            portal_upload(client, submission_id, body, content_type)  # warm-up
            portal_times, bare_times, stock_times = [], [], []
            for _ in range(args.runs):
                remove_upload(app, client, submission_id, token.group(1))
                portal_times.append(timed(portal_upload, client, submission_id, body,
                                          content_type))
                bare_times.append(timed(bare_instream, port, data))
                stock_times.append(timed(stock_instream, port, data))
            with app.app_context():
                stored = db.session.query(KycFile).one()
                assert stored.size == len(data)
        finally:
            if daemon is not None:
                daemon.stop()

    portal_ms = statistics.median(portal_times) * 1000
    bare_ms = statistics.median(bare_times) * 1000
    stock_ms = statistics.median(stock_times) * 1000
    ratio = portal_ms / bare_ms
    print(f"file: {len(data):,} bytes (PDF), runs: {args.runs} (median)")
    print(f"portal upload (validate, scan, encrypt, store): {portal_ms:8.1f} ms")
    print(f"clamd INSTREAM alone (raw socket, 256 KB):      {bare_ms:8.1f} ms")
    print(f"clamd INSTREAM alone (PyPI clamd, 1 KB chunks): {stock_ms:8.1f} ms  (reference)")
    print(f"ratio portal / INSTREAM: {ratio:.2f}  (target <= 2.0: "
          f"{'met' if ratio <= 2.0 else 'NOT met'})")
    return 1 if args.check and ratio > 2.0 else 0


if __name__ == "__main__":
    sys.exit(main())
