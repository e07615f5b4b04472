"""Reusable marshmallow fields for Japanese personal and company data (APP-2).

Shared by the application form (APP-2), user registration (USR-3) and company
info (CO-2). Fields only check shape and format: no database, no side effects.

Decisions where the specification is silent:

* Every text is normalised to **NFC** first, so a kana typed as base letter +
  combining voiced mark (``カ`` + U+3099) is stored as the precomposed ``ガ``.
  A combining mark that survives NFC (it has no precomposed form, e.g.
  ``ア`` + U+3099, or a variation selector) is refused: it would print
  differently on contracts and certificates.
* Leading and trailing spaces (half-width, full-width U+3000, tabs, line
  breaks) are **stripped**, not refused: they come from copy and paste and
  carry no meaning. Spaces inside the value follow the field's own rule.
  Passwords are never stripped (they are not handled here).
* Half-width and full-width are never converted into each other (no NFKC):
  the user is told which one to use, so what is stored is what was typed.
* Every field refuses 255 characters or more; most have a tighter limit.
* Email addresses are stored lower-case so that "one address, one user"
  (APP-6) cannot be bypassed by changing letter case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Any

from marshmallow import ValidationError, fields

from portal import clock
from portal.i18n import gettext

ABSOLUTE_MAX_LENGTH = 254  # 255 characters or more are always refused

STRIP_CHARS = " \u3000\t\r\n"

MSG = {
    "required": "入力してください。",
    "select": "選択してください。",
    "invalid": "入力内容が正しくありません。",
    "too_long": "%(max)s文字以内で入力してください。",
    "control": "改行・タブなどの制御文字は使用できません。",
    "combining": "単独の濁点・アクセント記号などの結合文字は使用できません。",
    "unusable": "使用できない文字（外字・未定義の文字）が含まれています。",
    "full_width": "全角で入力してください。",
    "half_width_in_full": "半角文字は使用できません。全角で入力してください。",
    "half_kana_in_full": "半角カナは使用できません。全角で入力してください。",
    "space_not_allowed": "空白は入力できません。",
    "katakana": "全角カタカナで入力してください。",
    "hiragana_in_kana": "ひらがなは使用できません。全角カタカナで入力してください。",
    "kanji_in_kana": "漢字は使用できません。全角カタカナで入力してください。",
    "half_kana_in_kana": "半角カナは使用できません。全角カタカナで入力してください。",
    "alpha": "半角英字で入力してください。",
    "alnum": "半角英数字で入力してください。",
    "full_width_in_alpha": "全角文字は使用できません。半角英字で入力してください。",
    "full_width_in_alnum": "全角文字は使用できません。半角英数字で入力してください。",
    "full_width_digits": "全角数字は使用できません。半角数字で入力してください。",
    "digits_only": "半角数字のみで入力してください（ハイフン・空白は不要です）。",
    "postal_hyphen": "ハイフンなしの半角数字7桁で入力してください。",
    "postal_length": "郵便番号は半角数字7桁で入力してください。",
    "phone_hyphen": "ハイフンなしの半角数字で入力してください。",
    "phone_length": "0から始まる半角数字10桁または11桁で入力してください。",
    "date_format": "yyyymmdd（例: 19750314）の形式で入力するか、カレンダーから選択してください。",
    "date_invalid": "存在しない日付です。",
    "date_future": "未来の日付は入力できません。",
    "date_too_old": "1900年1月1日以降の日付を入力してください。",
    "email": "メールアドレスの形式が正しくありません。",
    "email_full_width": "全角文字は使用できません。メールアドレスは半角英数字で入力してください。",
    "email_mismatch": "メールアドレス（確認用）がメールアドレスと一致しません。",
    "code_format": "認証コードは半角数字%(min)s〜%(max)s桁で入力してください。",
    "choice": "選択肢の中から選択してください。",
    "int_range": "%(min)s〜%(max)sの半角数字で入力してください。",
    "half_kana_in_text": "半角カナは使用できません。全角で入力してください。",
}

HALF_WIDTH_KATAKANA = re.compile("[\uff61-\uff9f]")
FULL_WIDTH_DIGITS = re.compile("[\uff10-\uff19]")
ASCII_DIGITS = re.compile(r"[0-9]+")
HIRAGANA = re.compile("[\u3041-\u309f]")
KATAKANA_CHARS = "\u30a1-\u30fa\u30fc\u30fd\u30fe"  # ァ…ヺ, ー, ヽ, ヾ
# CJK ideographs (unified, extension A, compatibility) and the iteration mark 々.
KANJI = re.compile("[\u3005\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+",
    re.ASCII,
)


def normalize_text(value: str) -> str:
    """NFC, then strip leading/trailing half- and full-width spaces."""
    return unicodedata.normalize("NFC", value).strip(STRIP_CHARS)


def is_full_width(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("F", "W")


def first_problem(value: str) -> str | None:
    """Characters no field accepts: controls, stray combining marks, unassigned."""
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Zl", "Zp"):
            return MSG["control"]
        if category in ("Mn", "Mc", "Me"):
            return MSG["combining"]
        if category in ("Cs", "Co", "Cn"):
            return MSG["unusable"]
    return None


class Text(fields.String):
    """A normalised, length-limited text. Subclasses add a character rule.

    An empty value (after stripping) is "missing": a required field says
    「入力してください。」, an optional one loads as ``None``.
    """

    default_max_length = 100

    def __init__(self, *, max_length: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"] = {
            "required": MSG["required"],
            "null": MSG["required"],
            "invalid": MSG["invalid"],
            "invalid_utf8": MSG["invalid"],
            **kwargs["error_messages"],
        }
        if not kwargs.get("required"):
            kwargs.setdefault("allow_none", True)
            kwargs.setdefault("load_default", None)
        super().__init__(**kwargs)
        self.max_length = min(max_length or self.default_max_length, ABSOLUTE_MAX_LENGTH)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = normalize_text(value)
        if not text:
            if self.required:
                raise self.make_error("required")
            return None
        if len(text) > self.max_length:
            raise ValidationError(gettext(MSG["too_long"], max=self.max_length))
        problem = first_problem(text)
        if problem:
            raise ValidationError(problem)
        self.check(text)
        return self.convert(text)

    def check(self, value: str) -> None:
        """Raise ValidationError if a character is not allowed (override)."""

    def convert(self, value: str) -> Any:
        return value


class FreeText(Text):
    """Addresses, departments, titles: any printable text except half-width kana.

    Half-width katakana is refused everywhere because it does not survive
    printing on contracts and certificates.
    """

    default_max_length = 200

    def check(self, value: str) -> None:
        if HALF_WIDTH_KATAKANA.search(value):
            raise ValidationError(MSG["half_kana_in_text"])


class FullWidthText(Text):
    """Names (全角). ``allow_space`` permits the full-width space U+3000 inside
    (e.g. 個人事業主: 姓と名の間は全角1文字空け)."""

    default_max_length = 50

    def __init__(self, *, allow_space: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.allow_space = allow_space

    def check(self, value: str) -> None:
        if HALF_WIDTH_KATAKANA.search(value):
            raise ValidationError(MSG["half_kana_in_full"])
        if " " in value:
            raise ValidationError(MSG["half_width_in_full"])
        if "\u3000" in value and not self.allow_space:
            raise ValidationError(MSG["space_not_allowed"])
        if not all(is_full_width(c) for c in value):
            raise ValidationError(MSG["half_width_in_full"])


class KatakanaText(Text):
    """Full-width katakana only (ー and ヽヾ included; ・ and the full-width space
    only when ``allow_space`` is set, e.g. company names)."""

    default_max_length = 100

    def __init__(self, *, allow_space: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        extra = "\u3000\u30fb" if allow_space else ""
        self.pattern = re.compile(f"[{KATAKANA_CHARS}{extra}]+")

    def check(self, value: str) -> None:
        if self.pattern.fullmatch(value):
            return
        if HALF_WIDTH_KATAKANA.search(value):
            raise ValidationError(MSG["half_kana_in_kana"])
        if HIRAGANA.search(value):
            raise ValidationError(MSG["hiragana_in_kana"])
        if KANJI.search(value):
            raise ValidationError(MSG["kanji_in_kana"])
        if "\u3000" in value or " " in value:
            raise ValidationError(MSG["space_not_allowed"])
        raise ValidationError(MSG["katakana"])


class RomanText(Text):
    """Half-width English letters (person names: letters, with a single space,
    hyphen or apostrophe between parts). ``digits=True`` (company names)
    also allows digits, spaces and ``& . , ' -``."""

    default_max_length = 50

    PERSON = re.compile(r"[A-Za-z]+(?:[ '\-][A-Za-z]+)*", re.ASCII)
    COMPANY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 &.,'\-]*[A-Za-z0-9.])?", re.ASCII)

    def __init__(self, *, digits: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.digits = digits

    def check(self, value: str) -> None:
        pattern = self.COMPANY if self.digits else self.PERSON
        if pattern.fullmatch(value):
            return
        if any(is_full_width(c) or HALF_WIDTH_KATAKANA.match(c) for c in value):
            raise ValidationError(
                MSG["full_width_in_alnum"] if self.digits else MSG["full_width_in_alpha"])
        raise ValidationError(MSG["alnum"] if self.digits else MSG["alpha"])


def _digits_problem(value: str, hyphen_message: str) -> str | None:
    if FULL_WIDTH_DIGITS.search(value):
        return MSG["full_width_digits"]
    if any(c in "-‐－ー―" for c in value):
        return hyphen_message
    if not ASCII_DIGITS.fullmatch(value):
        return MSG["digits_only"]
    return None


class PostalCode(Text):
    """7 half-width digits, no hyphen (e.g. 1040028)."""

    # The exact length is checked after the hyphen check, whose message helps more.
    default_max_length = ABSOLUTE_MAX_LENGTH

    def check(self, value: str) -> None:
        problem = _digits_problem(value, MSG["postal_hyphen"])
        if problem:
            raise ValidationError(problem)
        if len(value) != 7:
            raise ValidationError(MSG["postal_length"])


class PhoneNumber(Text):
    """Half-width digits only, 10 or 11 digits starting with 0: the SPEC's
    mobile rule, also applied to landlines (10 digits in Japan)."""

    default_max_length = ABSOLUTE_MAX_LENGTH

    def check(self, value: str) -> None:
        problem = _digits_problem(value, MSG["phone_hyphen"])
        if problem:
            raise ValidationError(problem)
        if not (10 <= len(value) <= 11 and value.startswith("0")):
            raise ValidationError(MSG["phone_length"])


DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)
DATE_SEPARATED = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", re.ASCII)
MIN_DATE = date(1900, 1, 1)


def today_jst() -> date:
    return clock.to_jst(clock.now()).date()


class CalendarDate(Text):
    """``yyyymmdd`` typed by hand, or ``yyyy-mm-dd`` from a calendar input
    (``yyyy/mm/dd`` is accepted too). Not in the future (JST), not before 1900."""

    default_max_length = ABSOLUTE_MAX_LENGTH

    def __init__(self, *, allow_future: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.allow_future = allow_future

    def check(self, value: str) -> None:
        if FULL_WIDTH_DIGITS.search(value):
            raise ValidationError(MSG["full_width_digits"])

    def convert(self, value: str) -> date:
        match = DATE_COMPACT.fullmatch(value) or DATE_SEPARATED.fullmatch(value)
        if not match:
            raise ValidationError(MSG["date_format"])
        try:
            parsed = date(*(int(part) for part in match.groups()))
        except ValueError as exc:
            raise ValidationError(MSG["date_invalid"]) from exc
        if parsed < MIN_DATE:
            raise ValidationError(MSG["date_too_old"])
        if not self.allow_future and parsed > today_jst():
            raise ValidationError(MSG["date_future"])
        return parsed

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value


class EmailAddress(Text):
    """Half-width address, stored lower-case."""

    default_max_length = ABSOLUTE_MAX_LENGTH

    def check(self, value: str) -> None:
        if any(is_full_width(c) or HALF_WIDTH_KATAKANA.match(c) for c in value):
            raise ValidationError(MSG["email_full_width"])
        if not EMAIL_RE.fullmatch(value) or ".." in value or len(value.split("@")[0]) > 64:
            raise ValidationError(MSG["email"])

    def convert(self, value: str) -> str:
        return value.lower()


class DigitCode(Text):
    """A numeric one-time code (認証コード), ``min_digits``–``max_digits`` digits."""

    default_max_length = ABSOLUTE_MAX_LENGTH

    def __init__(self, *, min_digits: int = 6, max_digits: int = 8, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min_digits, self.max_digits = min_digits, max_digits

    def check(self, value: str) -> None:
        if FULL_WIDTH_DIGITS.search(value):
            raise ValidationError(MSG["full_width_digits"])
        if not (ASCII_DIGITS.fullmatch(value)
                and self.min_digits <= len(value) <= self.max_digits):
            raise ValidationError(
                gettext(MSG["code_format"], min=self.min_digits, max=self.max_digits))


class HalfWidthInteger(Text):
    """A whole number typed in half-width digits, within ``minimum``–``maximum``."""

    default_max_length = 20

    def __init__(self, *, minimum: int, maximum: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum

    def check(self, value: str) -> None:
        if FULL_WIDTH_DIGITS.search(value):
            raise ValidationError(MSG["full_width_digits"])
        if not ASCII_DIGITS.fullmatch(value) or not (
                self.minimum <= int(value) <= self.maximum):
            raise ValidationError(gettext(MSG["int_range"], min=self.minimum, max=self.maximum))

    def convert(self, value: str) -> int:
        return int(value)


class Choice(Text):
    """One of fixed values; ``refused`` maps values that are shown but refused
    to their explanation (e.g. 対面確認)."""

    default_max_length = ABSOLUTE_MAX_LENGTH

    def __init__(self, choices: list[str], *, refused: Mapping[str, str] | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"] = {"required": MSG["select"], "null": MSG["select"],
                                    **kwargs["error_messages"]}
        super().__init__(**kwargs)
        self.choices = list(choices)
        self.refused = dict(refused or {})

    def check(self, value: str) -> None:
        if value in self.refused:
            raise ValidationError(self.refused[value])
        if value not in self.choices:
            raise ValidationError(MSG["choice"])


class Checkbox(fields.Boolean):
    """An HTML checkbox: present ("on", "1", "true") is True, absent is False."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", False)
        kwargs.setdefault("error_messages", {"invalid": MSG["invalid"]})
        super().__init__(**kwargs)


class IntegerChoice(fields.Integer):
    """A select box whose values are ids (e.g. お申込み支店)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"] = {"required": MSG["select"], "null": MSG["select"],
                                    "invalid": MSG["select"], **kwargs["error_messages"]}
        super().__init__(strict=False, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise self.make_error("required")
        result = super()._deserialize(value, attr, data, **kwargs)
        if result is None or not 0 < result < 2**31:  # a database id (INTEGER)
            raise self.make_error("invalid")
        return result


def check_match(data: Mapping[str, Any], field: str, confirm_field: str,
                message: str) -> None:
    """Schema-level helper: ``confirm_field`` must equal ``field`` when both
    loaded. Raise it from a ``@validates_schema(skip_on_field_errors=False)``."""
    if field in data and confirm_field in data and data[field] != data[confirm_field]:
        raise ValidationError({confirm_field: [message]})


def first_errors(messages: Mapping[str, Any]) -> dict[str, str]:
    """Flatten marshmallow's ``{field: [msg, ...]}`` into ``{field: msg}`` for
    templates that show one message next to each field."""
    flat: dict[str, str] = {}
    for key, value in messages.items():
        if isinstance(value, list) and value:
            flat[key] = str(value[0])
        elif isinstance(value, dict):
            flat[key] = next(iter(first_errors(value).values()), MSG["invalid"])
        else:
            flat[key] = str(value)
    return flat


def clean_file_name(name: str) -> str:
    """An uploaded file's name as stored and shown (KYC, PoA, contract PDFs).

    NFC, then every invisible format character (Unicode category Cf: bidi
    overrides and isolates such as U+202E, zero-width spaces and joiners, the
    BOM, soft hyphens) is removed, so ``請求書\\u202Efdp.exe`` is kept as what
    it really is (``請求書fdp.exe``) and cannot pose as a PDF on any screen,
    audit entry or download. Control characters are left for the caller to
    refuse; surrounding spaces are stripped."""
    text = unicodedata.normalize("NFC", name)
    return "".join(c for c in text if unicodedata.category(c) != "Cf").strip()
