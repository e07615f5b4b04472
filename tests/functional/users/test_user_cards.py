"""Issue #13 items 4-6 on the user cards and the new-user flow (CERT-6, KYC-1,
USR-1, HOME-2): who is offered 本人確認書類アップロード, the guide's explanation
line with the status word once, one set of buttons on both screens, dates as
yyyy/mm/dd."""

from __future__ import annotations

import io
import re
from typing import Any

from sqlalchemy import select

from kyc import devtools
from kyc.models import KycSubmission
from portal.certs import services as certs
from portal.extensions import db
from portal.mail import deliver_pending
from portal.models import Notice
from tests.functional.users.conftest import login
from tests.functional.users.helpers import handle_of, person, register_draft, user_by_email


def _cards(client: Any, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return page.split('<div class="user-cards">')[1].split("</section>")[0]


def _card(client: Any, user: Any, url: str = "/settings") -> str:
    return _cards(client, url).split(f'id="user-card-{user.id}"')[1].split("</article>")[0]


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_viewers_and_users_who_can_sign_get_no_document_upload(client, people, company):
    rep = people.user(company)  # no certificate yet: 証明書発行依頼中
    viewer = people.user(company, "viewer")
    signer = people.with_certificate(company, "signer")
    for user, offered in ((rep, True), (viewer, False), (signer, False)):
        client.post_form("/logout")
        login(client, user)
        card = _card(client, user)
        assert ('id="kyc-upload"' in card) is offered, user.role
        if offered:
            continue
        # server side too: the consent page and its 同意します refuse
        opened = client.get("/mypage/kyc/consent")
        assert opened.status_code == 302  # back to 登録情報の照会・変更 with the reason
        assert opened.headers["Location"].endswith("/mypage/kyc/back")
        message = ("本人確認書類のアップロードは不要です" if user is viewer
                   else "本人確認書類のアップロードは必要ありません")
        assert message in client.get("/settings").get_data(as_text=True)
        agreed = client.post_form("/mypage/kyc/consent",
                                  {"understood": "1", "decision": "agree"},
                                  token_page="/settings/password")
        assert agreed.status_code == 302
    assert db.session.execute(select(KycSubmission.user_id)).scalars().all() == []


def test_new_signer_gets_an_upload_notice_and_a_new_viewer_is_asked_for_nothing(
        client, people, company, clamd_address, smtp_sink):
    rep = people.user(company)
    login(client, rep)
    payload = dict(person("signer2@example.jp", role="signer"), poa_method="upload")
    payload["file"] = (io.BytesIO(devtools.sample_pdf("委任状")), "委任状.pdf")
    started = client.post_form("/users/new", payload, token_page="/users/new",
                               content_type="multipart/form-data")
    done = register_draft(client, handle_of(started))
    signer = user_by_email("signer2@example.jp")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "本人確認書類のアップロードを依頼してください" in page
    started = client.post_form("/users/new", person("viewer2@example.jp", role="viewer"),
                               token_page="/users/new")
    done = register_draft(client, handle_of(started))
    viewer = user_by_email("viewer2@example.jp")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "登録完了" in page and "本人確認書類" not in page

    notices = {n.user_id: n for n in db.session.execute(select(Notice)).scalars()}
    assert notices[signer.id].link == "/mypage/kyc"
    assert "本人確認書類等のアップロードをお願いします" in notices[signer.id].text
    assert viewer.id not in notices
    deliver_pending()
    assert any("本人確認書類" in str(m["Subject"]) for m in smtp_sink.to(signer.email))
    assert not any("本人確認書類" in str(m["Subject"]) for m in smtp_sink.to(viewer.email))


def test_cards_say_the_guides_line_and_the_status_once_with_one_set_of_buttons(
        client, people, company):
    rep = people.with_certificate(company)
    locked = people.with_certificate(company, "signer")
    cert = certs.current_certificate(locked)
    cert.pin_locked = True
    viewer = people.user(company, "viewer")
    newcomer = people.user(company, "signer", temporary=True)
    db.session.commit()
    login(client, rep)

    card = _text(_card(client, locked))
    assert card.count("署名用PINロック中のため署名はできません") == 1  # PIN-4, guide §3.4
    assert card.count("署名不可") == 1
    card = _text(_card(client, rep))
    assert card.count("有効な電子証明書をご活用頂けます") == 1 and card.count("署名可能") == 1
    card = _text(_card(client, viewer))
    assert card.count("参照権限のため署名はできません") == 1 and card.count("署名不可") == 1

    # one partial: the same cards and buttons on 登録情報の照会・変更 and ユーザ情報の管理
    assert _cards(client, "/settings") == _cards(client, "/users/")
    for url in ("/settings", "/users/"):
        assert f'id="reissue-{newcomer.id}"' in _card(client, newcomer, url)
        page = client.get(url).get_data(as_text=True)
        assert 'id="company-edit"' in page and "契約者情報変更" in page
        assert "企業情報変更" not in page


def test_dates_are_shown_as_yyyy_mm_dd(client, people, company):
    rep = people.user(company)
    login(client, rep)
    settings = client.get("/settings").get_data(as_text=True)
    assert "2000/01/01" in settings and "2000-01-01" not in settings  # 設立年月日
    edit = client.get(f"/users/{rep.id}/edit").get_data(as_text=True)
    assert 'value="1980/01/01"' in edit  # 生年月日 (the factory's)
    started = client.post_form("/users/new", person("viewer3@example.jp", role="viewer"),
                               token_page="/users/new")
    confirm = client.get(f"/users/drafts/{handle_of(started)}/confirm").get_data(as_text=True)
    assert "1985/03/14" in confirm and "19850314" not in confirm and "1985-03-14" not in confirm
