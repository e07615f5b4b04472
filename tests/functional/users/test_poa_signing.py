"""USR-3, SIGN-4: the system-created power of attorney, signed with the
certificates area's signing dialog (SIGN-2) in the guide's order: 1. PIN入力 →
送信 (the service checks the PIN; a wrong one is refused there with the attempts
left, PIN-5, and no code is mailed) → 2. 認証コード入力 → 認証 (the code and the
PIN proof are checked here, a wrong code with the attempts left) → 3. 認証完了 →
電子署名 (issue #13 item 10, SIGN-2). The signed PoA is stored and linked to the new user; a refusal
creates nothing, and the PIN is kept nowhere between the steps."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from sqlalchemy import select

from portal.certs.models import PoaKind
from portal.clock import now, to_jst
from portal.extensions import db
from portal.filestore import get_file_store
from portal.models import AuditEntry
from portal.users.models import PowerOfAttorney, UserDraft
from remote_signing.testing import OTP_RE, pdfsig, qpdf_check, validate_with_pyhanko
from tests.functional.users.conftest import PIN, login
from tests.functional.users.helpers import (
    actions,
    handle_of,
    person,
    start_new_user,
    user_by_email,
)


def _otp(sink, address: str, timeout: float = 10) -> str:
    """The code the signing service mailed (it sends directly to the sink)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for msg in reversed(sink.to(address)):
            found = OTP_RE.search(sink.body(msg))
            if found:
                return found.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no signing code mailed to {address}")


def _start_signer_with_system_poa(client, email="signer@example.jp"):
    response = start_new_user(client, person(email, role="signer", poa_method="system"))
    assert response.status_code == 302, response.get_data(as_text=True)
    handle = handle_of(response)
    confirm = client.get(f"/users/drafts/{handle}/confirm").get_data(as_text=True)
    assert "署名が必要な書類" in confirm and "署名画面へ" in confirm and "システム作成" in confirm
    return handle


def _otp_mails(sink, address: str) -> int:
    return sum(1 for msg in sink.to(address) if OTP_RE.search(sink.body(msg)))


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "poa.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def _send_pin(client, handle, pin=PIN):
    return client.post_form(f"/users/drafts/{handle}/sign", {"pin": pin},
                            token_page=f"/users/drafts/{handle}/sign")


def _authenticate(client, handle, code):
    """認証 on the code page."""
    return client.post_form(f"/users/drafts/{handle}/code", {"code": code},
                            token_page=f"/users/drafts/{handle}/sign")


def _sign(client, handle):
    """電子署名 on the 認証完了 page."""
    return client.post_form(f"/users/drafts/{handle}/execute",
                            token_page=f"/users/drafts/{handle}/sign")


def _send_code(client, handle, code):
    """認証, then 電子署名 when 認証 passed: the answer of the last step."""
    checked = _authenticate(client, handle, code)
    if checked.status_code == 302 and checked.headers["Location"].endswith("/execute"):
        return _sign(client, handle)
    return checked


def test_sign4_system_poa_is_signed_and_validates_in_pyhanko_and_pdfsig(
        client, people, company, smtp_sink, rs_client, tmp_path):
    rep = people.with_certificate(company, title="代表取締役")
    login(client, rep)
    handle = _start_signer_with_system_poa(client)

    shown = client.get(f"/users/drafts/{handle}/poa.pdf")
    assert shown.status_code == 200 and shown.mimetype == "application/pdf"
    text = _pdf_text(shown.data, tmp_path)
    today = to_jst(now()).date()
    assert "委任状" in text and company.name in text and "佐藤 花子" in text
    assert f"{today.year}年{today.month:02d}月{today.day:02d}日" in text
    assert "証明書利用者選任の権限" in text and "契約書内容の閲覧の権限" in text

    sent = _send_pin(client, handle)
    assert sent.status_code == 302, re.findall(r'role="alert">([^<]+)', sent.get_data(as_text=True))
    code = _otp(smtp_sink, rep.email)
    done = _send_code(client, handle, code)
    assert done.status_code == 302 and "/users/created/" in done.headers["Location"]

    created = user_by_email("signer@example.jp")
    assert created is not None and created.role == "signer"
    poa = db.session.execute(select(PowerOfAttorney)).scalar_one()
    assert poa.kind == PoaKind.SYSTEM and poa.agent_user_id == created.id
    assert poa.registered_by == rep.id
    signed = get_file_store().get(poa.file_key)
    assert signed.startswith(b"%PDF") and len(signed) > len(shown.data)

    signed_text = _pdf_text(signed, tmp_path)
    assert company.name in signed_text and "佐藤 花子" in signed_text
    assert f"{today.year}年{today.month:02d}月{today.day:02d}日" in signed_text
    root = rs_client.root_certificate()
    report = validate_with_pyhanko(signed, root)
    assert report.intact and report.valid and report.trusted
    assert report.coverage in {"ENTIRE_FILE", "ENTIRE_REVISION"}
    assert report.timestamp_valid and report.signer_cn == rep.display_name
    out = pdfsig(signed, root, tmp_path / "nss")
    assert "Signature is Valid." in out and "Certificate is Trusted." in out, out
    rc, qpdf_text = qpdf_check(signed, tmp_path)
    assert rc == 0, qpdf_text
    assert {"poa.signed", "poa.stored", "user.created"} <= set(actions())


def test_sign4_pin5_wrong_pin_is_refused_at_the_pin_step_and_no_code_is_mailed(
        client, people, company, smtp_sink):
    rep = people.with_certificate(company)
    login(client, rep)
    handle = _start_signer_with_system_poa(client, "wrongpin@example.jp")
    refused = _send_pin(client, handle, pin="WrongPin123")
    assert refused.status_code == 400  # refused at 送信, still on the PIN step
    page = refused.get_data(as_text=True)
    assert "署名用PINが正しくありません" in page and "あと4回" in page  # PIN-5 counts it
    again = _send_pin(client, handle, pin="WrongPin456")
    assert again.status_code == 400 and "あと3回" in again.get_data(as_text=True)
    time.sleep(0.3)  # a code mail, if one were sent, would have arrived
    assert _otp_mails(smtp_sink, rep.email) == 0
    # no proof waits: the code step sends the user back to the PIN
    back = _send_code(client, handle, "123456")
    assert back.status_code == 302 and back.headers["Location"].endswith("/sign")
    assert "署名用PINの入力からやり直してください" in client.get(
        back.headers["Location"]).get_data(as_text=True)
    assert user_by_email("wrongpin@example.jp") is None
    assert db.session.execute(select(PowerOfAttorney)).first() is None
    # one audit entry per refused 送信, the PoA's own (#15 item 1)
    assert actions().count("poa.signing_failed") == 2
    assert "certs.sign_pin_refused" not in actions()
    assert "poa.signing_code_sent" not in actions()
    draft = db.session.execute(select(UserDraft).where(UserDraft.handle == handle)).scalar_one()
    assert draft.consumed_at is None  # the creator may try again

    # the right PIN then mails one code, and the PoA is signed
    assert _send_pin(client, handle).status_code == 302
    done = _send_code(client, handle, _otp(smtp_sink, rep.email))
    assert done.status_code == 302 and "/users/created/" in done.headers["Location"]
    assert _otp_mails(smtp_sink, rep.email) == 1


def test_sign4_wrong_code_creates_nothing_and_the_code_can_be_typed_again(
        client, people, company, smtp_sink):
    rep = people.with_certificate(company)
    login(client, rep)
    handle = _start_signer_with_system_poa(client, "wrongcode@example.jp")
    assert _send_pin(client, handle).status_code == 302
    code = _otp(smtp_sink, rep.email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = _send_code(client, handle, wrong)
    assert refused.status_code == 400  # still on the code step: the PIN proof is kept
    page = refused.get_data(as_text=True)
    assert "認証コードが正しくありません" in page and 'name="code"' in page
    assert user_by_email("wrongcode@example.jp") is None
    assert db.session.execute(select(PowerOfAttorney)).first() is None
    assert "poa.signing_failed" in actions()
    ok = _send_code(client, handle, code)  # no new PIN, no new mail
    assert ok.status_code == 302 and user_by_email("wrongcode@example.jp") is not None
    assert _otp_mails(smtp_sink, rep.email) == 1
    # the proof was used: it is gone from the session
    assert "pin_proof" not in client.session_contents()


def test_sign4_pin_and_code_are_loaded_by_the_signing_dialog_schemas(
        client, people, company, smtp_sink):
    """The PoA's PIN and code pages check shape and format as the other signing
    dialogs do (portal.certs.schemas) before anything reaches the service."""
    rep = people.with_certificate(company)
    login(client, rep)
    handle = _start_signer_with_system_poa(client, "schemas@example.jp")
    for pin, message in (("", "署名用PINを入力してください。"), ("A" * 65, "入力が長すぎます。")):
        refused = _send_pin(client, handle, pin)
        assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    assert _otp_mails(smtp_sink, rep.email) == 0
    assert _send_pin(client, handle).status_code == 302
    for code, message in (("", "認証コードを入力してください。"),
                          ("12ab56", "認証コードは半角数字で入力してください。")):
        refused = _authenticate(client, handle, code)
        assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    pasted = f" {_otp(smtp_sink, rep.email)} "  # a pasted code keeps its spaces
    assert _authenticate(client, handle, pasted).headers["Location"].endswith("/execute")


def test_sign2_code_is_checked_at_ninsho_and_dennshi_shomei_is_offered_only_after(
        client, people, company, smtp_sink):
    """Issue #13 item 10 on the PoA page: 認証 checks the code (a wrong one is
    refused there with the attempts left, and 電子署名 stays disabled); after the
    right one the page says 認証完了 and 電子署名 signs and registers."""
    rep = people.with_certificate(company)
    login(client, rep)
    handle = _start_signer_with_system_poa(client, "ninsho@example.jp")
    assert _send_pin(client, handle).status_code == 302
    page = client.get(f"/users/drafts/{handle}/code").get_data(as_text=True)
    assert re.search(r'<button type="submit"[^>]*id="authenticate"[^>]*>認証</button>', page)
    assert re.search(r'<button[^>]*id="sign"[^>]*disabled[^>]*>電子署名</button>', page)
    # 電子署名 before 認証 is not possible: back to the code step
    early = _sign(client, handle)
    assert early.status_code == 302 and early.headers["Location"].endswith("/code")

    code = _otp(smtp_sink, rep.email)
    wrong = _authenticate(client, handle, f"{(int(code) + 1) % 1_000_000:06d}")
    assert wrong.status_code == 400
    shown = wrong.get_data(as_text=True)
    assert "認証コードが正しくありません" in shown and "あと4回" in shown
    assert "認証が完了しました" not in shown

    checked = _authenticate(client, handle, code)
    assert checked.status_code == 302 and checked.headers["Location"].endswith("/execute")
    assert user_by_email("ninsho@example.jp") is None  # nothing signed or created yet
    ready = client.get(checked.headers["Location"]).get_data(as_text=True)
    assert "認証が完了しました" in ready and "認証完了" in ready
    assert re.search(r'<button type="submit"[^>]*id="sign"[^>]*>電子署名</button>', ready)
    assert "poa.authenticated" in actions() and "poa.signed" not in actions()

    done = _sign(client, handle)
    assert done.status_code == 302 and "/users/created/" in done.headers["Location"]
    assert user_by_email("ninsho@example.jp") is not None
    assert "pin_proof" not in client.session_contents()
    assert len(db.session.execute(select(PowerOfAttorney)).all()) == 1


def test_sign4_another_refusal_at_the_code_step_starts_again_from_the_pin(
        client, people, company, smtp_sink, rs_client):
    rep = people.with_certificate(company)
    login(client, rep)
    handle = _start_signer_with_system_poa(client, "revoked@example.jp")
    assert _send_pin(client, handle).status_code == 302
    code = _otp(smtp_sink, rep.email)
    for cred_id in rs_client.list_credentials(user_id=rep.mypage_id):
        rs_client.revoke(cred_id, "keyCompromise")  # revoked in the service meanwhile
    refused = _send_code(client, handle, code)
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/sign")
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "電子証明書が失効しているため署名できません" in page
    assert "pin_proof" not in client.session_contents()  # dropped: start again from the PIN
    again = _send_code(client, handle, code)
    assert again.status_code == 302 and again.headers["Location"].endswith("/sign")
    assert user_by_email("revoked@example.jp") is None
    assert db.session.execute(select(PowerOfAttorney)).first() is None


def test_sign4_creator_without_certificate_gets_a_clear_message(client, people, company):
    rep = people.user(company)  # no certificate yet
    login(client, rep)
    handle = _start_signer_with_system_poa(client, "nocert@example.jp")
    refused = _send_pin(client, handle)
    assert refused.status_code == 400
    assert "電子証明書が発行されていない" in refused.get_data(as_text=True)
    assert user_by_email("nocert@example.jp") is None


def test_sign4_registering_a_system_poa_draft_without_signature_is_refused(client, people,
                                                                           company):
    rep = people.with_certificate(company)
    login(client, rep)
    handle = _start_signer_with_system_poa(client, "skip@example.jp")
    skipped = client.post_form(f"/users/drafts/{handle}/register",
                               token_page=f"/users/drafts/{handle}/sign")
    assert skipped.status_code == 302 and skipped.headers["Location"].endswith("/sign")
    assert user_by_email("skip@example.jp") is None


def test_sign2_no_pin_in_the_session_cookie_database_or_audit(client, people, company,
                                                             smtp_sink, app):
    rep = people.with_certificate(company)
    login(client, rep)
    handle = _start_signer_with_system_poa(client, "secret@example.jp")
    assert _send_pin(client, handle, pin="WrongPin123").status_code == 400
    assert "WrongPin123" not in client.session_contents()
    assert _send_pin(client, handle).status_code == 302
    between = client.session_contents()  # the decoded session while the code is awaited
    assert "pin_proof:poa:" in between  # only the sealed PIN proof waits
    assert PIN not in between and "poa_pin" not in between
    code = _otp(smtp_sink, rep.email)
    assert _send_code(client, handle, code).status_code == 302
    assert PIN not in client.session_contents() and code not in client.session_contents()
    for table in db.metadata.sorted_tables:
        rows = repr(db.session.execute(select(table)).all())
        assert PIN not in rows and "WrongPin123" not in rows, table.name
    audit = repr([(e.action, e.detail) for e in db.session.execute(select(AuditEntry)).scalars()])
    assert PIN not in audit and "WrongPin123" not in audit and code not in audit
    db_path = Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
    if db_path.exists():
        raw = db_path.read_bytes() + (db_path.with_suffix(".sqlite3-wal").read_bytes()
                                      if db_path.with_suffix(".sqlite3-wal").exists() else b"")
        assert PIN.encode() not in raw and code.encode() not in raw


def test_aud4_a_draft_of_another_company_looks_like_not_found(client, other_client, people,
                                                              company, factories):
    rep = people.with_certificate(company)
    login(client, rep)
    handle = _start_signer_with_system_poa(client, "mine@example.jp")
    stranger = people.with_certificate(factories.company(name="株式会社よその会社"))
    login(other_client, stranger)
    for path in ("confirm", "poa.pdf", "sign", "code"):
        assert other_client.get(f"/users/drafts/{handle}/{path}").status_code == 404
    token = other_client.csrf_token("/logout")
    assert other_client.post(f"/users/drafts/{handle}/register",
                             data={"csrf_token": token}).status_code == 404
    assert user_by_email("mine@example.jp") is None
