"""AUTH-3 (first login, temporary password expiry and reissue), AUTH-5
(forgotten password), AUTH-6 (email change) and 登録情報の照会・変更."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal import clock
from portal.crypto import verify_secret
from portal.extensions import db
from portal.mail import deliver_pending
from portal.models import AuditEntry, MailOutbox
from portal.mypage.models import EmailVerification
from tests.conftest import DEFAULT_PASSWORD, login_customer

NEW_PASSWORD = "Sakura1985Tokyo"


def _actions() -> list[str]:
    return list(db.session.execute(select(AuditEntry.action)).scalars())


def _temp_password_from(smtp_sink, email: str) -> str:
    deliver_pending()
    body = smtp_sink.body(smtp_sink.last_to(email, "仮パスワードのお知らせ"))
    return body.split("仮パスワード：")[1].split()[0]


# --- first login (AUTH-3) ------------------------------------------------------------

def test_first_login_forces_the_password_change(client, factories):
    user = factories.customer(temporary=True, password="TempPass1234")
    response = login_customer(client, user.mypage_id, "TempPass1234")
    assert response.headers["Location"].endswith("/first-login")
    assert client.get("/").headers["Location"].endswith("/first-login")  # nothing else opens
    assert client.get("/settings").headers["Location"].endswith("/first-login")
    page = client.get("/first-login").get_data(as_text=True)
    assert "現在のパスワード" in page and "新しいパスワード (確認用)" in page
    bad = client.post_form("/first-login", {"current_password": "WrongPass1234",
                                            "new_password": NEW_PASSWORD,
                                            "new_password_confirm": NEW_PASSWORD},
                           token_page="/first-login")
    assert bad.status_code == 400
    assert "現在のパスワードが正しくありません" in bad.get_data(as_text=True)
    weak = client.post_form("/first-login", {"current_password": "TempPass1234",
                                             "new_password": "password",
                                             "new_password_confirm": "password"},
                            token_page="/first-login")
    assert "10桁以上16桁以内" in weak.get_data(as_text=True)
    with_id = client.post_form("/first-login", {"current_password": "TempPass1234",
                                                "new_password": f"{user.mypage_id}ab",
                                                "new_password_confirm": f"{user.mypage_id}ab"},
                               token_page="/first-login")
    assert "MyPageIDを含む" in with_id.get_data(as_text=True)
    ok = client.post_form("/first-login", {"current_password": "TempPass1234",
                                           "new_password": NEW_PASSWORD,
                                           "new_password_confirm": NEW_PASSWORD},
                          token_page="/first-login")
    assert ok.headers["Location"].endswith("/")
    db.session.refresh(user)
    assert user.first_login_done and not user.password_is_temporary
    assert verify_secret(user.password_hash, NEW_PASSWORD)
    assert client.get("/").status_code == 200
    assert "password.first_changed" in _actions()


def test_temporary_password_expires_after_configured_days(client, factories, app):
    app.config["TEMP_PASSWORD_DAYS"] = 3
    user = factories.customer(temporary=True, password="TempPass1234")
    with time_machine.travel(clock.now() + timedelta(days=3, minutes=1)):
        response = login_customer(client, user.email, "TempPass1234")
    assert response.status_code == 401
    assert "仮パスワードの有効期限が切れています" in response.get_data(as_text=True)


# --- 仮パスワード再発行 (AUTH-3, §3.4.4) ---------------------------------------------------

def test_representative_reissues_for_user_who_has_not_logged_in(client, factories, smtp_sink):
    company = factories.company()
    rep = factories.customer(company)
    newcomer = factories.customer(company, role="signer", temporary=True,
                                  password="OldTemp12345")
    login_customer(client, rep.email, DEFAULT_PASSWORD)
    settings = client.get("/settings").get_data(as_text=True)
    assert f'id="reissue-{newcomer.id}"' in settings
    assert f'id="reissue-{rep.id}"' not in settings  # never on oneself / logged-in users
    assert "初回未ログイン" in settings
    confirm = client.get(f"/settings/users/{newcomer.id}/temporary-password").get_data(as_text=True)
    assert newcomer.email in confirm
    done = client.post_form(f"/settings/users/{newcomer.id}/temporary-password", {},
                            token_page="/settings/email")
    assert "仮パスワードの再発行が完了しました" in done.get_data(as_text=True)
    new_temp = _temp_password_from(smtp_sink, newcomer.email)
    assert "再発行" in smtp_sink.body(smtp_sink.last_to(newcomer.email, "仮パスワード"))
    other = client.application.test_client()
    assert login_customer(other, newcomer.email, "OldTemp12345").status_code == 401
    assert login_customer(other, newcomer.email, new_temp).status_code == 302
    assert "temp_password.reissued" in _actions()


def test_reissue_refused_after_first_login_or_for_signers(client, factories):
    company = factories.company()
    rep = factories.customer(company)
    active = factories.customer(company, role="signer")  # first login done
    signer = factories.customer(company, role="signer")
    newcomer = factories.customer(company, role="viewer", temporary=True)
    outsider = factories.customer(factories.company(), role="viewer", temporary=True)
    login_customer(client, rep.email, DEFAULT_PASSWORD)
    response = client.post_form(f"/settings/users/{active.id}/temporary-password", {},
                                token_page="/settings/email")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "初回ログインが完了しているため" in page
    assert client.get(f"/settings/users/{outsider.id}/temporary-password").status_code == 404
    client.post("/logout", data={"csrf_token": client.csrf_token("/settings/email")})
    login_customer(client, signer.email, DEFAULT_PASSWORD)
    assert client.get(f"/settings/users/{newcomer.id}/temporary-password").status_code == 404
    assert db.session.execute(select(MailOutbox)).first() is None


# --- forgotten password (AUTH-5) -------------------------------------------------------------

def _start_reset(client, login_id: str):
    return client.post_form("/password/forgot", {"login_id": login_id},
                            token_page="/password/forgot")


def test_forgotten_password_with_code(client, factories, smtp_sink):
    user = factories.customer()
    response = _start_reset(client, user.mypage_id)
    assert response.headers["Location"].endswith("/password/reset")
    deliver_pending()
    code = smtp_sink.code_in_last(user.email, "認証コード")
    mismatch = client.post_form("/password/reset", {"code": code, "new_password": NEW_PASSWORD,
                                                    "new_password_confirm": "Other1234567"},
                                token_page="/password/reset")
    assert "一致しません" in mismatch.get_data(as_text=True)
    with_email = "Xx1" + user.email.split("@")[0] + "Abcd"
    weak = client.post_form("/password/reset", {"code": code, "new_password": with_email,
                                                "new_password_confirm": with_email},
                            token_page="/password/reset")
    assert "メールアドレスを含む" in weak.get_data(as_text=True)
    ok = client.post_form("/password/reset", {"code": code, "new_password": NEW_PASSWORD,
                                              "new_password_confirm": NEW_PASSWORD},
                          token_page="/password/reset")
    assert ok.headers["Location"].endswith("/login")
    db.session.refresh(user)
    assert verify_secret(user.password_hash, NEW_PASSWORD)
    assert login_customer(client.application.test_client(), user.email,
                          NEW_PASSWORD).status_code == 302
    assert "password.reset" in _actions()
    deliver_pending()
    assert smtp_sink.last_to(user.email, "パスワード変更完了")


def test_forgotten_password_never_reveals_whether_the_account_exists(client, factories,
                                                                    smtp_sink):
    user = factories.customer()
    known = _start_reset(client, user.email)
    known_page = client.get(known.headers["Location"]).get_data(as_text=True)
    other = client.application.test_client()
    unknown = _start_reset(other, "nobody@example.jp")
    unknown_page = other.get(unknown.headers["Location"]).get_data(as_text=True)
    assert known.status_code == unknown.status_code == 302
    strip = [user.email, "nobody@example.jp"]
    for value in strip:
        known_page = known_page.replace(value, "X")
        unknown_page = unknown_page.replace(value, "X")
    token = re.compile(r'name="csrf_token" value="[^"]+"')
    assert token.sub("", known_page) == token.sub("", unknown_page)
    deliver_pending()
    assert smtp_sink.to("nobody@example.jp") == []
    answer = other.post_form("/password/reset", {"code": "123456", "new_password": NEW_PASSWORD,
                                                 "new_password_confirm": NEW_PASSWORD},
                             token_page="/password/reset")
    assert "認証コードが正しくありません" in answer.get_data(as_text=True)


def test_reset_code_attempt_limit_and_expiry(client, factories, smtp_sink):
    user = factories.customer()
    start = clock.now()
    with time_machine.travel(start, tick=False):
        _start_reset(client, user.email)
        deliver_pending()
        code = smtp_sink.code_in_last(user.email, "認証コード")
    with time_machine.travel(start + timedelta(minutes=10, seconds=1), tick=False):
        expired = client.post_form("/password/reset", {"code": code,
                                                       "new_password": NEW_PASSWORD,
                                                       "new_password_confirm": NEW_PASSWORD},
                                   token_page="/password/reset")
        assert "有効期限（10分）が切れています" in expired.get_data(as_text=True)
        client.post_form("/password/resend", {}, token_page="/password/reset")
        deliver_pending()
        code = smtp_sink.code_in_last(user.email, "認証コード")
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(5):
            client.post_form("/password/reset", {"code": wrong, "new_password": NEW_PASSWORD,
                                                 "new_password_confirm": NEW_PASSWORD},
                             token_page="/password/reset")
        sixth = client.post_form("/password/reset", {"code": code,
                                                     "new_password": NEW_PASSWORD,
                                                     "new_password_confirm": NEW_PASSWORD},
                                 token_page="/password/reset")
        assert "この認証コードは使用できません" in sixth.get_data(as_text=True)
    db.session.refresh(user)
    assert verify_secret(user.password_hash, DEFAULT_PASSWORD)


# --- email change (AUTH-6) ---------------------------------------------------

def test_email_change_is_used_only_after_verification(client, factories, smtp_sink):
    user = factories.customer()
    old = user.email
    login_customer(client, old, DEFAULT_PASSWORD)
    taken = factories.customer()
    response = client.post_form("/settings/email", {"email": taken.email,
                                                    "email_confirm": taken.email},
                                token_page="/settings/email")
    assert "既に登録されています" in response.get_data(as_text=True)
    response = client.post_form("/settings/email", {"email": "new.addr@example.jp",
                                                    "email_confirm": "new.addr@example.jp"},
                                token_page="/settings/email")
    assert response.headers["Location"].endswith("/settings/email/verify")
    db.session.refresh(user)
    assert user.email == old and user.pending_email == "new.addr@example.jp"
    deliver_pending()
    code = smtp_sink.code_in_last("new.addr@example.jp", "認証コード")
    assert smtp_sink.last_to(old, "メールアドレス変更手続き")
    # Until verified, MyPage sends the user to メール認証 (also at the next login).
    assert client.get("/settings").headers["Location"].endswith("/settings/email/verify")
    fresh = client.application.test_client()
    login_customer(fresh, old, DEFAULT_PASSWORD)
    assert fresh.get("/").headers["Location"].endswith("/settings/email/verify")
    ok = fresh.post_form("/settings/email/verify", {"code": code},
                         token_page="/settings/email/verify")
    assert ok.headers["Location"].endswith("/settings")
    db.session.refresh(user)
    assert user.email == "new.addr@example.jp" and user.pending_email is None
    assert "email.changed" in _actions()


def test_email_change_can_be_cancelled(client, factories):
    user = factories.customer()
    login_customer(client, user.email, DEFAULT_PASSWORD)
    client.post_form("/settings/email",
                     {"email": "x.y@example.jp", "email_confirm": "x.y@example.jp"},
                     token_page="/settings/email")
    client.post_form("/settings/email/cancel", {}, token_page="/settings/email/verify")
    db.session.refresh(user)
    assert user.pending_email is None
    assert client.get("/settings").status_code == 200
    row = db.session.execute(select(EmailVerification)).scalar_one()
    assert row.consumed_at is not None


# --- 登録情報の照会・変更 ---------------------------------------------------

def test_settings_shows_company_and_user_cards_of_own_company_only(client, factories):
    company = factories.company(name="株式会社自社")
    rep = factories.customer(company)
    factories.customer(company, role="viewer")
    factories.customer(factories.company(name="株式会社他社"))
    login_customer(client, rep.email, DEFAULT_PASSWORD)
    html = client.get("/settings").get_data(as_text=True)
    assert "株式会社自社" in html and "株式会社他社" not in html
    assert html.count('class="user-card"') == 2
    assert "参照権限のため署名はできません" in html
    assert rep.mypage_id in html


@pytest.mark.parametrize("pending", [True, False])
def test_status_line_is_pluggable(factories, pending):
    from portal.mypage.status import register_status, status_line

    user = factories.customer(temporary=pending)
    viewer = factories.customer(role="viewer")
    if pending:
        assert status_line(user) == "初回未ログイン"
    assert status_line(viewer) == "参照権限のため署名はできません"

    def certificate_status(u):  # what the certificates area would plug in
        return "署名可能"

    register_status(certificate_status, priority=11)
    try:
        assert status_line(user) == ("初回未ログイン" if pending else "署名可能")
    finally:
        from portal.mypage import status

        status._providers[:] = [p for p in status._providers if p[2] is not certificate_status]


def test_temporary_password_expiring_during_first_login_is_refused(client, factories):
    user = factories.customer(temporary=True, password="TempPass1234")
    user.temp_password_expires_at = clock.now() + timedelta(minutes=5)
    db.session.commit()
    login_customer(client, user.email, "TempPass1234")
    with time_machine.travel(clock.now() + timedelta(minutes=6)):
        response = client.post_form("/first-login", {"current_password": "TempPass1234",
                                                     "new_password": NEW_PASSWORD,
                                                     "new_password_confirm": NEW_PASSWORD},
                                    token_page="/first-login")
    assert "仮パスワードの有効期限が切れています" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.password_is_temporary and not user.first_login_done
