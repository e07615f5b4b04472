"""Issue #13 item 10, SIGN-2, PIN-5: in the signing dialog 認証 checks the mailed code
against the signing service (attempts left as for the PIN) and only then enables
電子署名, which signs what 認証 authorized (the sample page, real service)."""

from __future__ import annotations

from portal.certs import services
from remote_signing.testing import validate_with_pyhanko
from tests.conftest import DEFAULT_PASSWORD, login_customer
from tests.functional.certs.helpers import PIN, approve_kyc, code_from, register_and_issue


def _ready(client, factories):  # type: ignore[no-untyped-def]
    rep = factories.customer()
    approve_kyc(rep)
    login_customer(client, rep.mypage_id, DEFAULT_PASSWORD)
    register_and_issue(client)
    return rep


def _post(client, path: str, **data: str):  # type: ignore[no-untyped-def]
    """As the dialog's script posts: the CSRF token of the page and the field."""
    return client.post(path, data={"csrf_token": client.csrf_token("/login"), **data})


def test_ninsho_refuses_a_wrong_code_with_attempts_left_and_signs_after_the_right_one(
        app, client, factories, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    rep = _ready(client, factories)
    page = client.get("/certs/sample").get_data(as_text=True)
    assert 'data-auth-url="/certs/sample/authenticate"' in page
    assert _post(client, "/certs/dialog/send-code", pin=PIN).status_code == 200
    code = code_from(smtp_sink, rep.email)
    wrong = "000000" if code != "000000" else "111111"

    refused = _post(client, "/certs/sample/authenticate", code=wrong)
    body = refused.get_json()
    assert refused.status_code == 400 and body["ok"] is False
    assert body["field"] == "code" and body["step"] == "code"
    assert body["message"] == "認証コードが正しくありません。（あと4回間違えるとPINロックされます）"
    # not 認証完了: 電子署名 has nothing to sign, and says why
    early = _post(client, "/certs/sample")
    assert early.status_code == 400 and early.mimetype != "application/pdf"

    ok = _post(client, "/certs/sample/authenticate", code=code)
    assert ok.status_code == 200 and ok.get_json() == {
        "ok": True, "message": "証明書の認証が完了しました。"}
    assert code not in client.session_contents()  # the code waits nowhere
    signed = _post(client, "/certs/sample")
    assert signed.status_code == 200 and signed.mimetype == "application/pdf"
    with services.signing_client() as api:
        report = validate_with_pyhanko(signed.data, api.root_certificate())
    assert report.intact and report.trusted and report.timestamp_valid
    # the authorization is single use
    again = _post(client, "/certs/sample", code=code)
    assert again.status_code == 400
    assert "署名用PINの入力からやり直してください" in again.get_data(as_text=True)


def test_ninsho_five_wrong_codes_lock_the_certificate(
        app, client, factories, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    rep = _ready(client, factories)
    assert _post(client, "/certs/dialog/send-code", pin=PIN).status_code == 200
    code = code_from(smtp_sink, rep.email)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        body = _post(client, "/certs/sample/authenticate", code=wrong).get_json()
        assert f"あと{left}回" in body["message"] and body["step"] == "code"
    locked = _post(client, "/certs/sample/authenticate", code=wrong).get_json()
    assert "PINロック中のため署名はできません" in locked["message"] and locked["step"] == "pin"
    after = _post(client, "/certs/sample/authenticate", code=code).get_json()
    assert after["step"] == "pin"  # the proof is gone: start again from the PIN
    refused = _post(client, "/certs/dialog/send-code", pin=PIN)
    assert "PINロック中" in refused.get_json()["message"]


def test_ninsho_in_english(app, client, factories, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    rep = _ready(client, factories)
    client.use_english()
    assert _post(client, "/certs/dialog/send-code", pin=PIN).status_code == 200
    code = code_from(smtp_sink, rep.email)
    wrong = "000000" if code != "000000" else "111111"
    body = _post(client, "/certs/sample/authenticate", code=wrong).get_json()
    assert body["message"] == ("The verification code is incorrect. (After 4 more wrong "
                               "attempt(s) the PIN will be locked.)")
