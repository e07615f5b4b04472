"""Issue #2 item 1: production refuses unsafe configuration."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from flask import Config

from portal import create_app
from portal.config import DEMO_MASTER_KEY, DEMO_SECRET_KEY, ConfigError, load_config
from remote_signing.service.config import DEFAULTS as SERVICE

GOOD = {
    "PROFILE": "production",
    "DATABASE_URL": "postgresql+psycopg://portal@127.0.0.1:5432/portal",
    "MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
    "SECRET_KEY": "s" * 48,
    "SIGNING_CLIENT_SECRET": "a-real-secret",
    "SIGNING_CONSOLE_CLIENT_SECRET": "another-real-secret",
    "BASE_URL": "https://econtract.example.jp",
}


@pytest.fixture(autouse=True)
def no_outside_portal_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """PORTAL_* variables of the shell or the test command (e.g. a private
    PORTAL_SMTP_PORT for the services) must not change what these tests read."""
    for name in [n for n in os.environ if n.startswith("PORTAL_")]:
        monkeypatch.delenv(name)


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


def test_environment_values_take_the_type_of_what_they_replace(monkeypatch):
    """Issue #15 item 6: Flask's from_prefixed_env, typed by the defaults."""
    monkeypatch.setenv("PORTAL_CLAMD_TIMEOUT", "2.5")
    monkeypatch.setenv("PORTAL_RUN_PORT", "8000")
    monkeypatch.setenv("PORTAL_DEV_MAILBOX", "off")
    monkeypatch.setenv("PORTAL_SIGNING_PIN_FIRST", "YES")
    monkeypatch.setenv("PORTAL_SMTP_PASSWORD", "1234")  # a text, even when it looks like a number
    monkeypatch.setenv("PORTAL_RETENTION_NOTICE_DAYS", "60")
    app = create_app({"DATABASE_URL": "sqlite:////tmp/env-test.sqlite3"})
    assert app.config["CLAMD_TIMEOUT"] == 2.5 and app.config["RUN_PORT"] == 8000
    assert app.config["DEV_MAILBOX"] is False and app.config["SIGNING_PIN_FIRST"] is True
    assert app.config["SMTP_PASSWORD"] == "1234" and app.config["RETENTION_NOTICE_DAYS"] == "60"


def test_a_number_that_is_not_one_stops_the_start_naming_the_variable(monkeypatch):
    monkeypatch.setenv("PORTAL_SMTP_PORT", "twenty-five")
    with pytest.raises(ConfigError, match="PORTAL_SMTP_PORT"):
        create_app({"DATABASE_URL": "sqlite:////tmp/env-test.sqlite3"})


def test_order_defaults_instance_file_environment_then_the_factorys_mapping(
        monkeypatch, tmp_path: Path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "portal.cfg").write_text(
        'SMTP_PORT = 2526\nMAIL_FROM = "from the file"\nSMTP_USER = "file user"\nlower = 1\n',
        encoding="utf-8")
    monkeypatch.setenv("PORTAL_SMTP_USER", "env user")
    monkeypatch.setenv("PORTAL_MAIL_FROM", "from the environment")
    config = Config(str(tmp_path))
    load_config(config, tmp_path, {"MAIL_FROM": "from the test"})
    assert config["SMTP_PORT"] == 2526  # the file over the default
    assert config["SMTP_USER"] == "env user"  # the environment over the file
    assert config["MAIL_FROM"] == "from the test"  # the factory's mapping last
    assert "lower" not in config and config["CLAMD_PORT"] == 3310


def test_production_refuses_an_http_base_url_from_the_environment(monkeypatch):
    """APP-1 through the environment as an operator sets it."""
    monkeypatch.setenv("PORTAL_BASE_URL", "http://econtract.example.jp")
    settings = {key: value for key, value in GOOD.items() if key != "BASE_URL"}
    with pytest.raises(ConfigError, match="BASE_URL"):
        create_app(settings)


@pytest.mark.parametrize("where", ["mapping", "environment"])
def test_an_unknown_virus_scanner_stops_the_start_naming_the_setting(monkeypatch, where):
    """#15 item 6 (KYC-4): at start-up, not at the first upload."""
    settings = {"DATABASE_URL": "sqlite:////tmp/env-test.sqlite3"}
    if where == "environment":
        monkeypatch.setenv("PORTAL_VIRUS_SCANNER", "clamav")
    else:
        settings["VIRUS_SCANNER"] = "clamav"
    allowed = r"VIRUS_SCANNER: unknown scanner 'clamav' \(allowed: clamd"
    with pytest.raises(ConfigError, match=allowed):
        create_app(settings)


def test_the_portal_presents_the_signing_services_development_credentials(tmp_path: Path):
    """The embedded defaults match the embedded signing service's own (#15 item 6)."""
    config = Config(str(tmp_path))
    load_config(config, tmp_path)
    assert config["SIGNING_CLIENT_SECRET"] == SERVICE["PORTAL_CLIENT_SECRET"]
    assert config["SIGNING_CONSOLE_CLIENT_SECRET"] == SERVICE["CONSOLE_CLIENT_SECRET"]
