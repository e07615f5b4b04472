"""Benchmark (issue 6, CON-8): contract search with a million packages on PostgreSQL.

1. A fresh PostgreSQL database, migrated, bulk-filled in SQL: 10 branches,
   20,000 customer companies, 1,000,000 packages (1–2 parties each), plus one
   company with 1,000 packages and a representative who can log in.
2. Combined date range + amount range + counterparty search through the
   service layer (``portal.contracts.search.staff_rows``) for random criteria,
   and the same query as raw SQL through psycopg: p50/p95 over N queries.
3. The 現在有効な契約 page for the 1,000-package company through the Flask test
   client (login, then GET /contracts/active): p50/p95.

Needs the PostgreSQL server of ``scripts/services.sh start postgres``:

    .venv/bin/python bench/search.py [--packages 1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

PG_URL = os.environ.get("PORTAL_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:54329/postgres")
DB_NAME = "portal_bench_search"
START = date(2021, 1, 1)
DAYS = 5 * 365
PASSWORD = "Bench-Pass-2026"


def fresh_database() -> str:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    return PG_URL.rsplit("/", 1)[0] + f"/{DB_NAME}"


def fill(db, packages: int) -> None:  # type: ignore[no-untyped-def]
    statements = [
        "INSERT INTO branches (id, code, name) SELECT g, 'B' || g, '支店' || g "
        "FROM generate_series(1, 10) g",
        "INSERT INTO staff_users (id, login_id, name, email, role, branch_id, active, "
        "password_hash) SELECT g, 'bench' || g, '担当 ' || g, "
        "'bench' || g || '@bank.example.jp', 'branch_staff', g, true, 'x' "
        "FROM generate_series(1, 10) g",
        "INSERT INTO companies (id, kind, name, name_kana, name_en, postal_code, address, phone, "
        "application_branch_id, is_debtor, created_at, version) SELECT g, 'corporation', "
        "'株式会社ベンチ' || lpad(g::text, 5, '0'), 'ベンチ', 'Bench', '1000005', '東京都', "
        "'0312345678', 1 + g % 10, true, now(), 1 FROM generate_series(1, 20001) g",
        f"INSERT INTO contract_packages (id, branch_id, application_date, summary_type, "
        f"loan_amount, planned_loan_date, staff_in_charge_id, staff_label, state, "
        f"state_changed_at, created_by_id, created_at, sent_at, version) "
        f"SELECT g, 1 + (g % 20000 + 1) % 10, DATE '{START}' + (g * 7919 % {DAYS})::int, "
        f"(ARRAY['loan_only','loan_with_guarantee','agreement_only','overdraft'])[1 + g % 4], "
        f"1000000 * (1 + g * 104729 % 500), DATE '{START}' + (g * 7919 % {DAYS})::int + 14, "
        f"1 + (g % 20000 + 1) % 10, '支店 担当', "
        f"(ARRAY['unsigned','concluded','concluded','repaid','concluded'])[1 + g % 5], now(), "
        f"1 + (g % 20000 + 1) % 10, now(), now(), 1 FROM generate_series(1::bigint, {packages}) g",
        f"INSERT INTO contract_parties (package_id, position_order, signing_position, "
        f"company_id, state, state_changed_at, reject_comment) SELECT g, 0, 'debtor', "
        f"g % 20000 + 1, 'signed', now(), '' FROM generate_series(1::bigint, {packages}) g",
        f"INSERT INTO contract_parties (package_id, position_order, signing_position, "
        f"company_id, state, state_changed_at, reject_comment) SELECT g, 1, 'guarantor', "
        f"(g * 31) % 20000 + 1, 'signed', now(), '' "
        f"FROM generate_series(1::bigint, {packages}, 3) g",
        # the company with 1,000 packages (id 20001), all concluded
        f"INSERT INTO contract_packages (id, branch_id, application_date, summary_type, "
        f"loan_amount, planned_loan_date, staff_in_charge_id, staff_label, state, "
        f"state_changed_at, created_by_id, created_at, sent_at, version) "
        f"SELECT {packages} + g, 2, DATE '{START}' + (g * 17 % {DAYS})::int, 'loan_only', "
        f"1000000 * g, DATE '{START}' + (g * 17 % {DAYS})::int + 7, 2, '支店2 担当', 'concluded', "
        f"now(), 2, now(), now(), 1 FROM generate_series(1, 1000) g",
        f"INSERT INTO contract_parties (package_id, position_order, signing_position, "
        f"company_id, state, state_changed_at, reject_comment) SELECT {packages} + g, 0, "
        f"'debtor', 20001, 'signed', now(), '' FROM generate_series(1, 1000) g",
        "SELECT setval(pg_get_serial_sequence('contract_packages', 'id'), "
        "(SELECT max(id) FROM contract_packages))",
    ]
    with db.engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql))
    # As after any bulk load: vacuum + analyze now, so autovacuum does not run
    # over the fresh tables in the middle of the measurement.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def random_criteria(rng: random.Random):  # type: ignore[no-untyped-def]
    from portal.contracts.search import Criteria

    start = START + timedelta(days=rng.randrange(DAYS - 365))
    low = 1_000_000 * rng.randrange(1, 300)
    return Criteria(date_from=start, date_to=start + timedelta(days=rng.randrange(90, 730)),
                    amount_min=low, amount_max=low + 1_000_000 * rng.randrange(50, 300),
                    counterparty=f"ベンチ{rng.randrange(0, 2000):04d}")  # ~10 companies


RAW = """
SELECT p.*
FROM contract_packages p
WHERE p.branch_id = %(branch)s
  AND p.application_date >= %(date_from)s AND p.application_date <= %(date_to)s
  AND p.loan_amount >= %(amount_min)s AND p.loan_amount <= %(amount_max)s
  AND {counterparty}
ORDER BY p.application_date DESC, p.id DESC LIMIT 21 OFFSET 0
"""


def raw_counterparty(companies: list[int], branches: list[int]) -> str:
    """The same condition the service builds: the resolved ids as an IN list."""
    parts = []
    if companies:
        ids = ", ".join(str(int(c)) for c in companies)
        parts.append("EXISTS (SELECT 1 FROM contract_parties cp WHERE cp.package_id = p.id "
                     f"AND cp.company_id IN ({ids}))")
    if branches:
        parts.append(f"p.branch_id IN ({', '.join(str(int(b)) for b in branches)})")
    return "(" + " OR ".join(parts) + ")" if parts else "false"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--keep", action="store_true", help="keep the database for EXPLAIN")
    args = ap.parse_args()
    url = fresh_database()
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="search-bench-"))
    app = create_app({"DATABASE_URL": url, "TESTING": True, "FILESTORE_PATH": str(tmp / "f"),
                      "MASTER_KEY": __import__("base64").b64encode(os.urandom(32)).decode(),
                      "SECRET_KEY": "bench", "MAINTENANCE_RECURRING_ENABLED": False})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"),
                revision="heads")
        t0 = time.perf_counter()
        fill(db, args.packages)
        print(f"bulk fill: {args.packages:,} packages in {time.perf_counter() - t0:.1f} s")
        service_times, raw_times, found = measure_search(db, args.queries)
        page_times = measure_page(app, db, args.queries)
    if not args.keep:
        with create_engine(PG_URL, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
    s50, s95 = percentiles(service_times)
    r50, r95 = percentiles(raw_times)
    p50, p95 = percentiles(page_times)
    print(f"combined search, {args.queries} random queries ({found} returned rows in total):")
    print(f"  service layer: p50 {s50 * 1000:.2f} ms, p95 {s95 * 1000:.2f} ms (target p95 <= 30)")
    print(f"  raw SQL:       p50 {r50 * 1000:.2f} ms, p95 {r95 * 1000:.2f} ms")
    print(f"  ratio p95 service/raw: {s95 / r95:.2f} (target <= 1.5)")
    print(f"現在有効な契約 page, company with 1,000 packages: p50 {p50 * 1000:.2f} ms, "
          f"p95 {p95 * 1000:.2f} ms, max {max(page_times) * 1000:.2f} ms (target p95 <= 50)")


def measure_search(db, queries: int) -> tuple[list[float], list[float], int]:  # type: ignore[no-untyped-def]
    from portal.contracts import search
    from portal.models import StaffUser

    rng = random.Random(6)
    staff = db.session.get(StaffUser, 1)
    raw_conn = db.engine.raw_connection()
    service_times, raw_times, found = [], [], 0
    for n in range(queries + 10):
        criteria = random_criteria(rng)
        staff = db.session.get(StaffUser, 1 + n % 10)
        t0 = time.perf_counter()
        page = search.staff_rows(staff, search.ListKind.ALL, criteria)
        t1 = time.perf_counter()
        pattern = f"%{criteria.counterparty}%"
        cur = raw_conn.cursor()
        t2 = time.perf_counter()
        cur.execute("SELECT id FROM companies WHERE name LIKE %s OR name_kana LIKE %s LIMIT 1000",
                    (pattern, pattern))
        companies = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT id FROM branches WHERE name LIKE %s", (pattern,))
        branches = [r[0] for r in cur.fetchall()]
        cur.execute(RAW.format(counterparty=raw_counterparty(companies, branches)),
                    {"branch": staff.branch_id, "date_from": criteria.date_from,
                     "date_to": criteria.date_to, "amount_min": criteria.amount_min,
                     "amount_max": criteria.amount_max})
        raw_rows = cur.fetchall()
        t3 = time.perf_counter()
        cur.close()
        assert [r[0] for r in raw_rows][:20] == [row[0].id for row in page.rows]
        db.session.rollback()
        if n >= 10:  # warm-up
            service_times.append(t1 - t0)
            raw_times.append(t3 - t2)
            found += len(page.rows)
    raw_conn.close()
    return service_times, raw_times, found


def measure_page(app, db, queries: int) -> list[float]:  # type: ignore[no-untyped-def]
    from portal.auth.services import set_password
    from portal.models import CustomerRole, CustomerUser

    user = CustomerUser(company_id=20001, mypage_id="MPBENCH001", email="bench@example.jp",
                        role=CustomerRole.REPRESENTATIVE, last_name="ベンチ", first_name="太郎",
                        password_hash="", first_login_done=True)
    set_password(user, PASSWORD)
    db.session.add(user)
    db.session.commit()
    client = app.test_client()
    with app.app_context():
        login = client.get("/login").get_data(as_text=True)
        token = login.split('name="csrf_token" value="')[1].split('"')[0]
        assert client.post("/login", data={"identifier": user.email, "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
    times = []
    for n in range(queries + 10):
        with app.app_context():
            t0 = time.perf_counter()
            response = client.get("/contracts/active")
            elapsed = time.perf_counter() - t0
        assert response.status_code == 200 and response.get_data(as_text=True).count(
            'class="clickable"') == 20
        if n >= 10:
            times.append(elapsed)
    return times


if __name__ == "__main__":
    main()
