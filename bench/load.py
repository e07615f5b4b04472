"""Load benchmark (#11 item 4): prints figures; not a timed test.

1. The signing dialog under load (CON-4, SIGN-2): N customers (default 50), each
   with their own package waiting for their signature and their own certificate,
   complete the whole dialog at the same time through real gunicorn (2 workers x
   4 threads, as ``make run``) on PostgreSQL: PIN → 送信, the code read from the
   signing service's mail (a private SMTP sink), 認証, 電子署名. The signing
   service is a private instance on its own PostgreSQL database, so nothing of
   the shared one (127.0.0.1:8100) or its Maildir is touched. Prints errors
   (target 0), signatures per minute, p50/p95 per step, and validates every
   signed file with pyHanko (intact, trusted, timestamped, whole revision).
2. The authenticated 現在有効な契約 page (/contracts/active, one page of 20 rows)
   with C keep-alive connections (wrk), beside a minimal Flask page rendering
   the same rows from the same database through the same gunicorn settings.
   Targets: req/s >= 0.7x the minimal page's, p99 <= 2x its p99. Both share
   the machine's cores with the load generator, so only the ratio means much.

Everything lives in a fresh PostgreSQL database in the running server
(127.0.0.1:54329, user postgres; ``scripts/services.sh start postgres``),
dropped at the end (``--keep`` keeps it). From the repository root:

    .venv/bin/python bench/load.py [--customers 50] [--connections 16] [--duration 10]
        [--list-runs 3] [--skip-dialog]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:54329")
PASSWORD = "LoadBench2026x"
PIN = "Keiyaku2026!"
LIST_ROWS = 20  # one page of the list
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
VENV_BIN = Path(sys.executable).parent
TARGET_RPS_RATIO = 0.7
TARGET_P99_RATIO = 2.0


# --- databases and processes ------------------------------------------------------------

def _admin(sql: str) -> None:
    import psycopg

    url = PG.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@contextmanager
def fresh_database(name: str, keep: bool) -> Iterator[str]:
    _admin(f'DROP DATABASE IF EXISTS "{name}"')
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG}/{name}"
    finally:
        if not keep:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    from remote_signing.testing import free_port as port

    return port()


@dataclass(frozen=True)
class Server:
    url: str
    pid: int  # gunicorn's master; the workers are its children

    def cpu_seconds(self) -> float:
        """User + system CPU of the workers so far (Linux /proc): a figure that
        other work on a shared machine does not inflate the way it does latency."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.pid:  # ppid
                total += (int(fields[11]) + int(fields[12])) / tick
        return total


def database_cpu_seconds(database: str) -> float:
    """User + system CPU so far of the PostgreSQL backends serving ``database``
    (their process titles name it): the share of a page that the server's CPU
    figure leaves out, on the same cores."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    marker = f" {database} ".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if not (proc / "cmdline").read_bytes().startswith(b"postgres: ") or \
                    marker not in (proc / "cmdline").read_bytes():
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


@contextmanager
def gunicorn(app: str, env: dict[str, str], *, chdir: Path = ROOT,
             ready_path: str = "/login") -> Iterator[Server]:
    """``app`` under gunicorn with ``make run``'s settings, on a free port."""
    import requests

    port = free_port()
    cmd = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
           "--threads", "4", "--access-logfile", "-", "--no-control-socket",
           "--chdir", str(chdir), app]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + ready_path, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise SystemExit(f"gunicorn {app} did not start:\n{err[-2000:]}")
            time.sleep(0.2)
        yield Server(url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# --- seeding (the demo's code paths: portal.contracts.services) --------------------------

@dataclass(frozen=True)
class Customer:
    user_id: int
    company_id: int
    email: str
    package_id: int


def seed(app: Any, customers: int, signing_url: str) -> tuple[list[Customer], int]:
    """``customers`` companies, each with a representative holding an issued
    certificate (PIN ``PIN``) and one package waiting for their signature, opened
    and confirmed; the first company also has ``LIST_ROWS`` concluded packages."""
    from datetime import date

    from sqlalchemy import update

    from portal.auth.services import set_password
    from portal.certs.models import CertState, SigningCertificate
    from portal.contracts import services
    from portal.contracts.models import ContractPackage, ContractParty
    from portal.contracts.states import PackageState, PartyState
    from portal.extensions import db
    from portal.models import (
        Branch,
        Company,
        CompanyKind,
        CustomerRole,
        CustomerUser,
        StaffRole,
        StaffUser,
    )
    from remote_signing.client import SigningClient

    with app.app_context():
        branch = Branch(code="101", name="東京支店")
        db.session.add(branch)
        db.session.flush()
        staff = StaffUser(login_id="loadstaff", name="支店 花子", email="loadstaff@bank.example.jp",
                          role=StaffRole.BRANCH_STAFF, branch_id=branch.id, password_hash="")
        set_password(staff, PASSWORD)
        db.session.add(staff)
        db.session.commit()
        api = SigningClient.from_config(app.config)
        out: list[Customer] = []
        for n in range(customers):
            company = Company(
                kind=CompanyKind.CORPORATION, name=f"株式会社負荷試験{n:03d}",
                name_kana="フカシケン", name_en=f"Load {n}", postal_code="1000005",
                address="東京都千代田区丸の内一丁目1番1号", established_on=date(2001, 4, 1),
                phone="0312345678", application_branch_id=branch.id,
                deposit_branch_id=branch.id, is_debtor=True)
            db.session.add(company)
            db.session.flush()
            rep = CustomerUser(
                company_id=company.id, mypage_id=f"MP{70000000 + n}",
                email=f"load{n:03d}@example.jp", role=CustomerRole.REPRESENTATIVE,
                last_name="負荷", first_name=f"太郎{n}", last_name_kana="フカ",
                first_name_kana="タロウ", last_name_en="Fuka", first_name_en="Taro",
                birth_date=date(1970, 5, 1), mobile="09012345678", title="代表取締役",
                password_hash="", first_login_done=True)
            set_password(rep, PASSWORD)
            db.session.add(rep)
            db.session.flush()
            info = api.create_credential(user_id=rep.mypage_id, name=rep.display_name,
                                         email=rep.email, organization=company.name, pin=PIN)
            db.session.add(SigningCertificate(
                user_id=rep.id, company_id=company.id, credential_id=info.credential_id,
                state=CertState.ACTIVE, pin_locked=False, serial_hex=info.serial_hex,
                subject=info.subject[:500], valid_from=info.valid_from, valid_to=info.valid_to,
                revocation_reason=""))
            db.session.commit()
            package = _package(staff, rep)
            for document in package.documents:
                services.open_document(rep, package, document.id)
            services.confirm(rep, package, important=True, documents=True)
            db.session.commit()
            out.append(Customer(rep.id, company.id, rep.email, package.id))
            if n == 0:
                listed = [_package(staff, rep, days_ago=40 + i).id for i in range(LIST_ROWS)]
                # Bench rows, not a signing: only their list state matters here.
                packages, parties = ContractPackage.__table__, ContractParty.__table__
                db.session.execute(update(packages).where(packages.c.id.in_(listed))
                                   .values(state=PackageState.CONCLUDED.value))
                db.session.execute(update(parties).where(parties.c.package_id.in_(listed))
                                   .values(state=PartyState.SIGNED.value))
                db.session.commit()
        api.close()
        return out, LIST_ROWS


def _package(staff: Any, rep: Any, days_ago: int = 3) -> Any:
    from datetime import timedelta

    from portal.clock import now, to_jst
    from portal.contracts import services
    from portal.contracts.demo import _pdf
    from portal.extensions import db

    today = to_jst(now()).date()
    data = {"application_date": today - timedelta(days=days_ago), "summary_type": "loan_only",
            "loan_amount": 10_000_000 + days_ago * 1000,
            "planned_loan_date": today - timedelta(days=days_ago - 14),
            "staff_in_charge_id": staff.id, "cancels_package_id": None,
            "parties": [{"company_id": rep.company_id, "position": "debtor", "user_id": None}]}
    files = services.PackageFiles([_pdf("金銭消費貸借契約書"), _pdf("約定書")],
                                  _pdf("重要事項説明書"))
    package = services.create_package(staff, data, files)
    services.send_package(staff, package)
    db.session.commit()
    return package


# --- 1. the signing dialog ---------------------------------------------------------------

STEPS = ("ログイン", "PIN画面", "送信 (PIN)", "コード着信", "認証 (コード)", "電子署名画面",
         "電子署名")


@dataclass
class Run:
    times: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    errors: list[str] = field(default_factory=list)
    done: list[Customer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, step: str, seconds: float) -> None:
        with self.lock:
            self.times[step].append(seconds)


class DialogError(Exception):
    pass


def run_dialogs(base: str, customers: list[Customer], sink: Any) -> tuple[Run, float]:
    import requests

    run = Run()
    start = threading.Barrier(len(customers) + 1)

    def one(c: Customer) -> None:
        http = requests.Session()
        try:
            def step(name: str, call: Callable[[], Any], status: int) -> Any:
                t0 = time.perf_counter()
                try:
                    r = call()
                except requests.RequestException as exc:  # say where it broke
                    raise DialogError(f"{name}: {exc!r}") from exc
                run.note(name, time.perf_counter() - t0)
                if r.status_code != status:
                    raise DialogError(f"{name}: HTTP {r.status_code} (expected {status})")
                return r

            def token(r: Any) -> str:
                found = CSRF_RE.search(r.text)
                if not found:
                    raise DialogError("no CSRF token")
                return found.group(1)

            login = token(http.get(base + "/login"))
            step("ログイン", lambda: http.post(base + "/login", allow_redirects=False, data={
                "identifier": c.email, "password": PASSWORD, "csrf_token": login}), 302)
            start.wait()
            page = f"{base}/contracts/{c.package_id}/sign"
            t = token(step("PIN画面", lambda: http.get(page + "/pin"), 200))
            step("送信 (PIN)", lambda: http.post(page + "/pin", allow_redirects=False,
                                               data={"pin": PIN, "csrf_token": t}), 302)
            t0 = time.perf_counter()
            code = sink.otp_for(c.email, 0, timeout=120)
            run.note("コード着信", time.perf_counter() - t0)
            t = token(http.get(page + "/code"))
            step("認証 (コード)", lambda: http.post(page + "/code", allow_redirects=False,
                                                 data={"otp": code, "csrf_token": t}), 302)
            t = token(step("電子署名画面", lambda: http.get(page + "/execute"), 200))
            r = step("電子署名", lambda: http.post(page + "/execute", allow_redirects=False,
                                               data={"csrf_token": t}), 302)
            if not r.headers.get("Location", "").endswith("/sign/done"):
                raise DialogError(f"電子署名: redirected to {r.headers.get('Location')}")
            with run.lock:
                run.done.append(c)
        except (DialogError, requests.RequestException, TimeoutError,
                threading.BrokenBarrierError) as exc:
            with run.lock:
                run.errors.append(f"customer {c.email}: {exc}")
        finally:
            http.close()

    threads = [threading.Thread(target=one, args=(c,)) for c in customers]
    for th in threads:
        th.start()
    start.wait(timeout=300)
    t0 = time.perf_counter()
    for th in threads:
        th.join()
    return run, time.perf_counter() - t0


def validate_signed(app: Any, done: list[Customer]) -> tuple[int, list[str]]:
    """Every contract document of every signed package, with pyHanko (SIGN-3)."""
    from sqlalchemy import select

    from portal.contracts.models import ContractPackage
    from portal.contracts.states import PackageState
    from portal.extensions import db
    from portal.filestore import get_file_store
    from remote_signing.client import SigningClient
    from remote_signing.testing import validate_with_pyhanko

    problems: list[str] = []
    checked = 0
    with app.app_context():
        api = SigningClient.from_config(app.config)
        root = api.root_certificate()
        api.close()
        store = get_file_store()
        ids = [c.package_id for c in done]
        for package in db.session.scalars(select(ContractPackage)
                                          .where(ContractPackage.id.in_(ids))):
            if package.state != PackageState.ALL_SIGNED:
                problems.append(f"package {package.id}: state {package.state}")
            for document in package.contract_documents:
                report = validate_with_pyhanko(store.get(document.current_key), root)
                checked += 1
                sound = (report.intact and report.valid and report.trusted
                         and report.timestamp_valid and report.timestamp_trusted
                         and not report.revoked
                         and report.coverage in {"ENTIRE_FILE", "ENTIRE_REVISION"})
                if not sound:
                    problems.append(f"package {package.id} document {document.id}: {report}")
    return checked, problems


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.0f}"


def print_dialog(run: Run, wall: float, customers: int, docs_each: int, checked: int,
                 problems: list[str]) -> None:
    print(f"signing dialog: {customers} customers at once, {len(run.done)} completed in "
          f"{wall:.1f} s")
    print(f"  errors: {len(run.errors)} (target 0)")
    for e in run.errors[:10]:
        print(f"    {e}")
    per_min = len(run.done) / wall * 60 if wall else 0.0
    print(f"  signatures per minute: {per_min:.0f} dialogs ({per_min * docs_each:.0f} "
          f"document signatures, {docs_each} per package)")
    print(f"  {'step':<14} {'p50 ms':>8} {'p95 ms':>8}")
    for name in STEPS:
        print(f"  {name:<14} {_ms(run.times[name], 0.5):>8} {_ms(run.times[name], 0.95):>8}")
    print(f"  pyHanko validation: {checked} signed files checked, {len(problems)} problems")
    for p in problems[:10]:
        print(f"    {p}")


# --- 2. the 現在有効な契約 page against a minimal Flask page ------------------------------

def minimal_app() -> Any:
    """The baseline: Flask rendering the same rows of the same database, no more
    (no login, session, permissions, i18n, layout or security headers)."""
    from flask import Flask, render_template_string
    from sqlalchemy import create_engine, text

    engine = create_engine(os.environ["BENCH_MIN_DATABASE_URL"], pool_size=8)
    query = text(
        "SELECT p.id, p.application_date, p.summary_type, p.loan_amount, p.planned_loan_date,"
        " cp.signing_position, cp.user_id, cp.state AS party_state, p.state, p.staff_label"
        " FROM contract_parties cp JOIN contract_packages p ON p.id = cp.package_id"
        " WHERE cp.company_id = :company AND p.state = 'concluded'"
        " ORDER BY p.application_date DESC, p.id DESC, cp.position_order LIMIT 21")
    company = int(os.environ["BENCH_MIN_COMPANY_ID"])
    page = """<!doctype html><html lang="ja"><head><meta charset="utf-8">
<title>現在有効な契約</title></head><body><h1>現在有効な契約</h1><table>
<thead><tr><th>申込日</th><th>申込概要</th><th>融資金額</th><th>融資予定日</th><th>署名立場</th>
<th>署名状況</th><th>契約進捗</th><th>本件担当</th></tr></thead><tbody>
{% for r in rows %}<tr><td><a href="/contracts/{{ r.id }}">{{ r.application_date }}</a></td>
<td>{{ r.summary_type }}</td><td>{{ "{:,}".format(r.loan_amount) }}円</td>
<td>{{ r.planned_loan_date }}</td><td>{{ r.signing_position }}</td><td>{{ r.party_state }}</td>
<td>{{ r.state }}</td><td>{{ r.staff_label }}</td></tr>{% endfor %}
</tbody></table></body></html>"""
    app = Flask("minimal")

    @app.get("/active")
    def active() -> str:
        with engine.connect() as conn:
            rows = conn.execute(query, {"company": company}).all()[:LIST_ROWS]
        return render_template_string(page, rows=rows)

    return app


@dataclass(frozen=True)
class Throughput:
    rps: float
    p99_ms: float
    p50_ms: float
    errors: int
    requests: int = 0
    cpu_ms_per_request: float = float("nan")
    db_cpu_ms_per_request: float = float("nan")


def wrk(url: str, connections: int, seconds: int, cookie: str | None = None) -> Throughput:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if cookie:
        cmd[1:1] = ["-H", f"Cookie: {cookie}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Throughput(rps, _latency(out, "99%"), _latency(out, "50%"), errors, total)


def measured(server: Server, url: str, connections: int, seconds: int, database: str,
             cookie: str | None = None) -> Throughput:
    cpu, db_cpu = server.cpu_seconds(), database_cpu_seconds(database)
    result = wrk(url, connections, seconds, cookie)
    count = max(result.requests, 1)
    per_request = (server.cpu_seconds() - cpu) * 1000 / count
    db_per_request = (database_cpu_seconds(database) - db_cpu) * 1000 / count
    return Throughput(result.rps, result.p99_ms, result.p50_ms, result.errors, result.requests,
                      per_request, db_per_request)


def _latency(out: str, label: str) -> float:
    m = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if m is None:
        return float("nan")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    return float(m.group(1)) * scale


def list_page_cookie(base: str, email: str) -> str:
    import requests

    http = requests.Session()
    token = CSRF_RE.search(http.get(base + "/login").text).group(1)  # type: ignore[union-attr]
    r = http.post(base + "/login", allow_redirects=False,
                  data={"identifier": email, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.status_code
    page = http.get(base + "/contracts/active")
    assert page.status_code == 200 and page.text.count('class="clickable"') == LIST_ROWS, (
        "the 現在有効な契約 page does not show the seeded rows")
    return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


def _median(runs: list[Throughput]) -> Throughput:
    """Each figure's median over interleaved runs (a shared machine's load comes and goes)."""
    import statistics

    def med(name: str) -> float:
        return float(statistics.median(getattr(t, name) for t in runs))

    return Throughput(med("rps"), med("p99_ms"), med("p50_ms"), sum(t.errors for t in runs),
                      sum(t.requests for t in runs), med("cpu_ms_per_request"),
                      med("db_cpu_ms_per_request"))


def _total_cpu(t: Throughput) -> float:
    return t.cpu_ms_per_request + t.db_cpu_ms_per_request


def compare_pages(portal: Server, env: dict[str, str], db_url: str, first: Customer,
                  connections: int, seconds: int, runs: int = 1) -> None:
    if shutil.which("wrk") is None:
        print("list page: skipped (wrk not installed: apt-get install wrk)")
        return
    cookie = list_page_cookie(portal.url, first.email)
    min_env = {**env, "BENCH_MIN_DATABASE_URL": db_url,
               "BENCH_MIN_COMPANY_ID": str(first.company_id)}
    page = portal.url + "/contracts/active"
    database = db_url.rsplit("/", 1)[1]
    with gunicorn("load:minimal_app()", min_env, chdir=ROOT / "bench",
                  ready_path="/active") as minimal:
        wrk(minimal.url + "/active", connections, 2)  # warm-up of both
        wrk(page, connections, 2, cookie)
        minis, reals = [], []
        for _ in range(runs):  # interleaved, so both see the same load
            minis.append(measured(minimal, minimal.url + "/active", connections, seconds,
                                  database))
            reals.append(measured(portal, page, connections, seconds, database, cookie))
        mini, real = _median(minis), _median(reals)
    print(f"現在有効な契約 (/contracts/active, {LIST_ROWS} rows, logged in), "
          f"{connections} keep-alive connections x {seconds} s (wrk), same gunicorn settings"
          + (f", median of {runs} interleaved runs:" if runs > 1 else ":"))
    for name, t in (("portal page ", real), ("minimal page", mini)):
        print(f"  {name}: {t.rps:7.0f} req/s  p50 {t.p50_ms:6.1f} ms  p99 {t.p99_ms:6.1f} ms  "
              f"errors {t.errors}  gunicorn CPU {t.cpu_ms_per_request:.2f} ms/request  "
              f"PostgreSQL CPU {t.db_cpu_ms_per_request:.2f} ms/request")
    rps_ratio = real.rps / mini.rps
    p99_ratio = real.p99_ms / mini.p99_ms
    print(f"  req/s ratio {rps_ratio:.2f} (target >= {TARGET_RPS_RATIO}: "
          f"{'met' if rps_ratio >= TARGET_RPS_RATIO else 'NOT met'}), "
          f"p99 ratio {p99_ratio:.2f} (target <= {TARGET_P99_RATIO}: "
          f"{'met' if p99_ratio <= TARGET_P99_RATIO else 'NOT met'}), "
          f"CPU per request ratio {mini.cpu_ms_per_request / real.cpu_ms_per_request:.2f} "
          f"(gunicorn), {_total_cpu(mini) / _total_cpu(real):.2f} (gunicorn + PostgreSQL: "
          "minimal/portal, the req/s ratio a quiet machine would approach)")
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


# --- main -------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=50)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--duration", type=int, default=10, help="seconds per list-page run")
    ap.add_argument("--list-runs", type=int, default=3,
                    help="interleaved list-page runs of each page (medians are printed)")
    ap.add_argument("--skip-dialog", action="store_true", help="only the list page")
    ap.add_argument("--keep", action="store_true", help="keep the databases and files")
    args = ap.parse_args()
    os.chdir(ROOT)
    import logging

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # the SMTP sink's chatter
    from remote_signing.testing import ServiceProcess, SmtpCapture

    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    tag = os.getpid()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; work dir {work}")
    with fresh_database(f"bench_load_{tag}", args.keep) as portal_db, \
            fresh_database(f"bench_load_rs_{tag}", args.keep) as rs_db:
        sink = SmtpCapture().start()
        service = ServiceProcess(work / "rs", smtp_port=sink.port,
                                 env={"RS_DATABASE_URL": rs_db}).start()
        try:
            env = {**os.environ,
                   "PORTAL_DATABASE_URL": portal_db,
                   "PORTAL_FILESTORE_PATH": str(work / "files"),
                   "PORTAL_SIGNING_SERVICE_URL": service.url,
                   "PORTAL_SMTP_PORT": str(sink.port),
                   "PORTAL_DEV_MAILDIR": str(work / "maildir")}
            subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
                           env=env, check=True, capture_output=True)
            os.environ.update({k: v for k, v in env.items() if k.startswith("PORTAL_")})
            from portal import create_app

            app = create_app()
            t0 = time.perf_counter()
            customers, _ = seed(app, args.customers, service.url)
            print(f"seeded {len(customers)} customers (certificate, package opened and "
                  f"confirmed) in {time.perf_counter() - t0:.1f} s")
            with gunicorn("wsgi:app", env) as portal:
                if not args.skip_dialog:
                    run, wall = run_dialogs(portal.url, customers, sink)
                    checked, problems = validate_signed(app, run.done)
                    print_dialog(run, wall, len(customers), 2, checked, problems)
                compare_pages(portal, env, portal_db, customers[0], args.connections,
                              args.duration, args.list_runs)
        finally:
            service.stop()
            sink.stop()
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
