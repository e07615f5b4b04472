"""AUTH-11, AUTH-3, AUTH-6: one gate for every page, deny by default.

Every route of the portal declares who may open it (portal.gate); a session
holding only the mailed temporary password reaches the first-login change and
logout, nothing else (KYC consent, uploads and submission, /certs/ included);
a session whose new address waits for its code reaches only the email
verification; each side's pages refuse the other side's users."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from kyc.models import KycConsent, KycSubmission
from portal.extensions import db
from portal.gate import CONSOLE_PREFIX, Gate, declared_gate
from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, concrete URL) for every route of the URL map."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        values = {arg: (1 if rule._converters[arg].__class__.__name__ == "IntegerConverter"
                        else "x") for arg in rule.arguments}
        url = adapter.build(rule.endpoint, values)
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            found.append((rule.endpoint, method, url))
    return found


def _open(client: Any, method: str, url: str, token_page: str) -> Any:
    if method == "GET":
        return client.get(url)
    return client.post_form(url, {}, token_page=token_page) if method == "POST" else \
        client.open(url, method=method)


def test_every_route_declares_its_gate(app):
    undeclared = sorted({rule.endpoint for rule in app.url_map.iter_rules()
                         if declared_gate(app, rule.endpoint) is None})
    assert undeclared == [], f"routes without a gate declaration: {undeclared}"
    for rule in app.url_map.iter_rules():
        gate = declared_gate(app, rule.endpoint)
        if rule.rule.startswith(CONSOLE_PREFIX):  # TEMPORARY: a staff first login (AUTH-3)
            assert gate in (Gate.STAFF, Gate.PUBLIC, Gate.TEMPORARY), rule.endpoint
        else:
            assert gate is not Gate.STAFF, rule.endpoint


def test_public_routes_are_the_declared_few(app):
    public = {rule.endpoint for rule in app.url_map.iter_rules()
              if declared_gate(app, rule.endpoint) is Gate.PUBLIC}
    assert public == {
        "static", "set_language", "dev.mailbox_view",
        "auth.login", "auth.logout", "auth.logout_confirm",
        "console.login", "console.logout",
        "apply.form", "apply.confirm", "apply.back", "apply.send_code", "apply.verify",
        "apply.resend", "apply.done",
        "apply.forgot_password", "apply.reset_password", "apply.reset_resend",
    }


def test_a_temporary_password_session_reaches_only_the_first_login_change(app, client,
                                                                          factories):
    user = factories.customer(temporary=True)
    response = login_customer(client, user.email, DEFAULT_PASSWORD)
    assert response.headers["Location"] == "/first-login"
    assert "新パスワード" in client.get("/first-login").get_data(as_text=True)
    for endpoint, method, url in _routes(app):
        gate = declared_gate(app, endpoint)
        if gate in (Gate.PUBLIC, Gate.TEMPORARY):
            continue
        response = _open(client, method, url, token_page="/first-login")
        expected = "/console/login" if gate is Gate.STAFF else "/first-login"
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert response.headers["Location"].startswith(expected), (endpoint, method)
    # still logged in: the refusals did not end the session
    assert client.get("/first-login").status_code == 200


def test_temporary_session_cannot_consent_upload_submit_or_open_certs(client, factories):
    user = factories.customer(temporary=True)
    login_customer(client, user.email, DEFAULT_PASSWORD)
    attempts = [
        ("POST", "/mypage/kyc/consent", {"decision": "agree", "understood": "y"}),
        ("POST", "/mypage/kyc/1/files", {}),
        ("POST", "/mypage/kyc/1/submit", {}),
        ("GET", "/mypage/kyc", None),
        ("GET", "/certs/", None),
        ("GET", "/certs/pin/register", None),
    ]
    for method, url, data in attempts:
        response = (client.get(url) if method == "GET"
                    else client.post_form(url, data, token_page="/first-login"))
        assert response.status_code == 302 and response.headers["Location"] == "/first-login", url
    assert db.session.scalar(select(func.count()).select_from(KycConsent)) == 0
    assert db.session.scalar(select(func.count()).select_from(KycSubmission)) == 0


def test_the_first_login_change_opens_mypage(client, factories):
    user = factories.customer(temporary=True)
    login_customer(client, user.email, DEFAULT_PASSWORD)
    response = client.post_form("/first-login", {
        "current_password": DEFAULT_PASSWORD, "new_password": "Fresh2Passw0rd",
        "new_password_confirm": "Fresh2Passw0rd"}, token_page="/first-login")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/certs/").status_code == 200
    assert client.get("/mypage/kyc").status_code in (200, 302)
    assert client.get("/mypage/kyc").headers.get("Location") != "/first-login"


def test_a_pending_email_change_reaches_only_its_verification(app, client, factories):
    user = factories.customer()
    user.pending_email = "new.address@example.jp"
    db.session.commit()
    login_customer(client, user.email, DEFAULT_PASSWORD)
    for endpoint, method, url in _routes(app):
        gate = declared_gate(app, endpoint)
        if gate is not Gate.CUSTOMER or method != "GET":
            continue
        response = client.get(url)
        assert response.status_code == 302, endpoint
        assert response.headers["Location"] == "/settings/email/verify", endpoint
    assert client.get("/settings/email/verify").status_code == 200


@pytest.mark.parametrize("side", ["anonymous", "staff", "customer"])
def test_each_side_is_sent_to_its_own_login(app, client, factories, side):
    if side == "staff":
        login_staff(client, factories.staff(factories.branch()).login_id, DEFAULT_PASSWORD)
    elif side == "customer":
        login_customer(client, factories.customer().email, DEFAULT_PASSWORD)
    for endpoint, method, url in _routes(app):
        gate = declared_gate(app, endpoint)
        if method != "GET" or gate is Gate.PUBLIC:
            continue
        console = url.startswith(CONSOLE_PREFIX)
        if (side == "staff") == console and side != "anonymous":
            continue  # its own side: the area's own rules (tested there) decide
        response = client.get(url)
        login = "/console/login" if console else "/login"
        assert response.status_code == 302, (side, endpoint)
        assert response.headers["Location"].startswith(f"{login}?next="), (side, endpoint)
