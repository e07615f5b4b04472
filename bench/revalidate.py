"""Benchmark (#14 item 7, SIGN-6): the periodic integrity check over concluded documents.

setup:  one PDF signed by two parties and concluded (bank seal, validation data,
        document timestamp: PAdES B-LTA) through a real signing service process,
        stored N times as N concluded packages (each file encrypted under its own
        key, with its original upload stored beside it, as the portal keeps them).
portal: ``flask contracts revalidate`` (``longterm.revalidate``): worker processes
        open, decrypt and hash every stored file, re-validate each signed PDF
        (ades_lta_validation of every signature, every document timestamp, diff
        analysis) and the parent records the results; printed as documents per
        second and the peak RSS of the parent plus its workers (sampled every 50 ms).
bare:   pyHanko ``ades_lta_validation`` of every signature of the same files in one
        process (files read from the same store), documents per second and peak RSS.

Target: portal rate per core used >= 0.9x the bare rate; peak memory flat as the
count grows (e.g. 1,000 vs 4,000). Counts are run one after the other on the
same database (the second count adds packages). From the repository root:

    .venv/bin/python bench/revalidate.py [--counts 1000,4000] [--workers 2] [--size 100000]
        [--bare-counts 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from asn1crypto import x509 as ax509  # noqa: E402
from conclude import two_party_pdf  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign.validation.ades import ades_lta_validation  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from portal import create_app  # noqa: E402
from portal.contracts import longterm  # noqa: E402
from portal.contracts.models import (  # noqa: E402
    ContractDocument,
    ContractPackage,
    ContractParty,
    ContractSignature,
)
from portal.contracts.pdfcheck import lta_spec  # noqa: E402
from portal.contracts.seal import BANK_FIELD, BANK_SEAL  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.filestore import get_file_store  # noqa: E402
from portal.models import Branch, Company, CompanyKind, StaffRole, StaffUser  # noqa: E402
from remote_signing.client import SigningClient  # noqa: E402
from remote_signing.pdf import Trust, seal_documents  # noqa: E402
from remote_signing.sample import sample_pdf  # noqa: E402
from remote_signing.service.config import DEV_CONSOLE_SECRET, DEV_PORTAL_SECRET  # noqa: E402
from remote_signing.testing import ServiceProcess, SmtpCapture  # noqa: E402

FIELDS = ("Party1", "Party2", BANK_FIELD)


# --- memory: RSS of this process and every descendant ------------------------------------

def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int, exclude: set[int]) -> list[int]:
    """Child processes, recursively, leaving out the subtrees of ``exclude``."""
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found += [int(c) for c in handle.read().split() if int(c) not in exclude]
    except OSError:
        return found
    return found + [g for c in found for g in _descendants(c, exclude)]


class PeakRss:
    """Peak of (this process + its children) RSS while the block runs."""

    def __init__(self, exclude: set[int]) -> None:
        self.exclude, self.peak_kib, self._stop = exclude, 0, threading.Event()

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            pids = [me, *_descendants(me, self.exclude)]
            self.peak_kib = max(self.peak_kib, sum(_rss_kib(p) for p in pids))
            self._stop.wait(0.05)

    def __enter__(self) -> PeakRss:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- setup ---------------------------------------------------------------------------------

def concluded_pdf(proc: ServiceProcess, smtp: SmtpCapture, size: int) -> tuple[bytes, bytes]:
    """(the upload, the same PDF signed by two parties and sealed B-LTA)."""
    client = SigningClient(proc.url, "portal", DEV_PORTAL_SECRET, timeout=60)
    console = SigningClient(proc.url, "console", DEV_CONSOLE_SECRET, timeout=60)
    original = sample_pdf(size)
    signed = two_party_pdf(client, smtp, original)
    seal = console.credential_info(console.list_credentials()[0])
    trust = Trust(ax509.Certificate.load(console.root_certificate()))
    [sealed] = seal_documents(console, seal, trust, [signed], BANK_SEAL)
    return original, sealed


def add_packages(count: int, original: bytes, sealed: bytes) -> None:
    store = get_file_store()
    branch = db.session.execute(select(Branch)).scalars().first()
    if branch is None:
        branch = Branch(code="101", name="東京支店")
        db.session.add(branch)
        db.session.flush()
        db.session.add(StaffUser(login_id="bench", name="担当", email="bench@bank.example.jp",
                                 role=StaffRole.BRANCH_STAFF, branch_id=branch.id,
                                 password_hash="x"))
        db.session.add(Company(kind=CompanyKind.CORPORATION, name="株式会社ベンチ",
                               name_kana="ベンチ", name_en="Bench", postal_code="1000005",
                               address="東京都千代田区", established_on=date(2000, 1, 1),
                               phone="0312345678", application_branch_id=branch.id))
        db.session.flush()
    staff = db.session.execute(select(StaffUser)).scalars().first()
    company = db.session.execute(select(Company)).scalars().first()
    original_sha, sealed_sha = (hashlib.sha256(original).hexdigest(),
                                hashlib.sha256(sealed).hexdigest())
    at = datetime.now(UTC)
    for _ in range(count):
        package_id = db.session.execute(insert(ContractPackage).values(
            branch_id=branch.id, application_date=date(2026, 4, 1), summary_type="loan_only",
            staff_in_charge_id=staff.id, staff_label="東京支店 担当", state="concluded",
            state_changed_at=at, created_by_id=staff.id, created_at=at, sent_at=at,
            concluded_at=at, version=1)).inserted_primary_key[0]
        db.session.execute(insert(ContractParty).values(
            package_id=package_id, position_order=0, signing_position="debtor",
            company_id=company.id, state="signed", state_changed_at=at, reject_comment=""))
        document_id = db.session.execute(insert(ContractDocument).values(
            package_id=package_id, kind="contract", position=0, title="金銭消費貸借契約書",
            original_key=store.put(original, kind="contract"), original_sha256=original_sha,
            current_key=store.put(sealed, kind="contract"), current_sha256=sealed_sha,
            size=len(sealed), revisions=3)).inserted_primary_key[0]
        for name in FIELDS:
            db.session.execute(insert(ContractSignature).values(
                package_id=package_id, document_id=document_id,
                kind="bank" if name == BANK_FIELD else "party", field_name=name,
                certificate_subject="", certificate_serial="", result_sha256=sealed_sha,
                signed_at=at))
    db.session.commit()


# --- the two measurements -------------------------------------------------------------------

def cpu_seconds() -> float:
    """CPU of this process and of its children that have ended (the pool's workers,
    reaped when the run closes the pool; the signing service still runs)."""
    me, children = (resource.getrusage(resource.RUSAGE_SELF),
                    resource.getrusage(resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def portal_run(workers: int, exclude: set[int]) -> tuple[float, float, int, int, int]:
    """(seconds, CPU seconds, documents, other files, peak RSS KiB)."""
    with PeakRss(exclude) as rss:
        t0, c0 = time.perf_counter(), cpu_seconds()
        summary = longterm.revalidate(workers=workers)
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    assert summary.mismatches == 0 and summary.files_mismatched == 0, summary.totals()
    return elapsed, cpu, summary.checked, len(summary.files), rss.peak_kib


def bare_run(root: ax509.Certificate, exclude: set[int]) -> tuple[float, float, int, int]:
    """(seconds, CPU seconds, documents, peak RSS KiB): ades_lta_validation of
    every signature."""
    keys = list(db.session.execute(select(ContractDocument.current_key)).scalars())
    db.session.rollback()
    store = get_file_store()
    spec = lta_spec(root)  # the same validation policy
    with PeakRss(exclude) as rss:
        t0, c0 = time.perf_counter(), cpu_seconds()
        for key in keys:
            reader = PdfFileReader(BytesIO(store.get(key)), strict=False)
            for sig in reader.embedded_regular_signatures:
                result = asyncio.run(ades_lta_validation(sig, spec))
                assert result.api_status is not None and result.api_status.valid
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return elapsed, cpu, len(keys), rss.peak_kib


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", default="1000,4000",
                    help="comma-separated document counts, run in turn on one database")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--size", type=int, default=100_000, help="bytes of the sample PDF")
    ap.add_argument("--no-bare", action="store_true")
    ap.add_argument("--bare-counts", default="",
                    help="counts at which to run the bare measurement too (default: every "
                         "count; the bare rate is per document, so one count is enough)")
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    bare_counts = ({int(c) for c in args.bare_counts.split(",")} if args.bare_counts
                   else set(counts))
    smtp = SmtpCapture().start()
    proc = ServiceProcess(Path(tempfile.mkdtemp(prefix="reval-bench-rs-")),
                          smtp_port=smtp.port).start()
    tmp = Path(tempfile.mkdtemp(prefix="reval-bench-"))
    app = create_app({
        "DATABASE_URL": f"sqlite:///{tmp / 'portal.db'}", "TESTING": True,
        "FILESTORE_PATH": str(tmp / "files"), "SECRET_KEY": "bench",
        "MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "MAINTENANCE_RECURRING_ENABLED": False, "SIGNING_SERVICE_URL": proc.url,
        "SIGNING_CLIENT_ID": "portal", "SIGNING_CLIENT_SECRET": DEV_PORTAL_SECRET})
    # The signing service process is ours too, not a worker: leave it out of the RSS.
    exclude = {proc._proc.pid} if proc._proc is not None else set()  # noqa: SLF001
    try:
        original, sealed = concluded_pdf(proc, smtp, args.size)
        root = ax509.Certificate.load(
            SigningClient(proc.url, "portal", DEV_PORTAL_SECRET).root_certificate())
        with app.app_context():
            upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"),
                    revision="heads")
            print(f"signed PDF {len(sealed):,} bytes ({', '.join(FIELDS)} + document timestamp); "
                  f"workers {args.workers}; cores {os.cpu_count()}; "
                  f"load {os.getloadavg()[0]:.1f}")
            stored = 0
            for count in counts:
                add_packages(count - stored, original, sealed)
                stored = count
                report(count, args.workers, portal_run(args.workers, exclude),
                       None if args.no_bare or count not in bare_counts
                       else bare_run(root, exclude))
    finally:
        proc.stop()
        smtp.stop()


def report(count: int, workers: int, portal: tuple[float, float, int, int, int],
           bare: tuple[float, float, int, int] | None) -> None:
    """Rates by wall clock (what a run takes on this machine now) and per CPU
    second (a core's worth of work: the fair comparison on a shared machine)."""
    seconds, cpu, documents, files, peak = portal
    cores = min(workers, os.cpu_count() or 1) or 1
    print(f"{count:>6,} documents: portal {documents / seconds:6.2f} docs/s wall "
          f"({documents / seconds / cores:.2f} per core used), {documents / cpu:.2f} docs per "
          f"CPU second; {files:,} other files checked too; peak RSS parent+workers "
          f"{peak / 1024:.0f} MiB")
    if bare is not None:
        b_seconds, b_cpu, b_documents, b_peak = bare
        print(f"{'':>6}  bare ades_lta_validation (1 process): {b_documents / b_seconds:6.2f} "
              f"docs/s wall, {b_documents / b_cpu:.2f} docs per CPU second; peak RSS "
              f"{b_peak / 1024:.0f} MiB")
        wall_ratio = documents / seconds / cores / (b_documents / b_seconds)
        cpu_ratio = (documents / cpu) / (b_documents / b_cpu)
        print(f"{'':>6}  portal/bare per core: wall {wall_ratio:.2f}, CPU {cpu_ratio:.2f} "
              "(target >= 0.9)")


if __name__ == "__main__":
    main()
