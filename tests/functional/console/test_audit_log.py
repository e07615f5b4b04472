"""AUD-2 (#13 item 9): the operation log speaks Japanese (action and target
labels, the operator's name), finds an operator by name or email, tells a
page past the end what there is, exports a CSV with Japanese headers and one
charset; console error pages keep the console header."""

from __future__ import annotations

import csv
import io

import pytest

from portal import audit
from portal.auth.decorators import staff_required
from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, login_staff
from tests.i18n_support import leftover_japanese


@pytest.fixture
def admin(client, factories):  # type: ignore[no-untyped-def]
    staff = factories.staff(role="bank_admin")
    assert login_staff(client, staff.login_id, DEFAULT_PASSWORD).status_code == 302
    return staff


@pytest.fixture
def customer(factories):  # type: ignore[no-untyped-def]
    user = factories.customer()
    audit.record("login.success", actor=user, target=user)
    audit.record("contract.document.viewed", actor=user, target=("ContractPackage", 5))
    db.session.commit()
    return user


def test_actions_and_targets_have_japanese_labels(client, admin, customer):
    html = client.get("/console/audit").get_data(as_text=True)
    assert "ログイン成功" in html and "login.success" in html  # the label, and the code
    assert "契約書の閲覧" in html and "契約案件 No.5" in html
    assert customer.display_name in html and customer.mypage_id in html


def test_unknown_action_falls_back_to_its_family(client, admin):
    audit.record("kyc.something_new")
    audit.record("totally.unknown")
    db.session.commit()
    html = client.get("/console/audit").get_data(as_text=True)
    assert "本人確認書類" in html and "totally.unknown" in html


def test_find_an_operator_by_name_or_email(client, admin, customer, factories):
    other = factories.customer()
    other.last_name = "佐藤"
    audit.record("login.success", actor=other, target=other)
    db.session.commit()
    for query in ("山田", f"山田{customer.first_name}", f"山田　{customer.first_name}",
                  customer.email.upper(), customer.email.split("@")[0], customer.mypage_id):
        html = client.get("/console/audit", query_string={"actor": query}).get_data(
            as_text=True)
        assert customer.mypage_id in html and other.mypage_id not in html, query
    staff_query = client.get("/console/audit", query_string={"actor": admin.name})
    assert admin.login_id in staff_query.get_data(as_text=True)
    # LIKE wildcards are literal
    wild = client.get("/console/audit?actor=%25").get_data(as_text=True)
    assert "該当する操作ログはありません。" in wild


def test_a_page_past_the_end_says_so(client, admin, customer):
    response = client.get("/console/audit?page=7")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "7ページ目はありません。該当する操作ログは3件（1ページ）です。" in html
    assert "page=1" in html  # a link to the last page


def test_csv_has_japanese_headers_labels_and_one_charset(client, admin, customer):
    response = client.get("/console/audit.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][:9] == ["No.", "日時（日本時間）", "操作者の種別", "操作者ID", "操作者名",
                           "お客さまID", "IPアドレス", "操作", "操作コード"]
    viewed = next(r for r in rows if "contract.document.viewed" in r)
    assert viewed[2] == "お客さま" and viewed[4] == customer.display_name
    assert viewed[7] == "契約書の閲覧" and viewed[9] == "契約案件" and viewed[10] == "5"
    assert viewed[1].endswith("+09:00")


def test_english_log_page_has_english_labels(client, admin, customer):
    client.use_english()
    html = client.get("/console/audit").get_data(as_text=True)
    assert "Login succeeded" in html and "Contract viewed" in html and "No. 5" in html
    main = html.split("<main", 1)[1]  # this page's own text (the menu belongs to every area)
    assert leftover_japanese(main, customer.display_name, admin.display_name) == []


def _is_console_page(html: str) -> bool:
    return "console-header" in html and "銀行コンソール" in html


def test_console_errors_use_the_console_header(app, client, factories):
    @staff_required
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("test: unexpected failure")

    app.add_url_rule("/console/test-boom", "console_test_boom", boom)
    staff = factories.staff(factories.branch())
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    for url, code in (("/console/audit", 403), ("/console/no-such-page", 404),
                      ("/console/test-boom", 500)):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == code, url
        assert _is_console_page(html) and 'href="/console/"' in html, url
    # a visitor's (or customer's) 404 outside the console keeps MyPage's header; a
    # signed-in staff member keeps the console's everywhere (no MyPage of their own)
    mypage_404 = app.test_client().get("/no-such-page").get_data(as_text=True)
    assert "console-header" not in mypage_404
    assert "console-header" in client.get("/no-such-page").get_data(as_text=True)
