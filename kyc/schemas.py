"""Input shapes for the KYC screens (format only; rules live in services)."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from kyc.document_types import DocumentCategory

REQUIRED: dict[str, Any] = {"required": "選択してください。", "null": "選択してください。"}
CATEGORY_CHOICE = validate.OneOf([c.value for c in DocumentCategory],
                                 error="書類の区分が正しくありません。")


class _Form(Schema):
    class Meta:
        unknown = EXCLUDE


class ConsentSchema(_Form):
    understood = fields.Boolean(load_default=False)
    decision = fields.String(required=True, error_messages=REQUIRED,
                             validate=validate.OneOf(["agree", "decline"],
                                                     error="ボタンを押して選択してください。"))


class ChooseTypeSchema(_Form):
    category = fields.String(required=True, error_messages=REQUIRED, validate=CATEGORY_CHOICE)
    document_type = fields.String(
        required=True, error_messages=REQUIRED,
        validate=validate.Length(min=1, max=40, error="選択してください。"))


class UploadSchema(_Form):
    category = fields.String(required=True, error_messages=REQUIRED, validate=CATEGORY_CHOICE)
    slot = fields.String(
        required=True, error_messages=REQUIRED,
        validate=validate.Length(min=1, max=20, error="書類の指定が正しくありません。"))


REASON_REQUIRED: dict[str, Any] = {"required": "差戻し理由を入力してください。",
                                   "null": "差戻し理由を入力してください。"}


class RejectSchema(_Form):
    reason = fields.String(
        required=True,
        error_messages=REASON_REQUIRED,
        validate=validate.Length(min=1, max=500,
                                 error="差戻し理由は1文字以上500文字以内で入力してください。"),
    )
