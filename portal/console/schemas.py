"""Console forms (ADM-1): branches, staff accounts, system notices, the
customer search and the bank-side customer fields. Shape and format only."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validates_schema

from portal.clock import JST, now, to_jst
from portal.i18n import gettext
from portal.models import StaffRole
from portal.validation import (
    MSG,
    Checkbox,
    Choice,
    EmailAddress,
    FreeText,
    IntegerChoice,
    Text,
    first_problem,
    normalize_text,
)

BAD_DATETIME = "日時を正しく入力してください。"
YEAR_OUT_OF_RANGE = "日時は前年から5年後までの範囲で入力してください。"
LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


class JstDateTime(fields.Field[datetime]):
    """A ``datetime-local`` value typed in 日本時間, loaded as aware UTC. The
    year is checked before any zone arithmetic, so year 1 or 9999 ends as a
    field error, never as an overflow."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> datetime:
        if not isinstance(value, str) or len(value) > 32:
            raise ValidationError(BAD_DATETIME)
        for fmt in LOCAL_FORMATS:
            try:
                typed = datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
            this_year = to_jst(now()).year
            if not this_year - 1 <= typed.year <= this_year + 5:
                raise ValidationError(YEAR_OUT_OF_RANGE)
            return typed.replace(tzinfo=JST).astimezone(UTC)
        raise ValidationError(BAD_DATETIME)


BRANCH_CODE_RE = re.compile(r"[0-9]{3,4}")
LOGIN_ID_RE = re.compile(r"[A-Za-z0-9._-]{4,32}")
MSG_BRANCH_CODE = "店番は半角数字3～4桁で入力してください。"
MSG_LOGIN_ID = "ログインIDは半角英数字（. _ - を含む）4～32文字で入力してください。"
MSG_NOTICE_ORDER = "掲載終了は掲載開始より後の日時にしてください。"
MSG_BRANCH_FOR_STAFF = "支店担当者には所属支店を選択してください。"


class BranchCode(Text):
    default_max_length = 4

    def check(self, value: str) -> None:
        if not BRANCH_CODE_RE.fullmatch(value):
            raise ValidationError(MSG_BRANCH_CODE)


class LoginId(Text):
    default_max_length = 32

    def check(self, value: str) -> None:
        if not LOGIN_ID_RE.fullmatch(value):
            raise ValidationError(MSG_LOGIN_ID)


class BranchCreateSchema(Schema):
    code = BranchCode(required=True)
    name = FreeText(required=True, max_length=50)


class BranchRenameSchema(Schema):
    name = FreeText(required=True, max_length=50)


STAFF_ROLES = [role.value for role in StaffRole]


class StaffSchema(Schema):
    """Create and edit; ``login_id`` only on create (it names the audit entries)."""

    name = FreeText(required=True, max_length=50)
    email = EmailAddress(required=True)
    role = Choice(STAFF_ROLES, required=True)
    branch_id = IntegerChoice(load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=True)
    def branch_for_branch_staff(self, data: dict[str, Any], **_: object) -> None:
        if data["role"] == StaffRole.BRANCH_STAFF and data.get("branch_id") is None:
            raise ValidationError(MSG_BRANCH_FOR_STAFF, "branch_id")


class StaffCreateSchema(StaffSchema):
    login_id = LoginId(required=True)


REQUIRED: dict[str, Any] = {"required": "入力してください。", "null": "入力してください。"}


class MultilineText(Text):
    """A notice body: free text with line breaks (the 254-character cap of
    one-line fields does not apply; other characters follow FreeText)."""

    def __init__(self, *, max_chars: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_chars = max_chars

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = normalize_text(value.replace("\r\n", "\n").replace("\r", "\n"))
        if not text:
            raise self.make_error("required")
        if len(text) > self.max_chars:
            raise ValidationError(gettext(MSG["too_long"], max=self.max_chars))
        problem = first_problem(text.replace("\n", ""))
        if problem:
            raise ValidationError(problem)
        FreeText().check(text)  # no half-width kana
        return text


class SystemNoticeSchema(Schema):
    title = FreeText(required=True, max_length=100)
    body = MultilineText(required=True, max_chars=2000)
    starts_at = JstDateTime(required=True, error_messages=REQUIRED)
    ends_at = JstDateTime(required=True, error_messages=REQUIRED)

    @validates_schema(skip_on_field_errors=True)
    def check_period(self, data: dict[str, datetime], **_: object) -> None:
        if data["ends_at"] <= data["starts_at"]:
            raise ValidationError(MSG_NOTICE_ORDER, "ends_at")


class CustomerSearchSchema(Schema):
    q = Text(max_length=100, load_default=None)


class BankFieldsSchema(Schema):
    """CO-1: what the bank records about a customer (not the customer's own data)."""

    deposit_branch_id = IntegerChoice(load_default=None, allow_none=True)
    is_debtor = Checkbox()
