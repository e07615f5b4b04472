"""Configuration, read inside the app factory (never at import time) with
Flask's own loaders.

Order: defaults (``from_mapping``) → ``instance/portal.cfg`` (``from_pyfile``)
→ ``PORTAL_*`` environment variables (``from_prefixed_env``) → the mapping a
test passes to ``create_app``. An environment value takes the type of the
value it replaces (int, float, bool), so ``PORTAL_SMTP_PORT=2525`` is a number
and ``PORTAL_SMTP_PASSWORD=1234`` stays a text.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Config

from remote_signing.dev_credentials import DEV_CONSOLE_SECRET, DEV_PORTAL_SECRET

# A well-known key for the embedded demo only. Production refuses it.
DEMO_MASTER_KEY = base64.b64encode(b"embedded-demo-master-key-32byte!").decode()
DEMO_SECRET_KEY = "embedded-demo-secret-key-not-for-production"
# The embedded signing service's development client credentials (one definition).
DEMO_SIGNING_SECRET = DEV_PORTAL_SECRET
DEMO_SIGNING_CONSOLE_SECRET = DEV_CONSOLE_SECRET

# Keys whose default is None but whose value has a type.
TYPES: dict[str, type] = {"RUN_PORT": int}
TRUE = {"1", "true", "yes", "on"}


class ConfigError(RuntimeError):
    """The configuration cannot run safely (production refuses to start)."""


def defaults(root: Path) -> dict[str, Any]:
    instance = root / "instance"
    return {
        "PROFILE": "embedded",
        "DATABASE_URL": f"sqlite:///{instance / 'portal.sqlite3'}",
        # How long a SQLite transaction waits for the write lock (BEGIN IMMEDIATE).
        "SQLITE_BUSY_TIMEOUT_S": 30.0,
        "SECRET_KEY": DEMO_SECRET_KEY,
        "MASTER_KEY": DEMO_MASTER_KEY,
        "FILESTORE_BACKEND": "portal.filestore.LocalEncryptedFileStore",
        "FILESTORE_PATH": str(instance / "files"),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": 8025,
        "SMTP_TLS": False,
        "SMTP_STARTTLS": False,
        "SMTP_USER": "",
        "SMTP_PASSWORD": "",
        "MAIL_FROM": "電子契約サービス <noreply@econtract.example.jp>",
        "MAIL_MAX_ATTEMPTS": 8,
        # The upload pipeline's scanner (kyc.interfaces.scanner_from_config):
        # "clamd", or in code a factory (config) -> VirusScanner.
        "VIRUS_SCANNER": "clamd",
        "CLAMD_HOST": "127.0.0.1",
        "CLAMD_PORT": 3310,
        "CLAMD_TIMEOUT": 10.0,
        "UPLOAD_MAX_BYTES": 10 * 1024 * 1024,
        "SIGNING_SERVICE_URL": "http://127.0.0.1:8100",
        "SIGNING_CLIENT_ID": "portal",
        "SIGNING_CLIENT_SECRET": DEMO_SIGNING_SECRET,
        # The bank console's own credential: only it may use the bank's seal (CON-6).
        "SIGNING_CONSOLE_CLIENT_ID": "console",
        "SIGNING_CONSOLE_CLIENT_SECRET": DEMO_SIGNING_CONSOLE_SECRET,
        "SIGNING_TIMEOUT": 30.0,
        # The service checks the PIN at 送信 (sendOTP + PIN → PIN token). False for a
        # plain CSC v2 service: the PIN then waits sealed in the session until 電子署名.
        "SIGNING_PIN_FIRST": True,
        # RFC 3161 TSAs for signatures, seals and archive timestamps, tried in order
        # (a list, or URLs separated by commas/spaces in PORTAL_SIGNING_TSA_URLS).
        # Each must issue under the signing service's root. Empty: the service's own.
        "SIGNING_TSA_URLS": "",
        # SIGN-6: add an archive timestamp once the newest one's TSA certificate
        # expires within this many days.
        "LONGTERM_RENEW_DAYS": 365,
        # CON-9 retention policy (#14), periods counted from each item's end:
        # 完済・取消合意済 in years; an overdraft drawdown after repayment, a
        # 不成立/取下げ package and an unapproved application in days; KYC files,
        # PoAs and users' personal data in years after 解約. Users are told the
        # given numbers of days before a finished package or drawdown is deleted.
        "RETENTION_FINISHED_YEARS": 10,
        "RETENTION_OVERDRAFT_DAYS": 365,
        "RETENTION_UNCONCLUDED_DAYS": 365,
        "RETENTION_IDENTITY_YEARS": 7,
        "RETENTION_APPLICATION_DAYS": 365,
        "RETENTION_NOTICE_DAYS": "90,30",
        # SIGN-6 integrity run: worker processes (0: in the calling process) and
        # how many files each one is handed at a time (ids and keys, never bytes).
        "INTEGRITY_WORKERS": 2,
        "INTEGRITY_BATCH": 16,
        # The address in invitation URLs, QR codes and mail links. Empty: the
        # address the portal was started on (RUN_HOST/RUN_PORT, set by `make run`),
        # else the request's own address (portal.mail.public_base_url).
        "BASE_URL": "",
        "RUN_HOST": "",
        "RUN_PORT": None,
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_MINUTES": 30,
        "IP_THROTTLE_MAX": 50,
        "IP_THROTTLE_WINDOW_SECONDS": 900,
        # AUTH-9 (portal.ratelimit): codes mailed per account and purpose, per target
        # address and per client address in a window; wrong codes per account across
        # codes before the flow stops for a window.
        "CODE_ISSUE_MAX_PER_ACCOUNT": 5,
        "CODE_ISSUE_MAX_PER_ADDRESS": 5,
        "CODE_ISSUE_MAX_PER_CLIENT": 20,
        "CODE_ISSUE_WINDOW_MINUTES": 15,
        "CODE_CHECK_MAX_FAILURES": 10,
        "CODE_CHECK_WINDOW_MINUTES": 60,
        # Reverse proxies in front of the portal that append X-Forwarded-For (AUTH-11).
        "TRUSTED_PROXY_HOPS": 0,
        "SESSION_IDLE_MINUTES": 30,
        "SESSION_ABSOLUTE_HOURS": 12,
        "TEMP_PASSWORD_DAYS": 7,
        "MAINTENANCE_RECURRING_ENABLED": True,
        "DEV_MAILBOX": True,
        "DEV_MAILDIR": str(root / "var" / "maildir"),
    }


def load_config(config: Config, root: Path, overrides: Mapping[str, Any] | None = None) -> None:
    config.from_mapping(defaults(root))
    config.from_pyfile(str(root / "instance" / "portal.cfg"), silent=True)
    config.update(_environment(config))
    if overrides:
        config.from_mapping(overrides)
    if config["PROFILE"] == "production":
        check_production(config)


def _environment(config: Config) -> dict[str, Any]:
    """The ``PORTAL_*`` variables, each in the type of the value it replaces."""
    read = Config(config.root_path)
    read.from_prefixed_env("PORTAL", loads=str)
    return {key: _typed(key, value, config.get(key)) for key, value in read.items()}


def _typed(key: str, value: Any, current: Any) -> Any:
    kind = TYPES.get(key, type(current))
    if not isinstance(value, str) or kind not in (bool, int, float):
        return value
    if kind is bool:
        return value.strip().lower() in TRUE
    try:
        return kind(value)
    except ValueError:
        raise ConfigError(f"PORTAL_{key} must be a number") from None


def master_key_bytes(value: str) -> bytes:
    try:
        key = base64.b64decode(value, validate=True)
    except (ValueError, TypeError) as exc:
        raise ConfigError("MASTER_KEY must be base64") from exc
    if len(key) != 32:
        raise ConfigError("MASTER_KEY must decode to 32 bytes (AES-256)")
    return key


def check_production(config: Config) -> None:
    """Production refuses demo or missing secrets (issue #2, item 1)."""
    if not config.get("MASTER_KEY") or config["MASTER_KEY"] == DEMO_MASTER_KEY:
        raise ConfigError("production needs PORTAL_MASTER_KEY (not the demo key)")
    master_key_bytes(config["MASTER_KEY"])
    secret = config.get("SECRET_KEY") or ""
    if secret == DEMO_SECRET_KEY or len(secret) < 32:
        raise ConfigError("production needs PORTAL_SECRET_KEY (32+ random characters)")
    if config["DATABASE_URL"].startswith("sqlite"):
        raise ConfigError("production needs a PostgreSQL PORTAL_DATABASE_URL")
    if config.get("SIGNING_CLIENT_SECRET") in ("", DEMO_SIGNING_SECRET):
        raise ConfigError("production needs PORTAL_SIGNING_CLIENT_SECRET")
    if config.get("SIGNING_CONSOLE_CLIENT_SECRET") in ("", DEMO_SIGNING_CONSOLE_SECRET):
        raise ConfigError("production needs PORTAL_SIGNING_CONSOLE_CLIENT_SECRET")
    if not str(config.get("BASE_URL") or "").startswith("https://"):
        # Mail links, the invitation URL and its QR code must name the public address;
        # the request's Host header is never trusted for them (APP-1).
        raise ConfigError("production needs PORTAL_BASE_URL (the public https:// address)")
    config["DEV_MAILBOX"] = False
