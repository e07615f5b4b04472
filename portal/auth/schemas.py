from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from portal.auth.password_policy import check_password_policy
from portal.i18n import gettext
from portal.validation import MSG

REQUIRED: dict[str, Any] = {"required": "入力してください。", "null": "入力してください。"}


def required_text(max_length: int, label_max: str | None = None) -> fields.String:
    return fields.String(
        required=True,
        error_messages=REQUIRED,
        validate=[
            validate.Length(min=1, error="入力してください。"),
            validate.Length(
                max=max_length, error=label_max or f"{max_length}文字以内で入力してください。"
            ),
        ],
    )


class CustomerLoginSchema(Schema):
    identifier = required_text(255)
    password = required_text(128)


class StaffLoginSchema(Schema):
    login_id = required_text(64)
    password = required_text(128)


class Password(fields.String):
    """A password is never normalised or stripped."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", True)
        kwargs["error_messages"] = {"required": MSG["required"], "null": MSG["required"],
                                    "invalid": MSG["invalid"]}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        result = super()._deserialize(value, attr, data, **kwargs)
        if result == "":
            raise self.make_error("required")
        if len(result) > 254:
            raise ValidationError(gettext(MSG["too_long"], max=254))
        return result


def check_new_password(data: dict[str, Any], new: str, confirm: str) -> None:
    """AUTH-2 on the new password (without the account: the rule function checks
    MyPageID and email later) and the confirmation typed alike."""
    errors: dict[str, list[str]] = {}
    policy = check_password_policy(data[new]) if new in data else []
    if policy:
        errors[new] = policy
    if new in data and confirm in data and data[new] != data[confirm]:
        errors[confirm] = ["新しいパスワード(確認用)が新しいパスワードと一致しません。"]
    if errors:
        raise ValidationError(errors)


class PasswordChangeSchema(Schema):
    """新パスワード登録 (AUTH-3: 現在のパスワード = the temporary one) and
    ログインパスワード変更 (AUTH-10)."""

    class Meta:
        unknown = EXCLUDE

    current_password = Password()
    new_password = Password()
    new_password_confirm = Password()

    @validates_schema(skip_on_field_errors=False)
    def _policy(self, data: dict[str, Any], **kwargs: Any) -> None:
        check_new_password(data, "new_password", "new_password_confirm")
        if data.get("current_password") and data.get("current_password") == data.get(
                "new_password"):
            raise ValidationError(
                {"new_password": ["現在のパスワードと異なるパスワードを設定してください。"]})
