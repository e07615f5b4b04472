"""Shared fixtures: a fresh migrated database per test (SQLite by default,
PostgreSQL with PORTAL_TEST_DATABASE=postgres), a real SMTP sink, factories
and login helpers."""

from __future__ import annotations

import base64
import functools
import os
import re
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import create_engine, text

from portal import create_app
from portal.crypto import hash_secret
from portal.extensions import db
from portal.sqlite_tx import deferred_transactions

ROOT = Path(__file__).resolve().parent.parent
TEST_MASTER_KEY = base64.b64encode(os.urandom(32)).decode()
PG_URL = os.environ.get(
    "PORTAL_TEST_PG_URL",
    f"postgresql+psycopg://postgres@127.0.0.1:{os.environ.get('PORTAL_PG_PORT', '54329')}/postgres")
USE_PG = os.environ.get("PORTAL_TEST_DATABASE", "sqlite") == "postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP sink -----------------------------------------------------------------

@dataclass
class SinkHandler:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        msg = message_from_bytes(raw, policy=policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"


class SmtpSink:
    """A real aiosmtpd server on 127.0.0.1 (port=0 does not work: pick one)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = SinkHandler()
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    def start(self) -> SmtpSink:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     enable_SMTPUTF8=True)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def clear(self) -> None:
        self.handler.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def last_to(self, address: str, subject_contains: str = "") -> EmailMessage:
        found = [m for m in self.to(address) if subject_contains in str(m["Subject"])]
        assert found, f"no mail to {address} with subject containing {subject_contains!r}"
        return found[-1]

    @staticmethod
    def body(msg: EmailMessage) -> str:
        part = msg.get_body(preferencelist=("plain",))
        assert part is not None
        return part.get_content()

    def code_in_last(self, address: str, subject_contains: str = "", digits: str = "6,8") -> str:
        body = self.body(self.last_to(address, subject_contains))
        found = re.search(r"(?<!\d)(\d{" + digits + r"})(?!\d)", body)
        assert found, f"no code in mail body: {body}"
        return found.group(1)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink(smtp_server: SmtpSink) -> SmtpSink:
    smtp_server.clear()
    return smtp_server


# --- Database --------------------------------------------------------------------

def migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")


def base_config(tmp_path: Path, database_url: str, smtp_port: int) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        # A test that leaves a transaction open while the app writes fails fast.
        "SQLITE_BUSY_TIMEOUT_S": 5.0,
        "MASTER_KEY": TEST_MASTER_KEY,
        "SECRET_KEY": "test-secret-key-" + uuid.uuid4().hex,
        "FILESTORE_PATH": str(tmp_path / "files"),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port,
        "MAINTENANCE_RECURRING_ENABLED": False,
        "BASE_URL": "http://localhost",
        "DEV_MAILDIR": str(tmp_path / "maildir"),
    }


@pytest.fixture(scope="session")
def template_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; every test gets a copy of this file."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    app = create_app(base_config(path.parent, f"sqlite:///{path}", 1))
    migrate(app)
    with app.app_context():
        db.engine.dispose()
    return path


def pg_url(name: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def migrated_pg_database(name: str) -> Iterator[str]:
    """Create database ``name`` in the test server, migrate it, drop it after."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - loud failure, never a skip
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL}: {exc}. Run `make test`, "
                    "which starts it (scripts/services.sh start postgres).")
    app = create_app(base_config(Path("/tmp"), pg_url(name), 1))
    migrate(app)
    with app.app_context():
        db.engine.dispose()
    try:
        yield pg_url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the session, migrated once."""
    with migrated_pg_database(f"portal_test_{os.getpid()}") as url:
        yield url


def truncate_all(app: Flask) -> None:
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                              + " RESTART IDENTITY CASCADE"))


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if USE_PG:
        return request.getfixturevalue("pg_database")
    template = request.getfixturevalue("template_sqlite")
    target = tmp_path / "portal.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def app_config(tmp_path: Path, database_url: str, smtp_sink: SmtpSink) -> dict[str, Any]:
    """Override keys here (function-scoped) before the app is built."""
    return base_config(tmp_path, database_url, smtp_sink.port)


class SessionTemplateCache(BytecodeCache):
    """Compiled templates kept in memory for the session: every test builds its
    own app, and compiling its pages again took about a third of a test's set-up.
    A template whose source changed is compiled again (jinja2 checks the checksum)."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CACHE = SessionTemplateCache()


@contextmanager
def app_in_context(config: dict[str, Any], *, truncate: bool = False) -> Iterator[Flask]:
    """The test's own app, its context pushed for the test's body."""
    application = create_app(config)
    application.test_client_class = PortalClient
    application.jinja_env.bytecode_cache = TEMPLATE_CACHE
    ctx = application.app_context()
    ctx.push()
    # The test's own reads and setup never hold SQLite's write lock while the
    # app serves a request (test client, live server or threads): requests
    # themselves run with BEGIN IMMEDIATE, as in production.
    with deferred_transactions():
        yield application
    db.session.remove()
    if truncate:
        truncate_all(application)
    db.engine.dispose()
    ctx.pop()


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    with app_in_context(app_config, truncate=USE_PG) as application:
        yield application


# --- Clients and logins --------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class PortalClient(FlaskClient):
    """Each request runs in a fresh app context, as in production: ``g`` and
    the database session are not shared with the test's own context. After a
    request, call ``db.session.expire_all()`` before reading changed rows."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # End the test's own transaction first, as a finished request would:
        # on SQLite every transaction holds the write lock (BEGIN IMMEDIATE).
        db.session.commit()
        with self.application.app_context(), deferred_transactions(False):
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response

    def csrf_token(self, page: str = "/login") -> str:
        html = self.get(page).get_data(as_text=True)
        found = CSRF_RE.search(html)
        assert found, f"no CSRF token on {page}"
        return found.group(1)

    def use_english(self) -> None:
        """The visitor picked English (the header's language link sets this cookie)."""
        self.set_cookie("portal_lang", "en")

    def session_contents(self) -> str:
        """Everything the browser holds: the raw session cookie and its decoded content."""
        app = self.application
        cookie = self.get_cookie(app.config["SESSION_COOKIE_NAME"])
        raw = cookie.value if cookie else ""
        decoded = app.session_interface.get_signing_serializer(app).loads(raw) if raw else {}
        return raw + repr(decoded)

    def post_form(self, url: str, data: dict[str, Any] | None = None, *, token_page: str = "/login",
                  **kwargs: Any) -> Any:
        payload = dict(data or {})
        payload["csrf_token"] = self.csrf_token(token_page)
        return self.post(url, data=payload, **kwargs)


@pytest.fixture
def client(app: Flask) -> PortalClient:
    return app.test_client()  # type: ignore[return-value]


def login_customer(client: PortalClient, identifier: str, password: str) -> Any:
    return client.post_form("/login", {"identifier": identifier, "password": password})


def login_staff(client: PortalClient, login_id: str, password: str) -> Any:
    return client.post_form("/console/login", {"login_id": login_id, "password": password},
                            token_page="/console/login")


# --- Factories ---------------------------------------------------------------------------

DEFAULT_PASSWORD = "Passw0rdTest1"

# argon2id with its cheapest parameters, for the users the factories make: the
# suite logs them in thousands of times and no test is about the KDF's cost
# (argon2 reads the parameters from the stored hash; the product's own
# set_password keeps portal.crypto's). ~1 ms instead of ~0.1-0.5 s a hash or login.
CHEAP_KDF = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@functools.cache
def factory_password_hash(password: str, product_kdf: bool) -> str:
    """One hash per password and session (the factory users share its salt)."""
    return hash_secret(password) if product_kdf else CHEAP_KDF.hash(password)


class Factories:
    """``product_kdf``: users' hashes with the product's argon2 parameters, for
    tests whose timing includes the login's real KDF cost (concurrency)."""

    def __init__(self, *, product_kdf: bool = False) -> None:
        self._n = 0
        self.product_kdf = product_kdf

    def _password_hash(self, password: str) -> str:
        return factory_password_hash(password, self.product_kdf)

    def _next(self) -> int:
        self._n += 1
        return self._n

    def branch(self, name: str = "東京支店") -> Any:
        from portal.models import Branch

        branch = Branch(code=f"{100 + self._next()}", name=name)
        db.session.add(branch)
        db.session.commit()
        return branch

    def staff(self, branch: Any = None, *, role: str = "branch_staff",
              password: str = DEFAULT_PASSWORD) -> Any:
        from portal.models import StaffRole, StaffUser

        n = self._next()
        staff = StaffUser(login_id=f"staff{n:03d}", name=f"担当 {n}",
                          email=f"staff{n}@bank.example.jp",
                          role=StaffRole(role), branch_id=branch.id if branch else None,
                          password_hash=self._password_hash(password), password_is_temporary=False)
        db.session.add(staff)
        db.session.commit()
        return staff

    def company(self, branch: Any = None, *, kind: str = "corporation",
                name: str = "株式会社テスト商事", **values: Any) -> Any:
        from portal.models import Company, CompanyKind

        branch = branch or self.branch()
        company = Company(kind=CompanyKind(kind), name=name, name_kana="テストショウジ",
                          name_en="Test Shoji", postal_code="1000005",
                          address="東京都千代田区丸の内1-1-1",
                          established_on=date(2000, 1, 1), phone="0312345678",
                          application_branch_id=branch.id, **values)
        db.session.add(company)
        db.session.commit()
        return company

    def customer(self, company: Any = None, *, role: str = "representative",
                 password: str = DEFAULT_PASSWORD, temporary: bool = False, **values: Any) -> Any:
        from portal.auth.services import set_password
        from portal.models import CustomerRole, CustomerUser

        company = company or self.company()
        n = self._next()
        user = CustomerUser(
            company_id=company.id, mypage_id=f"MP{90000000 + n}", email=f"user{n}@example.jp",
            role=CustomerRole(role), last_name="山田", first_name=f"太郎{n}",
            last_name_kana="ヤマダ", first_name_kana="タロウ", last_name_en="Yamada",
            first_name_en="Taro", birth_date=date(1980, 1, 1), mobile="09012345678",
            password_hash=self._password_hash(password), password_is_temporary=False,
            temp_password_expires_at=None, first_login_done=not temporary, **values,
        )
        if temporary:  # the product's own path: it also sets the expiry (AUTH-3)
            set_password(user, password, temporary=True)
        db.session.add(user)
        db.session.commit()
        return user


@pytest.fixture
def factories(app: Flask) -> Factories:
    return Factories()


# --- Real services started by `make test` ------------------------------------------------

CLAMD_PORT = int(os.environ.get("PORTAL_CLAMD_PORT", "3310"))


@pytest.fixture(scope="session")
def clamd_address() -> tuple[str, int]:
    """The shared clamd started by `make test`; fails loudly when absent."""
    try:
        with socket.create_connection(("127.0.0.1", CLAMD_PORT), timeout=3) as s:
            s.sendall(b"zPING\0")
            assert s.recv(16).startswith(b"PONG")
    except OSError as exc:
        pytest.fail(f"clamd is not reachable on 127.0.0.1:{CLAMD_PORT} ({exc}); "
                    "run `make test` (it starts scripts/services.sh start clamd)")
    return ("127.0.0.1", CLAMD_PORT)
