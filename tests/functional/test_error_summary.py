"""#13 item 17 (WCAG 2.1 AA 3.3.1, 1.3.1): a refused form opens with one error
summary (role="alert", focused by portal.js) whose messages link to their
fields, and every field with a hint or an error names them in aria-describedby
so a screen reader reads them when the field takes focus."""

from __future__ import annotations

import lxml.html

from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff


def _summary_and_fields(html: str) -> tuple[list[tuple[str, str]], lxml.html.HtmlElement]:
    page = lxml.html.fromstring(html)
    summaries = page.xpath("//main//*[@id='error-summary']")
    assert len(summaries) == 1, "one error summary at the top of the page"
    summary = summaries[0]
    assert summary.get("role") == "alert" and summary.get("tabindex") == "-1"
    assert page.xpath("//script[contains(@src, 'js/portal.js')]"), "portal.js moves focus to it"
    links = [(a.get("href"), a.text_content().strip()) for a in summary.xpath(".//a")]
    return links, page


def _described_by(page: lxml.html.HtmlElement, field_id: str) -> list[str]:
    field = page.get_element_by_id(field_id)
    ids = (field.get("aria-describedby") or "").split()
    for described in ids:  # each id names an element of the page
        assert page.get_element_by_id(described, None) is not None, described
    return ids


def test_refused_branch_form_summarises_and_links_its_errors(client, factories):
    staff = factories.staff(role="bank_admin")
    assert login_staff(client, staff.login_id, DEFAULT_PASSWORD).status_code == 302
    refused = client.post_form("/console/branches", {"code": "12", "name": ""},
                               token_page="/console/branches")
    links, page = _summary_and_fields(refused.get_data(as_text=True))
    assert ("#code", "店番は半角数字3～4桁で入力してください。") in links
    # each message names its field by the label shown; a message that already
    # names it (店番…) is not prefixed again
    assert ("#name", "支店名：入力してください。") in links
    assert _described_by(page, "code") == ["code-hint", "code-error"]
    assert page.get_element_by_id("code-hint").text_content() == "半角数字3～4桁"
    assert _described_by(page, "name") == ["name-error"]
    assert page.get_element_by_id("code").get("aria-invalid") == "true"
    # The same summary reads in English.
    client.use_english()
    english = client.post_form("/console/branches", {"code": "12", "name": "x"},
                               token_page="/console/branches").get_data(as_text=True)
    assert "There are errors in your input. Please check the following items." in english
    english_links = _summary_and_fields(english)[0]
    assert ("#code", "Please enter a branch code of 3 or 4 half-width digits.") in english_links


def test_refused_application_form_summarises_every_field_error(client, factories):
    factories.branch()
    refused = client.post_form("/apply/confirm", {"kind": "individual"},
                               token_page="/apply?kind=individual")
    assert refused.status_code == 400
    links, page = _summary_and_fields(refused.get_data(as_text=True))
    fields = {href[1:] for href, _ in links}
    assert {"last_name", "email"} <= fields
    for name in fields:
        errors = page.xpath(f"//*[@id='{name}-error']")
        assert errors, f"{name}: the summary links a field whose error is shown"
        if page.get_element_by_id(name, None) is not None and page.get_element_by_id(name).tag in (
                "input", "select", "textarea"):
            assert f"{name}-error" in _described_by(page, name)
    # A page without errors has no summary; the hints are still linked.
    blank = lxml.html.fromstring(client.get("/apply?kind=individual").get_data(as_text=True))
    assert not blank.xpath("//*[@id='error-summary']")
    hints = blank.xpath("//*[contains(@class, 'hint') and contains(@id, '-hint')]")
    hinted = [e.get("id")[:-len("-hint")] for e in hints]
    assert hinted
    for name in hinted:
        if blank.get_element_by_id(name, None) is not None:
            assert f"{name}-hint" in _described_by(blank, name)


def test_summary_names_the_field_of_each_message_in_japanese_and_english(client, factories):
    """Walk defect (#15 rule 6): 「入力してください。」 once per field said nothing about
    which field; each line now starts with the label the form shows, radio groups by
    their legend, without the 必須 badge."""
    factories.branch()
    form = "/apply?kind=corporation"
    refused = client.post_form("/apply/confirm", {"kind": "corporation"}, token_page=form)
    links = dict(_summary_and_fields(refused.get_data(as_text=True))[0])
    assert links["#last_name"] == "お名前(姓)：入力してください。"
    assert links["#company_name"] == "法人名：入力してください。"
    assert links["#identity_method"] == "本人確認方法：選択してください。"  # a fieldset's legend
    assert links["#branch_id"] == "お申込み支店：選択してください。"  # a select
    texts = list(links.values())
    assert len(set(texts)) == len(texts), "no two lines of the summary read the same"
    assert not any("必須" in text for text in texts)

    client.use_english()
    english = client.post_form("/apply/confirm", {"kind": "corporation"}, token_page=form)
    links = dict(_summary_and_fields(english.get_data(as_text=True))[0])
    assert links["#last_name"] == "Last name: Please enter this item."
    assert links["#identity_method"] == "Identity verification method: Please make a selection."


def test_user_registration_summary_names_the_role_group(client, factories):
    user = factories.customer()
    assert login_customer(client, user.email, DEFAULT_PASSWORD).status_code == 302
    refused = client.post_form("/users/new", {}, token_page="/users/new")
    links = dict(_summary_and_fields(refused.get_data(as_text=True))[0])
    assert links["#last_name"] == "お名前(姓)：入力してください。"
    assert links["#email_confirm"] == "メールアドレス(確認用)：入力してください。"
    assert links["#role"] == "権限：選択してください。"  # the radio group's legend, not an option


def test_password_rules_are_read_with_the_new_password_field(client, factories):
    user = factories.customer()
    assert login_customer(client, user.email, DEFAULT_PASSWORD).status_code == 302
    refused = client.post_form("/settings/password", {"current_password": "x"},
                               token_page="/settings/password")
    links, page = _summary_and_fields(refused.get_data(as_text=True))
    assert "#new_password" in [href for href, _ in links]
    assert _described_by(page, "new_password") == ["password-rules", "new_password-error"]
    assert "10桁以上16桁以内" in page.get_element_by_id("password-rules").text_content()


def test_summary_lists_the_fields_in_the_order_the_form_shows_them(client, factories):
    """Walk (#15 rule 6): the 申込 summary listed the 代表者 fields before 法人情報,
    the opposite of the page; a reader works down the summary as down the form."""
    factories.branch()
    form = "/apply?kind=corporation"
    refused = client.post_form("/apply/confirm", {"kind": "corporation"}, token_page=form)
    html = refused.get_data(as_text=True)
    links = [href[1:] for href, _ in _summary_and_fields(html)[0]]
    page = lxml.html.fromstring(html)
    form_order = [e.get("id") for e in page.xpath("//form//*[@id]") if e.get("id") in links]
    placed = [name for name in links if name in form_order]
    assert placed == sorted(placed, key=form_order.index)
    assert links.index("company_name") < links.index("last_name")
