"""PIN-1 as a table: each broken rule gets a message naming it."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from portal.certs.schemas import ChangePinSchema, InitialPinSchema, pin_rule_errors


@pytest.mark.parametrize(
    ("pin", "expected"),
    [
        ("Abcdefg1", []),
        ("A" + "b" * 31, []),
        ("Abc!#$%'+.<@~`1", []),
        ("Abcdef1", ["8文字以上32文字以内"]),
        ("A" * 33, ["8文字以上32文字以内"]),
        ("abcdefgh", ["大文字"]),
        ("Abcd efgh", ["半角の英数字"]),
        ("Ａbcdefgh", ["半角の英数字", "大文字"]),
        *[(f"Abcdefg{c}", [f"使用できない記号（{c}）"]) for c in '";:=>?[]^{}/*,&()-|_'],
        ("ab_", ["8文字以上32文字以内", "大文字", "使用できない記号（_）"]),
    ],
)
def test_pin1_rules(pin: str, expected: list[str]) -> None:
    problems = pin_rule_errors(pin)
    assert len(problems) == len(expected)
    for fragment, problem in zip(expected, problems, strict=True):
        assert fragment in problem


def test_pin1_entered_twice_and_required() -> None:
    with pytest.raises(ValidationError) as exc:
        InitialPinSchema().load({"pin": "Abcdefg1", "pin_confirm": "Abcdefg2"})
    assert "pin_confirm" in exc.value.messages
    with pytest.raises(ValidationError) as exc:
        InitialPinSchema().load({})
    assert set(exc.value.messages) == {"pin", "pin_confirm"}
    with pytest.raises(ValidationError):  # never trimmed: a space is not a PIN character
        InitialPinSchema().load({"pin": " Abcdefg1", "pin_confirm": " Abcdefg1"})


def test_pin3_new_pin_follows_the_rules_and_differs() -> None:
    with pytest.raises(ValidationError) as exc:
        ChangePinSchema().load(
            {"current_pin": "Abcdefg1", "new_pin": "Abcdefg1", "new_pin_confirm": "Abcdefg1"}
        )
    assert "new_pin" in exc.value.messages
    data = ChangePinSchema().load(
        {"current_pin": "x", "new_pin": "Newpin2027", "new_pin_confirm": "Newpin2027"}
    )
    assert data["new_pin"] == "Newpin2027"
