"""APP-1…APP-4, APP-6: invitation link, form, confirm, emailed code, completion."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from portal import clock
from portal.extensions import db
from portal.mail import deliver_pending
from portal.models import AuditEntry, MailOutbox
from portal.mypage.models import Application, ApplicationState, EmailVerification, Invitation
from tests.functional.mypage.conftest import CORPORATION_FORM, INDIVIDUAL_FORM, count


def _invitation(factories, branch, *, days: int = 30) -> Invitation:
    staff = factories.staff(branch)
    from portal.mypage import services

    invitation = services.create_invitation(staff, customer_name="見込み客", valid_days=days)
    db.session.commit()
    return invitation


def test_invitation_link_presets_the_branch(client, factories):
    branch = factories.branch("大阪支店")
    factories.branch("東京支店")
    invitation = _invitation(factories, branch)
    html = client.get(f"/apply?inv={invitation.token}&kind=corporation").get_data(as_text=True)
    assert f'<option value="{branch.id}" selected>大阪支店</option>' in html
    assert "法人名" in html and "代表者保証などの個人署名利用" in html


def test_form_without_invitation_lets_the_applicant_pick_the_branch(client, factories):
    factories.branch("大阪支店")
    html = client.get("/apply?kind=individual").get_data(as_text=True)
    assert "selected>" not in html.split('id="branch_id"')[1].split("</select>")[0]
    assert "大阪支店" in html
    assert "法人名" not in html  # an individual has no company fields


def test_expired_or_unknown_invitation_says_so(client, factories):
    branch = factories.branch()
    invitation = _invitation(factories, branch, days=1)
    with time_machine.travel(clock.now() + timedelta(days=2)):
        html = client.get(f"/apply?inv={invitation.token}").get_data(as_text=True)
    assert "有効期限が切れています" in html
    html = client.get("/apply?inv=nonsense").get_data(as_text=True)
    assert "ご案内のURLが正しくありません" in html


def test_bad_input_shows_messages_next_to_fields_and_keeps_values(flow, factories):
    branch = factories.branch()
    bad = dict(CORPORATION_FORM, branch_id=str(branch.id), company_name_kana="ほうじん",
               postal_code="104-0028", phone="03-0895-5034", birth_date="20991231",
               email_confirm="other@example.jp", last_name="Houjin",
               identity_method="in_person")
    response = flow.post("/apply/confirm", bad)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for message in ["ひらがなは使用できません", "ハイフンなしの半角数字7桁",
                    "ハイフンなしの半角数字", "未来の日付は入力できません", "一致しません",
                    "半角文字は使用できません",
                    "対面確認は現在お選びいただけません"]:
        assert message in html, message
    assert 'value="104-0028"' in html and 'value="ほうじん"' in html  # values kept
    assert count(EmailVerification) == 0 and count(Application) == 0


def test_confirm_shows_every_value_and_back_keeps_them(flow, factories):
    branch = factories.branch("名古屋支店")
    form = dict(CORPORATION_FORM, branch_id=str(branch.id))
    html = flow.post("/apply/confirm", form).get_data(as_text=True)
    for value in ["株式会社法人１", "ホウジンイチ", "Houjin1", "1040028", "1999/11/03",
                  "1975/03/14", "代表取締役社長", "書類提出による確認", "名古屋支店",
                  "houjin.taro@example.jp"]:
        assert value in html, value
    assert "認証コード送信" in html and "戻る" in html
    back = flow.post("/apply/back", form).get_data(as_text=True)
    assert 'value="株式会社法人１"' in back and 'value="19991103"' in back
    assert count(EmailVerification) == 0


def test_code_then_application_stored_once(flow, factories, smtp_sink):
    branch = factories.branch()
    form = dict(CORPORATION_FORM)
    response = flow.send_code(form, branch.id)
    assert response.headers["Location"].endswith("/apply/verify")
    assert count(Application) == 0  # nothing stored before the code (APP-4)
    code = flow.code(form["email"])
    row = db.session.execute(select(EmailVerification)).scalar_one()
    assert code not in row.code_hmac and len(row.code_hmac) == 64  # stored hashed
    assert 6 <= len(code) <= 8
    done = flow.verify(code)
    assert done.headers["Location"].endswith("/apply/done")
    again = flow.verify(code)  # double submit / replay (APP-6)
    assert again.headers["Location"].endswith("/apply/done")
    page = flow.client.get("/apply/done")
    assert "MyPage 利用申込が完了しました" in page.get_data(as_text=True)
    flow.client.get("/apply/done")  # reload
    application = db.session.execute(select(Application)).scalar_one()
    db.session.refresh(row)
    assert row.consumed_at is not None and row.payload_sealed is None  # no second copy
    assert application.state == ApplicationState.PENDING
    assert application.branch_id == branch.id and application.email == form["email"]
    actions = db.session.execute(select(AuditEntry.action)).scalars().all()
    assert "application.code_sent" in actions and "application.submitted" in actions


def test_wrong_codes_then_sixth_try_needs_a_new_code(flow, factories):
    branch = factories.branch()
    flow.send_code(INDIVIDUAL_FORM, branch.id)
    code = flow.code(INDIVIDUAL_FORM["email"])
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        html = flow.verify(wrong).get_data(as_text=True)
        assert f"あと{left}回" in html
    html = flow.verify(wrong).get_data(as_text=True)  # fifth wrong entry
    assert "この認証コードは使用できません" in html
    html = flow.verify(code).get_data(as_text=True)  # sixth try, correct code: refused
    assert "この認証コードは使用できません" in html
    assert count(Application) == 0
    rejected = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "verification.code_rejected")).scalars().all()
    assert len(rejected) == 6 and code not in "".join(e.detail for e in rejected)
    with time_machine.travel(clock.now() + timedelta(seconds=61)):
        flow.post("/apply/resend", {})
        new_code = flow.code(INDIVIDUAL_FORM["email"])
        assert flow.verify(new_code).status_code == 302
    assert count(Application) == 1


def test_code_expires_after_ten_minutes(flow, factories):
    branch = factories.branch()
    start = clock.now()
    with time_machine.travel(start, tick=False):
        flow.send_code(INDIVIDUAL_FORM, branch.id)
        code = flow.code(INDIVIDUAL_FORM["email"])
    with time_machine.travel(start + timedelta(minutes=9, seconds=59), tick=False):
        row = db.session.execute(select(EmailVerification)).scalar_one()
        assert clock.as_utc(row.expires_at) > clock.now()
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        html = flow.verify(code).get_data(as_text=True)
    assert "有効期限（10分）が切れています" in html
    assert count(Application) == 0


def test_resend_has_a_cool_down_and_replaces_the_code(flow, factories, smtp_sink):
    branch = factories.branch()
    start = clock.now()
    with time_machine.travel(start, tick=False):
        flow.send_code(INDIVIDUAL_FORM, branch.id)
        first = flow.code(INDIVIDUAL_FORM["email"])
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        page = flow.client.get("/apply/verify").get_data(as_text=True)
        assert "30秒後から再送信できます" in page
        response = flow.post("/apply/resend", {})
        html = flow.client.get(response.headers["Location"]).get_data(as_text=True)
        assert "再送信は30秒後から可能です" in html
        assert db.session.execute(select(MailOutbox)).scalars().all().__len__() == 1
    with time_machine.travel(start + timedelta(seconds=60), tick=False):
        flow.post("/apply/resend", {})
        second = flow.code(INDIVIDUAL_FORM["email"])
        assert len(smtp_sink.to(INDIVIDUAL_FORM["email"])) == 2
        if first != second:
            assert "正しくありません" in flow.verify(first).get_data(as_text=True)
        assert flow.verify(second).status_code == 302


def test_email_of_an_existing_user_or_pending_application_is_refused_after_its_code(
        flow, factories):
    """AUTH-9: the form never tells a stranger that an address is registered
    (or under review); the owner hears it after entering the code mailed there."""
    branch = factories.branch()
    user = factories.customer()
    taken = dict(INDIVIDUAL_FORM, email=user.email, email_confirm=user.email)
    html = flow.post("/apply/confirm", dict(taken, branch_id=str(branch.id))
                     ).get_data(as_text=True)
    assert "既に登録されています" not in html and "認証コード送信" in html
    assert flow.send_code(taken, branch.id).status_code == 302
    html = flow.verify(flow.code(user.email)).get_data(as_text=True)
    assert "このメールアドレスは既に登録されています" in html
    flow.apply(INDIVIDUAL_FORM, branch.id)
    response = flow.send_code(INDIVIDUAL_FORM, branch.id)
    assert response.status_code == 302 and "審査中です" not in response.get_data(as_text=True)
    html = flow.verify(flow.code(INDIVIDUAL_FORM["email"])).get_data(as_text=True)
    assert "審査中です" in html
    assert count(Application) == 1


def test_unknown_branch_and_missing_session_are_handled(flow, factories):
    response = flow.send_code(INDIVIDUAL_FORM, 9999)
    assert response.status_code == 400
    assert "お申込み支店を選択してください" in response.get_data(as_text=True)
    response = flow.client.get("/apply/verify")
    assert response.status_code == 302  # no code sent in this browser session


def test_mail_server_down_loses_nothing(flow, factories, app):
    """APP-6: the code mail waits in the outbox while SMTP is down."""
    branch = factories.branch()
    app.config["SMTP_PORT"] = 1  # nothing listens there
    flow.send_code(INDIVIDUAL_FORM, branch.id)
    assert deliver_pending()["sent"] == 0
    assert count(EmailVerification) == 1
    row = db.session.execute(select(MailOutbox)).scalar_one()
    assert row.status == "pending" and row.body_encrypted is not None


def test_a_code_is_consumed_once_and_one_verification_stores_one_application(flow, factories):
    """APP-6 under concurrency: the conditional UPDATE lets one submit win, and
    the unique verification_id refuses a second row even if two got through."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from portal.mypage import verification

    branch = factories.branch()
    flow.apply(INDIVIDUAL_FORM, branch.id)
    row = db.session.execute(select(EmailVerification)).scalar_one()
    assert verification.consume(row) is False  # already used by the successful submit
    first = db.session.execute(select(Application)).scalar_one()
    clone = Application(kind=first.kind, branch_id=first.branch_id,
                        verification_id=first.verification_id, email=first.email,
                        applicant_name=first.applicant_name, payload=first.payload)
    db.session.add(clone)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert count(Application) == 1


def test_code_length_and_validity_are_configurable(flow, factories, app):
    """APP-4 allows 6–8 digits; the bank may choose 8 and a shorter validity."""
    app.config.update(VERIFICATION_CODE_DIGITS=8, VERIFICATION_CODE_TTL_SECONDS=300)
    branch = factories.branch()
    start = clock.now()
    with time_machine.travel(start, tick=False):
        flow.send_code(INDIVIDUAL_FORM, branch.id)
        deliver_pending()
        code = flow.sink.code_in_last(INDIVIDUAL_FORM["email"], "認証コード", digits="8")
        assert len(code) == 8
        body = flow.sink.body(flow.sink.last_to(INDIVIDUAL_FORM["email"], "認証コード"))
        assert "送信から5分" in body
        assert "有効期限5分" in flow.client.get("/apply/verify").get_data(as_text=True)
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        assert "有効期限（5分）" in flow.verify(code).get_data(as_text=True)


def test_database_failure_while_storing_leaves_nothing_half_done(flow, factories, monkeypatch):
    """APP-6: if storing fails midway, no application exists, the code is not
    used up, and the same code then completes the application once."""
    from portal.mypage import services

    branch = factories.branch()
    flow.send_code(INDIVIDUAL_FORM, branch.id)
    code = flow.code(INDIVIDUAL_FORM["email"])
    real_record = services.audit.record

    def failing_record(action, **kwargs):
        if action == "application.submitted":
            raise RuntimeError("database went away")
        return real_record(action, **kwargs)

    monkeypatch.setattr(services.audit, "record", failing_record)
    assert flow.verify(code).status_code == 500
    assert count(Application) == 0
    row = db.session.execute(select(EmailVerification)).scalar_one()
    assert row.consumed_at is None and row.failed_attempts == 0
    monkeypatch.setattr(services.audit, "record", real_record)
    assert flow.verify(code).headers["Location"].endswith("/apply/done")
    assert count(Application) == 1
