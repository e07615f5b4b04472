"""Standing rule: no input makes a 500 (APP-2 bad input, AUTH-5/6 forms,
console review). Odd values go to every POST endpoint of issue 3."""

from __future__ import annotations

import pytest

from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff

ODD_VALUES = ["", " ", "\x00", "a" * 100_000, "１２３", "ｱｲｳ", "-1", "99999999999999999999",
              "1e9", "🙂", "<script>alert(1)</script>", "' OR 1=1 --", "\ud800".encode(
                  "utf-8", "surrogatepass").decode("utf-8", "replace")]
APPLY_FIELDS = ["kind", "company_name", "company_name_kana", "company_name_en", "postal_code",
                "address", "established_on", "phone", "last_name", "first_name",
                "last_name_kana", "first_name_kana", "last_name_en", "first_name_en",
                "birth_date", "mobile", "email", "email_confirm", "department", "title",
                "personal_signing", "identity_method", "branch_id"]


def _payloads(fields: list[str]) -> list[dict[str, str]]:
    payloads: list[dict[str, str]] = [{}]
    for value in ODD_VALUES:
        payloads.append({name: value for name in fields})
    payloads.append({name: "corporation" if name == "kind" else "x" for name in fields})
    return payloads


@pytest.mark.parametrize("url", ["/apply/confirm", "/apply/back", "/apply/send-code"])
def test_application_endpoints(client, factories, url):
    factories.branch()
    for payload in _payloads(APPLY_FIELDS):
        response = client.post_form(url, payload, token_page="/apply?kind=individual")
        assert response.status_code < 500, (url, payload)


def test_code_and_password_endpoints(client, factories):
    for url, fields in [("/apply/verify", ["code"]), ("/apply/resend", []),
                        ("/password/forgot", ["login_id"]),
                        ("/password/reset", ["code", "new_password", "new_password_confirm"]),
                        ("/password/resend", [])]:
        for payload in _payloads(fields):
            response = client.post_form(url, payload, token_page="/password/forgot")
            assert response.status_code < 500, (url, payload)


def test_logged_in_endpoints(client, factories):
    company = factories.company()
    user = factories.customer(company)
    other = factories.customer(company, role="signer", temporary=True)
    login_customer(client, user.email, DEFAULT_PASSWORD)
    for url, fields in [("/settings/email", ["email", "email_confirm"]),
                        ("/settings/email/verify", ["code"]),
                        (f"/settings/users/{other.id}/temporary-password", []),
                        ("/settings/users/999999/temporary-password", [])]:
        for payload in _payloads(fields):
            response = client.post_form(url, payload, token_page="/settings/email")
            assert response.status_code < 500, (url, payload)
    first = factories.customer(company, temporary=True, password="TempPass1234")
    fresh = client.application.test_client()
    login_customer(fresh, first.email, "TempPass1234")
    for payload in _payloads(["current_password", "new_password", "new_password_confirm"]):
        response = fresh.post_form("/first-login", payload, token_page="/first-login")
        assert response.status_code < 500, payload


def test_console_endpoints(client, factories, flow):
    from tests.functional.mypage.conftest import INDIVIDUAL_FORM

    branch = factories.branch()
    flow.apply(INDIVIDUAL_FORM, branch.id)
    staff = factories.staff(branch)
    db.session.commit()
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    for url, fields in [("/console/invitations", ["customer_name", "valid_days"]),
                        ("/console/applications/1/reject", ["reason"]),
                        ("/console/applications/999/approve", [])]:
        for payload in _payloads(fields):
            response = client.post_form(url, payload, token_page="/console/invitations")
            assert response.status_code < 500, (url, payload)
    assert client.get("/console/invitations/1/qr.gif").status_code == 404
