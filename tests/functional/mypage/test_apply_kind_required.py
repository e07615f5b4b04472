"""Issue #13 item 6 (APP-2): 入力項目を表示 without a 法人・個人区分 chosen says so next
to the field instead of reloading the page silently."""

from __future__ import annotations

import re


def test_show_fields_without_a_kind_is_a_field_error(client):
    first = client.get("/apply")
    assert first.status_code == 200 and 'id="kind-error"' not in first.get_data(as_text=True)
    assert 'name="show"' in first.get_data(as_text=True)  # the button sends it

    refused = client.get("/apply?show=1")  # the browser's GET form with no radio chosen
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    error = re.search(r'id="kind-error"[^>]*>([^<]*)<', html)
    assert error and "法人・個人区分を選択してください" in error.group(1)
    assert 'id="application-form"' not in html

    chosen = client.get("/apply?kind=corporation&show=1")
    assert chosen.status_code == 200 and 'id="application-form"' in chosen.get_data(as_text=True)
    client.use_english()
    english = client.get("/apply?show=1").get_data(as_text=True)
    assert "Please choose corporation, sole proprietor or individual." in english
