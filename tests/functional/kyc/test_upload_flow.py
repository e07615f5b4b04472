"""MyPage KYC screens (source guide §2.4): consent, slots, upload checks with
the real clamd, encrypted storage, submit (KYC-1..5)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from kyc import devtools
from kyc.devtools import SilentListener
from kyc.models import KycConsent, KycFile, KycState, KycSubmission
from portal.extensions import db
from portal.filestore import get_file_store
from portal.models import AuditEntry

from .conftest import KycDriver, World, stored_blobs

JPEG = devtools.sample_image("JPEG")
PNG = devtools.sample_image("PNG")
PDF = devtools.sample_pdf()


def audit_actions(prefix: str = "kyc.") -> list[str]:
    rows = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
    return [r.action for r in rows if r.action.startswith(prefix)]


def last_audit(action: str) -> dict[str, Any]:
    row = db.session.execute(select(AuditEntry).where(AuditEntry.action == action)
                             .order_by(AuditEntry.id.desc())).scalars().first()
    assert row is not None, f"no audit entry {action}"
    return json.loads(row.detail)


def test_no_upload_page_without_consent(kyc: KycDriver, world: World) -> None:
    kyc.login(world.user)
    response = kyc.client.get("/mypage/kyc")
    assert response.status_code == 302 and response.headers["Location"].endswith("/mypage/kyc/consent")  # noqa: E501
    page = kyc.client.get("/mypage/kyc/consent").get_data(as_text=True)
    assert "個人情報の第三者提供内容について.pdf" in page
    assert "内容について確認し、理解しました" in page and "同意しません" in page
    pdf = kyc.client.get("/mypage/kyc/consent.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert db.session.execute(select(KycSubmission)).first() is None


def test_agree_without_the_checkbox_is_refused(kyc: KycDriver, world: World) -> None:
    kyc.login(world.user)
    response = kyc.client.post("/mypage/kyc/consent", data={"csrf_token": kyc.token(),
                                                           "decision": "agree"})
    assert response.status_code == 400
    assert "「内容について確認し、理解しました」にチェックしてください。" in response.get_data(as_text=True)  # noqa: E501
    assert db.session.execute(select(KycConsent)).first() is None


def test_decline_records_it_and_opens_nothing(kyc: KycDriver, world: World) -> None:
    kyc.login(world.user)
    response = kyc.client.post("/mypage/kyc/consent", data={
        "csrf_token": kyc.token(), "understood": "1", "decision": "decline"})
    assert response.status_code == 302
    assert db.session.execute(select(KycSubmission)).first() is None
    assert "kyc.consent.declined" in audit_actions()


def test_consent_is_recorded_with_its_time_and_version(kyc: KycDriver, world: World) -> None:
    kyc.login(world.user)
    submission_id = kyc.agree()
    consent = db.session.execute(select(KycConsent)).scalar_one()
    assert consent.user_id == world.user.id and consent.agreed_at is not None
    assert consent.document_version
    submission = db.session.get(KycSubmission, submission_id)
    assert submission is not None and submission.consent_id == consent.id
    assert submission.state == KycState.DRAFT
    assert "kyc.consent.agreed" in audit_actions()


def test_one_upload_slot_per_required_file(kyc: KycDriver, world: World) -> None:
    kyc.login(world.user)
    sid = kyc.agree()
    page = kyc.client.get(f"/mypage/kyc/{sid}").get_data(as_text=True)
    assert "本人確認書類" in page and "在籍確認書類" in page  # corporate user: both lists
    kyc.choose(sid, "identity", "drivers_license")
    kyc.choose(sid, "employment", "business_card")
    page = kyc.client.get(f"/mypage/kyc/{sid}").get_data(as_text=True)
    assert page.count('type="file"') == 3
    for label in ("運転免許証の表面", "運転免許証の裏面", "名刺（社名と氏名が記載されたもの）"):
        assert label in page


def test_individuals_get_no_employment_section(kyc: KycDriver, factories: Any) -> None:
    company = factories.company(kind="individual", name="個人 花子")
    user = factories.customer(company)
    kyc.login(user)
    sid = kyc.agree()
    page = kyc.client.get(f"/mypage/kyc/{sid}").get_data(as_text=True)
    assert 'id="section-employment"' not in page
    response = kyc.choose(sid, "employment", "business_card")
    assert response.status_code == 400
    assert "個人・個人事業主の方は在籍確認書類の登録は不要です。" in response.get_data(as_text=True)


def test_type_not_in_the_list_is_refused(kyc: KycDriver, world: World) -> None:
    kyc.login(world.user)
    sid = kyc.agree()
    response = kyc.choose(sid, "identity", "library_card")
    assert response.status_code == 400
    assert "選択された書類の種類は利用できません。一覧から選択してください。" in response.get_data(as_text=True)  # noqa: E501
    assert db.session.get(KycSubmission, sid).identity_type is None  # type: ignore[union-attr]


def test_clean_uploads_are_stored_encrypted_and_submitted(kyc: KycDriver, world: World,
                                                          app: Any) -> None:
    kyc.login(world.user)
    sid = kyc.agree()
    kyc.choose(sid, "identity", "drivers_license")
    kyc.choose(sid, "employment", "employment_certificate")
    assert kyc.upload(sid, "identity", "front", "表面.jpg", JPEG).status_code == 302
    assert kyc.upload(sid, "identity", "back", "裏面.png", PNG).status_code == 302
    early = kyc.post(f"/mypage/kyc/{sid}/submit")
    assert early.status_code == 400 and "アップロードされていない書類があります" in early.get_data(as_text=True)  # noqa: E501
    response = kyc.upload(sid, "employment", "certificate", "在籍証明書.docx", devtools.sample_docx())  # noqa: E501
    assert response.status_code == 302

    files = db.session.execute(select(KycFile).order_by(KycFile.id)).scalars().all()
    assert [(f.slot, f.original_name, f.format) for f in files] == [
        ("front", "表面.jpg", "jpeg"), ("back", "裏面.png", "png"),
        ("certificate", "在籍証明書.docx", "docx")]
    for f in files:
        assert "表面" not in f.storage_key and "." not in f.storage_key  # server-generated
        assert get_file_store().get(f.storage_key) in (JPEG, PNG, devtools.sample_docx())
    raw = b"".join(p.read_bytes() for p in stored_blobs(app))
    assert JPEG[:200] not in raw and b"word/document.xml" not in raw  # encrypted at rest

    response = kyc.post(f"/mypage/kyc/{sid}/submit")
    assert response.status_code == 302
    done = kyc.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "本人確認書類の登録を完了しました。" in done and "契約者情報管理へ" in done
    assert db.session.get(KycSubmission, sid).state == KycState.SUBMITTED  # type: ignore[union-attr]
    late = kyc.upload(sid, "identity", "front", "again.jpg", JPEG)
    assert late.status_code == 400  # a sent submission takes no more files
    assert "すでに送信済みのため、変更できません" in late.get_data(as_text=True)
    assert len(db.session.execute(select(KycFile)).scalars().all()) == 3
    assert "kyc.submission.submitted" in audit_actions()


def test_replacing_a_slot_deletes_the_old_file(kyc: KycDriver, world: World, app: Any) -> None:
    kyc.login(world.user)
    sid = kyc.agree()
    kyc.choose(sid, "identity", "passport")
    kyc.upload(sid, "identity", "photo", "first.jpg", JPEG)
    first_key = db.session.execute(select(KycFile.storage_key)).scalar_one()
    kyc.upload(sid, "identity", "photo", "second.pdf", PDF)
    files = db.session.execute(select(KycFile)).scalars().all()
    assert [f.original_name for f in files] == ["second.pdf"]
    assert first_key not in {p.name for p in stored_blobs(app)}


def upload_error(kyc: KycDriver, sid: int, name: str, data: bytes) -> str:
    response = kyc.upload(sid, "identity", "photo", name, data)
    assert response.status_code == 400, response.status_code
    return response.get_data(as_text=True)


def passport_draft(kyc: KycDriver, world: World) -> int:
    kyc.login(world.user)
    sid = kyc.agree()
    kyc.choose(sid, "identity", "passport")
    return sid


def test_eicar_upload_is_refused_audited_and_nothing_stored(kyc: KycDriver, world: World,
                                                            app: Any) -> None:
    sid = passport_draft(kyc, world)
    page = upload_error(kyc, sid, "passport.pdf", devtools.EICAR)
    assert "ファイルからウイルスが検出されたため、アップロードできません。" in page
    page = upload_error(kyc, sid, "passport.pdf", PDF + devtools.EICAR)
    assert "ウイルスが検出されたため" in page
    assert db.session.execute(select(KycFile)).first() is None
    assert stored_blobs(app) == []
    detail = last_audit("kyc.file.infected")
    assert detail["signature"] == "Portal.Test.EICAR.UNOFFICIAL" and detail["slot"] == "photo"


def test_bad_files_get_specific_messages(kyc: KycDriver, world: World, app: Any) -> None:
    sid = passport_draft(kyc, world)
    cases = [
        ("passport.pdf", PNG, "ファイルの内容が拡張子（.pdf）と一致しません。このファイルの内容はPNG画像です。"),  # noqa: E501
        ("passport.jpg", b"<html><script>alert(1)</script></html>", "HTML・SVG などのテキストファイル"),  # noqa: E501
        ("passport.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "HTML・SVG などのテキストファイル"),  # noqa: E501
        ("passport.pdf", b"", "ファイルの中身が空です（0バイト）。"),
        ("passport.exe", PDF, "アップロードできるファイルの拡張子はdocx,xlsx,pdf,jpg,jpeg,png,gif,bmp,tif,tiffです。"),  # noqa: E501
        ("../../etc/passport.pdf", PDF, "フォルダの区切り文字"),
        ("あ" * 296 + ".pdf", PDF, "255文字以内"),
    ]
    for name, data, message in cases:
        assert message in upload_error(kyc, sid, name, data), name
    assert db.session.execute(select(KycFile)).first() is None
    assert stored_blobs(app) == []
    reasons = [json.loads(r.detail)["reason"] for r in db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "kyc.file.refused")).scalars()]
    assert reasons == ["content_mismatch", "content_mismatch", "content_mismatch", "empty",
                       "extension", "bad_filename", "bad_filename"]


def test_nul_in_the_file_name_is_refused(kyc: KycDriver, world: World) -> None:
    sid = passport_draft(kyc, world)
    response = kyc.upload(sid, "identity", "photo", "passport\x00.pdf", PDF)
    assert response.status_code == 400
    assert "制御文字" in response.get_data(as_text=True)
    assert db.session.execute(select(KycFile)).first() is None


def test_eleven_megabytes_is_refused_before_scanning(kyc: KycDriver, world: World,
                                                     app: Any) -> None:
    sid = passport_draft(kyc, world)
    # The scanner address now leads to a socket that counts connections:
    # a refusal that came after a scan attempt would show up there.
    counter = SilentListener()
    app.config.update(CLAMD_PORT=counter.port, CLAMD_TIMEOUT=0.5)
    try:
        page = upload_error(kyc, sid, "big.pdf", PDF + b"\x00" * (11 * 1024 * 1024))
    finally:
        counter.stop()
    assert "ファイルサイズが上限（10MB）を超えています。10MB以下のファイルを選択してください。" in page  # noqa: E501
    assert counter.connections == 0
    assert stored_blobs(app) == []
    assert last_audit("kyc.file.refused")["reason"] == "too_large"


def test_clean_pdf_jpeg_png_tiff_docx_xlsx_are_accepted(kyc: KycDriver, world: World) -> None:
    sid = passport_draft(kyc, world)
    for name, data in [("a.pdf", PDF), ("a.jpg", JPEG), ("a.png", PNG),
                       ("a.tiff", devtools.sample_image("TIFF")),
                       ("a.docx", devtools.sample_docx()), ("a.xlsx", devtools.sample_xlsx())]:
        response = kyc.upload(sid, "identity", "photo", name, data)
        assert response.status_code == 302, name
        stored = db.session.execute(select(KycFile)).scalar_one()
        assert stored.original_name == name


def test_uploaded_documents_never_land_in_a_temporary_file(
        kyc: KycDriver, world: World, monkeypatch: Any) -> None:
    import werkzeug.wrappers.request as wrappers

    spooled: list[str] = []
    original = wrappers.default_stream_factory

    def counting_factory(*args: Any, **kwargs: Any) -> Any:
        spooled.append("temp file")
        return original(*args, **kwargs)

    monkeypatch.setattr(wrappers, "default_stream_factory", counting_factory)
    sid = passport_draft(kyc, world)
    big = devtools.large_pdf(2 * 1024 * 1024)  # well above werkzeug's 500 KB spool threshold
    assert kyc.upload(sid, "identity", "photo", "passport.pdf", big).status_code == 302
    assert spooled == []
