"""English as the second locale (SPEC: UI language) on the users area: the user
list, new user with each power of attorney method and its PIN + code signing,
edit, delete, change of representative, company information (CO-1, CO-2), the
certificate issuance request (CERT-2, CERT-3) and the bank console pages. An
English visitor sees no Japanese except the data the test itself created."""

from __future__ import annotations

import io
import re
from typing import Any

from sqlalchemy import select

from kyc import devtools
from portal.certs.models import CertificateRequest, CertReason, CertRequestState
from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, login_staff
from tests.functional.users.conftest import PIN, login
from tests.functional.users.helpers import handle_of, person, start_new_user, user_by_email
from tests.functional.users.test_poa_signing import (
    _authenticate,
    _otp,
    _send_code,
    _send_pin,
    _sign,
)
from tests.i18n_support import leftover_japanese

# The certificates area's part of a user card (certs/_card.html) and the status
# line its providers fill are that area's texts, checked by its own tests.
CERTS_CARD = re.compile(
    r'<dl class="definition certs-card".*?</dl>\s*<p class="button-row">.*?</p>', re.S)
STATUS_LINE = re.compile(r'<p class="status-line">.*?</p>', re.S)
# The shared headers write the role (base.html) and the staff branch (console/base.html)
# in full-width brackets outside _(): shared layout, reported to the lead.
HEADER_ROLE = re.compile(r'<span class="role">.*?</span>|<summary>[^<]*（[^<]*）</summary>', re.S)


def _page(response: Any) -> str:
    return HEADER_ROLE.sub(" ", str(response.get_data(as_text=True)))


def _user_data(*users: Any) -> list[str]:
    data: list[str] = []
    for user in users:
        data += [user.display_name, user.last_name, user.first_name, user.last_name_kana,
                 user.first_name_kana, user.title or "", user.department or ""]
    return data


def _company_data(company: Any) -> list[str]:
    return [company.name, company.name_kana, company.address]


NEW_PERSON = person("hanako@example.jp")
NEW_PERSON_DATA = [f"{NEW_PERSON['last_name']} {NEW_PERSON['first_name']}",
                   *(NEW_PERSON[k] for k in ("last_name", "first_name", "last_name_kana",
                                             "first_name_kana", "department", "title"))]


def _english(client: Any, user: Any) -> None:
    login(client, user)
    client.use_english()


def test_user_list_is_english(client, people, company):
    rep = people.user(company, title="代表取締役")
    signer = people.user(company, "signer", department="経理部")
    _english(client, rep)
    page = _page(client.get("/users/"))
    assert "User management" in page and "Register a new user" in page
    assert "Contractor information" in page and "Change user information" in page
    assert f"{signer.display_name} (Signer)" in page
    checked = STATUS_LINE.sub(" ", CERTS_CARD.sub(" ", page))
    assert leftover_japanese(checked, *_user_data(rep, signer), *_company_data(company)) == []


def test_new_user_form_and_its_field_errors_are_english(client, people, company):
    rep = people.user(company)
    _english(client, rep)
    form = _page(client.get("/users/new"))
    assert "Register a new user" in form and "Power of attorney registration method" in form
    assert "Created by the system" in form and "File upload" in form
    assert leftover_japanese(form, *_user_data(rep), *_company_data(company)) == []

    bad = start_new_user(client, person("bad@example.jp", last_name="", last_name_kana="さとう",
                                        email_confirm="other@example.jp", mobile="090-1111-2222"))
    page = _page(bad)
    assert bad.status_code == 400
    assert "Please enter this item." in page
    assert "Hiragana cannot be used. Please enter full-width katakana." in page
    assert "does not match the email address" in page
    assert leftover_japanese(page, *_user_data(rep), *NEW_PERSON_DATA, "さとう") == []

    no_file = start_new_user(client, person("paper@example.jp", poa_method="upload"))
    page = _page(no_file)
    assert no_file.status_code == 400 and "Please upload the power of attorney file." in page
    assert leftover_japanese(page, *_user_data(rep), *NEW_PERSON_DATA) == []


def test_new_user_with_a_system_poa_signed_by_pin_and_code_is_english(
        client, people, company, smtp_sink):
    rep = people.with_certificate(company, title="代表取締役")
    _english(client, rep)
    response = start_new_user(client, NEW_PERSON)
    assert response.status_code == 302, _page(response)[:2000]
    handle = handle_of(response)
    data = [*_user_data(rep), *NEW_PERSON_DATA, *_company_data(company)]

    confirm = _page(client.get(f"/users/drafts/{handle}/confirm"))
    assert "Confirm input" in confirm and "Documents to sign" in confirm
    assert "Go to signing" in confirm and "Created by the system" in confirm
    assert leftover_japanese(confirm, *data) == []

    pin_page = client.get(f"/users/drafts/{handle}/sign")
    assert "Signing PIN" in _page(pin_page) and leftover_japanese(_page(pin_page), *data) == []
    empty = client.post_form(f"/users/drafts/{handle}/sign", {"pin": ""},
                             token_page=f"/users/drafts/{handle}/sign")
    assert empty.status_code == 400 and "Please enter your signing PIN." in _page(empty)
    assert leftover_japanese(_page(empty), *data) == []

    # SIGN-4/PIN-5: a wrong PIN is refused at 送信, naming the attempts left, in English.
    refused = _send_pin(client, handle, "Wrong-Pin-1")
    assert refused.status_code == 400
    page = _page(refused)
    assert "The signing PIN is incorrect." in page
    assert re.search(r"After \d+ more wrong attempt", page), page
    assert leftover_japanese(page, *data) == []
    assert user_by_email(NEW_PERSON["email"]) is None

    smtp_sink.clear()  # the next code mail is the one to use
    assert _send_pin(client, handle, PIN).status_code == 302
    code_page = _page(client.get(f"/users/drafts/{handle}/code"))
    assert "Verification code" in code_page and leftover_japanese(code_page, *data) == []
    assert ">Verify</button>" in code_page
    empty_code = _send_code(client, handle, "")
    assert empty_code.status_code == 400
    assert "Please enter the verification code." in _page(empty_code)
    code = _otp(smtp_sink, rep.email)
    wrong = _send_code(client, handle, f"{(int(code) + 1) % 1_000_000:06d}")
    assert wrong.status_code == 400 and "The verification code is incorrect." in _page(wrong)
    assert leftover_japanese(_page(wrong), *data) == []

    checked = _authenticate(client, handle, code)  # 認証, then 電子署名 (issue #13 item 10)
    assert checked.status_code == 302 and checked.headers["Location"].endswith("/execute")
    ready = _page(client.get(checked.headers["Location"]))
    assert "Verification is complete." in ready and "Electronic signature" in ready
    assert leftover_japanese(ready, *data) == []
    done = _sign(client, handle)
    assert done.status_code == 302 and "/users/created/" in done.headers["Location"]
    created = _page(client.get(done.headers["Location"]))
    assert "Registration complete" in created and "temporary password" in created
    assert leftover_japanese(created, *data) == []


def test_change_of_representative_refusals_are_english(client, people, company):
    rep = people.user(company)
    people.user(company)  # a second representative: a handover in progress
    _english(client, rep)
    third = start_new_user(client, person("third@example.jp", role="representative"))
    page = _page(third)
    assert third.status_code == 400 and "Only one representative can be registered" in page
    assert leftover_japanese(page, *_user_data(rep), *NEW_PERSON_DATA) == []

    myself = client.get(f"/users/{rep.id}/delete")
    assert myself.status_code == 400 and "You cannot delete your own user." in _page(myself)
    assert leftover_japanese(_page(myself), *_user_data(rep)) == []


def test_last_representative_cannot_be_deleted_in_english(client, people, company):
    admin = people.user(company, "administrator")
    rep = people.user(company)
    _english(client, admin)
    refused = client.get(f"/users/{rep.id}/delete")
    assert refused.status_code == 400 and "no representative left" in _page(refused)
    assert leftover_japanese(_page(refused), *_user_data(admin, rep)) == []


def test_edit_confirm_and_done_are_english(client, people, company):
    rep = people.with_certificate(company)
    signer = people.user(company, "signer", title="部長")
    _english(client, rep)
    url = f"/users/{signer.id}/edit"
    data = [*_user_data(rep, signer), *_company_data(company), "花江"]
    form = _page(client.get(url))
    assert "Change user information" in form and "The role cannot be changed here." in form
    assert leftover_japanese(form, *data) == []

    values = {"last_name": signer.last_name, "first_name": "花江",
              "last_name_kana": signer.last_name_kana, "first_name_kana": "ハナエ",
              "last_name_en": "Yamada", "first_name_en": "Hanae", "birth_date": "19800101",
              "mobile": signer.mobile, "email": signer.email, "email_confirm": signer.email,
              "department": "", "title": signer.title}
    bad = client.post_form(url, {**values, "birth_date": "19800231", "step": "confirm"},
                           token_page=url)
    assert bad.status_code == 400 and "This date does not exist." in _page(bad)
    assert leftover_japanese(_page(bad), *data, "ハナエ") == []

    confirm = client.post_form(url, {**values, "step": "confirm"}, token_page=url)
    page = _page(confirm)
    assert confirm.status_code == 200 and "Please check that the changes are correct" in page
    assert leftover_japanese(page, *data, "ハナエ") == []

    done = client.post_form(url, {**values, "step": "register"}, token_page=url)
    page = _page(done)
    assert done.status_code == 200 and "The user information has been updated." in page
    assert "the certificate has been revoked" in page
    db.session.refresh(signer)
    assert leftover_japanese(page, *data, *_user_data(signer)) == []


def test_delete_confirm_and_done_are_english(client, people, company):
    rep = people.user(company)
    viewer = people.user(company, "viewer")
    _english(client, rep)
    url = f"/users/{viewer.id}/delete"
    data = [*_user_data(rep, viewer), *_company_data(company)]
    page = _page(client.get(url))
    assert "Delete user" in page and "cannot be restored" in page and "Viewer" in page
    assert leftover_japanese(page, *data) == []
    done = client.post_form(url, token_page=url)
    assert done.status_code == 200 and "has been deleted" in _page(done)
    assert leftover_japanese(_page(done), *data) == []


def _requests() -> list[CertificateRequest]:
    return list(db.session.execute(select(CertificateRequest)).scalars())


def test_certificate_request_screens_are_english(client, people, company, smtp_sink):
    rep = people.with_certificate(company)
    signer = people.with_certificate(company, "signer")
    data = [*_user_data(rep, signer), *_company_data(company)]
    _english(client, rep)

    # For another signer: a system-created PoA (CERT-3).
    url = f"/users/{signer.id}/certificate-request"
    form = _page(client.get(url))
    assert "Certificate issuance request" in form and "Reason for issuance" in form
    assert "Forgotten PIN" in form and "Created by the system" in form
    assert leftover_japanese(form, *data) == []
    missing = client.post_form(url, {"identity_method": "documents"}, token_page=url)
    assert missing.status_code == 400 and "Please make a selection." in _page(missing)
    assert leftover_japanese(_page(missing), *data) == []
    started = client.post_form(url, {"reason": "details_changed", "identity_method": "documents"},
                               token_page=url)
    handle = handle_of(started)
    confirm = _page(client.get(f"/users/drafts/{handle}/confirm"))
    assert "Change of certificate details" in confirm and "Go to signing" in confirm
    assert leftover_japanese(confirm, *data) == []

    # For oneself as the representative: no PoA; 登録 completes the request.
    own = f"/users/{rep.id}/certificate-request"
    assert "No power of attorney needed" in _page(client.get(own))
    handle = handle_of(client.post_form(own, {"reason": "extend_validity",
                                              "identity_method": "documents"}, token_page=own))
    confirm = _page(client.get(f"/users/drafts/{handle}/confirm"))
    assert "Extension of validity" in confirm and leftover_japanese(confirm, *data) == []
    done = client.post_form(f"/users/drafts/{handle}/register",
                            token_page=f"/users/drafts/{handle}/confirm")
    page = _page(client.get(done.headers["Location"]))
    assert "Request complete" in page and "identity documents" in page
    assert leftover_japanese(page, *data) == []
    assert [r.subject_user_id for r in _requests()] == [rep.id]


def test_signer_requesting_for_themselves_sees_the_paper_poa_upload_in_english(
        client, people, company):
    people.user(company)
    signer = people.with_certificate(company, "signer")
    _english(client, signer)
    url = f"/users/{signer.id}/certificate-request"
    form = _page(client.get(url))
    assert "File upload" in form and "paper power of attorney" in form
    assert leftover_japanese(form, *_user_data(signer), *_company_data(company)) == []
    no_file = client.post_form(url, {"reason": "pin_forgotten", "identity_method": "documents"},
                               token_page=url)
    page = _page(no_file)
    assert no_file.status_code == 400 and "Please upload the power of attorney file." in page
    assert leftover_japanese(page, *_user_data(signer), *_company_data(company)) == []


def test_company_information_change_is_english(client, people, factories):
    company = factories.company()  # no deposit account: the customer edits (CO-1)
    rep = people.user(company)
    _english(client, rep)
    url = "/users/company/edit"
    data = [*_user_data(rep), *_company_data(company), "株式会社新社名", "シンシャメイ"]
    form = _page(client.get(url))
    assert "Change contract information" in form and "Corporation name (katakana)" in form
    assert leftover_japanese(form, *data) == []
    values = {"company_name": "株式会社新社名", "company_name_kana": "シンシャメイ",
              "company_name_en": "Shinshamei", "postal_code": "1000005",
              "address": company.address, "established_on": "20000101", "phone": "0312345678"}
    bad = client.post_form(url, {**values, "postal_code": "100-0005", "step": "confirm"},
                           token_page=url)
    assert bad.status_code == 400
    assert "Please enter 7 half-width digits without a hyphen." in _page(bad)
    assert leftover_japanese(_page(bad), *data) == []
    confirm = client.post_form(url, {**values, "step": "confirm"}, token_page=url)
    assert "Register" in _page(confirm) and leftover_japanese(_page(confirm), *data) == []
    done = client.post_form(url, {**values, "step": "register"}, token_page=url)
    page = _page(done)
    assert "The contract information has been changed." in page
    assert "all users&#39; certificates have been revoked" in page
    assert leftover_japanese(page, *data) == []


def test_company_changed_by_the_bank_is_refused_in_english(client, people, factories):
    branch = factories.branch()
    company = factories.company(branch, deposit_branch_id=branch.id)
    rep = people.user(company)
    _english(client, rep)
    refused = client.get("/users/company/edit")
    assert refused.status_code == 403 and "notification of change" in _page(refused)
    assert leftover_japanese(_page(refused), *_user_data(rep)) == []
    listing = _page(client.get("/users/"))
    assert "the bank will make the change" in listing


def test_console_company_pages_are_english(client, people, factories):
    branch = factories.branch()
    company = factories.company(branch, deposit_branch_id=branch.id)
    rep = people.user(company)
    signer = people.user(company, "signer")
    db.session.add(CertificateRequest(company_id=company.id, subject_user_id=signer.id,
                                      requested_by=rep.id, reason=CertReason.PIN_FORGOTTEN,
                                      state=CertRequestState.REQUESTED))
    db.session.commit()
    staff = factories.staff(branch)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    client.use_english()
    data = [*_user_data(rep, signer), *_company_data(company), staff.name, branch.name]

    listing = _page(client.get(f"/console/companies/{company.id}/users"))
    assert "made by the bank" in listing and "Certificate issuance requested" in listing
    assert leftover_japanese(listing, *data) == []

    url = f"/console/companies/{company.id}/edit"
    form = _page(client.get(url))
    assert "Change contract information" in form and leftover_japanese(form, *data) == []
    done = client.post_form(url, {"company_name": company.name,
                                  "company_name_kana": company.name_kana,
                                  "company_name_en": company.name_en, "postal_code": "1000005",
                                  "address": company.address, "established_on": "20000101",
                                  "phone": "0399998888", "step": "register"}, token_page=url)
    assert "The contract information has been changed." in _page(done)
    assert leftover_japanese(_page(done), *data) == []

    delete = f"/console/users/{signer.id}/delete"
    confirm = _page(client.get(delete))
    assert "Deleting the user cancels the request." in confirm
    assert leftover_japanese(confirm, *data) == []
    done = client.post_form(delete, token_page=delete)
    assert "has been deleted" in _page(done) and leftover_japanese(_page(done), *data) == []


def test_japanese_stays_the_default_on_the_users_screens(client, people, company):
    rep = people.user(company)
    login(client, rep)
    page = _page(client.get("/users/new"))
    assert "ユーザ新規登録" in page and "■代表者：会社代表者" in page
    assert "委任状登録方法（管理者・署名者の場合）" in page


def _upload(client: Any, data: dict[str, Any], filename: str, content: bytes) -> Any:
    payload: dict[str, Any] = dict(data, poa_method="upload")
    payload["file"] = (io.BytesIO(content), filename)
    return client.post_form("/users/new", payload, token_page="/users/new",
                            content_type="multipart/form-data")


def test_paper_poa_upload_refusals_and_confirm_are_english(client, people, company,
                                                           clamd_address):
    rep = people.user(company)
    _english(client, rep)
    data = [*_user_data(rep), *NEW_PERSON_DATA, *_company_data(company), "委任状.pdf"]
    admin = person("admin2@example.jp", role="administrator")

    docx = _upload(client, admin, "委任状.docx", devtools.sample_docx())
    assert docx.status_code == 400 and "as a PDF or image file" in _page(docx)
    assert leftover_japanese(_page(docx), *data) == []
    text = _upload(client, admin, "委任状.txt", b"hello")
    assert text.status_code == 400 and "extensions" in _page(text)
    assert leftover_japanese(_page(text), *data) == []
    infected = devtools.sample_pdf("x").replace(b"%%EOF", devtools.EICAR + b"\n%%EOF")
    virus = _upload(client, admin, "委任状.pdf", infected)
    assert virus.status_code == 400 and "A virus was detected" in _page(virus)
    assert leftover_japanese(_page(virus), *data) == []

    response = _upload(client, admin, "委任状.pdf", devtools.sample_pdf("委任状 (scan)"))
    assert response.status_code == 302
    confirm = _page(client.get(response.headers["Location"]))
    assert "File upload" in confirm and "委任状.pdf" in confirm
    assert "File to register (replace or upload again)" in confirm
    assert leftover_japanese(confirm, *data) == []


def test_quarantined_poa_upload_is_explained_in_english(app, client, people, company,
                                                        clamd_address):
    from tests.conftest import free_port

    rep = people.user(company)
    _english(client, rep)
    app.config["CLAMD_PORT"] = free_port()  # nothing listens: scanner unreachable
    response = _upload(client, person("later@example.jp", role="administrator"), "委任状.pdf",
                       devtools.sample_pdf("委任状"))
    assert response.status_code == 302
    page = _page(client.get(response.headers["Location"]))
    assert "The virus scan is in progress." in page and "(virus scan in progress)" in page
    assert leftover_japanese(page, *_user_data(rep), *NEW_PERSON_DATA, *_company_data(company),
                             "委任状.pdf") == []


def test_individual_changes_own_address_in_english(client, people, factories):
    company = factories.company(kind="individual", is_debtor=True)
    me = people.user(company)
    _english(client, me)
    data = [*_user_data(me), *_company_data(company)]
    listing = _page(client.get("/users/"))
    assert "Change contractor information" in listing and "Corporation name" not in listing
    assert leftover_japanese(STATUS_LINE.sub(" ", CERTS_CARD.sub(" ", listing)), *data) == []
    url = "/users/company/edit"
    bad = client.post_form(url, {"step": "confirm", "postal_code": "1500001", "address": "",
                                 "phone": "03-1234"}, token_page=url)
    page = _page(bad)
    assert bad.status_code == 400 and "Please enter this item." in page
    assert "Postal code" in page and "Corporation name" not in page
    assert leftover_japanese(page, *data) == []
