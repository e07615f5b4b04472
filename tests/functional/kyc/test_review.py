"""KYC-6 review and KYC-5 access: the branch's staff review; only the owner
and that branch's staff can read the files; the status line follows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from kyc.models import KycFile, KycState, KycSubmission
from kyc.services import kyc_status
from portal.extensions import db
from portal.mail import deliver_pending
from portal.mypage.status import status_line

from .conftest import JPEG, PDF, KycDriver, StaffDriver, World


def submitted(kyc: KycDriver, world: World) -> int:
    kyc.login(world.user)
    return kyc.submit_complete()


def files_of(sid: int) -> list[KycFile]:
    return list(db.session.execute(select(KycFile).where(KycFile.submission_id == sid)
                                   .order_by(KycFile.id)).scalars())


def test_status_line_follows_the_submission(kyc: KycDriver, world: World,
                                            staff_client: StaffDriver, smtp_sink: Any) -> None:
    assert kyc_status(world.user) == "本人確認書類アップロード待ち"
    assert status_line(world.user) == "証明書発行依頼中"
    sid = submitted(kyc, world)
    assert kyc_status(world.user) == status_line(world.user) == "本人確認書類確認中"
    settings = kyc.client.get("/settings").get_data(as_text=True)
    assert "本人確認書類確認中" in settings
    assert 'href="/mypage/kyc">本人確認書類アップロード ▶' in settings

    staff_client.login(world.staff)
    listing = staff_client.client.get("/console/kyc").get_data(as_text=True)
    assert f'id="submission-{sid}"' in listing and world.company.name in listing
    detail = staff_client.client.get(f"/console/kyc/{sid}").get_data(as_text=True)
    front, back, card = files_of(sid)
    assert f"/console/kyc/{sid}/files/{front.id}/preview" in detail  # image shown inline
    assert f"/console/kyc/{sid}/files/{back.id}/preview" not in detail  # PDF: download only
    assert f"/console/kyc/{sid}/files/{back.id}" in detail

    response = staff_client.post(f"/console/kyc/{sid}/approve")
    assert response.status_code == 302
    assert db.session.get(KycSubmission, sid).state == KycState.APPROVED  # type: ignore[union-attr]
    assert kyc_status(world.user) == status_line(world.user) == "PIN登録待ち"
    deliver_pending()
    mail = smtp_sink.last_to(world.user.email, "初期PIN登録のお願い")
    assert "初期PIN" in smtp_sink.body(mail)
    again = staff_client.post(f"/console/kyc/{sid}/approve")
    assert again.status_code == 409  # approve twice: refused by the state table


def test_reject_needs_a_reason_the_user_then_sees(kyc: KycDriver, world: World,
                                                  staff_client: StaffDriver,
                                                  smtp_sink: Any) -> None:
    sid = submitted(kyc, world)
    staff_client.login(world.staff)
    empty = staff_client.post(f"/console/kyc/{sid}/reject", reason="   ")
    assert empty.status_code == 400 and "差戻し理由を入力してください。" in empty.get_data(as_text=True)  # noqa: E501
    reason = "運転免許証の裏面が読み取れません。鮮明な画像で再度アップロードしてください。"
    assert staff_client.post(f"/console/kyc/{sid}/reject", reason=reason).status_code == 302
    assert kyc_status(world.user) == "本人確認書類差戻し"
    assert status_line(world.user) == "証明書発行依頼中"  # the card: upload again
    page = kyc.client.get("/mypage/kyc").get_data(as_text=True)
    assert reason in page and "再度アップロード" in page
    deliver_pending()
    assert reason in smtp_sink.body(smtp_sink.last_to(world.user.email, "差戻し"))
    # the user can start again: a new consent and a new draft
    assert kyc.agree() != sid


def test_no_second_upload_while_one_is_under_review(kyc: KycDriver, world: World) -> None:
    sid = submitted(kyc, world)
    response = kyc.client.post("/mypage/kyc/consent", data={
        "csrf_token": kyc.token(), "understood": "1", "decision": "agree"})
    assert response.status_code == 400
    assert "確認中です" in response.get_data(as_text=True)
    assert db.session.execute(select(KycSubmission.id)).scalars().all() == [sid]
    assert "本人確認書類確認中" in kyc.client.get("/mypage/kyc").get_data(as_text=True)


def test_owner_downloads_as_attachment_with_nosniff(kyc: KycDriver, world: World) -> None:
    sid = submitted(kyc, world)
    front = files_of(sid)[0]
    response = kyc.client.get(f"/mypage/kyc/{sid}/files/{front.id}")
    assert response.status_code == 200 and response.data == JPEG
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Type"] == "image/jpeg"


def test_staff_preview_is_inline_only_for_images(kyc: KycDriver, world: World,
                                                 staff_client: StaffDriver) -> None:
    sid = submitted(kyc, world)
    front, back, _ = files_of(sid)
    staff_client.login(world.staff)
    image = staff_client.client.get(f"/console/kyc/{sid}/files/{front.id}/preview")
    assert image.status_code == 200 and image.headers["Content-Disposition"].startswith("inline")
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    pdf = staff_client.client.get(f"/console/kyc/{sid}/files/{back.id}/preview")
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    download = staff_client.client.get(f"/console/kyc/{sid}/files/{back.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_another_users_submission_is_not_found(kyc: KycDriver, world: World, app: Any) -> None:
    sid = submitted(kyc, world)
    front = files_of(sid)[0]
    other = KycDriver(app.test_client())
    other.login(world.colleague)  # same company, administrator: still not the owner
    assert other.client.get(f"/mypage/kyc/{sid}/files/{front.id}").status_code == 404
    own = other.agree()
    other.choose(own, "identity", "passport")
    for url in (f"/mypage/kyc/{sid}", f"/mypage/kyc/{sid}/done"):
        assert other.client.get(url).status_code == 404
    refused = other.client.post(f"/mypage/kyc/{sid}/files", data={
        "csrf_token": other.token(), "category": "identity", "slot": "front",
        "file": (__import__("io").BytesIO(JPEG), "x.jpg")}, content_type="multipart/form-data")
    assert refused.status_code == 404
    assert other.post(f"/mypage/kyc/{sid}/type", category="identity",
                      document_type="passport").status_code == 404
    assert other.post(f"/mypage/kyc/{sid}/submit").status_code == 404
    assert len(files_of(sid)) == 3


def test_staff_of_another_branch_and_the_bank_admin_see_nothing(
        kyc: KycDriver, world: World, app: Any) -> None:
    sid = submitted(kyc, world)
    front = files_of(sid)[0]
    other = StaffDriver(app.test_client())
    other.login(world.other_staff)
    assert f'id="submission-{sid}"' not in other.client.get("/console/kyc").get_data(as_text=True)
    for url in (f"/console/kyc/{sid}", f"/console/kyc/{sid}/files/{front.id}",
                f"/console/kyc/{sid}/files/{front.id}/preview"):
        assert other.client.get(url).status_code == 404, url
    assert other.post(f"/console/kyc/{sid}/approve").status_code == 404
    assert db.session.get(KycSubmission, sid).state == KycState.SUBMITTED  # type: ignore[union-attr]

    admin = StaffDriver(app.test_client())
    admin.login(world.admin)
    assert admin.client.get(f"/console/kyc/{sid}").status_code == 403
    customer_in_console = kyc.client.get(f"/console/kyc/{sid}")
    assert customer_in_console.status_code == 302  # to the console login


def test_drafts_are_not_visible_to_staff(kyc: KycDriver, world: World,
                                         staff_client: StaffDriver) -> None:
    kyc.login(world.user)
    sid = kyc.agree()
    staff_client.login(world.staff)
    assert staff_client.client.get(f"/console/kyc/{sid}").status_code == 404
