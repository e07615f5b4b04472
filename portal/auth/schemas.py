from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

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
