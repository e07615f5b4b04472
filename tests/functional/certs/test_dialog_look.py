"""Walk defect (#15 rule 6): the sample signing dialog (電子署名のお試し) showed its
step indicator and inputs unlike the contract signing pages. It now uses their
markup: each step opens with ``p.steps`` naming the current step in <strong>, and
each input sits in a ``div.field`` under its label (one look for signing)."""

from __future__ import annotations

from types import SimpleNamespace

import lxml.html
from flask import render_template

from tests.conftest import DEFAULT_PASSWORD, login_customer
from tests.functional.certs.helpers import approve_kyc, register_and_issue


def _contract_page(app, name: str) -> lxml.html.HtmlElement:  # type: ignore[no-untyped-def]
    with app.test_request_context("/"):
        html = render_template(f"contracts/{name}.html", package=SimpleNamespace(id=1), errors={})
    return lxml.html.fromstring(html)


def _outer(element: lxml.html.HtmlElement) -> str:
    return " ".join(lxml.html.tostring(element, encoding="unicode", with_tail=False).split())


def test_sample_dialog_steps_and_fields_look_like_the_contract_signing_pages(
    app, client, factories
) -> None:  # type: ignore[no-untyped-def]
    rep = factories.customer()
    approve_kyc(rep)
    login_customer(client, rep.mypage_id, DEFAULT_PASSWORD)
    register_and_issue(client)
    page = lxml.html.fromstring(client.get("/certs/sample").get_data(as_text=True))
    dialog = page.get_element_by_id("signing-dialog")
    contract = {step: _contract_page(app, name) for step, name in
                (("pin", "sign_pin"), ("code", "sign_code"), ("done", "sign_execute"))}

    for step, contract_page in contract.items():
        indicator = dialog.xpath(f".//div[@data-step='{step}']/p[@class='steps']")
        assert len(indicator) == 1, step
        expected = contract_page.xpath("//p[@class='steps']")[0]
        assert _outer(indicator[0]) == _outer(expected), step
    assert not dialog.xpath(".//ol"), "no second kind of step indicator"

    for field_id, contract_id in (("dialog-pin", "pin"), ("dialog-code", "otp")):
        field = page.get_element_by_id(field_id).getparent()
        expected = contract[field_id.removeprefix("dialog-")].get_element_by_id(contract_id)
        assert field.get("class") == expected.getparent().get("class") == "field"
        assert field.xpath("./label")[0].get("for") == field_id
