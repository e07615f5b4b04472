"""Issue #13 item 19: the whole chain in headless Chromium, in the order of the
guide (seeds/004):

the bank administrator creates a branch, a staff member (who changes the
temporary password at the first console login) and a system notice →
招待 (branch staff, console) → お申込み → 認証コード (SMTP sink) → 承認 (staff) →
初回ログイン (temporary password changed; the bank's notice on HOME) →
本人確認書類アップロード → 承認 (staff) → 初期PIN登録 + 発行 → the representative
creates a signer with a system PoA signed with PIN + code (認証, 電子署名) →
staff prepare a package with two parties and send it → both parties sign (PIN,
code, 認証, 電子署名) → staff 締結 → the customer downloads the signed PDF, the
verification report and the 締結証明書 → staff record 完済 → the package is
under 終了した契約.

Every step is a small function named after the guide's screen; each leaves a
screenshot under test-artifacts/ (chain-NN-*.png). SIGN-2, SIGN-4, APP-1…APP-5,
AUTH-3, KYC-1, PIN-1, CON-4…CON-7, ADM-1, HOME-1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from kyc import devtools
from portal.auth.services import new_mypage_id
from portal.clock import now, to_jst
from portal.contracts.models import ContractPackage
from portal.contracts.states import PackageState
from portal.extensions import db
from portal.mail import deliver_pending
from portal.models import Company, CustomerUser
from remote_signing.client import SigningClient
from remote_signing.service.config import DEV_CONSOLE_SECRET, DEV_PORTAL_SECRET
from remote_signing.testing import ServiceProcess
from tests.application_forms import CORPORATION_FORM
from tests.conftest import DEFAULT_PASSWORD
from tests.e2e.conftest import screenshot, wait_for_text
from tests.functional.certs.helpers import PIN, code_from
from tests.functional.contracts.conftest import contract_pdf  # noqa: F401  (fixture)
from tests.functional.users.helpers import person, user_by_email

pytestmark = pytest.mark.e2e

APPLICANT = {k: v for k, v in CORPORATION_FORM.items()
             if k not in ("kind", "department", "personal_signing", "identity_method",
                          "established_on")}
COMPANY_NAME = "株式会社法人１"
NEW_PASSWORD = "Sakura1985Tokyo"
STAFF_PASSWORD = "Minato2026Kaigan"
SIGNER_EMAIL = "chain-signer@example.jp"
NOTICE_TITLE = "年末年始の窓口営業について"


@pytest.fixture(scope="module")
def chain_signing(tmp_path_factory: pytest.TempPathFactory,
                  smtp_server: Any) -> Iterator[ServiceProcess]:
    """The signing service as its own process; its code mails go to the sink."""
    proc = ServiceProcess(tmp_path_factory.mktemp("chain-signing"), smtp_port=smtp_server.port,
                          env={"RS_KDF_MEMORY_KIB": "8192", "RS_KDF_TIME_COST": "1"})
    proc.start(timeout=90)
    yield proc
    proc.stop()


@pytest.fixture
def app_config(app_config: dict[str, Any], chain_signing: ServiceProcess,
               clamd_address: tuple[str, int]) -> dict[str, Any]:
    return {**app_config, "SIGNING_SERVICE_URL": chain_signing.url,
            "SIGNING_CLIENT_ID": "portal", "SIGNING_CLIENT_SECRET": DEV_PORTAL_SECRET,
            "SIGNING_CONSOLE_CLIENT_ID": "console",
            "SIGNING_CONSOLE_CLIENT_SECRET": DEV_CONSOLE_SECRET,
            "CLAMD_HOST": clamd_address[0], "CLAMD_PORT": clamd_address[1]}


# --- small browser helpers -------------------------------------------------------------

class Shots:
    """Numbered screenshots, in the order of the chain."""

    def __init__(self, browser: WebDriver) -> None:
        self.browser = browser
        self.n = 0

    def __call__(self, name: str) -> None:
        self.n += 1
        screenshot(self.browser, f"chain-{self.n:02d}-{name}")


def _fill(browser: WebDriver, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = browser.find_element(By.ID, name)
        field.clear()
        field.send_keys(value)


def _set(browser: WebDriver, element_id: str, value: str) -> None:
    """Date and datetime-local inputs take their value as the calendar writes it."""
    element = browser.find_element(By.ID, element_id)
    browser.execute_script("arguments[0].value = arguments[1];", element, value)


def _click(browser: WebDriver, element_id: str) -> None:
    browser.find_element(By.ID, element_id).click()


def _press(browser: WebDriver, label: str, within: str = "main") -> None:
    browser.find_element(
        By.XPATH, f"//{within}//button[normalize-space()='{label}']").click()


def _accept_confirm(browser: WebDriver) -> None:
    WebDriverWait(browser, 5).until(lambda d: d.switch_to.alert).accept()


def _staff_login(browser: WebDriver, base: str, login_id: str,
                 password: str = DEFAULT_PASSWORD) -> None:
    browser.delete_all_cookies()
    browser.get(base + "/console/login")
    _fill(browser, {"login_id": login_id, "password": password})
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def _customer_login(browser: WebDriver, base: str, identifier: str, password: str) -> None:
    browser.delete_all_cookies()
    browser.get(base + "/login")
    _fill(browser, {"identifier": identifier, "password": password})
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


# --- 銀行管理者: 支店, 担当者, お知らせ (ADM-1, HOME-1) --------------------------------------

def bank_admin_creates_branch_staff_and_notice(browser, base, admin, shot) -> str:
    _staff_login(browser, base, admin.login_id)
    wait_for_text(browser, "HOME")
    browser.get(base + "/console/branches")
    _fill(browser, {"code": "7001", "name": "横浜支店"})
    _press(browser, "登録")
    assert "横浜支店" in wait_for_text(browser, "登録済みの支店")
    shot("admin-branch")

    browser.get(base + "/console/staff/new")
    _fill(browser, {"login_id": "yokohama.hanako", "name": "横浜 花子",
                    "email": "yokohama@bank.example.jp"})
    Select(browser.find_element(By.ID, "role")).select_by_value("branch_staff")
    Select(browser.find_element(By.ID, "branch_id")).select_by_visible_text("7001 横浜支店")
    _press(browser, "登録")
    wait_for_text(browser, "この画面でのみ表示します")
    temporary = browser.find_element(By.ID, "temporary-password").text
    shot("admin-staff-temporary-password")

    browser.get(base + "/console/notices")
    start = to_jst(now()) - timedelta(hours=1)
    _fill(browser, {"title": NOTICE_TITLE, "body": "12月31日から1月3日まで窓口は休業します。"})
    _set(browser, "starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    _set(browser, "ends_at", (start + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"))
    _press(browser, "登録")
    assert NOTICE_TITLE in wait_for_text(browser, NOTICE_TITLE)
    shot("admin-notice")
    return temporary


def new_staff_first_console_login(browser, base, temporary, shot) -> None:
    """AUTH-3 for staff: the temporary password is replaced before anything else."""
    _staff_login(browser, base, "yokohama.hanako", temporary)
    wait_for_text(browser, "新パスワード登録")
    browser.get(base + "/console/contracts")  # every other page leads back here
    wait_for_text(browser, "新パスワード登録")
    _fill(browser, {"current_password": temporary, "new_password": STAFF_PASSWORD,
                    "new_password_confirm": STAFF_PASSWORD})
    _click(browser, "register-password")
    wait_for_text(browser, "HOME")
    shot("new-staff-first-login")
    _staff_login(browser, base, "yokohama.hanako", STAFF_PASSWORD)
    wait_for_text(browser, "HOME")


# --- 招待 → お申込み → 承認 → 初回ログイン (APP-1…APP-5, AUTH-3) -----------------------------

def invitation(browser, base, staff, shot) -> str:
    _staff_login(browser, base, staff.login_id)
    wait_for_text(browser, "HOME")
    browser.get(base + "/console/invitations")
    _fill(browser, {"customer_name": COMPANY_NAME})
    _click(browser, "create-invitation")
    wait_for_text(browser, "お申込みフォームのURL")
    shot("invitation")
    return browser.find_element(By.ID, "invitation-url").text


def application(browser, url, shot) -> None:
    browser.delete_all_cookies()
    browser.get(url)
    wait_for_text(browser, "お申込みフォーム")
    _click(browser, "kind-corporation")
    _click(browser, "show-fields")
    wait_for_text(browser, "代表者情報")
    _fill(browser, APPLICANT)
    browser.execute_script(
        "var p = document.querySelector('#established_on + .calendar-picker');"
        "p.value = '1999-11-03'; p.dispatchEvent(new Event('change'));")
    _click(browser, "personal_signing")
    _click(browser, "identity-documents")
    _click(browser, "to-confirm")
    wait_for_text(browser, "入力内容確認")
    shot("application-confirm")
    _click(browser, "send-code")


def application_code(browser, smtp_sink, shot) -> None:
    wait_for_text(browser, "メール認証")
    deliver_pending()
    _fill(browser, {"code": smtp_sink.code_in_last(APPLICANT["email"], "認証コード")})
    _click(browser, "apply-submit")
    wait_for_text(browser, "MyPage 利用申込が完了しました")
    shot("application-done")


def approval(browser, base, staff, shot) -> None:
    _staff_login(browser, base, staff.login_id)
    wait_for_text(browser, "HOME")
    browser.get(base + "/console/applications")
    wait_for_text(browser, COMPANY_NAME)
    browser.find_element(By.CSS_SELECTOR, "#pending-applications a[id^=review-]").click()
    wait_for_text(browser, "お申込み内容")
    _click(browser, "approve")
    wait_for_text(browser, "承認しました")
    shot("application-approved")


def first_login(browser, base, smtp_sink, shot) -> str:
    deliver_pending()
    id_mail = smtp_sink.last_to(APPLICANT["email"], "MyPageIDのお知らせ")
    pw_mail = smtp_sink.last_to(APPLICANT["email"], "仮パスワードのお知らせ")
    mypage_id = re.search(r"MyPageID：(MP\d{8})", smtp_sink.body(id_mail)).group(1)
    temporary = re.search(r"仮パスワード：(\S+)", smtp_sink.body(pw_mail)).group(1)
    _customer_login(browser, base, mypage_id, temporary)
    wait_for_text(browser, "新パスワード登録")
    _fill(browser, {"current_password": temporary, "new_password": NEW_PASSWORD,
                    "new_password_confirm": NEW_PASSWORD})
    _click(browser, "register-password")
    home = wait_for_text(browser, "お知らせ")
    # HOME-1: the bank's notice of the administrator's step is shown
    assert "銀行からのお知らせ" in home and NOTICE_TITLE in home
    shot("first-login-home")
    return mypage_id


# --- 本人確認書類 → 承認 → 初期PIN登録 + 発行 (KYC-1, PIN-1) -----------------------------------

def kyc_upload(browser, tmp_path: Path, shot) -> None:
    front, back, card = tmp_path / "front.jpg", tmp_path / "back.pdf", tmp_path / "card.jpg"
    front.write_bytes(devtools.sample_image("JPEG"))
    back.write_bytes(devtools.sample_pdf())
    card.write_bytes(devtools.sample_image("JPEG"))
    # HOME-2: the notice on HOME opens the first step (the consent)
    browser.find_element(By.PARTIAL_LINK_TEXT, "本人確認書類等のアップロードをお願いします").click()
    wait_for_text(browser, "個人情報の第三者提供")
    _click(browser, "understood")
    _press(browser, "同意します")
    wait_for_text(browser, "本人確認書類アップロード")
    _choose(browser, "identity", "drivers_license")
    _choose(browser, "employment", "business_card")
    for slot, path in (("identity-front", front), ("identity-back", back),
                       ("employment-card", card)):
        row = f"#slot-{slot}"
        browser.find_element(By.CSS_SELECTOR, f"{row} input[type=file]").send_keys(str(path))
        browser.find_element(By.CSS_SELECTOR, f"{row} button[type=submit]").click()
        WebDriverWait(browser, 30, ignored_exceptions=RELOADING).until(
            lambda d, r=row, name=path.name: name in d.find_element(By.CSS_SELECTOR, r).text)
    shot("kyc-uploaded")
    _press(browser, "送信")
    wait_for_text(browser, "本人確認書類の登録を完了しました")


# A slot's upload reloads the page: an element read mid-reload is stale, not missing.
RELOADING = (NoSuchElementException, StaleElementReferenceException)


def _choose(browser: WebDriver, category: str, code: str) -> None:
    Select(browser.find_element(By.ID, f"type-{category}")).select_by_value(code)
    browser.find_element(By.CSS_SELECTOR, f"#section-{category} form button").click()
    WebDriverWait(browser, 10, ignored_exceptions=RELOADING).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f"#section-{category} table"))


def kyc_approval(browser, base, staff, shot) -> None:
    _staff_login(browser, base, staff.login_id)
    wait_for_text(browser, "HOME")
    browser.get(base + "/console/kyc")
    browser.find_element(By.CSS_SELECTOR, "tr[id^=submission-] a").click()
    wait_for_text(browser, "審査")
    shot("kyc-review")
    _press(browser, "承認する")
    wait_for_text(browser, "本人確認書類を承認し")


def pin_and_issue(browser, base, mypage_id, shot) -> None:
    _customer_login(browser, base, mypage_id, NEW_PASSWORD)
    wait_for_text(browser, "HOME")
    browser.get(base + "/certs/pin/register")
    _fill(browser, {"pin": PIN, "pin_confirm": PIN})
    _click(browser, "register")
    wait_for_text(browser, "初期PINの登録が完了しました")
    _click(browser, "issue")
    assert "署名可能" in wait_for_text(browser, "署名用PINが発行されました", timeout=60)
    shot("certificate-issued")


# --- ユーザ新規登録 with a system PoA (USR-3, SIGN-4) ------------------------------------

def signer_with_system_poa(browser, base, rep_email, smtp_sink, shot) -> None:
    browser.get(base + "/users/")
    _click(browser, "user-create")
    wait_for_text(browser, "ユーザ新規登録")
    data = person(SIGNER_EMAIL)
    _fill(browser, {k: v for k, v in data.items() if k not in ("role", "identity_method")})
    _click(browser, "role-signer")
    _click(browser, "poa-system")
    _click(browser, "to-confirm")
    wait_for_text(browser, "署名が必要な書類")
    _click(browser, "to-sign")
    wait_for_text(browser, "署名用PIN")
    before = len(smtp_sink.messages)
    _fill(browser, {"pin": PIN})
    _click(browser, "send-pin")
    wait_for_text(browser, "認証コード")
    assert not browser.find_element(By.ID, "sign").is_enabled()
    _fill(browser, {"code": code_from(smtp_sink, rep_email, before)})
    _click(browser, "authenticate")
    wait_for_text(browser, "認証が完了しました")
    shot("poa-authenticated")
    _click(browser, "sign")
    wait_for_text(browser, "登録完了", timeout=60)
    shot("poa-signed-user-created")
    db.session.expire_all()
    assert user_by_email(SIGNER_EMAIL) is not None


# --- 契約: 作成・送付 → 署名 → 締結 → ダウンロード → 完済 (CON-4…CON-7, SIGN-2, SIGN-5) ---------

def staff_prepare_and_send(browser, base, staff, company, guarantor_company, pdf: bytes,
                           tmp_path: Path, shot) -> int:
    files = []
    for name in ("金銭消費貸借契約書.pdf", "保証契約書.pdf", "重要事項説明書.pdf"):
        path = tmp_path / name
        path.write_bytes(pdf)
        files.append(str(path))
    _staff_login(browser, base, staff.login_id)
    wait_for_text(browser, "HOME")
    browser.get(base + "/console/contracts/new")
    _set(browser, "application_date", "2026-04-01")
    Select(browser.find_element(By.ID, "summary_type")).select_by_value("loan_with_guarantee")
    _fill(browser, {"loan_amount": "10000000"})
    _set(browser, "planned_loan_date", "2026-04-15")
    for n, (party, position) in enumerate(((company, "debtor"),
                                           (guarantor_company, "guarantor"))):
        Select(browser.find_element(By.ID, f"party-{n}-company")).select_by_value(str(party.id))
        Select(browser.find_element(By.ID, f"party-{n}-position")).select_by_value(position)
    browser.find_element(By.ID, "contract_files").send_keys("\n".join(files[:2]))
    browser.find_element(By.ID, "important_file").send_keys(files[2])
    _click(browser, "save-package")
    wait_for_text(browser, "作成中")
    _click(browser, "send-package")
    _accept_confirm(browser)
    wait_for_text(browser, "署名受付中")
    shot("package-sent")
    return db.session.query(ContractPackage).one().id


def party_signs(browser, base, identifier, password, email, smtp_sink, shot, who) -> None:
    _customer_login(browser, base, identifier, password)
    wait_for_text(browser, "契約書への署名準備が整いました")
    browser.find_element(By.PARTIAL_LINK_TEXT, "契約書への署名準備が整いました").click()
    wait_for_text(browser, "契約内容")
    _click(browser, "proceed")
    wait_for_text(browser, "重要事項説明")
    main = browser.current_window_handle
    for link in browser.find_elements(By.CSS_SELECTOR, "a.doc-link"):
        link.click()
    for handle in browser.window_handles:
        if handle != main:
            browser.switch_to.window(handle)
            browser.close()
    browser.switch_to.window(main)
    _click(browser, "important_confirmed")
    WebDriverWait(browser, 5).until(
        lambda d: d.find_element(By.ID, "documents_confirmed").is_enabled())
    _click(browser, "documents_confirmed")
    _click(browser, "to-sign")
    wait_for_text(browser, "署名用PIN")
    before = len(smtp_sink.messages)
    _fill(browser, {"pin": PIN})
    _click(browser, "send-pin")
    wait_for_text(browser, "認証コード")
    assert not browser.find_element(By.ID, "do-sign").is_enabled()
    _fill(browser, {"otp": code_from(smtp_sink, email, before)})
    _click(browser, "send-code")
    wait_for_text(browser, "認証が完了しました")
    shot(f"{who}-authenticated")
    _click(browser, "do-sign")
    wait_for_text(browser, "ご署名が完了しました", timeout=90)
    shot(f"{who}-signed")


def staff_conclude(browser, base, staff, package_id, shot) -> None:
    _staff_login(browser, base, staff.login_id)
    wait_for_text(browser, "HOME")
    browser.get(f"{base}/console/contracts/{package_id}")
    _fill(browser, {"password": DEFAULT_PASSWORD})
    _click(browser, "conclude")
    wait_for_text(browser, "契約を締結しました", timeout=120)
    shot("concluded")


def customer_downloads(browser, base, mypage_id, package_id, shot) -> None:
    _customer_login(browser, base, mypage_id, NEW_PASSWORD)
    wait_for_text(browser, "契約書の締結を行いました")
    browser.get(f"{base}/contracts/{package_id}")
    wait_for_text(browser, "署名検証レポート")
    shot("customer-package-concluded")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    links = [browser.find_element(By.CSS_SELECTOR, "a.download").get_attribute("href"),
             browser.find_element(By.ID, "report-link").get_attribute("href"),
             browser.find_element(By.ID, "evidence-link").get_attribute("href")]
    pdf, report, evidence = (requests.get(link, cookies=cookies, timeout=120) for link in links)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.content.count(b"/ByteRange") >= 3  # both parties and the bank's seal
    for answer in (report, evidence):
        assert answer.status_code == 200 and answer.content.startswith(b"%PDF")


def staff_record_repaid(browser, base, staff, package_id, shot) -> None:
    _staff_login(browser, base, staff.login_id)
    wait_for_text(browser, "HOME")
    browser.get(f"{base}/console/contracts/{package_id}")
    _press(browser, "完済登録")
    _accept_confirm(browser)
    wait_for_text(browser, "完済を登録しました")
    shot("repaid")


def finished_contracts(browser, base, mypage_id, package_id, shot) -> None:
    _customer_login(browser, base, mypage_id, NEW_PASSWORD)
    wait_for_text(browser, "HOME")
    browser.get(base + "/contracts/finished")
    body = wait_for_text(browser, "終了した契約")
    assert "10,000,000 円" in body
    assert browser.find_elements(By.CSS_SELECTOR, f"a[href$='/contracts/{package_id}']")
    shot("finished-contracts")


# --- the chain ---------------------------------------------------------------------------

def _guarantor(app, factories, branch) -> tuple[Any, Any]:
    """The second party: a person of the same branch who already holds a certificate."""
    from portal.certs.models import CertState, SigningCertificate

    company = factories.company(branch, kind="individual", name="保証 一郎")
    user = factories.customer(company, role="representative")
    user.mypage_id = new_mypage_id()
    db.session.commit()
    api = SigningClient.from_config(app.config)
    try:
        info = api.create_credential(user_id=user.mypage_id, name=user.display_name,
                                     email=user.email, organization=company.name, pin=PIN)
    finally:
        api.close()
    db.session.add(SigningCertificate(
        user_id=user.id, company_id=company.id, credential_id=info.credential_id,
        state=CertState.ACTIVE, pin_locked=False, serial_hex=info.serial_hex,
        subject=info.subject[:500], valid_from=info.valid_from, valid_to=info.valid_to,
        revocation_reason=""))
    db.session.commit()
    return company, user


def test_the_whole_chain_as_the_guide_walks_it(
        app, live_server, browser, factories, smtp_sink, contract_pdf,  # noqa: F811
        tmp_path):
    base = live_server.url
    shot = Shots(browser)
    tokyo = factories.branch("東京支店")
    staff = factories.staff(tokyo)
    admin = factories.staff(role="bank_admin")

    temporary = bank_admin_creates_branch_staff_and_notice(browser, base, admin, shot)
    new_staff_first_console_login(browser, base, temporary, shot)

    url = invitation(browser, base, staff, shot)
    application(browser, url, shot)
    application_code(browser, smtp_sink, shot)
    approval(browser, base, staff, shot)
    mypage_id = first_login(browser, base, smtp_sink, shot)

    kyc_upload(browser, tmp_path, shot)
    kyc_approval(browser, base, staff, shot)
    pin_and_issue(browser, base, mypage_id, shot)
    signer_with_system_poa(browser, base, APPLICANT["email"], smtp_sink, shot)

    company = db.session.query(Company).filter_by(name=COMPANY_NAME).one()
    guarantor_company, guarantor = _guarantor(app, factories, tokyo)
    package_id = staff_prepare_and_send(browser, base, staff, company, guarantor_company,
                                        contract_pdf, tmp_path, shot)
    party_signs(browser, base, mypage_id, NEW_PASSWORD, APPLICANT["email"], smtp_sink, shot,
                "debtor")
    party_signs(browser, base, guarantor.email, DEFAULT_PASSWORD, guarantor.email, smtp_sink,
                shot, "guarantor")
    staff_conclude(browser, base, staff, package_id, shot)
    customer_downloads(browser, base, mypage_id, package_id, shot)
    staff_record_repaid(browser, base, staff, package_id, shot)
    finished_contracts(browser, base, mypage_id, package_id, shot)

    db.session.expire_all()
    assert db.session.get(ContractPackage, package_id).state == PackageState.REPAID
    rep = db.session.query(CustomerUser).filter_by(mypage_id=mypage_id).one()
    assert rep.company_id == company.id
