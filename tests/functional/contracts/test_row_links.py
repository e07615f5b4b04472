"""CON-7 (#13 item 11, guide §4.2.1): a click anywhere on a contract list's row
opens the package. No script: the first cell's link covers the row by CSS, so the
row is one link for the keyboard (Tab, Enter) and for a screen reader too."""

from __future__ import annotations

import re
from pathlib import Path

from tests.functional.contracts.conftest import create_package, customer_client, staff_client

ROW = re.compile(r'<tr class="clickable"[^>]*>\s*<td><a class="row-link" href="([^"]+)">')


def _css() -> str:
    return (Path(__file__).parents[3] / "static" / "css" / "portal.css").read_text()


def test_each_row_of_the_customer_list_is_one_link_to_its_package(app, world, contract_pdf):
    first = create_package(app, world, contract_pdf, send=True)
    second = create_package(app, world, contract_pdf, send=True)
    client = customer_client(app, world.rep)
    html = client.get("/contracts/to-sign").get_data(as_text=True)
    assert sorted(ROW.findall(html)) == sorted([f"/contracts/{first}", f"/contracts/{second}"])
    assert html.count('<tr class="clickable"') == 2  # every row, and only the link
    assert "<script>" not in html and "onclick" not in html  # nothing the CSP would refuse
    assert client.get(f"/contracts/{first}").status_code == 200


def test_each_row_of_the_console_list_is_one_link_to_its_package(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    html = staff_client(app, world.staff).get("/console/contracts").get_data(as_text=True)
    assert ROW.findall(html) == [f"/console/contracts/{package_id}"]


def test_the_link_covers_the_row_and_shows_the_focus():
    css = _css()
    assert "table.list tr.clickable { position: relative; }" in css
    assert ('table.list tr.clickable a.row-link::after { content: ""; position: absolute; '
            "inset: 0; }") in css
    assert "table.list tr.clickable:focus-within" in css
