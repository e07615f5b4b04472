"""AUTH-9 (with AUTH-4, AUTH-5, APP-4, AUTH-6): one rate-limit mechanism.

Emailed codes: a new code never brings new guesses (the account's budget runs
across codes), issuance is limited per account, per target address and per
client address; the staff password at 締結 counts toward the staff lockout;
unknown identifiers are counted, locked and forgotten exactly like accounts;
the application form never says that an address is registered."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from portal.clock import now
from portal.contracts.models import ContractPackage
from portal.contracts.states import PACKAGE_LIFECYCLE, PARTY_LIFECYCLE, PackageState, PartyState
from portal.extensions import db
from portal.mail import deliver_pending
from portal.models import AuditEntry, MailOutbox
from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff
from tests.functional.contracts.conftest import (  # noqa: F401  (fixtures)
    contract_pdf,
    create_package,
    world,
)
from tests.functional.mypage.conftest import INDIVIDUAL_FORM

NEW_PASSWORD = "Fresh2Passw0rd"
STOPPED = "認証コードの入力誤りが続いたため、この手続きを一時的に停止しました。"
TOO_MANY_CODES = "認証コードの送信回数が上限に達しました。"
LOCKED = "連続してパスワードを間違えたため、アカウントをロックしました。"
BAD = "メールアドレス（またはMyPageID）またはパスワードが正しくありません。"


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.execute(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).scalars())


def _mails() -> int:
    return db.session.scalar(select(func.count()).select_from(MailOutbox)) or 0


def _forgot(client, login_id: str):
    return client.post_form("/password/forgot", {"login_id": login_id},
                            token_page="/password/forgot")


def _reset(client, code: str):
    return client.post_form("/password/reset", {"code": code, "new_password": NEW_PASSWORD,
                                                "new_password_confirm": NEW_PASSWORD},
                            token_page="/password/reset")


def _wrong(code: str | None) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}" if code else "123456"


def _reset_walk(client, sink, login_id: str, email: str | None) -> list[str]:
    """Two codes: five wrong entries on the first, then a new code and wrong
    entries until the account's budget (7) is spent; then the right code and a
    third code. Returns what each step said (status + the key message)."""
    said: list[str] = []

    def note(response) -> None:
        html = response.get_data(as_text=True)
        for marker in (STOPPED, TOO_MANY_CODES, "認証コードが正しくありません",
                       "この認証コードは使用できません"):
            if marker in html:
                said.append(f"{response.status_code} {marker}")
                return
        said.append(str(response.status_code))

    def real_code() -> str | None:
        deliver_pending()
        return sink.code_in_last(email, "認証コード") if email else None

    assert _forgot(client, login_id).status_code == 302
    code = real_code()
    for _ in range(5):
        note(_reset(client, _wrong(code)))
    assert _forgot(client, login_id).status_code == 302  # a new code...
    code = real_code()
    for _ in range(2):
        note(_reset(client, _wrong(code)))  # ...but only the account's last two guesses
    note(_reset(client, code or "123456"))  # even the right code is refused now
    note(_forgot(client, login_id))  # and no new code is mailed
    return said


def test_wrong_codes_across_reissued_codes_stop_the_forgotten_password_flow(
        app, client, factories, smtp_sink):
    app.config["CODE_CHECK_MAX_FAILURES"] = 7
    user = factories.customer()
    said = _reset_walk(client, smtp_sink, user.mypage_id, user.email)
    assert said[:4] == ["400 認証コードが正しくありません"] * 4
    assert said[4] == "400 この認証コードは使用できません"  # the code's own 5 tries (APP-4)
    assert said[5] == "400 認証コードが正しくありません"
    assert said[6:] == [f"400 {STOPPED}", f"400 {STOPPED}", f"429 {STOPPED}"]
    db.session.refresh(user)
    assert not user.password_is_temporary and login_customer(
        client, user.email, NEW_PASSWORD).status_code == 401  # the password never changed
    locked = _audit("ratelimit.locked")
    assert len(locked) == 1 and '"code.check.account"' in locked[0].detail
    assert '"password_reset"' in locked[0].detail
    assert len(_audit("ratelimit.refused")) == 2
    assert len(smtp_sink.to(user.email)) == 2  # two codes, not three

    with time_machine.travel(now() + timedelta(minutes=61), tick=False):
        assert _forgot(client, user.email).status_code == 302  # the window is over


def test_an_unknown_identifier_gets_exactly_the_same_answers(app, factories, smtp_sink):
    app.config["CODE_CHECK_MAX_FAILURES"] = 7
    user = factories.customer()
    known = _reset_walk(app.test_client(), smtp_sink, user.email, user.email)
    unknown = _reset_walk(app.test_client(), smtp_sink, "nobody@example.jp", None)
    assert known == unknown


def test_code_issuance_is_limited_per_account(app, client, factories, smtp_sink):
    """AUTH-5: five codes per account in the window, the sixth refused (audited);
    an unknown identifier is refused at the same count."""
    user = factories.customer()
    for login_id in (user.email, "nobody@example.jp"):
        for _ in range(5):
            assert _forgot(client, login_id).status_code == 302
        refused = _forgot(client, login_id)
        assert refused.status_code == 429
        assert TOO_MANY_CODES in refused.get_data(as_text=True)
    deliver_pending()
    assert len(smtp_sink.to(user.email)) == 5
    refusals = _audit("ratelimit.refused")
    assert len(refusals) == 2 and all('"code.issue.account"' in e.detail for e in refusals)
    # the MyPageID is the same account: no new budget
    assert _forgot(client, user.mypage_id).status_code == 429
    with time_machine.travel(now() + timedelta(minutes=16), tick=False):
        assert _forgot(client, user.mypage_id).status_code == 302


def test_english_visitor_reads_the_refusal_in_english(app, client, factories):
    app.config["CODE_ISSUE_MAX_PER_ACCOUNT"] = 1
    client.use_english()
    assert _forgot(client, "nobody@example.jp").status_code == 302
    html = _forgot(client, "nobody@example.jp").get_data(as_text=True)
    assert "Too many verification codes have been sent" in html


def _send_application_code(client, branch_id: int, email: str, **environ):
    form = dict(INDIVIDUAL_FORM, branch_id=str(branch_id), email=email, email_confirm=email)
    extra = {"environ_base": environ} if environ else {}
    return client.post_form("/apply/send-code", form, token_page="/apply?kind=individual",
                            **extra)


def test_application_codes_are_limited_per_target_address(client, factories, smtp_sink):
    """Mail bombing through 認証コード送信 (APP-3) stops at the address's limit."""
    branch = factories.branch()
    victim = "victim@example.jp"
    for _ in range(5):
        assert _send_application_code(client, branch.id, victim).status_code == 302
    refused = _send_application_code(client, branch.id, victim)
    assert refused.status_code == 429 and TOO_MANY_CODES in refused.get_data(as_text=True)
    assert _mails() == 5
    detail = _audit("ratelimit.refused")[0].detail
    assert '"application"' in detail and '"code.issue.' in detail
    # from another client address too
    other = _send_application_code(client, branch.id, "VICTIM@example.jp",
                                   REMOTE_ADDR="192.0.2.77")
    assert other.status_code == 429
    assert _send_application_code(client, branch.id, "someone@example.jp").status_code == 302


def test_application_codes_are_limited_per_client_address(app, client, factories):
    app.config["CODE_ISSUE_MAX_PER_CLIENT"] = 3
    branch = factories.branch()
    for n in range(3):
        response = _send_application_code(client, branch.id, f"a{n}@example.jp",
                                          REMOTE_ADDR="198.51.100.7")
        assert response.status_code == 302
    refused = _send_application_code(client, branch.id, "a9@example.jp",
                                     REMOTE_ADDR="198.51.100.7")
    assert refused.status_code == 429 and TOO_MANY_CODES in refused.get_data(as_text=True)
    assert '"code.issue.client"' in _audit("ratelimit.refused")[0].detail
    assert _send_application_code(client, branch.id, "a9@example.jp",
                                  REMOTE_ADDR="198.51.100.8").status_code == 302


def test_application_resend_spends_the_same_budget(app, client, factories):
    app.config["CODE_ISSUE_MAX_PER_ADDRESS"] = 2
    branch = factories.branch()
    assert _send_application_code(client, branch.id, "resend@example.jp").status_code == 302
    with time_machine.travel(now() + timedelta(seconds=61), tick=False):
        client.post_form("/apply/resend", {}, token_page="/apply?kind=individual")
    with time_machine.travel(now() + timedelta(seconds=122), tick=False):
        response = client.post_form("/apply/resend", {}, token_page="/apply?kind=individual")
        html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert TOO_MANY_CODES in html
    assert _mails() == 2


def test_confirm_does_not_reveal_a_registered_address(client, factories):
    branch = factories.branch()
    user = factories.customer()
    form = dict(INDIVIDUAL_FORM, branch_id=str(branch.id), email=user.email,
                email_confirm=user.email)
    registered = client.post_form("/apply/confirm", form, token_page="/apply?kind=individual")
    fresh = client.post_form("/apply/confirm", dict(form, email="fresh@example.jp",
                                                    email_confirm="fresh@example.jp"),
                             token_page="/apply?kind=individual")
    assert registered.status_code == fresh.status_code == 200
    assert "既に登録" not in registered.get_data(as_text=True)
    assert "認証コード送信" in registered.get_data(as_text=True)


def test_email_change_codes_are_limited(app, client, factories, smtp_sink):
    app.config["CODE_ISSUE_MAX_PER_ACCOUNT"] = 2
    user = factories.customer()
    login_customer(client, user.email, DEFAULT_PASSWORD)

    def change(address: str):
        return client.post_form("/settings/email", {"email": address, "email_confirm": address},
                                token_page="/settings/email")

    assert change("first@example.jp").status_code == 302
    client.post_form("/settings/email/cancel", {}, token_page="/settings/email/verify")
    assert change("second@example.jp").status_code == 302
    client.post_form("/settings/email/cancel", {}, token_page="/settings/email/verify")
    refused = change("third@example.jp")
    assert refused.status_code == 400 and TOO_MANY_CODES in refused.get_data(as_text=True)
    db.session.refresh(user)
    assert user.pending_email is None
    assert '"email_change"' in _audit("ratelimit.refused")[0].detail


# --- logins (AUTH-4) -------------------------------------------------------------------------

def test_unknown_identifiers_decay_exactly_like_accounts(client, factories):
    """A slow probe (four wrong passwords, a pause longer than the window, four
    more) never locks either; five quick ones lock both, for the same time."""
    user = factories.customer()
    start = now()
    answers: dict[str, list[str]] = {}
    for ident in (user.email, "nobody@example.jp"):
        seen = answers.setdefault(ident, [])
        for offset in (0, 1, 2, 3, 40, 41, 42, 43, 44, 45, 73, 75):
            with time_machine.travel(start + timedelta(minutes=offset), tick=False):
                html = login_customer(client, ident, "WrongPass123").get_data(as_text=True)
                seen.append("locked" if LOCKED in html else "bad" if BAD in html else "?")
    # minute 40: the first window (30 min) is over, the count starts again;
    # minute 44: the fifth failure in a window locks until minute 74
    expected = ["bad"] * 8 + ["locked"] * 3 + ["bad"]
    assert answers[user.email] == answers["nobody@example.jp"] == expected


def _all_signed(app, world, pdf) -> int:  # noqa: F811
    """Test setup: a package waiting for 締結, by the state machine (signing is
    tested in tests/functional/contracts)."""
    package_id = create_package(app, world, pdf, send=True)
    package = db.session.get(ContractPackage, package_id)
    for party in package.parties:
        PARTY_LIFECYCLE.move(party, PartyState.SIGNED, actor=world.rep)
    PACKAGE_LIFECYCLE.move(package, PackageState.ALL_SIGNED, actor=world.rep)
    db.session.commit()
    return package_id


def test_staff_password_at_conclusion_counts_toward_the_staff_lockout(
        app, world, contract_pdf):  # noqa: F811
    package_id = _all_signed(app, world, contract_pdf)
    staff = app.test_client()
    login_staff(staff, world.staff.login_id, DEFAULT_PASSWORD)
    detail = f"/console/contracts/{package_id}"
    for attempt in range(4):
        response = staff.post_form(f"{detail}/conclude", {"password": f"Wrong{attempt}Pass1"},
                                   token_page=detail)
        assert response.status_code == 400
        assert "パスワードが正しくありません。" in response.get_data(as_text=True)
    fifth = staff.post_form(f"{detail}/conclude", {"password": "Wrong5Pass1"},
                            token_page=detail)
    assert fifth.status_code == 400 and LOCKED in fifth.get_data(as_text=True)
    # locked: the console session has ended, and the login refuses the right password
    ended = staff.get(detail)
    assert ended.status_code == 302 and "/console/login" in ended.headers["Location"]
    db.session.expire_all()
    assert db.session.get(ContractPackage, package_id).state == PackageState.ALL_SIGNED
    other = app.test_client()
    login = login_staff(other, world.staff.login_id, DEFAULT_PASSWORD)
    assert login.status_code == 401 and LOCKED in login.get_data(as_text=True)
    assert len(_audit("contract.conclude.password_refused")) == 5
    locked = _audit("account.locked")
    assert len(locked) == 1 and '"conclude"' in locked[0].detail
    assert locked[0].actor_id == world.staff.id
    with time_machine.travel(now() + timedelta(minutes=31), tick=False):
        assert login_staff(other, world.staff.login_id, DEFAULT_PASSWORD).status_code == 302


def test_a_wrong_login_and_a_wrong_conclusion_password_add_up(app, world, contract_pdf):  # noqa: F811
    package_id = _all_signed(app, world, contract_pdf)
    staff = app.test_client()
    login_staff(staff, world.staff.login_id, DEFAULT_PASSWORD)
    for attempt in range(2):
        login_staff(app.test_client(), world.staff.login_id, f"Wrong{attempt}Pass1")
    detail = f"/console/contracts/{package_id}"
    for attempt in range(3):
        last = staff.post_form(f"{detail}/conclude", {"password": f"Bad{attempt}Pass1"},
                               token_page=detail)
    assert LOCKED in last.get_data(as_text=True)


def test_prune_forgets_only_counters_that_hold_nothing(app, client, factories):
    user = factories.customer()
    for _ in range(5):
        login_customer(client, user.email, "WrongPass123")  # locked until +30 min
    login_customer(client, "nobody@example.jp", "WrongPass123")

    def prune() -> str:
        db.session.commit()  # the CLI's own transaction needs the write lock
        result = app.test_cli_runner().invoke(args=["ratelimit", "prune"])
        assert result.exit_code == 0, result.output
        return result.output.strip()

    start = now()
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        assert prune() == "removed 1"  # the client address's 15-minute window
        html = login_customer(client, user.email, DEFAULT_PASSWORD).get_data(as_text=True)
        assert LOCKED in html  # the lock survived the pruning
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        assert prune() == "removed 2"
        assert login_customer(client, user.email, DEFAULT_PASSWORD).status_code == 302
