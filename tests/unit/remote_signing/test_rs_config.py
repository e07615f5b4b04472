"""#15 item 6 (RS-2): the signing service reads ``RS_*`` with Flask's
``from_prefixed_env``, each value in the type of its default."""

from __future__ import annotations

import base64
import os

import pytest

from remote_signing.service.config import (
    DEV_CONSOLE_SECRET,
    DEV_PORTAL_SECRET,
    ConfigError,
    load_config,
)

KEY = {"MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
PRODUCTION = {**KEY, "PROFILE": "production", "PORTAL_CLIENT_SECRET": "a-real-secret",
              "CONSOLE_CLIENT_SECRET": "another-real-secret"}


@pytest.fixture(autouse=True)
def no_outside_rs_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """RS_* variables of the shell (scripts/services.sh exports some) stay out."""
    for name in [n for n in os.environ if n.startswith("RS_")]:
        monkeypatch.delenv(name)


def test_environment_values_take_the_type_of_their_default(monkeypatch):
    monkeypatch.setenv("RS_SMTP_PORT", "2525")
    monkeypatch.setenv("RS_SEAL_ENABLED", "Off")
    monkeypatch.setenv("RS_PKCS11_USER_PIN", "1234")  # a text, even when it looks like a number
    monkeypatch.setenv("RS_NOT_A_SETTING", "ignored")
    cfg = load_config(KEY)
    assert cfg["SMTP_PORT"] == 2525 and cfg["SEAL_ENABLED"] is False
    assert cfg["PKCS11_USER_PIN"] == "1234" and "NOT_A_SETTING" not in cfg


def test_the_callers_mapping_comes_after_the_environment(monkeypatch):
    monkeypatch.setenv("RS_OTP_DIGITS", "8")
    monkeypatch.setenv("RS_MAIL_FROM", "env@bank.example")
    cfg = load_config({**KEY, "MAIL_FROM": "test@bank.example"})
    assert cfg["OTP_DIGITS"] == 8 and cfg["MAIL_FROM"] == "test@bank.example"


@pytest.mark.parametrize("name, value", [
    ("RS_SMTP_PORT", "twenty-five"),
    ("RS_KDF_MEMORY_KIB", "19 MiB"),
    ("RS_SEAL_ENABLED", "maybe"),
])
def test_a_bad_value_stops_the_start_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_config(KEY)


def test_the_development_credentials_are_the_embedded_defaults():
    cfg = load_config(KEY)
    assert cfg["PORTAL_CLIENT_SECRET"] == DEV_PORTAL_SECRET
    assert cfg["CONSOLE_CLIENT_SECRET"] == DEV_CONSOLE_SECRET


@pytest.mark.parametrize("override", [
    {"PORTAL_CLIENT_SECRET": DEV_PORTAL_SECRET},
    {"CONSOLE_CLIENT_SECRET": DEV_CONSOLE_SECRET},
])
def test_production_refuses_the_development_credentials(override):
    load_config(PRODUCTION)
    with pytest.raises(ConfigError, match="real client secrets"):
        load_config({**PRODUCTION, **override})
