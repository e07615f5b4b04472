"""Issue #2 item 1: production refuses unsafe configuration."""

from __future__ import annotations

import base64
import os

import pytest

from portal import create_app
from portal.config import DEMO_MASTER_KEY, DEMO_SECRET_KEY, ConfigError

GOOD = {
    "PROFILE": "production",
    "DATABASE_URL": "postgresql+psycopg://portal@127.0.0.1:5432/portal",
    "MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
    "SECRET_KEY": "s" * 48,
    "SIGNING_CLIENT_SECRET": "a-real-secret",
    "SIGNING_CONSOLE_CLIENT_SECRET": "another-real-secret",
    "BASE_URL": "https://econtract.example.jp",
}


def test_production_starts_with_real_secrets_and_turns_on_secure_cookies_and_hsts():
    app = create_app(GOOD)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["DEV_MAILBOX"] is False


@pytest.mark.parametrize("override, message", [
    ({"MASTER_KEY": ""}, "MASTER_KEY"),
    ({"MASTER_KEY": DEMO_MASTER_KEY}, "MASTER_KEY"),
    ({"MASTER_KEY": base64.b64encode(b"short").decode()}, "32 bytes"),
    ({"SECRET_KEY": DEMO_SECRET_KEY}, "SECRET_KEY"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}, "PostgreSQL"),
    ({"SIGNING_CLIENT_SECRET": "embedded-dev-portal-secret"}, "SIGNING_CLIENT_SECRET"),
    ({"SIGNING_CONSOLE_CLIENT_SECRET": "embedded-dev-console-secret"}, "SIGNING_CONSOLE"),
    ({"BASE_URL": ""}, "BASE_URL"),
    ({"BASE_URL": "http://econtract.example.jp"}, "BASE_URL"),
])
def test_production_refuses_to_start(override, message):
    with pytest.raises(ConfigError, match=message):
        create_app({**GOOD, **override})


def test_environment_variables_configure_the_app(monkeypatch):
    monkeypatch.setenv("PORTAL_SMTP_PORT", "2525")
    monkeypatch.setenv("PORTAL_SMTP_STARTTLS", "true")
    app = create_app({"DATABASE_URL": "sqlite:////tmp/env-test.sqlite3"})
    assert app.config["SMTP_PORT"] == 2525 and app.config["SMTP_STARTTLS"] is True
