"""Walk defect (#15 rule 6): the error page's 戻る goes back where the visitor came
from; without a referrer it leads a signed-in user to their own home (MyPage HOME
for a customer, the console HOME for staff), not to a login page."""

from __future__ import annotations

import lxml.html

from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff


def _back_link(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 404
    page = lxml.html.fromstring(response.get_data(as_text=True))
    link = page.get_element_by_id("error-back")
    assert link.text_content().strip() == "戻る"
    return str(link.get("href"))


def test_back_leads_a_customer_without_referrer_to_mypage_home(client, factories):
    user = factories.customer()
    assert login_customer(client, user.email, DEFAULT_PASSWORD).status_code == 302
    assert _back_link(client.get("/no-such-page")) == "/"
    assert _back_link(client.get("/contracts/999999")) == "/"
    # with a referrer, 戻る returns there
    assert _back_link(client.get("/no-such-page", headers={"Referer": "/faq"})) == "/faq"


def test_back_leads_staff_without_referrer_to_the_console_home(client, factories):
    staff = factories.staff()
    assert login_staff(client, staff.login_id, DEFAULT_PASSWORD).status_code == 302
    assert _back_link(client.get("/console/no-such-page")) == "/console/"
    elsewhere = client.get("/no-such-page")
    assert _back_link(elsewhere) == "/console/"
    # and the page keeps the console's header: staff have no MyPage (walk)
    assert '<body class="console">' in elsewhere.get_data(as_text=True)


def test_back_leads_a_visitor_to_the_login_of_the_side_they_are_on(client):
    assert _back_link(client.get("/no-such-page")) == "/login"
    assert _back_link(client.get("/console/no-such-page")) == "/console/"
