"""Input shapes of the contract area (CON-1, CON-4, CON-5, CON-8).

Shape and format only: no database, no current user. Parties arrive as
numbered form rows (``party-0-company`` …); ``party_rows`` turns them into a
list the schema validates.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates_schema

from portal.i18n import gettext
from portal.validation import CalendarDate, Checkbox, Choice, FreeText, IntegerChoice

from .models import SigningPosition, SummaryType

MAX_PARTIES = 6
MAX_AMOUNT = 1_000_000_000_000  # 1兆円: anything above is a typing error
EARLIEST = date(2000, 1, 1)

REQUIRED_AMOUNT = {SummaryType.LOAN_ONLY, SummaryType.LOAN_WITH_GUARANTEE, SummaryType.OVERDRAFT,
                   SummaryType.CANCELLATION}


PARTIES_REQUIRED = "署名者（当事者）を1件以上指定してください。"


class FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE


class Yen(fields.Field[int | None]):
    """融資金額: half- or full-width digits, commas and a trailing 円 allowed."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> int | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValidationError("金額を正しく入力してください。")
        text = unicodedata.normalize("NFKC", value).strip().replace(",", "").removesuffix("円")
        text = text.strip()
        if not text:
            return None
        if text.startswith("-"):
            raise ValidationError("融資金額に負の値は入力できません。")
        if not text.isascii() or not text.isdigit():
            raise ValidationError("融資金額は数字（円単位）で入力してください。")
        if len(text.lstrip("0")) > len(str(MAX_AMOUNT)):  # int() refuses >4300 digits
            raise ValidationError("融資金額が大きすぎます。金額（円単位）をご確認ください。")
        amount = int(text)
        if amount == 0:
            raise ValidationError("融資金額は1円以上で入力してください。")
        if amount > MAX_AMOUNT:
            raise ValidationError("融資金額が大きすぎます。金額（円単位）をご確認ください。")
        return amount


class PartySchema(FormSchema):
    company_id = IntegerChoice(required=True)
    position = Choice([p.value for p in SigningPosition], required=True)
    user_id = IntegerChoice(load_default=None, allow_none=True)  # bounded: a database id


def _date(**kwargs: Any) -> CalendarDate:
    return CalendarDate(allow_future=True, **kwargs)


class PackageSchema(FormSchema):
    application_date = _date(required=True)
    summary_type = Choice([s.value for s in SummaryType], required=True)
    loan_amount = Yen(load_default=None, allow_none=True)
    planned_loan_date = _date(required=True)
    staff_in_charge_id = IntegerChoice(required=True)
    cancels_package_id = IntegerChoice(load_default=None, allow_none=True)
    parties = fields.List(fields.Nested(PartySchema), required=True,
                          error_messages={"required": PARTIES_REQUIRED})

    @validates_schema(skip_on_field_errors=False)
    def check_rules(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        summary = data.get("summary_type")
        if summary in REQUIRED_AMOUNT and "loan_amount" in data and data["loan_amount"] is None:
            errors["loan_amount"] = ["入力してください。"]
        applied, planned = data.get("application_date"), data.get("planned_loan_date")
        for name, value in (("application_date", applied), ("planned_loan_date", planned)):
            if value is not None and not EARLIEST <= value <= date(2100, 12, 31):
                errors[name] = ["日付が範囲外です。正しい日付を入力してください。"]
        if applied and planned and planned < applied and "planned_loan_date" not in errors:
            errors["planned_loan_date"] = ["融資予定日は申込日以降の日付を入力してください。"]
        if summary == SummaryType.CANCELLATION and not data.get("cancels_package_id"):
            errors["cancels_package_id"] = ["取消対象の契約を選択してください。"]
        parties = data.get("parties")
        if parties is not None and not parties:
            errors["parties"] = ["署名者（当事者）を1件以上指定してください。"]
        elif parties and len(parties) > MAX_PARTIES:
            errors["parties"] = [gettext("当事者は%(n)s件以内で指定してください。", n=MAX_PARTIES)]
        if errors:
            raise ValidationError(errors)


def party_rows(form: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Numbered rows ``party-N-company/position/user``; blank rows are skipped."""
    rows = []
    for n in range(MAX_PARTIES + 4):
        company = (form.get(f"party-{n}-company") or "").strip()
        position = (form.get(f"party-{n}-position") or "").strip()
        user = (form.get(f"party-{n}-user") or "").strip()
        if not (company or position or user):
            continue
        rows.append({"company_id": company, "position": position, "user_id": user or None})
    return rows


def load_package_form(form: Mapping[str, Any]) -> dict[str, Any]:
    data = {k: form.get(k) for k in ("application_date", "summary_type", "loan_amount",
                                      "planned_loan_date", "staff_in_charge_id")}
    data["cancels_package_id"] = form.get("cancels_package_id") or None
    data["parties"] = party_rows(form)
    loaded: dict[str, Any] = PackageSchema().load(data)
    return loaded


class ConfirmSchema(FormSchema):
    """CON-4: the two checkboxes on the confirmation screen."""

    important_confirmed = Checkbox()
    documents_confirmed = Checkbox()


class RejectSchema(FormSchema):
    comment = FreeText(required=True, max_length=200,
                       error_messages={"required": "否認理由（署名コメント）を入力してください。"})


class DocumentTitleSchema(FormSchema):
    """#13 item 13: the title staff give a document (shown to customers and on the report)."""

    title = FreeText(required=True, max_length=200,
                     error_messages={"required": "書類名を入力してください。"})


def _rule(allowed: Callable[[Any], bool], message: str) -> Callable[[Any], None]:
    """A validator that raises: marshmallow 4 ignores a validator's False result."""

    def check(value: Any) -> None:
        if not allowed(value):
            raise ValidationError(message)

    return check


PIN_REQUIRED = "署名用PINを入力してください。"


class PinSchema(FormSchema):
    pin = fields.String(required=True, validate=_rule(lambda s: 1 <= len(s) <= 32, PIN_REQUIRED),
                        error_messages={"required": PIN_REQUIRED})


OTP_DIGITS = "認証コードは半角数字で入力してください。"


class OtpSchema(FormSchema):
    otp = fields.String(required=True,
                        validate=_rule(lambda s: s.isascii() and s.isdigit() and 6 <= len(s) <= 8,
                                       OTP_DIGITS),
                        error_messages={"required": "認証コードを入力してください。"})


PASSWORD_REQUIRED = "パスワードを入力してください。"


class ConcludeSchema(FormSchema):
    password = fields.String(required=True,
                             validate=_rule(lambda s: 0 < len(s) <= 128, PASSWORD_REQUIRED),
                             error_messages={"required": PASSWORD_REQUIRED})


BAD_PAGE = "ページ番号が正しくありません。"
SEARCH_LATEST = date(2100, 12, 31)


class SearchSchema(FormSchema):
    """CON-8: every criterion optional, combinable."""

    date_from = _date(load_default=None)
    date_to = _date(load_default=None)
    amount_min = Yen(load_default=None, allow_none=True)
    amount_max = Yen(load_default=None, allow_none=True)
    counterparty = FreeText(max_length=100)
    page = fields.Integer(load_default=1, validate=_rule(lambda n: 1 <= n <= 100_000, BAD_PAGE),
                          error_messages={"invalid": BAD_PAGE})

    @validates_schema(skip_on_field_errors=True)
    def check_ranges(self, data: dict[str, Any], **_: Any) -> None:
        # 申込日 is a JST calendar date: date_to includes its whole day. Far years
        # (9999) match nothing and are a typing error, as on the package form.
        for name in ("date_from", "date_to"):
            if data.get(name) and not EARLIEST <= data[name] <= SEARCH_LATEST:
                raise ValidationError("日付が範囲外です。正しい日付を入力してください。", name)
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("終了日は開始日以降の日付を入力してください。", "date_to")
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            raise ValidationError("上限金額は下限金額以上で入力してください。", "amount_max")


# Built once: every list page loads its criteria, and building a schema (its
# fields, hooks and options) cost more than loading an empty query string.
# marshmallow 4 schemas keep no per-load state, so threads may share it.
_SEARCH = SearchSchema()


def load_search(args: Mapping[str, Any]) -> dict[str, Any]:
    raw = {k: v for k, v in args.items() if v not in ("", None)}
    loaded: dict[str, Any] = _SEARCH.load(raw)
    return loaded
