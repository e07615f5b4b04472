"""Issue #7 in headless Chromium: the representative creates a signer with a
system-created power of attorney signed with PIN + the code from the SMTP
sink; the new signer logs in with the mailed temporary password."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from portal.certs.models import PoaKind
from portal.extensions import db
from portal.mail import deliver_pending
from portal.users.models import PowerOfAttorney
from tests.conftest import DEFAULT_PASSWORD
from tests.e2e.conftest import screenshot, wait_for_text
from tests.functional.users.conftest import (  # noqa: F401  (fixtures)
    PIN,
    app_config,
    people,
    rs_client,
    signing_service,
)
from tests.functional.users.helpers import person, temporary_password, user_by_email
from tests.functional.users.test_poa_signing import _otp

pytestmark = pytest.mark.e2e

NEW_EMAIL = "e2e-signer@example.jp"


def _fill(browser, values):
    for name, value in values.items():
        field = browser.find_element(By.ID, name)
        field.clear()
        field.send_keys(value)


def _login(browser, url, identifier, password):
    browser.get(url + "/login")
    _fill(browser, {"identifier": identifier, "password": password})
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def test_representative_adds_a_signer_with_a_signed_system_poa(
        app, live_server, browser, people, factories, smtp_sink):  # noqa: F811
    company = factories.company()
    rep = people.with_certificate(company, title="代表取締役")
    _login(browser, live_server.url, rep.email, DEFAULT_PASSWORD)
    wait_for_text(browser, "お知らせ")

    browser.get(live_server.url + "/users/")
    browser.find_element(By.ID, "user-create").click()
    wait_for_text(browser, "ユーザ新規登録")
    data = person(NEW_EMAIL)
    _fill(browser, {k: v for k, v in data.items() if k not in ("role", "identity_method")})
    browser.find_element(By.ID, "role-signer").click()
    browser.find_element(By.ID, "poa-system").click()
    browser.find_element(By.ID, "to-confirm").click()

    confirm = wait_for_text(browser, "署名が必要な書類")
    assert "署名者" in confirm and "システム作成" in confirm and "佐藤" in confirm
    screenshot(browser, "users-new-signer-confirm")
    browser.find_element(By.ID, "to-sign").click()
    wait_for_text(browser, "署名用PIN")
    browser.find_element(By.ID, "pin").send_keys(PIN)
    browser.find_element(By.ID, "send-pin").click()
    wait_for_text(browser, "認証コード")
    assert not browser.find_element(By.ID, "sign").is_enabled()  # 電子署名 after 認証 only
    browser.find_element(By.ID, "code").send_keys(_otp(smtp_sink, rep.email))
    browser.find_element(By.ID, "authenticate").click()
    wait_for_text(browser, "認証が完了しました")
    screenshot(browser, "users-new-signer-authenticated")
    browser.find_element(By.ID, "sign").click()
    done = wait_for_text(browser, "登録完了")
    assert "初回ログイン" in done
    screenshot(browser, "users-new-signer-done")

    db.session.expire_all()
    signer = user_by_email(NEW_EMAIL)
    assert signer is not None and signer.role == "signer"
    poa = db.session.query(PowerOfAttorney).filter_by(agent_user_id=signer.id).one()
    assert poa.kind == PoaKind.SYSTEM

    deliver_pending()
    mypage_id = signer.mypage_id
    assert mypage_id in smtp_sink.body(smtp_sink.last_to(NEW_EMAIL, "MyPageID"))
    temporary = temporary_password(smtp_sink, NEW_EMAIL)

    browser.delete_all_cookies()
    _login(browser, live_server.url, mypage_id, temporary)
    first = wait_for_text(browser, "新パスワード登録")
    assert "現在のパスワード" in first
    screenshot(browser, "users-new-signer-first-login")
