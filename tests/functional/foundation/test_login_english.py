"""SPEC UI language, AUTH-1, AUTH-4, AUTH-7: the MyPage login screens, every login
refusal and the session-expiry notice read in English for an English visitor;
the demo mailbox's labels too (its mails stay Japanese, MAIL-1)."""

from __future__ import annotations

import mailbox
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import time_machine

from portal.clock import now
from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff
from tests.i18n_support import leftover_japanese


def english_page(response) -> str:  # type: ignore[no-untyped-def]
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    return html


def test_login_page_is_english(client):
    client.use_english()
    html = english_page(client.get("/login"))
    assert leftover_japanese(html) == []
    assert "E-Contract Service MyPage Login" in html
    assert "Email address (or MyPageID)" in html and "Forgot your password?" in html
    assert ">Log in</button>" in html


def test_empty_login_form_gets_english_field_errors(client):
    client.use_english()
    response = client.post_form("/login", {"identifier": "", "password": ""})
    html = english_page(response)
    assert response.status_code == 400
    # beside each of the two fields, and again in the error summary (WCAG 3.3.1)
    assert html.count("Please enter this item.") == 4
    assert 'role="alert"' in html
    assert leftover_japanese(html) == []


def test_too_long_identifier_gets_an_english_length_error(client):
    client.use_english()
    response = client.post_form("/login", {"identifier": "a" * 256, "password": "x"})
    html = english_page(response)
    assert response.status_code == 400
    assert "Please enter no more than 255 characters." in html
    assert leftover_japanese(html) == []


def test_wrong_password_message_is_english_and_reveals_nothing(client, factories):
    user = factories.customer()
    client.use_english()
    known = login_customer(client, user.email, "WrongPass123")
    unknown = login_customer(client, "nobody@example.jp", "WrongPass123")
    message = "The email address (or MyPageID) or the password is incorrect."
    for response in (known, unknown):
        assert response.status_code == 401
        html = english_page(response)
        assert message in html
        assert leftover_japanese(html) == []


def test_lock_message_is_english_and_names_the_lock_minutes(app, client, factories):
    user = factories.customer()
    client.use_english()
    for attempt in range(5):
        response = login_customer(client, user.email, f"WrongPass12{attempt}")
    minutes = app.config["LOGIN_LOCK_MINUTES"]
    locked = f"Please log in again after {minutes} minutes."
    html = english_page(response)
    assert response.status_code == 401 and "Your account has been locked" in html
    assert locked in html and leftover_japanese(html) == []
    again = login_customer(client, user.email, DEFAULT_PASSWORD)
    assert again.status_code == 401 and locked in english_page(again)


def test_the_lock_message_stays_japanese_for_a_japanese_visitor(app, client):
    for attempt in range(5):
        response = login_customer(client, "ghost@example.jp", f"WrongPass12{attempt}")
    minutes = app.config["LOGIN_LOCK_MINUTES"]
    japanese = f"一定時間（{minutes}分）経過後に再度ログインしてください。"
    assert japanese in response.get_data(as_text=True)


def test_throttling_message_is_english(app, client, factories):
    app.config["IP_THROTTLE_MAX"] = 3
    users = [factories.customer() for _ in range(4)]
    client.use_english()
    for user in users[:3]:
        login_customer(client, user.email, "WrongPass123")
    refused = login_customer(client, users[3].email, DEFAULT_PASSWORD)
    html = english_page(refused)
    assert refused.status_code == 401
    assert "There have been too many login attempts." in html
    assert leftover_japanese(html) == []


def test_expired_temporary_password_message_is_english(client, factories):
    user = factories.customer(temporary=True, password="TempPass1234")
    user.temp_password_expires_at = now() - timedelta(minutes=1)
    db.session.commit()
    client.use_english()
    response = login_customer(client, user.email, "TempPass1234")
    html = english_page(response)
    assert response.status_code == 401
    assert "Your temporary password has expired." in html
    assert leftover_japanese(html) == []


def test_session_expiry_notice_is_english(client, factories):
    user = factories.customer()
    login_customer(client, user.email, DEFAULT_PASSWORD)
    client.use_english()
    with time_machine.travel(now() + timedelta(minutes=31), tick=False):
        expired = client.get("/")
        assert expired.status_code == 302
        html = english_page(client.get(expired.headers["Location"]))
    assert "You have been logged out because there was no activity for a while." in html
    assert leftover_japanese(html) == []


def test_logged_out_page_is_english(client, factories):
    user = factories.customer()
    login_customer(client, user.email, DEFAULT_PASSWORD)
    client.use_english()
    done = client.post_form("/logout", token_page="/logout")
    html = english_page(done)
    assert "You have logged out" in html and "Go to the login screen" in html
    assert leftover_japanese(html) == []


def test_console_login_refusals_from_portal_auth_are_english(client, factories):
    staff = factories.staff(factories.branch())
    client.use_english()
    wrong = login_staff(client, staff.login_id, "WrongPass123")
    assert wrong.status_code == 401
    assert "The login ID or the password is incorrect." in english_page(wrong)
    for attempt in range(4):
        locked = login_staff(client, staff.login_id, f"WrongPass12{attempt}")
    assert "Your account has been locked" in english_page(locked)


def _deliver_to_maildir(path: Path, subject: str, body: str) -> None:
    box = mailbox.Maildir(str(path), create=True)
    msg = EmailMessage()
    msg["To"] = "user@example.jp"
    msg["Subject"] = subject
    msg["Date"] = "Mon, 23 Nov 2026 09:00:00 +0900"
    msg.set_content(body)
    box.add(msg)


def test_demo_mailbox_labels_are_english_and_the_mail_stays_japanese(app, client):
    app.config["DEV_MAILBOX"] = True
    client.use_english()
    empty = english_page(client.get("/dev/mailbox"))
    assert "There is no mail yet." in empty and leftover_japanese(empty) == []
    subject, body = "【電子契約サービス】認証コードのお知らせ", "認証コード: 123456"
    _deliver_to_maildir(Path(app.config["DEV_MAILDIR"]), subject, body)
    html = english_page(client.get("/dev/mailbox"))
    assert "Demo mailbox (embedded profile only)" in html
    assert "Showing the latest 1 message(s)." in html
    assert "To: user@example.jp" in html
    assert subject in html  # the mail itself is Japanese (MAIL-1)
    assert leftover_japanese(html, subject, body) == []


def test_first_login_password_rules_and_confirmation_are_english(client, factories):
    """AUTH-2, AUTH-3: the password-policy refusals of portal/auth read in English."""
    user = factories.customer(temporary=True, password="TempPass1234")
    client.use_english()
    assert login_customer(client, user.mypage_id, "TempPass1234").status_code == 302
    weak = client.post_form("/first-login", {"current_password": "TempPass1234",
                                             "new_password": "password",
                                             "new_password_confirm": "password"},
                            token_page="/first-login")
    html = english_page(weak)
    assert weak.status_code == 400
    assert "Please enter a password of 10 to 16 characters." in html
    assert "The password must contain upper-case letters, lower-case letters and digits." in html
    assert "This password is too easy to guess and cannot be used." in html
    with_id = client.post_form("/first-login", {"current_password": "TempPass1234",
                                                "new_password": f"{user.mypage_id}ab",
                                                "new_password_confirm": f"{user.mypage_id}ab"},
                               token_page="/first-login")
    assert "A password containing your MyPageID cannot be used." in english_page(with_id)
    new = "Kx7mQ2vLp9Ra"
    done = client.post_form("/first-login", {"current_password": "TempPass1234",
                                             "new_password": new, "new_password_confirm": new},
                            token_page="/first-login")
    assert done.status_code == 302
    home = english_page(client.get(done.headers["Location"]))
    assert "Your password has been registered." in home
