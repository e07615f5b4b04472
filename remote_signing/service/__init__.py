"""The embedded signing service (RS-2): its own WSGI app, database and key store.

Run it as its own process::

    python -m remote_signing.service --host 127.0.0.1 --port 8100

Configuration: ``RS_*`` environment variables (see ``config.DEFAULTS``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, g

from .api import admin, csc, pki, register_errors
from .auth import clients_from_config
from .config import load_config
from .db import ensure_schema, make_engine, make_sessionmaker
from .keystore import KdfParams, KeyStore, SoftwareKeyStore
from .mailer import OtpMailer
from .pkcs11_store import Pkcs11KeyStore, Pkcs11Token
from .pki import Pki
from .services import SigningService
from .tsa import TimeStampAuthority

__all__ = ["create_app", "serve"]


def build_keystore(cfg: Mapping[str, Any]) -> KeyStore:
    """The key store ``KEYSTORE_BACKEND`` names: the PKCS#11 token or software."""
    kdf = KdfParams(cfg["KDF_TIME_COST"], cfg["KDF_MEMORY_KIB"], cfg["KDF_PARALLELISM"])
    if cfg["KEYSTORE_BACKEND"] == "pkcs11":
        token = Pkcs11Token.shared(
            cfg["PKCS11_MODULE"], cfg["PKCS11_TOKEN_LABEL"], cfg["PKCS11_USER_PIN"]
        )
        return Pkcs11KeyStore(token, cfg["MASTER_KEY_BYTES"], kdf)
    return SoftwareKeyStore(cfg["MASTER_KEY_BYTES"], kdf)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    cfg = load_config(config)
    _configure_logging(cfg.get("LOG_FILE"))
    app = Flask(__name__)
    app.config["RS"] = cfg
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024
    engine = make_engine(cfg["DATABASE_URL"])
    ensure_schema(engine)
    sessions = make_sessionmaker(engine)
    keystore = build_keystore(cfg)
    mailer = OtpMailer(
        cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), cfg["MAIL_FROM"], cfg["SMTP_TIMEOUT"]
    )
    with sessions() as s, s.begin():
        authority = Pki.load_or_create(s, cfg, keystore)
        service = SigningService(cfg, authority, keystore, mailer)
        service.ensure_seal(s)
    app.extensions.update(
        rs_engine=engine,
        rs_sessionmaker=sessions,
        rs_service=service,
        rs_clients=clients_from_config(cfg),
        rs_tsa=TimeStampAuthority(
            authority.tsa, cfg["TSA_POLICY_OID"], issuer=authority.issuing
        ),
    )
    app.register_blueprint(csc)
    app.register_blueprint(admin)
    app.register_blueprint(pki)
    register_errors(app)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        s = g.pop("rs_session", None)
        if s is not None:
            s.close()

    return app


def _configure_logging(path: str | None) -> None:
    logger = logging.getLogger("remote_signing")
    logger.setLevel(logging.INFO)
    if path and not any(getattr(h, "baseFilename", None) == path for h in logger.handlers):
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)


def serve(
    host: str = "127.0.0.1",
    port: int = 8100,
    *,
    threads: int = 8,
    config: Mapping[str, Any] | None = None,
) -> None:
    """Run under gunicorn: one worker (the CA state is loaded once), several threads.
    The app is built in the worker, after the fork: a PKCS#11 library must not
    be carried across fork()."""
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("keepalive", 30)
            self.cfg.set("graceful_timeout", 5)
            # The first start generates the CA keys (in the token) before serving.
            self.cfg.set("timeout", 120)
            # Several instances run side by side (tests, bench): no shared control socket.
            self.cfg.set("control_socket_disable", True)

        # types-gunicorn's WSGI callable takes a start_response without exc_info,
        # narrower than the WSGI protocol Flask implements.
        def load(self) -> Flask:  # type: ignore[override]
            return create_app(config)

    _Server().run()
