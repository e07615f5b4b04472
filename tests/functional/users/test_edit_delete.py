"""USR-5, USR-6, CERT-4, AUTH-6: editing and deleting users."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import UserSession
from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff
from tests.functional.users.conftest import login
from tests.functional.users.helpers import actions

EDIT_FIELDS = ("last_name", "first_name", "last_name_kana", "first_name_kana", "last_name_en",
               "first_name_en", "mobile", "department", "title")


def _values(user, **changes):
    values = {name: getattr(user, name) or "" for name in EDIT_FIELDS}
    values["birth_date"] = user.birth_date.strftime("%Y%m%d")
    values["email"] = values["email_confirm"] = user.email
    values.update(changes)
    return values


def _edit(client, user, step="register", **changes):
    return client.post_form(f"/users/{user.id}/edit", _values(user, step=step, **changes),
                            token_page="/logout")


def test_usr5_everyone_edits_their_own_info_with_confirm_step(client, people, company):
    people.user(company)
    viewer = people.user(company, "viewer")
    login(client, viewer)
    form = client.get(f"/users/{viewer.id}/edit").get_data(as_text=True)
    assert "ユーザ情報変更" in form and "権限の変更はできません" in form
    confirm = _edit(client, viewer, step="confirm", title="課長")
    assert confirm.status_code == 200 and "入力内容確認" in confirm.get_data(as_text=True)
    db.session.refresh(viewer)
    assert viewer.title != "課長"  # nothing before 登録
    done = _edit(client, viewer, title="課長")
    assert done.status_code == 200 and "更新が完了" in done.get_data(as_text=True)
    db.session.refresh(viewer)
    assert viewer.title == "課長"
    assert "user.updated" in actions()


def test_usr5_managers_edit_others_signers_and_viewers_do_not(client, people, company):
    rep = people.user(company)
    signer = people.user(company, "signer")
    viewer = people.user(company, "viewer")
    login(client, rep)
    assert _edit(client, signer, department="営業部").status_code == 200
    db.session.refresh(signer)
    assert signer.department == "営業部"
    client.post_form("/logout")
    for actor, other in ((signer, viewer), (viewer, signer), (signer, rep)):
        login(client, actor)
        assert client.get(f"/users/{other.id}/edit").status_code == 404
        assert _edit(client, other, department="不正").status_code == 404
        db.session.refresh(other)
        assert other.department != "不正"
        client.post_form("/logout")


def test_usr5_role_change_by_direct_post_is_refused(client, people, company):
    rep = people.user(company)
    signer = people.user(company, "signer")
    login(client, rep)
    for step in ("confirm", "register"):
        refused = _edit(client, signer, step=step, role="administrator", title="変更後")
        assert refused.status_code == 400
        assert "権限の変更はできません" in refused.get_data(as_text=True)
    db.session.refresh(signer)
    assert signer.role == "signer" and signer.title != "変更後"
    assert "user.role_change_refused" in actions()
    # the signer cannot promote themselves either
    client.post_form("/logout")
    login(client, signer)
    assert _edit(client, signer, role="representative").status_code == 400
    db.session.refresh(signer)
    assert signer.role == "signer"


def test_cert4_name_change_revokes_the_certificate_and_says_so(client, people, company):
    rep = people.user(company)
    signer = people.with_certificate(company, "signer")
    assert people.credential_statuses(signer) == ["active"]
    login(client, rep)
    done = _edit(client, signer, last_name="鈴木", last_name_kana="スズキ", last_name_en="Suzuki")
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "電子証明書が失効しました" in html
    assert people.credential_statuses(signer) == ["revoked"]
    db.session.refresh(signer)
    assert signer.last_name == "鈴木"
    assert "certificate.revoked_by_change" in actions()


def test_usr5_other_changes_keep_the_certificate(client, people, company):
    signer = people.with_certificate(company, "signer")
    login(client, signer)
    done = _edit(client, signer, mobile="08011112222")
    assert "失効" not in done.get_data(as_text=True)
    assert people.credential_statuses(signer) == ["active"]


def test_auth6_email_change_waits_for_verification(client, people, company, smtp_sink):
    from portal.mail import deliver_pending

    rep = people.user(company)
    signer = people.user(company, "signer")
    old = signer.email
    login(client, rep)
    done = _edit(client, signer, email="new-address@example.jp",
                 email_confirm="new-address@example.jp")
    assert done.status_code == 200 and "メール認証" in done.get_data(as_text=True)
    db.session.refresh(signer)
    assert signer.email == old and signer.pending_email == "new-address@example.jp"
    deliver_pending()
    assert smtp_sink.to("new-address@example.jp")  # the code goes to the new address


def test_usr6_delete_with_confirmation_revokes_and_ends_sessions(client, other_client, people,
                                                                 company):
    rep = people.user(company)
    signer = people.with_certificate(company, "signer")
    login(other_client, signer)
    assert other_client.get("/users/").status_code == 200
    login(client, rep)
    page = client.get(f"/users/{signer.id}/delete").get_data(as_text=True)
    assert "元に戻すことができない" in page and signer.display_name in page
    done = client.post_form(f"/users/{signer.id}/delete", token_page="/logout")
    assert done.status_code == 200 and "削除が完了" in done.get_data(as_text=True)
    db.session.refresh(signer)
    assert signer.state == "deleted"
    assert people.credential_statuses(signer) == ["revoked"]
    assert db.session.execute(select(UserSession).where(
        UserSession.principal == f"c:{signer.id}")).first() is None
    assert other_client.get("/users/").status_code == 302  # logged out
    assert login_customer(other_client, signer.mypage_id, DEFAULT_PASSWORD).status_code == 401
    assert "user.deleted" in actions()
    # irreversible: the user is gone from the list and cannot be deleted again
    assert client.get(f"/users/{signer.id}/delete").status_code == 404


def test_usr6_never_oneself_and_signers_viewers_cannot_delete(client, people, company):
    rep = people.user(company)
    admin = people.user(company, "administrator")
    signer = people.user(company, "signer")
    viewer = people.user(company, "viewer")
    login(client, admin)
    refused = client.post_form(f"/users/{admin.id}/delete", token_page="/logout")
    assert refused.status_code == 400 and "ご自身のユーザは削除できません" in \
        refused.get_data(as_text=True)
    client.post_form("/logout")
    for actor, target in ((signer, viewer), (viewer, signer), (signer, rep)):
        login(client, actor)
        assert client.post_form(f"/users/{target.id}/delete",
                                token_page="/logout").status_code == 403
        client.post_form("/logout")
    for user in (admin, signer, viewer, rep):
        db.session.refresh(user)
        assert user.state == "active"


def test_usr6_deleted_email_can_be_used_again(client, people, company):
    """Role change = delete and re-create with the same address (USR-5)."""
    from tests.functional.users.helpers import handle_of, person, register_draft, start_new_user

    rep = people.user(company)
    signer = people.user(company, "signer")
    address = signer.email
    login(client, rep)
    client.post_form(f"/users/{signer.id}/delete", token_page="/logout")
    handle = handle_of(start_new_user(client, person(address, role="viewer")))
    assert register_draft(client, handle).status_code == 302


def test_aud4_another_companys_user_looks_like_not_found(client, people, company, factories):
    rep = people.user(company)
    stranger_company = factories.company(name="株式会社よその会社")
    stranger_rep = people.user(stranger_company)
    stranger = people.user(stranger_company, "signer")
    login(client, rep)
    assert client.get(f"/users/{stranger.id}/edit").status_code == 404
    assert _edit(client, stranger, title="乗っ取り").status_code == 404
    assert client.get(f"/users/{stranger.id}/delete").status_code == 404
    assert client.post_form(f"/users/{stranger_rep.id}/delete",
                            token_page="/logout").status_code == 404
    assert client.get(f"/users/{stranger.id}/certificate-request").status_code == 404
    assert client.post_form(f"/users/{stranger.id}/certificate-request",
                            {"reason": "pin_forgotten", "identity_method": "documents"},
                            token_page="/logout").status_code == 404
    assert client.get(f"/users/created/{stranger.id}").status_code == 404
    db.session.refresh(stranger)
    assert stranger.state == "active" and stranger.title != "乗っ取り"


def test_usr6_staff_can_delete_a_user_with_a_request_in_progress(client, people, company,
                                                                 factories):
    from portal.certs.models import CertificateRequest, CertReason, CertRequestState

    rep = people.user(company)
    signer = people.user(company, "signer")
    db.session.add(CertificateRequest(company_id=company.id, subject_user_id=signer.id,
                                      requested_by=rep.id, reason=CertReason.PIN_FORGOTTEN,
                                      state=CertRequestState.REQUESTED))
    db.session.commit()
    login(client, rep)
    listing = client.get("/users/").get_data(as_text=True)
    assert f'id="delete-{signer.id}"' not in listing  # the button is absent
    refused = client.post_form(f"/users/{signer.id}/delete", token_page="/logout")
    assert refused.status_code == 400 and "証明書発行依頼中" in refused.get_data(as_text=True)
    client.post_form("/logout")

    staff = factories.staff(company.application_branch)
    other_branch_staff = factories.staff(factories.branch("大阪支店"))
    login_staff(client, other_branch_staff.login_id, DEFAULT_PASSWORD)
    assert client.get(f"/console/users/{signer.id}/delete").status_code == 404
    client.post_form("/console/logout", token_page="/console/logout")
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    page = client.get(f"/console/users/{signer.id}/delete").get_data(as_text=True)
    assert "証明書発行依頼中" in page
    done = client.post_form(f"/console/users/{signer.id}/delete",
                            token_page=f"/console/users/{signer.id}/delete")
    assert done.status_code == 200
    db.session.refresh(signer)
    assert signer.state == "deleted"
    request = db.session.execute(select(CertificateRequest)).scalar_one()
    assert request.state == CertRequestState.CANCELLED
