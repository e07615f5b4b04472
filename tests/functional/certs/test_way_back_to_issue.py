"""Issue #13 item 2 (PIN-1, CERT-6, HOME-2): a user who registered the initial
PIN and left before 発行 finds the way back: the card says 証明書発行待ち (not
PIN登録待ち) with a 証明書発行 button, and the HOME notice of the approved
documents is a link that leads on to 発行."""

from __future__ import annotations

import re
from typing import Any

from kyc import services as kyc_services
from kyc.models import KycState
from portal.certs import services
from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, login_customer
from tests.functional.certs.helpers import PIN, approve_kyc


def _card(client: Any, user: Any) -> str:
    page = client.get("/settings").get_data(as_text=True)
    return page.split(f'id="user-card-{user.id}"')[1].split("</article>")[0]


def _status_word(card: str) -> str:
    found = re.search(r'class="signing-status">([^<]*)</dd>', card)
    assert found
    return found.group(1)


def test_registered_pin_leads_back_to_issue_from_card_and_notice(app, client, factories):
    rep = factories.customer()
    staff = factories.staff(rep.company.application_branch)
    submission = approve_kyc(rep)
    submission.state = KycState.SUBMITTED
    db.session.commit()
    with app.test_request_context("/console/kyc"):  # the staff's 承認 (KYC-6)
        kyc_services.approve(staff, submission)
        db.session.commit()

    login_customer(client, rep.mypage_id, DEFAULT_PASSWORD)
    home = client.get("/").get_data(as_text=True)
    assert '<a href="/certs/pin/register">本人確認書類の確認が完了しました。' in home
    assert _status_word(_card(client, rep)) == "PIN登録待ち"

    registered = client.post_form("/certs/pin/register", {"pin": PIN, "pin_confirm": PIN},
                                  token_page="/certs/pin/register")
    assert registered.headers["Location"].endswith("/certs/pin/issue")
    # ... and the user leaves before 発行.
    card = _card(client, rep)
    assert _status_word(card) == "証明書発行待ち"
    assert "「発行」ボタンを押下して電子証明書を発行してください" in card
    assert f'id="issue-cert-{rep.id}" href="/certs/pin/issue"' in card
    assert "初期PIN登録・証明書発行" not in card
    back = client.get("/certs/pin/register")  # the notice's link continues at 発行
    assert back.status_code == 302 and back.headers["Location"].endswith("/certs/pin/issue")

    issued = client.post_form("/certs/pin/issue", {}, token_page="/certs/pin/issue")
    assert issued.status_code == 200
    assert services.signing_status(rep) == "署名可能"
    card = _card(client, rep)
    assert _status_word(card) == "署名可能" and "issue-cert-" not in card
