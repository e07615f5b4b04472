"""Issue #12: hostile redirect targets and oversized requests (AUTH-1, i18n).
A redirect never carries a control character; an oversized request gets the
portal's own error page in the visitor's language, never a server error or
Werkzeug's English page."""

from __future__ import annotations

import pytest

from tests.conftest import DEFAULT_PASSWORD

HOSTILE_NEXT = ["/\r\nSet-Cookie: a=b", "/x\nLocation: //evil.example", "/\t/evil.example",
                "/ok\x00", "/\x7f", "/%0d%0a"]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_language_switch_ignores_a_next_with_control_characters(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location and "evil" not in location
    if "%0d" not in target:
        assert location == "/"


def test_language_switch_keeps_a_plain_same_site_next(client):
    response = client.get("/lang/en", query_string={"next": "/contracts/active?page=2"})
    assert response.headers["Location"] == "/contracts/active?page=2"


@pytest.mark.parametrize("target", HOSTILE_NEXT[:3])
def test_auth1_login_with_a_crlf_next_lands_on_home(client, factories, target):
    user = factories.customer()
    token = client.csrf_token("/login")
    response = client.post("/login", query_string={"next": target},
                           data={"identifier": user.email, "password": DEFAULT_PASSWORD,
                                 "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_console_login_with_a_crlf_next_lands_on_console_home(client, factories):
    staff = factories.staff(factories.branch())
    token = client.csrf_token("/console/login")
    response = client.post("/console/login", query_string={"next": "/console/\r\nX: y"},
                           data={"login_id": staff.login_id, "password": DEFAULT_PASSWORD,
                                 "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"


def test_an_over_long_url_gets_the_portals_page_in_japanese_and_english(client):
    url = "/contracts/active?counterparty=" + "%E3%81%82" * 500
    response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 414
    assert "URLが長すぎます。" in html and "Request-URI Too" not in html
    client.use_english()
    english = client.get(url).get_data(as_text=True)
    assert "The address (URL) is too long." in english


def test_an_oversized_body_gets_the_portals_413_page(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/login", data=b"x" * (limit + 1),
                           content_type="application/x-www-form-urlencoded")
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "ファイルのサイズが大きすぎます。" in html and "Request Entity" not in html


def test_a_code_without_its_own_text_still_gets_a_portal_page(client):
    response = client.post("/lang/en")  # 405: listed; an unlisted 4xx shares the 400 text
    assert response.status_code == 405
    assert "この操作はできません。" in response.get_data(as_text=True)
    bad_range = client.get("/static/css/portal.css", headers={"Range": "bytes=999999-"})
    assert bad_range.status_code == 416
    assert "リクエストの内容が正しくありません。" in bad_range.get_data(as_text=True)


@pytest.mark.parametrize("hostile_id", [2**31, 2**63, 2**64, 10**30])
def test_an_id_beyond_a_database_integer_is_not_found(client, factories, hostile_id):
    user = factories.customer()
    token = client.csrf_token("/login")
    client.post("/login", data={"identifier": user.email, "password": DEFAULT_PASSWORD,
                                "csrf_token": token})
    for url in (f"/contracts/{hostile_id}", f"/users/{hostile_id}/edit",
                f"/mypage/kyc/{hostile_id}"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "お探しのページは見つかりませんでした。" in response.get_data(as_text=True)
