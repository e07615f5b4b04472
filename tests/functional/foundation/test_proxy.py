"""AUTH-11: the client address behind TRUSTED_PROXY_HOPS reverse proxies is
what the login throttle (AUTH-4/AUTH-9) and the audit log (AUD-1) see; with
the default 0 an X-Forwarded-For header sent by anyone is ignored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal import create_app
from portal.extensions import db
from portal.models import AuditEntry
from tests.conftest import DEFAULT_PASSWORD

THROTTLED = "ログインの試行回数が多すぎます。"
PROXY = {"REMOTE_ADDR": "10.0.0.5"}  # the load balancer


def _login(client: Any, identifier: str, password: str, forwarded_for: str | None) -> str:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = client.post_form("/login", {"identifier": identifier, "password": password},
                                headers=headers, environ_base=PROXY)
    return response.get_data(as_text=True)


def _failure_ips() -> list[str]:
    return [e.ip for e in db.session.execute(
        select(AuditEntry).where(AuditEntry.action.in_(["login.failure_unknown",
                                                        "login.failure"]))
        .order_by(AuditEntry.id)).scalars()]


@pytest.fixture
def behind_proxy(app: Flask, app_config: dict[str, Any]) -> Iterator[Flask]:
    """The same database, served by a portal configured for one proxy hop."""
    proxied = create_app(dict(app_config, TRUSTED_PROXY_HOPS=1, IP_THROTTLE_MAX=3))
    proxied.test_client_class = app.test_client_class
    db.session.remove()
    with proxied.app_context():
        yield proxied
        db.session.remove()


def test_without_trusted_proxies_x_forwarded_for_is_ignored(app, client, factories):
    app.config["IP_THROTTLE_MAX"] = 3
    for n in range(3):  # a different forged address each time
        _login(client, f"nobody{n}@example.jp", "WrongPass123", f"203.0.113.{n}")
    assert _failure_ips() == ["10.0.0.5"] * 3
    user = factories.customer()
    html = _login(client, user.email, DEFAULT_PASSWORD, "203.0.113.99")
    assert THROTTLED in html  # the forged header did not escape the throttle


def test_behind_one_proxy_each_client_has_its_own_address(behind_proxy, factories):
    client = behind_proxy.test_client()
    for n in range(3):
        _login(client, f"nobody{n}@example.jp", "WrongPass123", "198.51.100.1")
    assert _failure_ips() == ["198.51.100.1"] * 3
    user = factories.customer()
    assert THROTTLED in _login(client, user.email, DEFAULT_PASSWORD, "198.51.100.1")
    # another customer behind the same load balancer is not throttled
    other = behind_proxy.test_client()
    response = other.post_form("/login", {"identifier": user.email,
                                          "password": DEFAULT_PASSWORD},
                               headers={"X-Forwarded-For": "198.51.100.2"},
                               environ_base=PROXY)
    assert response.status_code == 302
    success = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "login.success")).scalar_one()
    assert success.ip == "198.51.100.2"


def test_behind_one_proxy_only_the_address_it_appended_counts(behind_proxy):
    """A client's own X-Forwarded-For entries come first; the proxy appends the
    address it saw, and only that one is trusted."""
    client = behind_proxy.test_client()
    for n in range(3):
        _login(client, "nobody@example.jp", "WrongPass123", f"203.0.113.{n}, 198.51.100.1")
    assert _failure_ips() == ["198.51.100.1"] * 3
    html = _login(client, "nobody2@example.jp", "WrongPass123", "192.0.2.1, 198.51.100.1")
    assert THROTTLED in html
