"""Issue #2: the demo representative logs in with headless Chromium and sees
the Japanese home page; the screenshot is kept as a test artifact."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from portal.demo import DEMO_REP_EMAIL, DEMO_REP_PASSWORD
from tests.e2e.conftest import screenshot, wait_for_text

pytestmark = pytest.mark.e2e


def test_demo_representative_logs_in_and_sees_the_japanese_home(app, live_server, browser):
    assert app.test_cli_runner().invoke(args=["demo", "seed", "--base-only"]).exit_code == 0
    browser.get(live_server.url + "/")
    assert "ログイン" in browser.title
    browser.find_element(By.ID, "identifier").send_keys(DEMO_REP_EMAIL)
    browser.find_element(By.ID, "password").send_keys(DEMO_REP_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    body = wait_for_text(browser, "電子契約サービスへようこそ")
    assert "お知らせ" in body and "電子契約サービスへようこそ" in body
    assert "代表 太郎 様" in body and "（代表者）" in body and "署名が必要な契約" in body
    path = screenshot(browser, "home-demo-representative")
    assert path.stat().st_size > 10_000
    # The settings menu opens and offers logout with a confirmation.
    browser.find_element(By.CSS_SELECTOR, "details.user-menu summary").click()
    browser.find_element(By.LINK_TEXT, "ログアウト").click()
    wait_for_text(browser, "ログアウトしますか")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_text(browser, "ログアウトしました")


def test_a_visitor_switches_to_english_and_back_with_the_header_link(app, live_server, browser):
    """SPEC UI language: English is the second locale, one click away on every page."""
    assert app.test_cli_runner().invoke(args=["demo", "seed", "--base-only"]).exit_code == 0
    browser.get(live_server.url + "/login")
    browser.find_element(By.LINK_TEXT, "English").click()
    wait_for_text(browser, "E-Contract Service")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    browser.find_element(By.ID, "identifier").send_keys(DEMO_REP_EMAIL)
    browser.find_element(By.ID, "password").send_keys(DEMO_REP_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    body = wait_for_text(browser, "Contracts to sign")
    assert "Active contracts" in body and "(Representative)" in body
    screenshot(browser, "home-demo-representative-english")
    browser.find_element(By.LINK_TEXT, "日本語").click()
    wait_for_text(browser, "署名が必要な契約")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
