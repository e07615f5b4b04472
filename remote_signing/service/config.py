"""Configuration of the embedded signing service.

Read inside ``create_app`` with Flask's own loaders: defaults, then
environment variables prefixed ``RS_`` (``from_prefixed_env``, e.g.
``RS_DATABASE_URL``), then the mapping passed by the caller. An environment
value takes the type of the default it replaces (int, bool); a value that is
not one stops the start naming the variable. Nothing here is shared with the
portal's configuration.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Config

from remote_signing.dev_credentials import DEV_CONSOLE_SECRET, DEV_PORTAL_SECRET

DEV_TOKEN_PIN = "embedded-dev-token-pin"
# Only scripts/services.sh uses it (initialising the SoftHSM2 token of make run).
DEV_TOKEN_SO_PIN = "embedded-dev-token-so-pin"
KEYSTORE_BACKENDS = {"software", "pkcs11"}

DEFAULTS: dict[str, Any] = {
    "PROFILE": "embedded",
    "DATABASE_URL": "sqlite:///var/rs/signing.db",
    # base64 of 32 bytes; in the embedded profile MASTER_KEY_FILE is created on first start.
    "MASTER_KEY": None,
    "MASTER_KEY_FILE": "var/rs/master.key",
    # Base URL written into certificates (OCSP, CRL, CA issuers).
    "PUBLIC_URL": "http://127.0.0.1:8100",
    "PORTAL_CLIENT_ID": "portal",
    "PORTAL_CLIENT_SECRET": DEV_PORTAL_SECRET,
    "CONSOLE_CLIENT_ID": "console",
    "CONSOLE_CLIENT_SECRET": DEV_CONSOLE_SECRET,
    # The bank's organization seal is created and usable only when this flag is on,
    # and only by the console client.
    "SEAL_ENABLED": True,
    "SEAL_NAME": "株式会社サンプル銀行",
    "SEAL_ORGANIZATION": "株式会社サンプル銀行",
    "CA_ORGANIZATION": "株式会社サンプル銀行",
    "CA_ROOT_NAME": "サンプル銀行 電子契約ルート認証局",
    "CA_ISSUING_NAME": "サンプル銀行 電子契約発行認証局",
    "TSA_NAME": "サンプル銀行 タイムスタンプ局",
    "CA_KEY_SIZE": 3072,
    "USER_KEY_SIZE": 2048,
    "USER_CERT_YEARS": 5,
    # UUID-based OIDs (2.25.*) need no registration; production sets its own.
    "TSA_POLICY_OID": "2.25.207769542374383497466017337427925290151",
    "CERT_POLICY_OID": "2.25.168101305815512286549390981364342311553",
    "SMTP_HOST": "127.0.0.1",
    "SMTP_PORT": 8025,
    "SMTP_TIMEOUT": 10,
    "MAIL_FROM": "sign-ca@bank.example",
    "OTP_DIGITS": 6,
    "OTP_TTL_SECONDS": 600,
    "SAD_TTL_SECONDS": 300,
    "MAX_PIN_FAILURES": 5,
    "MAX_OTP_FAILURES": 5,
    "MAX_HASHES": 50,
    # argon2id cost (OWASP minimum profile: 19 MiB, 2 passes); combined with the
    # master key. Two lanes fill the same memory with the same passes (the same
    # work for an attacker) but in two threads, so a PIN check takes ~13 ms on
    # two cores instead of ~20 ms. Parameters are stored with each wrapped key.
    "KDF_TIME_COST": 2,
    "KDF_MEMORY_KIB": 19456,
    "KDF_PARALLELISM": 2,
    "LOG_FILE": None,
    # Where the private keys live (RS-2): "software" (wrapped in the database) or
    # "pkcs11" (a token: SoftHSM2 under var/softhsm in make run / make test,
    # the HSM's module in production). The SO PIN is only for initialising the
    # token (scripts/services.sh); the service logs in with the user PIN.
    "KEYSTORE_BACKEND": "software",
    "PKCS11_MODULE": "/usr/lib/softhsm/libsofthsm2.so",
    "PKCS11_TOKEN_LABEL": "rs-embedded",
    "PKCS11_USER_PIN": DEV_TOKEN_PIN,
}

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


class ConfigError(RuntimeError):
    pass


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    cfg = dict(DEFAULTS)
    cfg.update(_environment())
    if overrides:
        cfg.update(overrides)
    cfg["MASTER_KEY_BYTES"] = _master_key(cfg)
    _check(cfg)
    return cfg


def _environment() -> dict[str, Any]:
    """The ``RS_*`` variables of known keys, each in the type of its default."""
    read = Config(".")
    read.from_prefixed_env("RS", loads=str)
    return {key: _typed(key, value) for key, value in read.items() if key in DEFAULTS}


def _typed(key: str, value: str) -> Any:
    kind = type(DEFAULTS[key])
    if kind is bool:
        word = value.strip().lower()
        if word not in TRUE | FALSE:
            raise ConfigError(f"RS_{key} must be one of {', '.join(sorted(TRUE | FALSE))}")
        return word in TRUE
    if kind is int:
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"RS_{key} must be a whole number") from None
    return value


def _master_key(cfg: dict[str, Any]) -> bytes:
    raw = cfg.get("MASTER_KEY")
    if raw:
        key = base64.b64decode(raw)
    elif cfg["PROFILE"] == "embedded" and cfg.get("MASTER_KEY_FILE"):
        key = _key_from_file(Path(cfg["MASTER_KEY_FILE"]))
    else:
        raise ConfigError("MASTER_KEY is required")
    if len(key) != 32:
        raise ConfigError("MASTER_KEY must be 32 bytes (base64)")
    return key


def _key_from_file(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(secrets.token_bytes(32)).decode())
    return base64.b64decode(path.read_text().strip())


def _check(cfg: dict[str, Any]) -> None:
    if cfg["PROFILE"] == "production":
        dev = {DEV_PORTAL_SECRET, DEV_CONSOLE_SECRET}
        if cfg["PORTAL_CLIENT_SECRET"] in dev or cfg["CONSOLE_CLIENT_SECRET"] in dev:
            raise ConfigError("production profile needs real client secrets")
        if not cfg.get("MASTER_KEY"):
            raise ConfigError("production profile needs MASTER_KEY")
    if cfg["KEYSTORE_BACKEND"] not in KEYSTORE_BACKENDS:
        raise ConfigError("KEYSTORE_BACKEND must be software or pkcs11")
    if (
        cfg["PROFILE"] == "production"
        and cfg["KEYSTORE_BACKEND"] == "pkcs11"
        and cfg["PKCS11_USER_PIN"] == DEV_TOKEN_PIN
    ):
        raise ConfigError("production profile needs the token's real user PIN")
    if cfg["OTP_DIGITS"] < 6:
        raise ConfigError("OTP_DIGITS must be at least 6")
