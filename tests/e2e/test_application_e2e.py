"""Issue #3 end to end in headless Chromium (APP-1…APP-5, AUTH-3): the branch
issues an invitation → the applicant opens the link, applies as a corporation
and enters the code read from the real SMTP sink → staff approve in the
console → the MyPageID and temporary password arrive as separate mails →
first login with the password change → home page."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from portal.mail import deliver_pending
from tests.application_forms import CORPORATION_FORM
from tests.conftest import DEFAULT_PASSWORD
from tests.e2e.conftest import screenshot, wait_for_text

pytestmark = pytest.mark.e2e

# The typed fields of the corporation form (the rest are radio buttons and boxes).
APPLICANT = {k: v for k, v in CORPORATION_FORM.items()
             if k not in ("kind", "department", "personal_signing", "identity_method")}
APPLICANT["birth_date"] = "19750314"  # typed as the guide shows it
NEW_PASSWORD = "Sakura1985Tokyo"


def _fill(browser: WebDriver, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = browser.find_element(By.ID, name)
        field.clear()
        field.send_keys(value)


def _click(browser: WebDriver, element_id: str) -> None:
    browser.find_element(By.ID, element_id).click()


def _staff_login(browser: WebDriver, base: str, login_id: str) -> None:
    browser.get(base + "/console/login")
    _fill(browser, {"login_id": login_id, "password": DEFAULT_PASSWORD})
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_text(browser, "銀行コンソール")


def test_invitation_to_first_login(app, live_server, browser, factories, smtp_sink):
    base = live_server.url
    branch = factories.branch("東京支店")
    factories.branch("大阪支店")
    staff = factories.staff(branch)

    # APP-1: the branch issues the invitation (URL + QR) in the console.
    _staff_login(browser, base, staff.login_id)
    browser.get(base + "/console/invitations")
    _fill(browser, {"customer_name": "株式会社法人１"})
    _click(browser, "create-invitation")
    wait_for_text(browser, "お申込みフォームのURL")
    url = browser.find_element(By.ID, "invitation-url").text
    assert url.startswith(base + "/apply?inv=")
    qr = browser.find_element(By.CSS_SELECTOR, "img[alt='お申込みフォームのQRコード']")
    assert browser.execute_script("return arguments[0].naturalWidth", qr) > 0
    browser.delete_all_cookies()

    # APP-2/3: the applicant opens the link and applies as a corporation.
    browser.get(url)
    wait_for_text(browser, "お申込みフォーム")
    _click(browser, "kind-corporation")
    _click(browser, "show-fields")
    wait_for_text(browser, "代表者情報")
    branch_select = browser.find_element(By.ID, "branch_id")
    assert branch_select.find_element(By.CSS_SELECTOR, "option:checked").text == "東京支店"
    _fill(browser, {k: v for k, v in dict(APPLICANT, postal_code="104-0028").items()
                    if k != "established_on"})
    # 設立年月日 from the calendar next to the field (it writes yyyymmdd).
    browser.execute_script(
        "var p = document.querySelector('#established_on + .calendar-picker');"
        "p.value = '1999-11-03'; p.dispatchEvent(new Event('change'));")
    assert browser.find_element(By.ID, "established_on").get_attribute("value") == "19991103"
    _click(browser, "personal_signing")
    _click(browser, "identity-documents")
    _click(browser, "to-confirm")
    body = wait_for_text(browser, "ハイフンなしの半角数字7桁で入力してください")
    assert browser.find_element(By.ID, "company_name").get_attribute("value") == "株式会社法人１"
    screenshot(browser, "apply-form-field-error")
    _fill(browser, {"postal_code": "1040028"})
    _click(browser, "to-confirm")
    body = wait_for_text(browser, "入力内容確認")
    assert "株式会社法人１" in body and "1999/11/03" in body and "東京支店" in body
    screenshot(browser, "apply-confirm")
    _click(browser, "send-code")

    # APP-4: the code comes from the real SMTP sink.
    wait_for_text(browser, "メール認証")
    deliver_pending()
    code = smtp_sink.code_in_last(APPLICANT["email"], "認証コード")
    _fill(browser, {"code": code})
    _click(browser, "apply-submit")
    wait_for_text(browser, "MyPage 利用申込が完了しました")
    browser.refresh()  # a reload stores nothing more (APP-6)
    wait_for_text(browser, "MyPage 利用申込が完了しました")
    browser.delete_all_cookies()

    # APP-5: branch staff approve in the console.
    _staff_login(browser, base, staff.login_id)
    browser.get(base + "/console/applications")
    wait_for_text(browser, "株式会社法人１")
    browser.find_element(By.CSS_SELECTOR, "#pending-applications a[id^=review-]").click()
    body = wait_for_text(browser, "お申込み内容")
    assert "ホウジンイチ" in body and "代表取締役社長" in body
    _click(browser, "approve")
    body = wait_for_text(browser, "承認しました")
    browser.delete_all_cookies()

    deliver_pending()
    id_mail = smtp_sink.last_to(APPLICANT["email"], "MyPageIDのお知らせ")
    pw_mail = smtp_sink.last_to(APPLICANT["email"], "仮パスワードのお知らせ")
    assert smtp_sink.last_to(APPLICANT["email"], "本人確認書類等アップロードのお願い")
    mypage_id = re.search(r"MyPageID：(MP\d{8})", smtp_sink.body(id_mail)).group(1)
    temporary = re.search(r"仮パスワード：(\S+)", smtp_sink.body(pw_mail)).group(1)

    # AUTH-3: first login forces the new password, then the home page opens.
    browser.get(base + "/login")
    _fill(browser, {"identifier": mypage_id, "password": temporary})
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_text(browser, "新パスワード登録")
    _fill(browser, {"current_password": temporary, "new_password": NEW_PASSWORD,
                    "new_password_confirm": NEW_PASSWORD})
    _click(browser, "register-password")
    body = wait_for_text(browser, "お知らせ")
    assert "法人 太郎 様" in body and "（代表者）" in body
    screenshot(browser, "first-login-home")
    browser.get(base + "/settings")
    body = wait_for_text(browser, "登録情報の照会・変更")
    assert "株式会社法人１" in body and mypage_id in body
    screenshot(browser, "settings-company-and-user-cards")
