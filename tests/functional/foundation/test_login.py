"""AUTH-1, AUTH-4, AUTH-7: login, lockout, sessions, CSRF, headers."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from portal import create_app
from portal.clock import now
from portal.extensions import db
from portal.models import AuditEntry
from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff


def test_customer_logs_in_with_email_or_mypage_id_and_sees_home(client, factories):
    user = factories.customer()
    response = login_customer(client, user.email, DEFAULT_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    assert "お知らせ" in html and "署名が必要な契約" in html and user.display_name in html
    client.post_form("/logout")
    assert login_customer(client, user.mypage_id.lower(), DEFAULT_PASSWORD).status_code == 302


def test_wrong_password_gives_a_message_that_does_not_reveal_the_account(client, factories):
    user = factories.customer()
    known = login_customer(client, user.email, "WrongPass123").get_data(as_text=True)
    unknown = login_customer(client, "nobody@example.jp", "WrongPass123").get_data(as_text=True)
    message = "メールアドレス（またはMyPageID）またはパスワードが正しくありません。"
    assert message in known and message in unknown


def test_five_failures_lock_the_account_and_the_lock_survives_a_restart(app, app_config, client,
                                                                       factories):
    user = factories.customer()
    email = user.email
    for attempt in range(5):
        response = login_customer(client, email, f"WrongPass12{attempt}")
    assert response.status_code == 401
    assert "アカウントをロックしました" in response.get_data(as_text=True)

    refused = login_customer(client, user.email, DEFAULT_PASSWORD)
    assert refused.status_code == 401 and "ロック" in refused.get_data(as_text=True)

    restarted = create_app(app_config)  # a new process would read the same database
    restarted.test_client_class = type(client)
    with restarted.app_context():
        other = restarted.test_client()
        still = login_customer(other, email, DEFAULT_PASSWORD)
        assert still.status_code == 401 and "ロック" in still.get_data(as_text=True)
        db.session.remove()

    with time_machine.travel(now() + timedelta(minutes=31), tick=False):
        assert login_customer(client, user.email, DEFAULT_PASSWORD).status_code == 302
    actions = [e.action for e in db.session.query(AuditEntry).order_by(AuditEntry.id)]
    assert "account.locked" in actions and "login.refused_locked" in actions


def test_an_unknown_account_locks_alike(client):
    for attempt in range(5):
        response = login_customer(client, "ghost@example.jp", f"WrongPass12{attempt}")
    assert "アカウントをロックしました" in response.get_data(as_text=True)


def test_per_ip_throttling_stops_password_spraying(app, client, factories):
    app.config["IP_THROTTLE_MAX"] = 3
    users = [factories.customer() for _ in range(4)]
    for user in users[:3]:
        login_customer(client, user.email, "WrongPass123")
    refused = login_customer(client, users[3].email, DEFAULT_PASSWORD)
    assert refused.status_code == 401
    assert "試行回数が多すぎます" in refused.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client, factories):
    user = factories.customer()
    response = client.post("/login", data={"identifier": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert "不正な送信" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in


def test_session_cookie_is_renewed_at_login_and_is_httponly_and_samesite(client, factories):
    user = factories.customer()
    client.get("/login")
    before = client.get_cookie("portal_session").value
    response = login_customer(client, user.email, DEFAULT_PASSWORD)
    set_cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    assert "Secure" not in set_cookie  # embedded profile on http://localhost
    assert client.get_cookie("portal_session").value != before


def test_logout_asks_for_confirmation_and_ends_the_session_server_side(client, factories):
    user = factories.customer()
    login_customer(client, user.email, DEFAULT_PASSWORD)
    stolen = client.get_cookie("portal_session").value
    confirm = client.get("/logout")
    assert "ログアウトしますか" in confirm.get_data(as_text=True)
    done = client.post_form("/logout", token_page="/logout")
    assert "ログアウトしました" in done.get_data(as_text=True)
    client.set_cookie("portal_session", stolen)  # replaying the old cookie
    assert client.get("/").status_code == 302


def test_idle_timeout_and_absolute_timeout_end_the_session(client, factories):
    user = factories.customer()
    login_customer(client, user.email, DEFAULT_PASSWORD)
    with time_machine.travel(now() + timedelta(minutes=31), tick=False):
        response = client.get("/")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    login_customer(client, user.email, DEFAULT_PASSWORD)
    start = now()
    for minutes in range(25, 12 * 60 + 25, 25):  # active all day, never idle
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            response = client.get("/")
    assert response.status_code == 302


def test_security_headers_and_no_store_on_authenticated_pages(client, factories):
    anonymous = client.get("/login")
    csp = anonymous.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert anonymous.headers["X-Content-Type-Options"] == "nosniff"
    assert anonymous.headers["Referrer-Policy"]
    user = factories.customer()
    login_customer(client, user.email, DEFAULT_PASSWORD)
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_staff_login_is_separate_from_mypage(client, factories):
    branch = factories.branch()
    staff = factories.staff(branch)
    assert login_customer(client, staff.login_id, DEFAULT_PASSWORD).status_code == 401
    assert login_staff(client, staff.login_id, DEFAULT_PASSWORD).status_code == 302
    assert client.get("/console/").status_code == 200
    assert client.get("/").status_code == 302  # staff do not reach MyPage


def test_customer_cannot_open_the_console(client, factories):
    user = factories.customer()
    login_customer(client, user.email, DEFAULT_PASSWORD)
    response = client.get("/console/")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_login_form_errors_are_field_level_japanese(client):
    response = client.post_form("/login", {"identifier": "", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "入力してください。" in html


def test_open_redirect_after_login_is_refused(client, factories):
    user = factories.customer()
    client.get("/login")
    token = client.csrf_token()
    response = client.post("/login?next=https://evil.example/", data={
        "identifier": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"
