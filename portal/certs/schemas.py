"""Input shapes of the PIN screens (PIN-1, PIN-3) and the signing dialog.
Shape and format only; each broken PIN-1 rule gets its own message."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validates_schema

from portal.i18n import gettext
from portal.mypage.schemas import IDENTITY_DOCUMENTS, IDENTITY_IN_PERSON, MSG_IN_PERSON, FormSchema
from portal.validation import Choice

FORBIDDEN_SYMBOLS = '";:=>?[]^{}/*,&()-|_'
FORBIDDEN_DISPLAY = '" ; : = > ? [ ] ^ { } / * , & ( ) - | _'
REQUIRED = "必須項目です。入力してください。"
MISMATCH = "確認用の入力が一致しません。同じ値を入力してください。"


def pin_rule_errors(pin: str) -> list[str]:
    """PIN-1: one message per broken rule, naming the rule."""
    problems = []
    if not 8 <= len(pin) <= 32:
        problems.append("8文字以上32文字以内で入力してください。")
    if not re.fullmatch(r"[\x21-\x7e]*", pin):
        problems.append("半角の英数字・記号で入力してください（全角文字・空白は使用できません）。")
    if not re.search(r"[A-Z]", pin):
        problems.append("半角英字の大文字を1文字以上含めてください。")
    bad = sorted({c for c in pin if c in FORBIDDEN_SYMBOLS}, key=FORBIDDEN_SYMBOLS.index)
    if bad:
        problems.append(
            gettext(
                "使用できない記号（%(found)s）が含まれています。"
                "使用できない記号は %(symbols)s です。",
                found=" ".join(bad),
                symbols=FORBIDDEN_DISPLAY,
            )
        )
    return problems


class PinField(fields.String):
    """A PIN exactly as typed (never trimmed) checked against PIN-1."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text == "":
            raise ValidationError(REQUIRED)
        problems = pin_rule_errors(text)
        if problems:
            raise ValidationError(problems)
        return text


class SecretField(fields.String):
    """A PIN being checked by the service (the current one): only required and bounded."""

    def __init__(self, *, blank: str = REQUIRED, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.blank = blank

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text == "":
            raise ValidationError(self.blank)
        if len(text) > 64:
            raise ValidationError("入力が長すぎます。")
        return text


class _Form(Schema):
    class Meta:
        unknown = EXCLUDE


class InitialPinSchema(_Form):
    """初期PIN / 初期PIN(確認用)."""

    pin = PinField(required=True, error_messages={"required": REQUIRED})
    pin_confirm = SecretField(required=True, error_messages={"required": REQUIRED})

    @validates_schema(skip_on_field_errors=False)
    def _same(self, data: dict[str, Any], **_: Any) -> None:
        if (
            "pin" in data
            and data.get("pin_confirm") is not None
            and data["pin"] != data["pin_confirm"]
        ):
            raise ValidationError(MISMATCH, "pin_confirm")


class ChangePinSchema(_Form):
    """現在のPIN / 変更後のPIN / 変更後のPIN(確認用)."""

    current_pin = SecretField(required=True, error_messages={"required": REQUIRED})
    new_pin = PinField(required=True, error_messages={"required": REQUIRED})
    new_pin_confirm = SecretField(required=True, error_messages={"required": REQUIRED})

    @validates_schema(skip_on_field_errors=False)
    def _same(self, data: dict[str, Any], **_: Any) -> None:
        if (
            "new_pin" in data
            and data.get("new_pin_confirm") is not None
            and data["new_pin"] != data["new_pin_confirm"]
        ):
            raise ValidationError(MISMATCH, "new_pin_confirm")
        if data.get("new_pin") and data.get("new_pin") == data.get("current_pin"):
            raise ValidationError("現在のPINと異なるPINを入力してください。", "new_pin")


PIN_REQUIRED = "署名用PINを入力してください。"
CODE_REQUIRED = "認証コードを入力してください。"


class SendCodeSchema(_Form):
    """The signing dialog's 送信 (the sample's, the PoA's): the signing PIN
    (checked by the service)."""

    pin = SecretField(required=True, blank=PIN_REQUIRED,
                      error_messages={"required": PIN_REQUIRED})


class SignDialogSchema(_Form):
    """The signing dialog's 認証 (the sample's, the PoA's): the mailed code, as
    typed or pasted (the PIN was checked at 送信)."""

    code = fields.String(required=True, error_messages={"required": CODE_REQUIRED})

    @pre_load
    def _trim(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("code"), str):
            return {**data, "code": data["code"].strip()}
        return data

    @validates_schema
    def _code_digits(self, data: dict[str, Any], **_: Any) -> None:
        code = data.get("code", "")
        if code == "":
            raise ValidationError(CODE_REQUIRED, "code")
        if not re.fullmatch(r"[0-9]{6,10}", code):
            raise ValidationError("認証コードは半角数字で入力してください。", "code")


# --- 電子証明書発行依頼 (CERT-2) ------------------------------------------------------------

REASON_CHOICES = {
    "details_changed": "記載事項変更",
    "pin_forgotten": "PIN失念",
    "extend_validity": "有効期限延長",
}


class CertRequestSchema(FormSchema):
    """電子証明書発行依頼 (CERT-2): the reason and the identity method."""

    reason = Choice(list(REASON_CHOICES), required=True)
    identity_method = Choice([IDENTITY_DOCUMENTS], required=True,
                             refused={IDENTITY_IN_PERSON: MSG_IN_PERSON})
