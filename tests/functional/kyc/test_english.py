"""SPEC UI language, KYC-1..6: every identity-document screen (consent, document
types, upload with its refusals and the virus-scan wait, status, and the bank's
review) reads in English for an English visitor; the Japanese data the test
created (names, the reject reason, file names) is all that stays Japanese."""

from __future__ import annotations

import re
from typing import Any

from kyc import devtools
from kyc.devtools import free_port
from tests.i18n_support import leftover_japanese

from .conftest import JPEG, PDF, KycDriver, StaffDriver, World

PNG = devtools.sample_image("PNG")
REASON = "運転免許証の裏面が読み取れません。鮮明な画像で再度アップロードしてください。"


def customer_data(world: World) -> tuple[str, ...]:
    return (world.company.name, world.user.display_name, world.branch.name)


def english(response: Any, *data: str, status: int = 200) -> str:
    """The page is English apart from ``data`` (names and texts the test made)."""
    assert response.status_code == status, response.status_code
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert leftover_japanese(html, *data) == []
    return html


def english_customer(kyc: KycDriver, world: World) -> tuple[str, ...]:
    kyc.login(world.user)
    kyc.client.use_english()
    return customer_data(world)


def submitted(kyc: KycDriver, world: World) -> int:
    return kyc.submit_complete()


def test_consent_screen_and_its_errors_are_english(kyc: KycDriver, world: World) -> None:
    data = english_customer(kyc, world)
    first = kyc.client.get("/mypage/kyc")
    assert first.headers["Location"].endswith("/mypage/kyc/consent")
    page = english(kyc.client.get("/mypage/kyc/consent"), *data)
    assert "Consent to the handling of personal information" in page
    assert "I have read and understood the contents" in page
    assert ">I agree</button>" in page and ">I do not agree</button>" in page
    unticked = kyc.post("/mypage/kyc/consent", decision="agree")
    page = english(unticked, *data, status=400)
    assert 'Please tick "I have read and understood the contents".' in page.replace("&#34;", '"')
    no_button = kyc.post("/mypage/kyc/consent", understood="1", decision="maybe")
    assert "Please choose by pressing one of the buttons." in english(no_button, *data,
                                                                       status=400)
    missing = kyc.post("/mypage/kyc/consent", understood="1")
    assert "Please make a selection." in english(missing, *data, status=400)


def test_declining_says_so_in_english(kyc: KycDriver, world: World) -> None:
    english_customer(kyc, world)
    declined = kyc.post("/mypage/kyc/consent", decision="decline")
    assert declined.status_code == 302
    page = kyc.client.get(declined.headers["Location"], follow_redirects=True)
    assert ("If you do not consent to the provision of your personal information to third "
            "parties, you cannot upload identity documents.") in page.get_data(as_text=True)


def test_upload_screen_document_types_and_slots_are_english(kyc: KycDriver,
                                                            world: World) -> None:
    data = english_customer(kyc, world)
    sid = kyc.agree()
    page = english(kyc.client.get(f"/mypage/kyc/{sid}"), *data)
    assert "Upload identity documents" in page
    assert "Identity documents" in page and "Employment-verification documents" in page
    assert "Document type (Identity documents)" in page
    assert "Driver&#39;s license" in page and "My Number Card" in page
    assert "Certificate of employment" in page
    assert kyc.choose(sid, "identity", "health_insurance").status_code == 302
    assert kyc.choose(sid, "employment", "employee_id").status_code == 302
    page = english(kyc.client.get(f"/mypage/kyc/{sid}"), *data)
    assert "Front of the health insurance card" in page and "Not registered" in page
    assert "Supporting document (copy of your certificate of residence" in page
    assert 'aria-label="Front of the health insurance card (browse)"' in page
    assert ">Upload</button>" in page and ">Submit</button>" in page


def test_individuals_get_the_single_section_text_in_english(kyc: KycDriver,
                                                            factories: Any) -> None:
    company = factories.company(kind="individual", name="鈴木一郎")
    user = factories.customer(company)
    kyc.login(user)
    kyc.client.use_english()
    sid = kyc.agree()
    page = english(kyc.client.get(f"/mypage/kyc/{sid}"), company.name, user.display_name,
                   "東京支店")
    assert "Please select the identity documents you are submitting from the drop-down list" in page
    assert "Employment-verification documents</h2>" not in page


def test_document_type_errors_are_english(kyc: KycDriver, world: World) -> None:
    data = english_customer(kyc, world)
    sid = kyc.agree()
    unknown = english(kyc.choose(sid, "identity", "library_card"), *data, status=400)
    assert "The selected document type cannot be used. Please select one from the list." in unknown
    empty = english(kyc.choose(sid, "identity", ""), *data, status=400)
    assert "Please make a selection." in empty
    no_type = english(kyc.upload(sid, "identity", "front", "front.jpg", JPEG), *data,
                      status=400)
    assert "Please select the document type (Identity documents)." in no_type
    kyc.choose(sid, "identity", "passport")
    bad_slot = english(kyc.upload(sid, "identity", "sideways", "a.jpg", JPEG), *data,
                       status=400)
    assert "The document to upload is not specified correctly." in bad_slot


def test_every_file_refusal_is_english(kyc: KycDriver, world: World, app: Any) -> None:
    data = english_customer(kyc, world)
    sid = kyc.agree()
    kyc.choose(sid, "identity", "passport")
    long_name = "あ" * 296 + ".pdf"
    cases = [
        ("passport.pdf", PNG, "The content of the file does not match its extension (.pdf). "
                              "The content was detected as: PNG image. "
                              "Please choose a file of this type: PDF."),
        ("passport.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
         "Text files such as HTML or SVG cannot be uploaded."),
        ("passport.pdf", b"", "The file is empty (0 bytes)."),
        ("passport.exe", PDF, "Files with the following extensions can be uploaded: "
                              "docx,xlsx,pdf,jpg,jpeg,png,gif,bmp,tif,tiff."),
        ("../passport.pdf", PDF, "Folder separators (/ or \\) cannot be used"),
        ("passport\x00.pdf", PDF, "control characters such as NUL"),
        (long_name, PDF, "Please use a file name of no more than 255 characters."),
        (".pdf", PDF, "a file name consisting only of an extension cannot be used"),
        ("passport.pdf", devtools.EICAR, "A virus was detected in the file"),
        ("big.pdf", PDF + b"\x00" * (app.config["UPLOAD_MAX_BYTES"] + 1),
         "The file exceeds the size limit (10MB). Please choose a file of 10MB or less."),
    ]
    for name, content, message in cases:
        page = english(kyc.upload(sid, "identity", "photo", name, content), *data, long_name,
                       status=400)
        assert message in page.replace("&#39;", "'"), name
    no_file = kyc.client.post(f"/mypage/kyc/{sid}/files", data={
        "csrf_token": kyc.token(), "category": "identity", "slot": "photo"})
    assert "Please choose a file." in english(no_file, *data, status=400)
    bad_form = kyc.client.post(f"/mypage/kyc/{sid}/files", data={"csrf_token": kyc.token()})
    assert "Please make a selection." in english(bad_form, *data, status=400)


def test_japanese_visitors_keep_the_japanese_refusals(kyc: KycDriver, world: World) -> None:
    kyc.login(world.user)
    sid = kyc.agree()
    no_type = kyc.upload(sid, "identity", "photo", "passport.pdf", PDF).get_data(as_text=True)
    assert "本人確認書類の種類を選択してください。" in no_type
    kyc.choose(sid, "identity", "passport")
    page = kyc.upload(sid, "identity", "photo", "passport.pdf", PNG).get_data(as_text=True)
    assert ("ファイルの内容が拡張子（.pdf）と一致しません。このファイルの内容はPNG画像です。"
            "PDFのファイルを選択してください。") in page
    page = kyc.choose(sid, "identity", "").get_data(as_text=True)
    assert "選択してください。" in page


def test_scan_wait_upload_flash_and_incomplete_submit_are_english(kyc: KycDriver,
                                                                 world: World,
                                                                 app: Any) -> None:
    data = english_customer(kyc, world)
    sid = kyc.agree()
    kyc.choose(sid, "identity", "passport")
    incomplete = english(kyc.post(f"/mypage/kyc/{sid}/submit"), *data, status=400)
    assert "Some documents have not been uploaded yet." in incomplete
    stored = kyc.upload(sid, "identity", "photo", "passport.jpg", JPEG)
    assert stored.status_code == 302
    page = english(kyc.client.get(stored.headers["Location"]), *data)
    assert "The file has been uploaded." in page and ">passport.jpg</a>" in page
    clamd_port = app.config["CLAMD_PORT"]
    app.config.update(CLAMD_PORT=free_port(), CLAMD_TIMEOUT=0.5)  # the scanner is down
    try:
        waiting = english(kyc.upload(sid, "identity", "photo", "again.jpg", JPEG), *data,
                          status=202)
        assert "The virus scan is in progress. Please wait a while and try again." in waiting
        assert "Upload again (scan again)" in waiting
        outstanding = english(kyc.post(f"/mypage/kyc/{sid}/submit"), *data, status=400)
        assert "A file is still being scanned for viruses." in outstanding
    finally:
        app.config["CLAMD_PORT"] = clamd_port
    retry = re.search(r'action="(/mypage/kyc/\d+/pending/\d+/retry)"', waiting)
    assert retry
    released = kyc.post(retry.group(1))
    assert released.status_code == 302
    page = english(kyc.client.get(released.headers["Location"]), *data)
    assert "The virus scan is complete and the file has been uploaded." in page
    file_id = re.search(r'action="/mypage/kyc/\d+/files/(\d+)/delete"', page)
    assert file_id
    deleted = kyc.post(f"/mypage/kyc/{sid}/files/{file_id.group(1)}/delete")
    page = english(kyc.client.get(deleted.headers["Location"]), *data)
    assert "The file has been deleted." in page


def test_done_and_status_screens_are_english(kyc: KycDriver, world: World,
                                             staff_client: StaffDriver) -> None:
    data = english_customer(kyc, world)
    sid = submitted(kyc, world)
    done = english(kyc.client.get(f"/mypage/kyc/{sid}/done"), *data)
    assert "Your identity documents have been registered." in done
    status = english(kyc.client.get("/mypage/kyc"), *data)
    assert "Identity documents under review" in status
    again = kyc.post("/mypage/kyc/consent", understood="1", decision="agree")
    assert "We are reviewing the identity documents you submitted." in english(
        again, *data, status=400)
    staff_client.login(world.staff)
    assert staff_client.post(f"/console/kyc/{sid}/reject", reason=REASON).status_code == 302
    rejected = english(kyc.client.get("/mypage/kyc"), *data, REASON)
    assert "Your identity documents have been returned" in rejected
    assert "Reason for return" in rejected and REASON in rejected
    assert "Upload identity documents again" in rejected


def test_approved_status_is_english(kyc: KycDriver, world: World,
                                    staff_client: StaffDriver) -> None:
    data = english_customer(kyc, world)
    sid = submitted(kyc, world)
    staff_client.login(world.staff)
    assert staff_client.post(f"/console/kyc/{sid}/approve").status_code == 302
    page = english(kyc.client.get("/mypage/kyc"), *data)
    assert "The review of your identity documents is complete" in page


def test_console_review_screens_are_english(kyc: KycDriver, world: World,
                                            staff_client: StaffDriver) -> None:
    kyc.login(world.user)
    sid = submitted(kyc, world)
    staff_client.login(world.staff)
    japanese = staff_client.client.get("/console/kyc").get_data(as_text=True)
    assert "<td>確認待ち</td>" in japanese  # the state's label, not its code
    staff_client.client.use_english()
    data = (*customer_data(world), world.staff.name)
    listing = english(staff_client.client.get("/console/kyc"), *data)
    assert "Identity document review" in listing
    assert '<td>Awaiting review</td>' in listing  # the state of the row
    assert ">Details</a>" in listing
    for state in ("approved", "rejected", "all"):
        english(staff_client.client.get(f"/console/kyc?state={state}"), *data)
    empty = english(staff_client.client.get("/console/kyc?state=approved"), *data)
    assert "There are no matching identity documents." in empty
    detail = english(staff_client.client.get(f"/console/kyc/{sid}"), *data)
    assert f"{world.user.display_name} ({world.user.mypage_id})" in detail
    assert "Front of the driver&#39;s license: front.jpg (" in detail
    assert ">Approve</button>" in detail and ">Return</button>" in detail
    no_reason = staff_client.post(f"/console/kyc/{sid}/reject", reason="   ")
    assert "Please enter the reason for return." in english(no_reason, *data,
                                                                  status=400)
    too_long = staff_client.post(f"/console/kyc/{sid}/reject", reason="x" * 501)
    assert "Please enter a reason for return of 1 to 500 characters." in english(
        too_long, *data, status=400)
    approved = staff_client.post(f"/console/kyc/{sid}/approve")
    assert approved.status_code == 302
    page = english(staff_client.client.get(approved.headers["Location"]), *data)
    assert "The identity documents have been approved" in page
    assert '<dd id="state">Approved</dd>' in page
    twice = staff_client.post(f"/console/kyc/{sid}/approve")
    assert ('This operation is not possible because these identity documents are '
            '"Approved".') in english(twice, *data, status=409).replace("&#34;", '"')
