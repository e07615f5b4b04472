"""English as the second locale (SPEC: UI language): the visitor switches with the
header link, Japanese stays the default, mail stays Japanese (MAIL-1)."""

from __future__ import annotations

from portal.mail import deliver_pending
from tests.conftest import DEFAULT_PASSWORD, login_customer


def test_japanese_is_the_default_and_the_header_offers_english(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="ja">' in page
    assert "電子契約サービス" in page
    assert 'hreflang="en"' in page and ">English</a>" in page


def test_the_language_link_sets_english_and_returns_to_the_same_screen(client):
    response = client.get("/lang/en?next=/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "portal_lang=en" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "E-Contract Service" in page
    assert ">日本語</a>" in page
    back = client.get("/lang/ja?next=/login")
    assert back.headers["Location"] == "/login"
    assert '<html lang="ja">' in client.get("/login").get_data(as_text=True)


def test_the_language_link_never_redirects_off_site(client):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "evil"):
        response = client.get("/lang/en", query_string={"next": target})
        assert response.headers["Location"] == "/", target


def test_an_unknown_language_keeps_japanese(client):
    client.get("/lang/xx?next=/login")
    assert '<html lang="ja">' in client.get("/login").get_data(as_text=True)


def test_error_pages_are_english_for_an_english_visitor(client):
    client.use_english()
    page = client.get("/no-such-page").get_data(as_text=True)
    assert "The page you are looking for was not found." in page
    assert "Error (404)" in page


def test_mail_stays_japanese_when_the_visitor_reads_english(client, factories, smtp_sink):
    user = factories.customer()
    client.use_english()
    client.post_form("/password/forgot", {"login_id": user.mypage_id},
                     token_page="/password/forgot")
    deliver_pending()
    assert smtp_sink.code_in_last(user.email, "認証コード")


def test_the_menu_follows_the_language_after_login(client, factories):
    user = factories.customer()
    login_customer(client, user.email, DEFAULT_PASSWORD)
    client.use_english()
    page = client.get("/").get_data(as_text=True)
    assert "Contracts to sign" in page and "Active contracts" in page
    assert "Representative" in page
