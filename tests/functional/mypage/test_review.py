"""APP-1 (console invitations) and APP-5 (review): branch scoping, approval
creating company + first user + three separate mails, rejection mailed."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.mail import deliver_pending
from portal.models import AuditEntry, Company, CustomerRole, CustomerUser, Notice
from portal.mypage.models import Application, ApplicationState, Invitation
from tests.conftest import DEFAULT_PASSWORD, login_staff
from tests.functional.mypage.conftest import CORPORATION_FORM, INDIVIDUAL_FORM, count


def _submitted(flow, branch, form=CORPORATION_FORM) -> Application:
    assert flow.apply(form, branch.id).status_code == 302
    return db.session.execute(
        select(Application).where(Application.email == form["email"])).scalar_one()


def test_staff_creates_invitation_with_url_and_qr_codes(client, factories):
    branch = factories.branch("横浜支店")
    staff = factories.staff(branch)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    response = client.post_form("/console/invitations", {"customer_name": "見込み商事",
                                                         "valid_days": "14"},
                                token_page="/console/invitations")
    assert response.status_code == 302
    invitation = db.session.execute(select(Invitation)).scalar_one()
    assert invitation.branch_id == branch.id
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"http://localhost/apply?inv={invitation.token}" in html
    png = client.get(f"/console/invitations/{invitation.id}/qr.png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    svg = client.get(f"/console/invitations/{invitation.id}/qr.svg?download=1")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert "attachment" in svg.headers["Content-Disposition"]
    assert "invitation.created" in db.session.execute(select(AuditEntry.action)).scalars().all()


def test_invitation_of_another_branch_is_not_found(client, factories):
    mine, other = factories.branch("東京支店"), factories.branch("大阪支店")
    from portal.mypage import services

    invitation = services.create_invitation(factories.staff(other), customer_name="",
                                            valid_days=30)
    db.session.commit()
    staff = factories.staff(mine)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    assert client.get(f"/console/invitations/{invitation.id}").status_code == 404
    assert client.get(f"/console/invitations/{invitation.id}/qr.png").status_code == 404


def test_invalid_valid_days_is_a_field_error(client, factories):
    staff = factories.staff(factories.branch())
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    response = client.post_form("/console/invitations", {"valid_days": "１４"},
                                token_page="/console/invitations")
    assert response.status_code == 400
    assert "全角数字は使用できません" in response.get_data(as_text=True)
    response = client.post_form("/console/invitations", {"valid_days": "91"},
                                token_page="/console/invitations")
    assert "1〜90の半角数字で入力してください" in response.get_data(as_text=True)
    assert count(Invitation) == 0


def test_staff_of_another_branch_do_not_see_the_application(client, flow, factories):
    branch, other = factories.branch("東京支店"), factories.branch("大阪支店")
    application = _submitted(flow, branch)
    outsider = factories.staff(other)
    login_staff(client, outsider.login_id, DEFAULT_PASSWORD)
    assert "株式会社法人１" not in client.get("/console/applications").get_data(as_text=True)
    assert client.get(f"/console/applications/{application.id}").status_code == 404
    response = client.post_form(f"/console/applications/{application.id}/approve", {},
                                token_page="/console/invitations")
    assert response.status_code == 404
    db.session.refresh(application)
    assert application.state == ApplicationState.PENDING and count(Company) == 0


def test_bank_admin_cannot_review(client, flow, factories):
    application = _submitted(flow, factories.branch())
    admin = factories.staff(None, role="bank_admin")
    login_staff(client, admin.login_id, DEFAULT_PASSWORD)
    assert client.get(f"/console/applications/{application.id}").status_code == 403


def test_approval_creates_company_user_and_three_mails(client, flow, factories, smtp_sink):
    branch = factories.branch("東京支店")
    application = _submitted(flow, branch)
    staff = factories.staff(branch)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    listing = client.get("/console/applications").get_data(as_text=True)
    assert "株式会社法人１" in listing
    detail = client.get(f"/console/applications/{application.id}").get_data(as_text=True)
    for value in ["ホウジンイチ", "Houjin1", "1040028", "代表取締役社長", "書類提出による確認"]:
        assert value in detail
    assert "1999/11/03" in detail and "1975/03/14" in detail  # yyyy/mm/dd (#13 item 6)
    assert "1975-03-14" not in detail and "19991103" not in detail
    smtp_sink.clear()
    response = client.post_form(f"/console/applications/{application.id}/approve", {},
                                token_page="/console/invitations")
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.state == ApplicationState.APPROVED
    company = db.session.get(Company, application.company_id)
    assert company.name == "株式会社法人１" and company.application_branch_id == branch.id
    user = db.session.execute(select(CustomerUser)).scalar_one()
    assert user.role == CustomerRole.REPRESENTATIVE and user.company_id == company.id
    assert user.password_is_temporary and not user.first_login_done and user.personal_signing
    deliver_pending()
    mails = smtp_sink.to(CORPORATION_FORM["email"])
    subjects = [str(m["Subject"]) for m in mails]
    assert subjects == ["【電子契約サービス】MyPageIDのお知らせ",  # MAIL-1: one prefix (#13)
                        "【電子契約サービス】仮パスワードのお知らせ",
                        "【電子契約サービス】本人確認書類等アップロードのお願い"]
    id_body, pw_body = smtp_sink.body(mails[0]), smtp_sink.body(mails[1])
    assert user.mypage_id in id_body and "仮パスワード：" not in id_body
    assert user.mypage_id not in pw_body and "仮パスワード：" in pw_body
    actions = db.session.execute(select(AuditEntry.action)).scalars().all()
    assert {"application.viewed", "application.approved", "company.created",
            "user.created"} <= set(actions)
    notice = db.session.execute(select(Notice).where(Notice.user_id == user.id)).scalar_one()
    assert "本人確認書類等のアップロード" in notice.text  # HOME-2
    again = client.post_form(f"/console/applications/{application.id}/approve", {},
                             token_page="/console/invitations")
    assert "既に承認済です" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert count(CustomerUser) == 1


def test_approving_an_individual_creates_the_individual_user(client, flow, factories):
    branch = factories.branch()
    application = _submitted(flow, branch, INDIVIDUAL_FORM)
    staff = factories.staff(branch)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    client.post_form(f"/console/applications/{application.id}/approve", {},
                     token_page="/console/invitations")
    company = db.session.execute(select(Company)).scalar_one()
    assert company.kind == "individual" and company.name == "個人\u3000花子"
    user = db.session.execute(select(CustomerUser)).scalar_one()
    assert user.email == INDIVIDUAL_FORM["email"] and user.last_name == "個人"


def test_rejection_needs_a_reason_and_mails_it(client, flow, factories, smtp_sink):
    branch = factories.branch("東京支店")
    application = _submitted(flow, branch)
    staff = factories.staff(branch)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    response = client.post_form(f"/console/applications/{application.id}/reject",
                                {"reason": "  "}, token_page="/console/invitations")
    assert response.status_code == 400
    assert "入力してください" in response.get_data(as_text=True)
    client.post_form(f"/console/applications/{application.id}/reject",
                     {"reason": "お取引内容を確認できませんでした。"},
                     token_page="/console/invitations")
    db.session.refresh(application)
    assert application.state == ApplicationState.REJECTED
    assert count(Company) == 0 and count(CustomerUser) == 0
    deliver_pending()
    mail = smtp_sink.last_to(CORPORATION_FORM["email"], "審査結果")
    assert "お取引内容を確認できませんでした。" in smtp_sink.body(mail)


def test_approval_refused_when_email_was_taken_meanwhile(client, flow, factories):
    branch = factories.branch()
    application = _submitted(flow, branch)
    taken = factories.customer()
    taken.email = CORPORATION_FORM["email"]
    db.session.commit()
    staff = factories.staff(branch)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    response = client.post_form(f"/console/applications/{application.id}/approve", {},
                                token_page="/console/invitations")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "既に登録されています" in html
    db.session.refresh(application)
    assert application.state == ApplicationState.PENDING
