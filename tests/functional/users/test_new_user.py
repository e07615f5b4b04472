"""USR-1, USR-3, USR-4, USR-7: creating users, with and without a PoA."""

from __future__ import annotations

import io

from sqlalchemy import select

from kyc import devtools
from portal.certs.models import PoaKind
from portal.extensions import db
from portal.filestore import get_file_store
from portal.mail import deliver_pending
from portal.users.models import PowerOfAttorney
from tests.conftest import login_customer
from tests.functional.users.conftest import login
from tests.functional.users.helpers import (
    actions,
    count_users,
    handle_of,
    person,
    register_draft,
    start_new_user,
    temporary_password,
    user_by_email,
)


def test_usr3_usr4_representative_creates_a_viewer_who_gets_two_mails(
        client, other_client, people, company, smtp_sink):
    rep = people.user(company)
    login(client, rep)
    form = client.get("/users/new").get_data(as_text=True)
    assert "ユーザ新規登録" in form and "参照者" in form and "委任状登録方法" in form

    response = start_new_user(client, person("viewer@example.jp", role="viewer"))
    assert response.status_code == 302
    handle = handle_of(response)
    confirm = client.get(f"/users/drafts/{handle}/confirm").get_data(as_text=True)
    assert "入力内容確認" in confirm and "佐藤" in confirm and "参照者" in confirm
    assert "署名画面へ" not in confirm  # USR-3: no PoA for a viewer
    assert user_by_email("viewer@example.jp") is None  # nothing before 登録

    done = register_draft(client, handle)
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "登録完了" in page and "初回ログイン" in page
    assert "本人確認書類" not in page  # #13 item 4: a viewer never uploads documents
    created = user_by_email("viewer@example.jp")
    assert created is not None and created.role == "viewer" and created.company_id == company.id
    assert created.password_is_temporary and not created.first_login_done
    assert db.session.execute(select(PowerOfAttorney)).first() is None
    assert "user.created" in actions()

    deliver_pending()
    subjects = [str(m["Subject"]) for m in smtp_sink.to("viewer@example.jp")]
    assert any("MyPageID" in s for s in subjects)
    assert any("仮パスワード" in s for s in subjects)
    assert not any("本人確認書類" in s for s in subjects)  # no certificate, no documents
    assert created.mypage_id in smtp_sink.body(smtp_sink.last_to("viewer@example.jp", "MyPageID"))
    temporary = temporary_password(smtp_sink, "viewer@example.jp")
    # USR-4: the new user must do first login
    first = login_customer(other_client, created.mypage_id, temporary)
    assert first.status_code == 302
    assert other_client.get("/users/").headers["Location"].endswith("/first-login")


def test_usr1_an_eleventh_user_is_refused(client, people, company):
    rep = people.user(company)
    for _ in range(9):
        people.user(company, "viewer")
    assert count_users(company.id) == 10
    login(client, rep)
    # #13 item 6: told when the form opens, before anything is typed; no form shown
    opened = client.get("/users/new")
    page = opened.get_data(as_text=True)
    assert opened.status_code == 409 and "最大10名" in page and 'id="to-confirm"' not in page
    token = client.csrf_token("/settings/password")
    response = client.post("/users/new", data={**person("eleventh@example.jp", role="viewer"),
                                               "csrf_token": token})
    assert response.status_code == 409  # a form kept open elsewhere is refused the same way
    assert "最大10名" in response.get_data(as_text=True)
    assert user_by_email("eleventh@example.jp") is None and count_users(company.id) == 10


def test_usr2_signer_and_viewer_cannot_create_users(client, people, company):
    people.user(company)
    for role in ("signer", "viewer"):
        actor = people.user(company, role)
        login(client, actor)
        assert client.get("/users/new").status_code == 403
        token = client.csrf_token("/logout")
        refused = client.post("/users/new", data=person(f"by-{role}@example.jp", role="viewer")
                              | {"csrf_token": token})
        assert refused.status_code in (400, 403)
        assert user_by_email(f"by-{role}@example.jp") is None
        client.post_form("/logout")


def test_usr1_only_a_corporation_has_more_users(client, people, factories):
    individual = factories.company(kind="individual")
    me = people.user(individual)
    login(client, me)
    response = start_new_user(client, person("second@example.jp", role="viewer"))
    assert response.status_code == 400 and "法人のお客さまのみ" in response.get_data(as_text=True)


def test_app2_field_errors_and_shared_email_refused(client, people, company):
    rep = people.user(company)
    login(client, rep)
    bad = person(rep.email, role="viewer", last_name_kana="さとう", mobile="090-1111-2222")
    response = start_new_user(client, bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "ひらがなは使用できません" in html and "ハイフンなし" in html
    response = start_new_user(client, person(rep.email, role="viewer"))
    assert response.status_code == 400 and "既に登録されています" in response.get_data(as_text=True)


def test_usr7_hand_over_of_the_representative(client, other_client, people, company):
    old = people.user(company)
    admin = people.user(company, "administrator")
    login(client, old)
    handle = handle_of(start_new_user(client, person("newrep@example.jp", role="representative")))
    register_draft(client, handle)
    new = user_by_email("newrep@example.jp")
    assert new is not None and new.role == "representative"
    # a third representative is refused during the hand-over
    third = start_new_user(client, person("third@example.jp", role="representative"))
    assert third.status_code == 400 and "代表者は1名のみ" in third.get_data(as_text=True)
    # the old representative cannot delete themselves; an administrator deletes them
    assert client.post_form(f"/users/{old.id}/delete", token_page="/logout").status_code == 400
    login(other_client, admin)
    deleted = other_client.post_form(f"/users/{old.id}/delete", token_page="/logout")
    assert deleted.status_code == 200 and "削除が完了" in deleted.get_data(as_text=True)
    db.session.refresh(old)
    assert old.state == "deleted"
    # now the new one is the last representative: deleting them is refused
    refused = other_client.post_form(f"/users/{new.id}/delete", token_page="/logout")
    assert refused.status_code == 400 and "代表者がいなくなる" in refused.get_data(as_text=True)


def _upload(client, data, filename, content):
    payload = dict(data, poa_method="upload")
    payload["file"] = (io.BytesIO(content), filename)
    return client.post_form("/users/new", payload, token_page="/users/new",
                            content_type="multipart/form-data")


def test_usr3_uploaded_paper_poa_is_scanned_and_stored(client, people, company, clamd_address):
    rep = people.user(company)
    login(client, rep)
    pdf = devtools.sample_pdf("委任状 (scan)")
    response = _upload(client, person("admin2@example.jp", role="administrator"), "委任状.pdf",
                       pdf)
    assert response.status_code == 302
    handle = handle_of(response)
    assert "委任状.pdf" in client.get(f"/users/drafts/{handle}/confirm").get_data(as_text=True)
    assert register_draft(client, handle).status_code == 302
    created = user_by_email("admin2@example.jp")
    poa = db.session.execute(select(PowerOfAttorney)).scalar_one()
    assert poa.kind == PoaKind.UPLOAD and poa.agent_user_id == created.id
    assert poa.registered_by == rep.id
    assert get_file_store().get(poa.file_key) == pdf  # encrypted at rest, intact


def test_usr3_poa_upload_eicar_is_refused_and_nothing_created(client, people, company,
                                                              clamd_address):
    rep = people.user(company)
    login(client, rep)
    response = _upload(client, person("evil@example.jp", role="signer"), "委任状.pdf",
                       devtools.EICAR)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    # EICAR is not a PDF either; renamed as .pdf it is refused for its content
    assert "一致しません" in html or "ウイルス" in html
    assert user_by_email("evil@example.jp") is None
    assert "poa.upload_refused" in actions()
    assert db.session.execute(select(PowerOfAttorney)).first() is None


def test_usr3_poa_upload_eicar_inside_an_image_name_is_refused(client, people, company,
                                                               clamd_address):
    rep = people.user(company)
    login(client, rep)
    infected_pdf = devtools.sample_pdf("x").replace(b"%%EOF", devtools.EICAR + b"\n%%EOF")
    response = _upload(client, person("evil2@example.jp", role="signer"), "poa.pdf",
                       infected_pdf)
    assert response.status_code == 400
    assert "ウイルスが検出された" in response.get_data(as_text=True)
    assert user_by_email("evil2@example.jp") is None


def test_usr3_poa_upload_must_be_pdf_or_image(client, people, company, clamd_address):
    rep = people.user(company)
    login(client, rep)
    docx = _upload(client, person("doc@example.jp", role="signer"), "委任状.docx",
                   devtools.sample_docx())
    assert docx.status_code == 400 and "PDFまたは画像" in docx.get_data(as_text=True)
    text = _upload(client, person("txt@example.jp", role="signer"), "委任状.txt", b"hello")
    assert text.status_code == 400 and "拡張子" in text.get_data(as_text=True)
    assert user_by_email("doc@example.jp") is None and user_by_email("txt@example.jp") is None


def test_kyc4_scanner_down_keeps_the_poa_in_quarantine_and_retry_completes(
        app, client, people, company, clamd_address):
    from tests.conftest import free_port

    rep = people.user(company)
    login(client, rep)
    app.config["CLAMD_PORT"] = free_port()  # nothing listens: scanner unreachable
    pdf = devtools.sample_pdf("委任状")
    response = _upload(client, person("later@example.jp", role="administrator"), "委任状.pdf",
                       pdf)
    assert response.status_code == 302  # kept: the confirm page says so
    handle = handle_of(response)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ウイルススキャン中です" in page
    assert "poa.upload_quarantined" in actions()
    refused = register_draft(client, handle)  # still unscanned: nothing created
    assert refused.status_code == 302 and user_by_email("later@example.jp") is None

    app.config["CLAMD_PORT"] = clamd_address[1]
    done = register_draft(client, handle)  # the retry scans and completes
    assert done.status_code == 302 and "/users/created/" in done.headers["Location"]
    poa = db.session.execute(select(PowerOfAttorney)).scalar_one()
    assert get_file_store().get(poa.file_key) == pdf
