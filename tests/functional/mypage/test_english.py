"""English as the second locale (SPEC: UI language) on the MyPage application
(APP-1…APP-4), the password screens (AUTH-3, AUTH-5), the email change (AUTH-6),
登録情報の照会・変更, HOME with notices and the FAQ: an English visitor sees no
Japanese UI text, only the Japanese data the test itself entered."""

from __future__ import annotations

import re

from portal.contracts import services as contracts
from portal.extensions import db
from portal.mail import deliver_pending
from portal.notices import notify
from tests.conftest import DEFAULT_PASSWORD, login_customer
from tests.functional.mypage.conftest import CORPORATION_FORM, INDIVIDUAL_FORM
from tests.i18n_support import leftover_japanese as _leftover

# The shared header wraps the signed-in person's (translated) role in full-width
# brackets (base.html, the lead's layout): left to the layout's own tests.
HEADER_ROLE = re.compile(r'<span class="role">.*?</span>', re.S)


def leftover_japanese(html: str, *data: str) -> list[str]:
    return _leftover(HEADER_ROLE.sub(" ", html), *data)

NEW_PASSWORD = "Sakura1985Tokyo"


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def _company_data(company) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return (company.name, company.name_kana, company.address,
            company.application_branch.name)


def _user_data(*users) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    values: list[str] = []
    for user in users:
        values += [user.display_name, user.last_name, user.first_name, user.title or ""]
    return tuple(values)


# --- お申込みフォーム (APP-2) -----------------------------------------------------------

def test_application_form_for_every_kind_is_english(client, factories):
    branch = factories.branch("大阪支店")
    client.use_english()
    page = _text(client.get("/apply"))
    assert leftover_japanese(page, branch.name) == []
    assert "Application form" in page and "Corporation / individual" in page
    for kind in ("corporation", "sole_proprietor", "individual"):
        page = _text(client.get(f"/apply?kind={kind}"))
        assert leftover_japanese(page, branch.name) == [], kind
        assert "Verification by submitting documents" in page
        assert "Face-to-face verification" in page
        assert "Branch of application" in page
    corporation = _text(client.get("/apply?kind=corporation"))
    assert "Representative information" in corporation
    assert "Corporation name (katakana)" in corporation
    assert "Please tick this box if you will sign personally" in corporation


def test_application_field_errors_are_english(flow, factories):
    branch = factories.branch()
    flow.client.use_english()
    bad = dict(CORPORATION_FORM, branch_id=str(branch.id), company_name_kana="ほうじん",
               postal_code="104-0028", phone="03-0895-5034", birth_date="20991231",
               email_confirm="other@example.jp", last_name="Houjin",
               identity_method="in_person", company_name_en="Ｈｏｕｊｉｎ")
    response = flow.post("/apply/confirm", bad)
    assert response.status_code == 400
    page = _text(response)
    assert leftover_japanese(page, *bad.values(), branch.name) == []
    assert "There are errors in your input" in page
    assert "Hiragana cannot be used. Please enter full-width katakana." in page
    assert "verification is not available at the moment" in page
    assert "does not match the email address" in page
    empty = _text(flow.post("/apply/confirm", {"kind": "individual"}))
    assert leftover_japanese(empty, branch.name) == []
    assert "Please enter this item." in empty


def test_unknown_invitation_is_explained_in_english(client, factories):
    factories.branch()
    client.use_english()
    page = _text(client.get("/apply?inv=nonsense"))
    assert leftover_japanese(page, "東京支店") == []
    assert "The URL in the invitation is not valid." in page


def test_confirm_code_and_completion_pages_are_english(flow, factories):
    branch = factories.branch()
    flow.client.use_english()
    form = dict(CORPORATION_FORM, branch_id=str(branch.id))
    data = (*form.values(), branch.name)
    confirm = flow.post("/apply/confirm", form)
    assert confirm.status_code == 200
    page = _text(confirm)
    assert leftover_japanese(page, *data) == []
    assert "Send verification code" in page and "☑ Yes" in page
    assert "Verification by submitting documents" in page

    assert flow.send_code(CORPORATION_FORM, branch.id).status_code == 302
    code = flow.code(CORPORATION_FORM["email"])
    page = _text(flow.client.get("/apply/verify"))
    assert leftover_japanese(page, *data) == []
    assert "Email verification" in page and "valid for 10 minutes" in page
    wrong = "000000" if code != "000000" else "111111"
    page = _text(flow.verify(wrong))
    assert leftover_japanese(page, *data) == []
    assert "The verification code is incorrect. (4 attempts left)" in page
    too_soon = flow.client.post_form("/apply/resend", {}, token_page="/apply/verify",
                                     follow_redirects=True)
    page = _text(too_soon)
    assert leftover_japanese(page, *data) == []
    assert "You can resend the verification code in" in page

    done = flow.verify(code)
    assert done.status_code == 302
    page = _text(flow.client.get("/apply/done"))
    assert leftover_japanese(page, *data) == []
    assert "Your MyPage application is complete" in page
    assert "Reference number: " in page


def test_individual_confirm_page_is_english(flow, factories):
    branch = factories.branch()
    flow.client.use_english()
    form = dict(INDIVIDUAL_FORM, branch_id=str(branch.id))
    page = _text(flow.post("/apply/confirm", form))
    assert leftover_japanese(page, *form.values(), branch.name) == []
    assert "Contracting party information" in page


# --- 失念時パスワード変更 (AUTH-5) --------------------------------------------------------

def test_forgotten_password_screens_are_english(client, factories, smtp_sink):
    user = factories.customer()
    client.use_english()
    page = _text(client.get("/password/forgot"))
    assert leftover_japanese(page) == []
    assert "Reset a forgotten password" in page
    empty = client.post_form("/password/forgot", {"login_id": ""}, token_page="/password/forgot")
    assert empty.status_code == 400
    assert leftover_japanese(_text(empty)) == []
    assert "Please enter this item." in _text(empty)

    sent = client.post_form("/password/forgot", {"login_id": user.mypage_id},
                            token_page="/password/forgot", follow_redirects=True)
    page = _text(sent)
    assert leftover_japanese(page) == []
    assert "We have sent a verification code to your registered email address." in page
    assert "New password (confirmation)" in page

    bad = client.post_form("/password/reset", {"code": "12", "new_password": "password",
                                               "new_password_confirm": "other"},
                           token_page="/password/reset")
    assert bad.status_code == 400
    page = _text(bad)
    assert leftover_japanese(page) == []
    assert "Please enter the verification code as 6 to 8 half-width digits." in page
    assert "does not match the new password" in page
    wrong = client.post_form("/password/reset", {"code": "000000", "new_password": NEW_PASSWORD,
                                                 "new_password_confirm": NEW_PASSWORD},
                             token_page="/password/reset")
    assert leftover_japanese(_text(wrong)) == []
    assert "The verification code is incorrect." in _text(wrong)


def test_reset_without_a_started_request_explains_in_english(client):
    client.use_english()
    page = _text(client.get("/password/reset", follow_redirects=True))
    assert leftover_japanese(page) == []
    assert "Please start again by sending a verification code." in page


# --- 新パスワード登録 (AUTH-3) ----------------------------------------------------------

def test_first_login_screen_and_its_errors_are_english(client, factories):
    user = factories.customer(temporary=True, password="TempPass1234")
    login_customer(client, user.mypage_id, "TempPass1234")
    client.use_english()
    page = _text(client.get("/first-login"))
    assert leftover_japanese(page, *_user_data(user)) == []
    assert "Register a new password" in page and "Current password" in page
    wrong = client.post_form("/first-login", {"current_password": "WrongPass1234",
                                              "new_password": NEW_PASSWORD,
                                              "new_password_confirm": NEW_PASSWORD},
                             token_page="/first-login")
    assert wrong.status_code == 400
    assert leftover_japanese(_text(wrong), *_user_data(user)) == []
    assert "The current password is incorrect." in _text(wrong)
    same = client.post_form("/first-login", {"current_password": "TempPass1234",
                                             "new_password": "TempPass1234",
                                             "new_password_confirm": "TempPass1234"},
                            token_page="/first-login")
    assert leftover_japanese(_text(same), *_user_data(user)) == []
    assert "Please set a password different from your current password." in _text(same)


# --- 登録情報の照会・変更 and 仮パスワード再発行 ----------------------------------------------

def test_settings_cards_and_status_lines_are_english(client, factories):
    company = factories.company()
    me = factories.customer(company)
    newcomer = factories.customer(company, role="signer", temporary=True, title="課長")
    viewer = factories.customer(company, role="viewer")
    moving = factories.customer(company, role="signer", pending_email="moving@example.jp")
    login_customer(client, me.email, DEFAULT_PASSWORD)
    client.use_english()
    page = _text(client.get("/settings"))
    data = (*_company_data(company), *_user_data(me, newcomer, viewer, moving))
    assert leftover_japanese(page, *data) == []
    assert "View/change registration" in page and "Contracting party information" in page
    assert "Not logged in yet" in page
    # CERT-6 (#13 item 5): the guide's explanation line, then the status word once
    assert "You cannot sign because you have view-only permission." in page
    assert "Cannot sign" in page
    assert f"{newcomer.display_name} (Signer)" in page
    assert "Reissue temporary password" in page
    assert "(Change in progress: moving@example.jp)" in page


def test_settings_of_an_individual_and_a_sole_proprietor_are_english(app, factories):
    for kind, name in (("individual", "個人 花子"), ("sole_proprietor", "山田 商店")):
        client = app.test_client()
        company = factories.company(kind=kind, name=name)
        me = factories.customer(company)
        login_customer(client, me.email, DEFAULT_PASSWORD)
        client.use_english()
        page = _text(client.get("/settings"))
        assert leftover_japanese(page, *_company_data(company), *_user_data(me)) == [], kind
        assert ("Individual" if kind == "individual" else "Sole proprietor") in page


def test_temporary_password_reissue_pages_are_english(client, factories):
    company = factories.company()
    me = factories.customer(company)
    newcomer = factories.customer(company, role="signer", temporary=True)
    settled = factories.customer(company, role="signer")
    login_customer(client, me.email, DEFAULT_PASSWORD)
    client.use_english()
    url = f"/settings/users/{newcomer.id}/temporary-password"
    data = (*_company_data(company), *_user_data(me, newcomer, settled))
    page = _text(client.get(url))
    assert leftover_japanese(page, *data) == []
    assert "A new temporary password will be issued" in page
    done = _text(client.post_form(url, {}, token_page=url))
    assert leftover_japanese(done, *data) == []
    assert "The temporary password has been reissued." in done

    refused = client.get(f"/settings/users/{settled.id}/temporary-password",
                         follow_redirects=True)
    page = _text(refused)
    assert leftover_japanese(page, *data) == []
    assert "cannot be reissued because the first login has already been completed" in page


# --- メールアドレス変更 (AUTH-6) ------------------------------------------------------------

def test_email_change_screens_are_english(client, factories, smtp_sink):
    company = factories.company()
    me = factories.customer(company)
    login_customer(client, me.email, DEFAULT_PASSWORD)
    client.use_english()
    data = (*_company_data(company), *_user_data(me))
    page = _text(client.get("/settings/email"))
    assert leftover_japanese(page, *data) == []
    assert f"Current email address: {me.email}" in page
    mismatch = client.post_form("/settings/email", {"email": "new@example.jp",
                                                    "email_confirm": "other@example.jp"},
                                token_page="/settings/email")
    assert mismatch.status_code == 400
    assert leftover_japanese(_text(mismatch), *data) == []
    assert "does not match the email address" in _text(mismatch)
    same = client.post_form("/settings/email", {"email": me.email, "email_confirm": me.email},
                            token_page="/settings/email")
    assert "This is the same as the current email address." in _text(same)

    started = client.post_form("/settings/email", {"email": "new@example.jp",
                                                   "email_confirm": "new@example.jp"},
                               token_page="/settings/email", follow_redirects=True)
    page = _text(started)
    assert leftover_japanese(page, *data) == []
    assert "Your email address change is in progress." in page
    settings_page = _text(client.get("/settings/email/verify"))
    assert "(You can resend in" in settings_page
    wrong = client.post_form("/settings/email/verify", {"code": "１２３"},
                             token_page="/settings/email/verify")
    assert leftover_japanese(_text(wrong), *data) == []
    assert "Full-width digits cannot be used." in _text(wrong)
    deliver_pending()
    code = smtp_sink.code_in_last("new@example.jp", "認証コード")
    wrong = client.post_form("/settings/email/verify",
                             {"code": "000000" if code != "000000" else "111111"},
                             token_page="/settings/email/verify")
    assert leftover_japanese(_text(wrong), *data) == []
    assert "The verification code is incorrect. (4 attempts left)" in _text(wrong)
    cancelled = client.post_form("/settings/email/cancel", {},
                                 token_page="/settings/email/verify", follow_redirects=True)
    page = _text(cancelled)
    assert leftover_japanese(page, *data) == []
    assert "The email address change has been cancelled." in page


# --- HOME and FAQ ------------------------------------------------------------------

def test_home_notices_and_faq_are_english(client, factories):
    company = factories.company()
    me = factories.customer(company)
    login_customer(client, me.email, DEFAULT_PASSWORD)
    client.use_english()
    empty = _text(client.get("/"))
    assert leftover_japanese(empty, *_user_data(me), company.name) == []
    assert "There are no notices." in empty
    # The notice an approved application leaves (services.approve).
    notify(text="本人確認書類等のアップロードをお願いします。電子証明書の発行に必要です。",
           user_id=me.id)
    for text in (contracts.SIGN_REQUEST_NOTICE, contracts.CONCLUDED_NOTICE,
                 contracts.VOID_NOTICE, contracts.WITHDRAWN_NOTICE):
        notify(text=text, user_id=me.id, link="/contracts")
    notify(text="電子契約サービスへようこそ。ご利用開始までの流れはよくある質問をご覧ください。",
           company_id=company.id)  # the demo data's welcome (portal/demo.py)
    db.session.commit()
    page = _text(client.get("/"))
    assert leftover_japanese(page, *_user_data(me), company.name) == []
    assert "Please upload your identity documents." in page
    assert "A contract is ready for your signature." in page
    assert "Welcome to the E-Contract Service." in page
    faq = _text(client.get("/faq"))
    assert leftover_japanese(faq, *_user_data(me), company.name) == []
    assert "I have forgotten my signing PIN." in faq
