"""Issue #13 item 3, AUTH-10 (guide §2.4 手順2, §3.5): ログインパスワード変更 of a
logged-in user, reached from the settings menu and the user's own card:
current password, new password twice, AUTH-2 rules with field-level Japanese
messages; wrong current passwords count toward the account lockout (AUTH-4,
portal.ratelimit); the change is audited and mailed and ends the user's other
sessions."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from portal.extensions import db
from portal.mail import deliver_pending
from portal.models import AuditEntry
from tests.conftest import DEFAULT_PASSWORD, login_customer

URL = "/settings/password"
NEW = "Kawaranai2026x"


def _change(client: Any, current: str, new: str, confirm: str | None = None) -> Any:
    return client.post_form(URL, {"current_password": current, "new_password": new,
                                  "new_password_confirm": new if confirm is None else confirm},
                            token_page=URL)


def _field_error(html: str, field: str) -> str:
    """The error text shown next to one field."""
    found = re.search(rf'id="{field}-error"[^>]*>(.*?)</', html, re.S)
    assert found, f"no error for {field}"
    return found.group(1)


def _actions() -> list[str]:
    return list(db.session.execute(select(AuditEntry.action)).scalars())


def test_reached_from_the_settings_menu_and_the_own_card_only(client, factories):
    rep = factories.customer()
    other = factories.customer(rep.company, role="signer")
    login_customer(client, rep.mypage_id, DEFAULT_PASSWORD)
    page = client.get("/settings").get_data(as_text=True)
    menu = page.split('class="user-menu"')[1].split("</details>")[0]
    assert f'href="{URL}"' in menu
    own = page.split(f'id="user-card-{rep.id}"')[1].split("</article>")[0]
    assert f'href="{URL}"' in own and "ログインパスワード変更" in own
    others = page.split(f'id="user-card-{other.id}"')[1].split("</article>")[0]
    assert f'href="{URL}"' not in others
    form = client.get(URL).get_data(as_text=True)
    for field in ("current_password", "new_password", "new_password_confirm"):
        assert f'name="{field}"' in form


def test_refusals_are_field_level_japanese_messages(client, factories):
    rep = factories.customer()
    login_customer(client, rep.mypage_id, DEFAULT_PASSWORD)

    wrong = _change(client, "Wrong-Passw0rd", NEW)
    assert wrong.status_code == 400
    assert "現在のパスワードが正しくありません" in _field_error(wrong.get_data(as_text=True),
                                                          "current_password")
    mismatch = _change(client, DEFAULT_PASSWORD, NEW, "Kawaranai2026y")
    assert mismatch.status_code == 400
    assert "一致しません" in _field_error(mismatch.get_data(as_text=True), "new_password_confirm")
    weak = _change(client, DEFAULT_PASSWORD, "short1A")
    assert "10桁以上16桁以内" in _field_error(weak.get_data(as_text=True), "new_password")
    no_upper = _change(client, DEFAULT_PASSWORD, "kawaranai2026x")
    assert "大文字" in _field_error(no_upper.get_data(as_text=True), "new_password")
    with_id = _change(client, DEFAULT_PASSWORD, f"Ab1{rep.mypage_id}")
    assert "MyPageID" in _field_error(with_id.get_data(as_text=True), "new_password")
    same = _change(client, DEFAULT_PASSWORD, DEFAULT_PASSWORD)
    assert "現在のパスワードと異なる" in _field_error(same.get_data(as_text=True), "new_password")

    client.post_form("/logout")
    assert login_customer(client, rep.mypage_id, DEFAULT_PASSWORD).status_code == 302  # unchanged
    assert "password.change_failed" in _actions() and "password.changed" not in _actions()


def test_change_is_audited_mailed_and_ends_the_other_sessions(app, client, factories, smtp_sink):
    rep = factories.customer()
    elsewhere = app.test_client()
    login_customer(elsewhere, rep.mypage_id, DEFAULT_PASSWORD)
    login_customer(client, rep.mypage_id, DEFAULT_PASSWORD)
    assert elsewhere.get("/settings").status_code == 200

    done = _change(client, DEFAULT_PASSWORD, NEW)
    assert done.status_code == 302 and done.headers["Location"].endswith("/settings")
    assert "ログインパスワードを変更しました" in client.get("/settings").get_data(as_text=True)
    assert elsewhere.get("/settings").status_code == 302  # the other browser logs in again
    assert "password.changed" in _actions()
    deliver_pending()
    assert smtp_sink.last_to(rep.email, "パスワード変更完了")

    client.post_form("/logout")
    assert login_customer(client, rep.mypage_id, DEFAULT_PASSWORD).status_code == 401
    assert login_customer(client, rep.mypage_id, NEW).status_code == 302


def test_wrong_current_passwords_lock_the_account_and_end_its_sessions(app, client, factories):
    rep = factories.customer()
    limit = app.config["LOGIN_MAX_FAILURES"]
    login_customer(client, rep.mypage_id, DEFAULT_PASSWORD)
    for _ in range(limit - 1):
        assert _change(client, "Wrong-Passw0rd", NEW).status_code == 400
    locked = _change(client, "Wrong-Passw0rd", NEW)
    assert locked.status_code == 302 and "/login" in locked.headers["Location"]
    assert "アカウントをロックしました" in client.get("/login").get_data(as_text=True)
    assert client.get("/settings").status_code == 302  # logged out
    assert "account.locked" in _actions()
    # the same lock as wrong passwords at login (one mechanism): the right one is refused too
    assert login_customer(client, rep.mypage_id, DEFAULT_PASSWORD).status_code == 401
