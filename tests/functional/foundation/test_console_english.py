"""SPEC UI language: the bank console reads in English for an English visitor —
login page, home (with the SIGN-6 banner), invitations (APP-1), application review
(APP-5), operation log (AUD-2) and maintenance windows, field errors and flash
messages included. Only the data the test created stays Japanese; the Japanese
console, the CSV export and the mails are unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from portal import audit
from portal.contracts.models import LongtermAlert
from portal.extensions import db
from portal.mypage.models import Application, ApplicationState, Invitation
from tests.conftest import DEFAULT_PASSWORD, login_staff
from tests.functional.mypage.conftest import CORPORATION_FORM, ApplyFlow
from tests.i18n_support import leftover_japanese

# Windows are typed for next year: the console refuses one that has already ended.
NEXT_YEAR = datetime.now(UTC).year + 1


def english_page(response) -> str:  # type: ignore[no-untyped-def]
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    return html


def _header(staff) -> str:  # type: ignore[no-untyped-def]
    """The user menu of console/base.html: the staff name and branch are data."""
    return f"{staff.display_name} ({staff.branch.name if staff.branch else 'Head office'})"


def _signed_in(client, staff) -> None:  # type: ignore[no-untyped-def]
    assert login_staff(client, staff.login_id, DEFAULT_PASSWORD).status_code == 302
    client.use_english()


# --- Login and home ---------------------------------------------------------------------

def test_console_login_page_and_its_field_errors_are_english(client):
    client.use_english()
    html = english_page(client.get("/console/login"))
    assert leftover_japanese(html) == []
    assert "Bank Console Login" in html and "Login ID" in html and ">Log in</button>" in html
    empty = client.post_form("/console/login", {"login_id": "", "password": ""},
                             token_page="/console/login")
    html = english_page(empty)
    # beside each of the two fields, and again in the error summary (WCAG 3.3.1)
    assert empty.status_code == 400 and html.count("Please enter this item.") == 4
    assert leftover_japanese(html) == []


def test_branch_staff_home_lists_the_menu_in_english(client, factories):
    branch = factories.branch("横浜支店")
    staff = factories.staff(branch)
    _signed_in(client, staff)
    html = english_page(client.get("/console/"))
    assert leftover_japanese(html, _header(staff), staff.display_name, branch.name) == []
    assert f"{staff.display_name} ({branch.name})" in html
    assert "Registration guides (invitations)" in html and "MyPage application review" in html


def test_bank_admin_home_shows_the_longterm_banner_in_english(client, factories):
    admin = factories.staff(role="bank_admin")
    for n in (1, 2):
        db.session.add(LongtermAlert(package_id=n, document_id=n, document_title="契約書",
                                     recorded_sha256="0" * 64, problems="SHA-256が一致しません。"))
    db.session.commit()
    _signed_in(client, admin)
    html = english_page(client.get("/console/"))
    assert leftover_japanese(html, _header(admin), admin.display_name) == []
    assert "Head office / bank administrator" in html
    assert "(2 unacknowledged)" in html and "Check the long-term validation alerts" in html
    assert "Operation log" in html and "Long-term validation alerts" in html


def test_the_japanese_home_is_unchanged(client, factories):
    branch = factories.branch("横浜支店")
    staff = factories.staff(branch)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    html = client.get("/console/").get_data(as_text=True)
    assert f"{staff.display_name} さん（横浜支店）" in html
    assert "利用登録のご案内（招待）" in html


def test_logout_flash_is_english(client, factories):
    staff = factories.staff(factories.branch())
    _signed_in(client, staff)
    done = client.post_form("/console/logout", token_page="/console/logout")
    html = english_page(client.get(done.headers["Location"]))
    assert "You have logged out." in html and leftover_japanese(html) == []


# --- Invitations (APP-1) ----------------------------------------------------------------

def test_invitation_screens_are_english(client, factories):
    branch = factories.branch("横浜支店")
    staff = factories.staff(branch)
    _signed_in(client, staff)
    names = (_header(staff), staff.display_name, branch.name, "見込み商事")
    html = english_page(client.get("/console/invitations"))
    assert leftover_japanese(html, *names) == []
    assert "Issue a new guide" in html and "No guides have been issued yet." in html

    created = client.post_form("/console/invitations", {"customer_name": "見込み商事",
                                                        "valid_days": "14"},
                               token_page="/console/invitations")
    assert created.status_code == 302
    detail = english_page(client.get(created.headers["Location"]))
    assert leftover_japanese(detail, *names) == []
    assert "Application form URL" in detail and 'alt="QR code of the application form"' in detail
    listed = english_page(client.get("/console/invitations"))
    assert "見込み商事" in listed and leftover_japanese(listed, *names) == []


def test_invitation_field_errors_are_english(client, factories):
    staff = factories.staff(factories.branch("横浜支店"))
    _signed_in(client, staff)
    for days, message in (("１４", "Full-width digits cannot be used."),
                          ("91", "Please enter a number from 1 to 90 in half-width digits."),
                          ("", "Please enter this item.")):
        response = client.post_form("/console/invitations", {"valid_days": days},
                                    token_page="/console/invitations")
        html = english_page(response)
        assert response.status_code == 400 and message in html
        assert leftover_japanese(html, _header(staff), "横浜支店", days) == []
    assert db.session.query(Invitation).count() == 0


def test_staff_without_a_branch_gets_an_english_refusal(client, factories):
    staff = factories.staff()  # branch staff not (yet) assigned to a branch
    _signed_in(client, staff)
    response = client.post_form("/console/invitations", {"valid_days": "30"},
                                token_page="/console/invitations")
    html = english_page(response)
    assert "Only staff members who belong to a branch can issue guides." in html
    assert leftover_japanese(html, _header(staff)) == []
    assert db.session.query(Invitation).count() == 0


# --- Application review (APP-5) ---------------------------------------------------------

def _application(client, smtp_sink, branch) -> Application:  # type: ignore[no-untyped-def]
    assert ApplyFlow(client, smtp_sink).apply(CORPORATION_FORM, branch.id).status_code == 302
    return db.session.execute(select(Application)).scalar_one()


def test_application_list_detail_and_approval_are_english(client, smtp_sink, factories):
    branch = factories.branch("東京支店")
    application = _application(client, smtp_sink, branch)
    staff = factories.staff(branch)
    _signed_in(client, staff)
    data = (_header(staff), branch.name, *CORPORATION_FORM.values())

    listing = english_page(client.get("/console/applications"))
    assert leftover_japanese(listing, *data) == []
    assert "Applications awaiting review" in listing and ">Corporation<" in listing

    detail = english_page(client.get(f"/console/applications/{application.id}"))
    assert leftover_japanese(detail, *data) == []
    assert f"Application details (application No. {application.id})" in detail
    assert "Awaiting review" in detail and "Corporation name (katakana)" in detail
    assert "Verification by submitting documents" in detail and "☑ Yes" in detail
    assert ">Approve</button>" in detail and ">Reject</button>" in detail

    missing_reason = client.post_form(f"/console/applications/{application.id}/reject",
                                      {"reason": ""}, token_page="/console/invitations")
    html = english_page(missing_reason)
    assert missing_reason.status_code == 400 and "Please enter this item." in html
    assert leftover_japanese(html, *data) == []

    approved = client.post_form(f"/console/applications/{application.id}/approve", {},
                                token_page="/console/invitations")
    html = english_page(client.get(approved.headers["Location"]))
    db.session.refresh(application)
    assert application.state == ApplicationState.APPROVED
    assert "The application has been approved. MyPageID MP" in html
    assert "Approved" in html
    assert leftover_japanese(html, *data) == []
    assert leftover_japanese(english_page(client.get("/console/applications")), *data) == []


def test_rejection_and_its_reason_are_shown_in_english(client, smtp_sink, factories):
    branch = factories.branch("東京支店")
    application = _application(client, smtp_sink, branch)
    staff = factories.staff(branch)
    _signed_in(client, staff)
    reason = "本人確認ができませんでした。"
    rejected = client.post_form(f"/console/applications/{application.id}/reject",
                                {"reason": reason}, token_page="/console/invitations")
    html = english_page(client.get(rejected.headers["Location"]))
    assert "The application has been rejected." in html
    assert "Status: <strong id=\"application-state\">Reject</strong>" in html
    assert f"(reason: {reason})" in html
    assert leftover_japanese(html, _header(staff), branch.name, reason,
                             *CORPORATION_FORM.values()) == []


def test_the_japanese_review_page_keeps_its_texts(client, smtp_sink, factories):
    branch = factories.branch("東京支店")
    application = _application(client, smtp_sink, branch)
    staff = factories.staff(branch)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    html = client.get(f"/console/applications/{application.id}").get_data(as_text=True)
    assert f"お申込み内容（受付番号 {application.id}）" in html and "☑ 利用する" in html
    approved = client.post_form(f"/console/applications/{application.id}/approve", {},
                                token_page="/console/invitations")
    html = client.get(approved.headers["Location"]).get_data(as_text=True)
    assert "承認しました。MyPageID MP" in html
    assert "を発行し、お客さまにメールを送信しました。" in html


# --- Operation log (AUD-2) --------------------------------------------------------------

def test_audit_log_search_and_errors_are_english_and_the_csv_is_unchanged(client, factories):
    user = factories.customer()
    audit.record("kyc.uploaded", actor=user, target=user)
    db.session.commit()
    admin = factories.staff(role="bank_admin")
    _signed_in(client, admin)

    html = english_page(client.get("/console/audit?action=kyc"))
    assert "kyc.uploaded" in html and "Operator (MyPageID / login ID)" in html
    assert ">Export CSV<" in html
    # the operator's name is data (#13 item 9 shows it next to the MyPageID)
    assert leftover_japanese(html, _header(admin), admin.display_name, user.display_name) == []
    nothing = english_page(client.get("/console/audit?action=zzz"))
    assert "No matching log entries were found." in nothing
    assert leftover_japanese(nothing, _header(admin), admin.display_name) == []

    bad = client.get("/console/audit?date_from=2026-02-31&company_id=abc&actor=" + "x" * 65)
    html = english_page(bad)
    assert bad.status_code == 400
    assert "Please enter a valid date (e.g. 2026-04-01)." in html
    assert "Please enter half-width digits." in html
    assert "Please enter no more than 64 characters." in html
    assert leftover_japanese(html, _header(admin), admin.display_name) == []
    reversed_range = english_page(
        client.get("/console/audit?date_from=2026-05-02&date_to=2026-05-01"))
    assert "The end date must be on or after the start date." in reversed_range

    csv_body = client.get("/console/audit.csv?action=kyc").get_data(as_text=True)
    # the export stays Japanese for every visitor (#13 item 9: Japanese headers)
    assert csv_body.startswith("\ufeffNo.,日時（日本時間）,操作者の種別,")
    assert "kyc.uploaded" in csv_body


# --- Maintenance windows ----------------------------------------------------------------

def test_maintenance_registration_is_english(client, factories):
    admin = factories.staff(role="bank_admin")
    _signed_in(client, admin)
    html = english_page(client.get("/console/maintenance"))
    assert leftover_japanese(html, _header(admin), admin.display_name) == []
    assert "Register unscheduled maintenance" in html and "None." in html

    bad = client.post_form("/console/maintenance",
                           {"starts_at": "2026-13-40T25:00", "message": "x" * 501},
                           token_page="/console/maintenance")
    html = english_page(bad)
    assert bad.status_code == 400
    assert "Please enter a valid date and time." in html and "Please enter this item." in html
    assert "Please enter no more than 500 characters." in html
    assert leftover_japanese(html, _header(admin), admin.display_name) == []

    backwards = client.post_form("/console/maintenance",
                                 {"starts_at": f"{NEXT_YEAR}-01-01T03:00",
                                  "ends_at": f"{NEXT_YEAR}-01-01T01:00"},
                                 token_page="/console/maintenance")
    assert "The end must be later than the start." in english_page(backwards)

    message = "システム更改のため"
    ok = client.post_form("/console/maintenance", {"starts_at": f"{NEXT_YEAR}-01-01T01:00",
                                                   "ends_at": f"{NEXT_YEAR}-01-01T03:00",
                                                   "message": message},
                          token_page="/console/maintenance")
    html = english_page(client.get(ok.headers["Location"]))
    assert "The unscheduled maintenance has been registered." in html and message in html
    assert leftover_japanese(html, _header(admin), message) == []


def test_too_long_maintenance_message_is_a_japanese_field_error(client, factories):
    admin = factories.staff(role="bank_admin")
    login_staff(client, admin.login_id, DEFAULT_PASSWORD)
    bad = client.post_form("/console/maintenance", {"starts_at": f"{NEXT_YEAR}-01-01T01:00",
                                                    "ends_at": f"{NEXT_YEAR}-01-01T03:00",
                                                    "message": "あ" * 501},
                           token_page="/console/maintenance")
    assert bad.status_code == 400
    assert "500文字以内で入力してください。" in bad.get_data(as_text=True)
