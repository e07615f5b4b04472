"""SPEC UI language: the certificate and signing-PIN screens in English (PIN-1 initial
PIN registration and issuance, PIN-3 change, PIN-4 lock / unlock, CERT-6 statuses,
SIGN-2 signing dialog and the sign-sample page) against the real signing service.
Only the data the test created (names, company) may remain Japanese."""

from __future__ import annotations

import re
from typing import Any

from portal.certs import messages, schemas
from portal.certs.services import SigningStatus
from portal.extensions import db
from portal.i18n import load_catalogs
from tests.conftest import DEFAULT_PASSWORD, login_customer
from tests.functional.certs.helpers import PIN, approve_kyc, code_from, register_and_issue
from tests.i18n_support import leftover_japanese


def _login_english(client: Any, user: Any) -> None:
    r = login_customer(client, user.mypage_id, DEFAULT_PASSWORD)
    assert r.status_code in (200, 302)
    client.use_english()


def _data(*users: Any) -> tuple[str, ...]:
    """The Japanese data of the users' records (not UI text)."""
    values: list[str] = []
    for user in users:
        values += [user.display_name, user.last_name, user.first_name, user.company.name]
        branch = getattr(user.company, "application_branch", None)
        if branch is not None:
            values.append(branch.name)
    return tuple(values)


# The shared header wraps the signed-in person's (translated) role in full-width
# brackets (base.html, the lead's layout): left to the layout's own tests.
HEADER_ROLE = re.compile(r'<span class="role">.*?</span>', re.S)


def _english(response: Any, *data: str) -> str:
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert leftover_japanese(HEADER_ROLE.sub(" ", page), *data) == [], response.request.path
    return page


def _card(page: str, user_id: int) -> str:
    match = re.search(
        rf'<dl class="definition certs-card" id="certs-card-{user_id}">.*?</p>', page, re.S
    )
    assert match, f"no certificate card for user {user_id}"
    return match.group(0)


def test_every_signing_service_error_status_and_pin_rule_has_english() -> None:
    """Texts that reach the screens as values (not marked with _() literally)."""
    english = load_catalogs()["en"]
    values = [v for k, v in vars(messages).items() if k.isupper() and isinstance(v, str)]
    values += [schemas.REQUIRED, schemas.MISMATCH]
    values += [s.value for s in SigningStatus] + [s.note for s in SigningStatus]
    assert len(values) > 25
    assert [v for v in values if v not in english] == []


def test_initial_pin_registration_issue_and_sample_signing_in_english(
    app, client, factories, smtp_sink
) -> None:  # type: ignore[no-untyped-def]
    rep = factories.customer()
    approve_kyc(rep)
    _login_english(client, rep)
    data = _data(rep)

    page = _english(client.get("/certs/"), *data)
    assert "Awaiting PIN registration" in page
    assert "Initial PIN registration and certificate issuance" in page
    page = _english(client.get("/certs/pin/register"), *data)
    assert "Initial PIN (confirmation)" in page and "Required" in page

    broken = {  # PIN-1: each broken rule named in English
        "Ab1": "Please enter 8 to 32 characters.",
        "abcdefgh1": "Please include at least one half-width upper-case letter.",
        "Abcdefg(1)": "The PIN contains symbols that cannot be used: ( ).",
        "Ａbcdefgh1": "Please use only half-width letters, digits and symbols",
        "": "This item is required. Please fill it in.",
    }
    for pin, message in broken.items():
        r = client.post_form(
            "/certs/pin/register",
            {"pin": pin, "pin_confirm": pin},
            token_page="/certs/pin/register",
        )
        assert r.status_code == 400
        assert message in _english(r, *data), pin
    r = client.post_form(
        "/certs/pin/register",
        {"pin": PIN, "pin_confirm": PIN + "x"},
        token_page="/certs/pin/register",
    )
    assert "The confirmation does not match." in _english(r, *data)

    r = client.post_form(
        "/certs/pin/register", {"pin": PIN, "pin_confirm": PIN}, token_page="/certs/pin/register"
    )
    assert r.status_code == 302
    page = _english(client.get("/certs/pin/issue"), *data)
    assert "Your initial PIN has been registered." in page and ">Issue</button>" in page
    r = client.post_form("/certs/pin/issue", {}, token_page="/certs/pin/issue")
    page = _english(r, *data)
    assert "You can now sign contracts electronically." in page and "Can sign" in page

    page = _english(client.get("/certs/"), *data)
    assert "Your valid certificate is ready to use." in page and "Change signing PIN" in page
    page = _english(client.get("/certs/pin/register"), *data)  # already registered
    assert "Your initial PIN is already registered." in page

    page = _english(client.get("/certs/sample"), *data)
    assert "Try an electronic signature" in page and "Verification code" in page
    assert 'data-msg-pin-required="Please enter your signing PIN."' in page
    r = client.post_form("/certs/sample", {"code": "abc"}, token_page="/certs/sample")
    assert r.status_code == 400
    assert "Please enter the verification code in half-width digits." in _english(r, *data)

    def send(pin: str):  # type: ignore[no-untyped-def]
        return client.post("/certs/dialog/send-code",
                           data={"csrf_token": client.csrf_token("/login"), "pin": pin})

    wrong = send("WrongPin9A")
    note = " (After 4 more wrong attempt(s) the PIN will be locked.)"
    assert wrong.status_code == 400
    assert wrong.get_json()["message"] == "The signing PIN is incorrect." + note
    assert send("").get_json()["message"] == "Please enter your signing PIN."  # as the page says
    before = len(smtp_sink.messages)
    sent = send(PIN)
    assert sent.status_code == 200
    assert sent.get_json()["message"] == (
        "We have sent a verification code to your registered email address."
    )
    code = code_from(smtp_sink, rep.email, before)
    bad_code = "000000" if code != "000000" else "111111"
    r = client.post_form("/certs/sample", {"code": bad_code}, token_page="/certs/sample")
    assert "The verification code is incorrect." in _english(r, *data)


def test_pin_change_messages_in_english(app, client, factories) -> None:  # type: ignore[no-untyped-def]
    rep = factories.customer()
    approve_kyc(rep)
    login_customer(client, rep.mypage_id, DEFAULT_PASSWORD)
    register_and_issue(client)
    client.use_english()
    data = _data(rep)

    page = _english(client.get("/certs/pin/change"), *data)
    assert "Current PIN" in page and "New PIN (confirmation)" in page
    new = "Kaeta2027Pin"
    cases = [
        ({"current_pin": "", "new_pin": "", "new_pin_confirm": ""}, "This item is required."),
        (
            {"current_pin": PIN, "new_pin": PIN, "new_pin_confirm": PIN},
            "Please enter a PIN that is different from your current PIN.",
        ),
        (
            {"current_pin": PIN, "new_pin": new, "new_pin_confirm": new + "x"},
            "The confirmation does not match.",
        ),
        (
            {"current_pin": "WrongPin9A", "new_pin": new, "new_pin_confirm": new},
            "The current PIN is incorrect. (After 4 more wrong attempt(s) the PIN will be locked.)",
        ),
    ]
    for form, message in cases:
        r = client.post_form("/certs/pin/change", form, token_page="/certs/pin/change")
        assert r.status_code == 400
        assert message in _english(r, *data), form
    r = client.post_form(
        "/certs/pin/change",
        {"current_pin": PIN, "new_pin": new, "new_pin_confirm": new},
        token_page="/certs/pin/change",
    )
    assert "Your PIN has been changed." in _english(r, *data)


def test_pin_lock_unlock_and_user_cards_in_english(app, client, factories) -> None:  # type: ignore[no-untyped-def]
    rep = factories.customer()
    signer = factories.customer(rep.company, role="signer")
    uncertified = factories.customer(rep.company, role="signer")
    approve_kyc(signer)
    signer_client = app.test_client()
    login_customer(signer_client, signer.mypage_id, DEFAULT_PASSWORD)
    register_and_issue(signer_client)
    signer_client.use_english()
    _login_english(client, rep)
    data = _data(rep, signer, uncertified)

    settings = client.get("/settings").get_data(as_text=True)
    card = _card(settings, signer.id)
    assert leftover_japanese(card, *data) == [] and "Can sign" in card and "PIN lock ▶" in card
    assert "Certificate issuance requested" in _card(settings, rep.id)

    page = _english(client.get(f"/certs/users/{signer.id}/lock"), *data)
    assert "Credential ID" in page and ">Execute</button>" in page
    r = client.post_form(
        f"/certs/users/{signer.id}/lock", {}, token_page=f"/certs/users/{signer.id}/lock"
    )
    page = _english(r, *data)
    assert f"The signing PIN of {signer.display_name} has been locked." in page
    card = _card(client.get("/settings").get_data(as_text=True), signer.id)
    assert leftover_japanese(card, *data) == [] and "Cannot sign" in card and "PIN unlock" in card

    refused = signer_client.post(
        "/certs/dialog/send-code",
        data={"csrf_token": signer_client.csrf_token("/login"), "pin": PIN},
    )
    assert refused.status_code == 400
    assert refused.get_json()["message"].startswith("You cannot sign because your PIN is locked.")
    page = _english(signer_client.get("/certs/sample"), *_data(signer))
    assert "You cannot sign electronically in the current status (Cannot sign)." in page

    page = _english(client.get(f"/certs/users/{signer.id}/unlock"), *data)
    assert "PIN unlock" in page and "will be unlocked" in page
    r = client.post_form(
        f"/certs/users/{signer.id}/unlock", {}, token_page=f"/certs/users/{signer.id}/unlock"
    )
    assert f"The signing PIN of {signer.display_name} has been unlocked." in _english(r, *data)

    r = client.get(f"/certs/users/{uncertified.id}/lock")
    assert r.status_code == 409
    assert "This user has no valid certificate." in _english(r, *data)


def test_not_ready_pages_in_english(app, client, factories) -> None:  # type: ignore[no-untyped-def]
    rep = factories.customer()
    _login_english(client, rep)
    data = _data(rep)
    page = _english(client.get("/certs/pin/register"), *data)
    assert "This operation is not possible in the current status" in page
    assert "(Certificate issuance requested)" in page
    page = _english(client.get("/certs/pin/change"), *data)
    assert "Certificate issuance requested" in page

    sub = approve_kyc(rep)
    sub.state = "submitted"
    db.session.commit()
    page = _english(client.get("/certs/pin/register"), *data)
    assert "the review of your identity documents is not complete" in page
    assert "Identity documents under review" in _english(client.get("/certs/"), *data)

    viewer = factories.customer(rep.company, role="viewer")
    viewer_client = app.test_client()
    _login_english(viewer_client, viewer)
    page = _english(viewer_client.get("/certs/pin/register"), *_data(viewer))
    assert "You cannot sign because you have view-only permission." in page
