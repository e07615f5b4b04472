"""Issue #6 end to end in headless Chromium: staff prepares and sends a
package; the representative opens it from the notice, opens each document,
ticks the boxes, signs with PIN + the emailed code; staff concludes; the
customer finds it in 現在有効な契約 and downloads the PDF and the report."""

from __future__ import annotations

import pytest
import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from portal.contracts.models import ContractPackage
from portal.contracts.states import PackageState
from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD
from tests.e2e.conftest import screenshot, wait_for_text
from tests.functional.contracts.conftest import (  # noqa: F401  (fixtures)
    PIN,
    contract_pdf,
    issue_credential,
    rs_mail,
    rs_service,
    signing_app,
    world,
)

pytestmark = pytest.mark.e2e


def _set(browser, element_id: str, value: str) -> None:
    element = browser.find_element(By.ID, element_id)
    browser.execute_script("arguments[0].value = arguments[1];", element, value)


def _click(browser, selector: str) -> None:
    browser.find_element(By.CSS_SELECTOR, selector).click()


def _staff_login(browser, base: str, world) -> None:  # noqa: F811
    browser.delete_all_cookies()
    browser.get(base + "/console/login")
    browser.find_element(By.ID, "login_id").send_keys(world.staff.login_id)
    browser.find_element(By.ID, "password").send_keys(DEFAULT_PASSWORD)
    _click(browser, "button[type=submit]")
    wait_for_text(browser, "HOME")


def _accept_confirm(browser) -> None:
    WebDriverWait(browser, 5).until(lambda d: d.switch_to.alert).accept()


def test_prepare_sign_conclude_and_download_in_chromium(
        signing_app, live_server, browser, world, contract_pdf,  # noqa: F811
        rs_mail, tmp_path):  # noqa: F811
    issue_credential(signing_app, world.rep)
    base = live_server.url
    files = []
    for name in ("金銭消費貸借契約書.pdf", "保証契約書.pdf", "重要事項説明書.pdf"):
        path = tmp_path / name
        path.write_bytes(contract_pdf)
        files.append(str(path))

    # 1. staff prepares and sends
    _staff_login(browser, base, world)
    browser.get(base + "/console/contracts/new")
    _set(browser, "application_date", "2026-04-01")
    Select(browser.find_element(By.ID, "summary_type")).select_by_visible_text("貸出契約のみ")
    browser.find_element(By.ID, "loan_amount").send_keys("10000000")
    _set(browser, "planned_loan_date", "2026-04-15")
    Select(browser.find_element(By.ID, "party-0-company")).select_by_value(str(world.company.id))
    Select(browser.find_element(By.ID, "party-0-position")).select_by_visible_text("債務者")
    browser.find_element(By.ID, "contract_files").send_keys("\n".join(files[:2]))
    browser.find_element(By.ID, "important_file").send_keys(files[2])
    _click(browser, "#save-package")
    wait_for_text(browser, "作成中")
    _click(browser, "#send-package")
    _accept_confirm(browser)
    wait_for_text(browser, "署名受付中")
    package = db.session.query(ContractPackage).one()

    # 2. the representative opens it from the notice and signs
    browser.delete_all_cookies()
    browser.get(base + "/login")
    browser.find_element(By.ID, "identifier").send_keys(world.rep.email)
    browser.find_element(By.ID, "password").send_keys(DEFAULT_PASSWORD)
    _click(browser, "button[type=submit]")
    wait_for_text(browser, "契約書への署名準備が整いました")
    browser.find_element(By.PARTIAL_LINK_TEXT, "契約書への署名準備が整いました").click()
    wait_for_text(browser, "契約内容")
    _click(browser, "#proceed")
    wait_for_text(browser, "重要事項説明")
    assert not browser.find_element(By.ID, "documents_confirmed").is_enabled()
    main = browser.current_window_handle
    for link in browser.find_elements(By.CSS_SELECTOR, "a.doc-link"):
        link.click()
    for handle in browser.window_handles:
        if handle != main:
            browser.switch_to.window(handle)
            browser.close()
    browser.switch_to.window(main)
    _click(browser, "#important_confirmed")
    WebDriverWait(browser, 5).until(
        lambda d: d.find_element(By.ID, "documents_confirmed").is_enabled())
    _click(browser, "#documents_confirmed")
    screenshot(browser, "contracts-confirm")
    _click(browser, "#to-sign")
    wait_for_text(browser, "署名用PIN")
    screenshot(browser, "contracts-sign-pin")
    before = len(rs_mail.messages)
    browser.find_element(By.ID, "pin").send_keys(PIN)
    _click(browser, "#send-pin")
    wait_for_text(browser, "認証コード")
    screenshot(browser, "contracts-sign-code")
    browser.find_element(By.ID, "otp").send_keys(rs_mail.otp_for(world.rep.email, before))
    _click(browser, "#send-code")
    wait_for_text(browser, "認証が完了しました")  # 認証 checked the code (#13 item 10)
    _click(browser, "#do-sign")
    wait_for_text(browser, "ご署名が完了しました", timeout=60)
    _click(browser, "#finish")
    assert "署名済" in wait_for_text(browser, "署名が必要な契約")

    # 3. staff concludes
    _staff_login(browser, base, world)
    browser.get(f"{base}/console/contracts/{package.id}")
    browser.find_element(By.ID, "password").send_keys(DEFAULT_PASSWORD)
    _click(browser, "#conclude")
    wait_for_text(browser, "契約を締結しました", timeout=90)
    db.session.expire_all()
    assert db.session.get(ContractPackage, package.id).state == PackageState.CONCLUDED

    # 4. the customer sees it in 現在有効な契約 and downloads the PDF and the report
    browser.delete_all_cookies()
    browser.get(base + "/login")
    browser.find_element(By.ID, "identifier").send_keys(world.rep.email)
    browser.find_element(By.ID, "password").send_keys(DEFAULT_PASSWORD)
    _click(browser, "button[type=submit]")
    wait_for_text(browser, "契約書の締結を行いました")
    browser.get(base + "/contracts/active")
    body = wait_for_text(browser, "契約締結済")
    assert "10,000,000 円" in body and "債務者" in body
    # CON-7 (#13 item 11): a click anywhere on the row opens the package (the pointer
    # on the 署名立場 cell: the row's link covers it, so the link takes the click)
    cell = browser.find_element(By.CSS_SELECTOR, "tr.clickable td:nth-child(5)")
    ActionChains(browser).move_to_element(cell).click().perform()
    wait_for_text(browser, "契約内容")
    assert browser.current_url.endswith(f"/contracts/{package.id}")
    browser.back()
    wait_for_text(browser, "契約締結済")
    browser.find_element(By.LINK_TEXT, "2026/04/01").click()
    wait_for_text(browser, "署名検証レポート")
    screenshot(browser, "contracts-active-package")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    download = browser.find_element(By.CSS_SELECTOR, "a.download").get_attribute("href")
    report = browser.find_element(By.ID, "report-link").get_attribute("href")
    pdf = requests.get(download, cookies=cookies, timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert b"/ByteRange" in pdf.content
    rep_pdf = requests.get(report, cookies=cookies, timeout=60)
    assert rep_pdf.status_code == 200 and rep_pdf.content.startswith(b"%PDF")
