"""USR-6, CERT-3, CERT-6: the user cards on 登録情報の照会・変更 offer ユーザ削除 and
電子証明書発行依頼 exactly when the logged-in user may use them."""

from __future__ import annotations

from typing import Any

from portal.certs.models import CertState, SigningCertificate
from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, login_customer
from tests.functional.users.helpers import handle_of


def _card(html: str, user: Any) -> str:
    return html.split(f'id="user-card-{user.id}"')[1].split("</article>")[0]


def _buttons(client: Any, users: dict[str, Any]) -> dict[str, tuple[bool, bool]]:
    """{name: (ユーザ削除 shown, 電子証明書発行依頼 shown)} as one actor sees them."""
    html = client.get("/settings").get_data(as_text=True)
    result = {}
    for name, user in users.items():
        card = _card(html, user)
        delete = f'href="/users/{user.id}/delete"' in card
        request = f'href="/users/{user.id}/certificate-request"' in card
        assert delete == ("ユーザ削除" in card) and request == ("電子証明書発行依頼" in card)
        result[name] = (delete, request)
    return result


def _holds_certificates(*users: Any) -> None:
    """The portal's record of an issued certificate, which is what the offer reads
    (a request asks for a certificate again, guide §3.5.1)."""
    for user in users:
        db.session.add(SigningCertificate(user_id=user.id, company_id=user.company_id,
                                          credential_id=f"test-{user.mypage_id}",
                                          state=CertState.ACTIVE))
    db.session.commit()


def _login(client: Any, user: Any) -> None:
    client.post_form("/logout")
    assert login_customer(client, user.mypage_id, DEFAULT_PASSWORD).status_code == 302


def test_settings_cards_offer_delete_and_cert_request_per_permission(
    client: Any, factories: Any
) -> None:
    company = factories.company()
    rep = factories.customer(company)
    rep2 = factories.customer(company)  # USR-7 handover: two representatives for a while
    admin = factories.customer(company, role="administrator")
    signer = factories.customer(company, role="signer")
    viewer = factories.customer(company, role="viewer")
    newcomer = factories.customer(company, role="signer")  # no certificate yet
    _holds_certificates(rep, rep2, admin, signer)
    everyone = {"代表": rep, "後任": rep2, "管理": admin, "署名": signer, "参照": viewer,
                "新規": newcomer}

    _login(client, rep)
    assert _buttons(client, everyone) == {
        "代表": (False, True),  # never oneself (USR-6)
        "後任": (True, True),
        "管理": (True, True),
        "署名": (True, True),
        "参照": (True, False),  # a viewer has no certificate (CERT-1)
        "新規": (True, False),  # the first certificate comes without a request (§3.5.1)
    }
    _login(client, signer)  # a signer requests only for self and deletes nobody
    assert _buttons(client, everyone) == {
        "代表": (False, False), "後任": (False, False), "管理": (False, False),
        "署名": (False, True), "参照": (False, False), "新規": (False, False),
    }
    _login(client, viewer)
    assert set(_buttons(client, everyone).values()) == {(False, False)}

    _login(client, rep2)  # the successor requests a certificate for themselves
    url = f"/users/{rep2.id}/certificate-request"
    started = client.post_form(url, {"reason": "details_changed",
                                      "identity_method": "documents"}, token_page=url)
    handle = handle_of(started)
    done = client.post_form(f"/users/drafts/{handle}/register",
                            token_page=f"/users/drafts/{handle}/confirm")
    assert done.status_code == 302

    _login(client, rep)  # while it is in progress: no deleting, no second request
    assert _buttons(client, everyone)["後任"] == (False, False)
    html = client.get("/settings").get_data(as_text=True)
    assert "証明書発行依頼中" in _card(html, rep2)  # CERT-6
    assert client.get(f"/users/{rep2.id}/delete").status_code == 400  # the server agrees
