"""AUD-2: the bank administrator searches and exports the operation log."""

from __future__ import annotations

from portal import audit
from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, login_staff


def test_admin_searches_and_exports_csv(client, factories):
    user = factories.customer()
    audit.record("kyc.uploaded", actor=user, target=user)
    audit.record("contract.signed", actor=user, target=user)
    db.session.commit()
    admin = factories.staff(role="bank_admin")
    login_staff(client, admin.login_id, DEFAULT_PASSWORD)
    page = client.get("/console/audit?action=kyc").get_data(as_text=True)
    assert "kyc.uploaded" in page and "contract.signed" not in page
    csv_response = client.get(f"/console/audit.csv?actor={user.mypage_id}")
    assert csv_response.headers["Content-Disposition"].startswith("attachment")
    body = csv_response.get_data(as_text=True)
    assert "kyc.uploaded" in body and "contract.signed" in body


def test_bad_search_input_gets_field_errors(client, factories):
    admin = factories.staff(role="bank_admin")
    login_staff(client, admin.login_id, DEFAULT_PASSWORD)
    response = client.get("/console/audit?date_from=2026-02-31&company_id=abc")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "日付を正しく入力してください" in html and "半角数字で入力してください。" in html


def test_branch_staff_cannot_read_the_audit_log(client, factories):
    staff = factories.staff(factories.branch())
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    assert client.get("/console/audit").status_code == 403
    assert client.get("/console/audit.csv").status_code == 403
