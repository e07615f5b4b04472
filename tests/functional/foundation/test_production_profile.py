"""The production profile on the real PostgreSQL server: Secure cookies and HSTS
(AUTH-7, issue #2 item 4)."""

from __future__ import annotations

import base64
import os

from portal import create_app
from portal.extensions import db


def test_production_sets_secure_cookie_and_hsts(pg_database, tmp_path):
    app = create_app({
        "PROFILE": "production",
        "DATABASE_URL": pg_database,
        "MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "SECRET_KEY": os.urandom(24).hex(),
        "SIGNING_CLIENT_SECRET": "production-portal-secret",
        "SIGNING_CONSOLE_CLIENT_SECRET": "production-console-secret",
        "BASE_URL": "https://econtract.example.jp",
        "FILESTORE_PATH": str(tmp_path / "files"),
        "MAINTENANCE_RECURRING_ENABLED": False,
    })
    client = app.test_client()
    response = client.get("/login")
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    assert client.get("/dev/mailbox").status_code == 404  # no demo mailbox in production
    with app.app_context():
        db.engine.dispose()
