"""Bank e-contract portal: the application factory."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import load_config
from portal.sqlite_tx import sqlite_begin_immediate, sqlite_immediate_transactions_on_connect

ROOT = Path(__file__).resolve().parent.parent

# Every blueprint of the portal, as "module:attribute". One line per area.
BLUEPRINTS = [
    "portal.auth.views:bp",
    "portal.users.views:bp",  # before mypage and console: it adds routes to both
    "portal.mypage.views:bp",
    "portal.mypage.apply_views:bp",
    "portal.contracts.views:bp",  # before console: it adds console routes
    "portal.retention.views:bp",  # before console: it adds console routes (CON-9)
    "portal.console.views:bp",
    "portal.dev.views:bp",
    "kyc.views:bp",
    "kyc.views:console_bp",
    "portal.certs.views:bp",
]
# Command groups beyond the blueprints' own, as "module:function(app)".
COMMANDS = [
    "portal.cli:init_app",  # audit, mail
    "portal.certs.cli:init_app",  # rs, certs
    "portal.demo.cli:init_app",  # demo (its own room: it composes every area)
]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    load_config(app.config, ROOT, config)
    # Imported when the factory runs, like the parts below; an unknown
    # VIRUS_SCANNER stops the start rather than the first upload.
    from kyc.interfaces import check_scanner_setting

    check_scanner_setting(app.config)
    _configure_flask(app)
    _init_extensions(app)
    _register_blueprints(app)

    # Imported when the factory runs (no circle to dodge): importing one shared
    # module, portal.clock say, does not load the whole application.
    from portal import gate, i18n, ratelimit, security, web

    security.init_app(app)
    i18n.init_app(app)
    web.init_app(app)
    gate.init_app(app)  # after the maintenance gate: a closed MyPage answers 503 first
    _register_commands(app)
    ratelimit.init_app(app)
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """AUTH-11: behind TRUSTED_PROXY_HOPS reverse proxies the client's address
    (for throttles, sessions and the audit log) is the one they appended to
    X-Forwarded-For; with 0 (the default) that header is ignored."""
    hops = int(app.config["TRUSTED_PROXY_HOPS"])
    if hops > 0:
        # Flask types wsgi_app as a method; wrapping it is Flask's documented way
        # to add WSGI middleware.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def _configure_flask(app: Flask) -> None:
    cfg = app.config
    production = cfg["PROFILE"] == "production"
    cfg["SQLALCHEMY_DATABASE_URI"] = cfg["DATABASE_URL"]
    if cfg["DATABASE_URL"].startswith("sqlite"):
        sqlite_path = Path(cfg["DATABASE_URL"].removeprefix("sqlite:///"))
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS",
                       {"connect_args": {"timeout": float(cfg["SQLITE_BUSY_TIMEOUT_S"])}})
    else:
        cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    cfg.update(
        SESSION_COOKIE_NAME="portal_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        # Room for a form with several files; each file is checked against
        # UPLOAD_MAX_BYTES by the area that receives it.
        MAX_CONTENT_LENGTH=cfg["UPLOAD_MAX_BYTES"] * 4 + 1024 * 1024,
        JSON_AS_ASCII=False,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("alembic.runtime.plugins", "pyhanko_certvalidator", "pyhanko.sign.validation"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    sqlite_immediate_transactions_on_connect(dbapi_connection)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _serialize_sqlite_writers(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", sqlite_begin_immediate)


def _init_extensions(app: Flask) -> None:
    # Loaded when the factory runs (no circle to dodge), like the parts create_app
    # wires: importing one shared module does not load every model and extension.
    from portal import model_registry  # noqa: F401  (every model, for Alembic)
    from portal.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        _serialize_sqlite_writers(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)


def _register_blueprints(app: Flask) -> None:
    for spec in BLUEPRINTS:
        module_name, _, attribute = spec.partition(":")
        app.register_blueprint(getattr(importlib.import_module(module_name), attribute))


def _register_commands(app: Flask) -> None:
    for spec in COMMANDS:
        module_name, _, function = spec.partition(":")
        getattr(importlib.import_module(module_name), function)(app)
