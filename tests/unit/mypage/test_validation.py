"""APP-2 / AUTH-2: table-driven checks of every field rule with good and bad values.

Each row is (field, input, expected): ``expected`` is the loaded value for a
good input, or ``Bad(<message fragment>)`` for a refused one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import time_machine
from marshmallow import ValidationError

from portal.auth.password_policy import check_password_policy
from portal.auth.schemas import PasswordChangeSchema
from portal.mypage.schemas import (
    MSG_IN_PERSON,
    BusinessApplicationSchema,
    EmailChangeSchema,
    IndividualApplicationSchema,
    PasswordResetSchema,
    load_application,
)
from portal.validation import (
    CalendarDate,
    Choice,
    DigitCode,
    EmailAddress,
    FreeText,
    FullWidthText,
    HalfWidthInteger,
    IntegerChoice,
    KatakanaText,
    PhoneNumber,
    PostalCode,
    RomanText,
    first_errors,
)
from tests.application_forms import CORPORATION_FORM, INDIVIDUAL_FORM

TODAY = date(2026, 11, 23)  # frozen "today" (JST) for the date rules


@dataclass(frozen=True)
class Bad:
    fragment: str


FIELDS: dict[str, Any] = {
    "name": FullWidthText(required=True),
    "company": FullWidthText(required=True, allow_space=True, max_length=100),
    "kana": KatakanaText(required=True),
    "company_kana": KatakanaText(required=True, allow_space=True),
    "name_en": RomanText(required=True),
    "company_en": RomanText(required=True, digits=True),
    "postal": PostalCode(required=True),
    "phone": PhoneNumber(required=True),
    "mobile": PhoneNumber(required=True),
    "date": CalendarDate(required=True),
    "email": EmailAddress(required=True),
    "address": FreeText(required=True, max_length=200),
    "optional": FreeText(),
    "code": DigitCode(required=True),
    "identity": Choice(["documents"], required=True, refused={"in_person": MSG_IN_PERSON}),
    "days": HalfWidthInteger(required=True, minimum=1, maximum=90),
    "branch": IntegerChoice(required=True),
}

CASES = [
    # --- full-width names (全角) -------------------------------------------
    ("name", "山田", "山田"),
    ("name", "ヤマダ", "ヤマダ"),
    ("name", "ＡＢＣ", "ＡＢＣ"),  # full-width Latin letters are full-width
    ("name", "髙橋", "髙橋"),
    ("name", "  山田 ", "山田"),  # leading/trailing half-width spaces stripped
    ("name", "\u3000山田\u3000", "山田"),  # leading/trailing full-width spaces stripped
    ("name", "カ\u3099ン", "ガン"),  # base + combining voiced mark → NFC ガ
    ("name", "Yamada", Bad("半角文字は使用できません")),
    ("name", "山田1", Bad("半角文字は使用できません")),
    ("name", "ﾔﾏﾀﾞ", Bad("半角カナは使用できません")),
    ("name", "山 田", Bad("半角文字は使用できません")),
    ("name", "山\u3000田", Bad("空白は入力できません")),
    ("name", "山\u200b田", Bad("制御文字")),  # zero-width space
    ("name", "山\n田", Bad("制御文字")),
    ("name", "ア\u3099", Bad("結合文字")),  # no precomposed form survives NFC
    ("name", "e\u0301", Bad("半角文字")),  # NFC makes é, which is half-width
    ("name", "山\ufe00", Bad("結合文字")),  # variation selector
    ("name", "\ue000", Bad("使用できない文字")),  # private use (外字)
    ("name", "", Bad("入力してください")),
    ("name", "   ", Bad("入力してください")),
    ("name", "山" * 51, Bad("50文字以内")),
    ("company", "株式会社\u3000法人１", "株式会社\u3000法人１"),
    ("company", "株式会社法人1", Bad("半角文字は使用できません")),
    ("company", "法" * 300, Bad("100文字以内")),
    # --- full-width katakana ------------------------------------------------
    ("kana", "ヤマダ", "ヤマダ"),
    ("kana", "ヴァーヂ", "ヴァーヂ"),
    ("kana", "ハ\u309a", "パ"),  # combining semi-voiced mark composes under NFC
    ("kana", "やまだ", Bad("ひらがなは使用できません")),
    ("kana", "山田", Bad("漢字は使用できません")),
    ("kana", "ﾔﾏﾀﾞ", Bad("半角カナは使用できません")),
    ("kana", "yamada", Bad("全角カタカナで入力")),
    ("kana", "ヤマ\u3000ダ", Bad("空白は入力できません")),
    ("kana", "ヤマダ１", Bad("全角カタカナで入力")),
    ("company_kana", "ホウジン\u3000イチ", "ホウジン\u3000イチ"),
    ("company_kana", "エー・ビー・シー", "エー・ビー・シー"),
    ("company_kana", "ホウジン1", Bad("全角カタカナで入力")),
    # --- half-width English letters (and digits for companies) --------------
    ("name_en", "Taro", "Taro"),
    ("name_en", "O'Brien", "O'Brien"),
    ("name_en", "Mary-Jane", "Mary-Jane"),
    ("name_en", " Taro ", "Taro"),
    ("name_en", "Ｔａｒｏ", Bad("全角文字は使用できません")),
    ("name_en", "Taro1", Bad("半角英字で入力")),
    ("name_en", "太郎", Bad("全角文字は使用できません")),
    ("name_en", "ﾀﾛｳ", Bad("全角文字は使用できません")),
    ("name_en", "Tarō", Bad("半角英字で入力")),
    ("company_en", "Houjin1", "Houjin1"),
    ("company_en", "ABC Trading Co.,Ltd.", "ABC Trading Co.,Ltd."),
    ("company_en", "Houjin１", Bad("全角文字は使用できません")),
    ("company_en", "Houjin@1", Bad("半角英数字で入力")),
    # --- postal code --------------------------------------------------------
    ("postal", "1040028", "1040028"),
    ("postal", " 1040028 ", "1040028"),
    ("postal", "104-0028", Bad("ハイフンなし")),
    ("postal", "104ー0028", Bad("ハイフンなし")),
    ("postal", "104002", Bad("7桁")),
    ("postal", "10400281", Bad("7桁")),
    ("postal", "１０４００２８", Bad("全角数字は使用できません。半角数字で入力")),
    ("postal", "104 0028", Bad("半角数字のみ")),
    ("postal", "abcdefg", Bad("半角数字のみ")),
    # --- phones -------------------------------------------------------------
    ("phone", "0308955034", "0308955034"),
    ("phone", "03-0895-5034", Bad("ハイフンなし")),
    ("phone", "０３０８９５５０３４", Bad("全角数字は使用できません")),
    ("phone", "308955034", Bad("10桁または11桁")),
    ("phone", "(03)08955034", Bad("半角数字のみ")),
    ("mobile", "09012345678", "09012345678"),
    ("mobile", "0901234567", "0901234567"),
    ("mobile", "090-1234-5678", Bad("ハイフンなし")),
    ("mobile", "090123456789", Bad("10桁または11桁")),
    ("mobile", "19012345678", Bad("0から始まる")),
    ("mobile", "+819012345678", Bad("半角数字のみ")),
    # --- dates (yyyymmdd or a calendar's yyyy-mm-dd), never in the future ---
    ("date", "19750314", date(1975, 3, 14)),
    ("date", "1975-03-14", date(1975, 3, 14)),
    ("date", "1975/3/14", date(1975, 3, 14)),
    ("date", "20261123", TODAY),  # today is allowed
    ("date", "20261124", Bad("未来の日付")),
    ("date", "2099-01-01", Bad("未来の日付")),
    ("date", "19750230", Bad("存在しない日付")),
    ("date", "１９７５０３１４", Bad("全角数字は使用できません")),
    ("date", "1975031", Bad("yyyymmdd")),
    ("date", "昭和50年3月14日", Bad("yyyymmdd")),
    ("date", "18991231", Bad("1900年1月1日以降")),
    # --- email --------------------------------------------------------------
    ("email", "Taro.Yamada@Example.co.jp", "taro.yamada@example.co.jp"),
    ("email", " taro@example.jp ", "taro@example.jp"),
    ("email", "taro@example", Bad("形式が正しくありません")),
    ("email", "taro..y@example.jp", Bad("形式が正しくありません")),
    ("email", "taro@@example.jp", Bad("形式が正しくありません")),
    ("email", "ｔａｒｏ@example.jp", Bad("全角文字は使用できません")),
    ("email", "たろう@example.jp", Bad("全角文字は使用できません")),
    ("email", "a" * 250 + "@example.jp", Bad("254文字以内")),
    # --- free text (address, 所属, 役職) --------------------------------------
    ("address", "東京都中央区仮1-1-1", "東京都中央区仮1-1-1"),
    ("address", "東京都中央区ﾅｶ1-1", Bad("半角カナは使用できません")),
    ("address", "東京都\t中央区", Bad("制御文字")),
    ("address", "あ" * 255, Bad("200文字以内")),
    ("optional", "", None),
    ("optional", "   ", None),
    ("optional", "営業部", "営業部"),
    ("optional", "x" * 255, Bad("200文字以内")),
    # --- verification code --------------------------------------------------
    ("code", "123456", "123456"),
    ("code", "12345678", "12345678"),
    ("code", "12345", Bad("6〜8桁")),
    ("code", "123456789", Bad("6〜8桁")),
    ("code", "１２３４５６", Bad("全角数字は使用できません")),
    ("code", "12 3456", Bad("6〜8桁")),
    # --- identity check method: only 書類提出による確認 ------------------------
    ("identity", "documents", "documents"),
    ("identity", "in_person", Bad("対面確認は現在お選びいただけません")),
    ("identity", "", Bad("選択してください")),
    ("identity", "other", Bad("選択肢の中から")),
    # --- half-width whole numbers and select-box ids -------------------------
    ("days", "30", 30),
    ("days", " 7 ", 7),
    ("days", "３０", Bad("全角数字は使用できません")),
    ("days", "0", Bad("1〜90の半角数字")),
    ("days", "91", Bad("1〜90の半角数字")),
    ("days", "1e1", Bad("1〜90の半角数字")),
    ("branch", "3", 3),
    ("branch", "", Bad("選択してください")),
    ("branch", "abc", Bad("選択してください")),
    ("branch", "-1", Bad("選択してください")),
    ("branch", "99999999999", Bad("選択してください")),
]


@pytest.fixture(autouse=True)
def frozen_today():
    # 2026-11-23 12:00 JST
    with time_machine.travel("2026-11-23T03:00:00+00:00", tick=False):
        yield


def _case_id(case: tuple[str, str, Any]) -> str:
    field, value, _ = case
    return f"{field}:{value[:20]!r}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_field_rule(case: tuple[str, str, Any]) -> None:
    field_name, value, expected = case
    field = FIELDS[field_name]
    if isinstance(expected, Bad):
        with pytest.raises(ValidationError) as info:
            field.deserialize(value)
        message = " ".join(info.value.messages)
        assert expected.fragment in message, message
    else:
        assert field.deserialize(value) == expected


@pytest.mark.parametrize("field_name", [name for name in FIELDS if name != "branch"])
def test_every_field_refuses_255_characters_or_more(field_name: str) -> None:
    for value in ("1" * 255, "あ" * 255, "a" * 10_000):
        with pytest.raises(ValidationError, match="文字以内"):
            FIELDS[field_name].deserialize(value)


def test_required_field_missing_says_so() -> None:
    with pytest.raises(ValidationError, match="入力してください"):
        FIELDS["name"].deserialize(None)


# --- whole application schemas ------------------------------------------------

CORPORATION = dict(CORPORATION_FORM, email="taro@example.jp", email_confirm="taro@example.jp",
                   branch_id="1", csrf_token="ignored")
INDIVIDUAL = dict(INDIVIDUAL_FORM, email="hanako@example.jp", email_confirm="hanako@example.jp",
                  branch_id="2")


def test_corporation_application_loads() -> None:
    data = load_application(CORPORATION)
    assert data["kind"] == "corporation"
    assert data["established_on"] == date(1999, 11, 3)
    assert data["personal_signing"] is True
    assert data["department"] is None
    assert data["branch_id"] == 1
    assert "csrf_token" not in data


def test_sole_proprietor_uses_the_business_fields() -> None:
    form = dict(CORPORATION, kind="sole_proprietor", company_name="個人\u3000事業",
                personal_signing=None)
    form.pop("personal_signing")
    data = load_application(form)
    assert data["kind"] == "sole_proprietor"
    assert data["company_name"] == "個人\u3000事業"
    assert data["personal_signing"] is False


def test_individual_application_loads_without_company_fields() -> None:
    data = load_application(INDIVIDUAL)
    assert data["phone"] is None
    assert "company_name" not in data
    assert "personal_signing" not in data


def test_individual_ignores_company_fields_sent_anyway() -> None:
    data = load_application(dict(INDIVIDUAL, company_name="悪意"))
    assert "company_name" not in data


def test_kind_is_required() -> None:
    with pytest.raises(ValidationError) as info:
        load_application({k: v for k, v in CORPORATION.items() if k != "kind"})
    assert first_errors(info.value.messages) == {"kind": "選択してください。"}


def test_mismatched_email_confirmation_is_a_field_error() -> None:
    with pytest.raises(ValidationError) as info:
        load_application(dict(CORPORATION, email_confirm="other@example.jp"))
    assert first_errors(info.value.messages) == {
        "email_confirm": "メールアドレス（確認用）がメールアドレスと一致しません。"}


def test_email_confirmation_compares_normalised_addresses() -> None:
    data = load_application(dict(CORPORATION, email_confirm=" TARO@example.JP "))
    assert data["email"] == data["email_confirm"] == "taro@example.jp"


def test_in_person_identity_check_is_refused_with_an_explanation() -> None:
    with pytest.raises(ValidationError) as info:
        load_application(dict(CORPORATION, identity_method="in_person"))
    assert first_errors(info.value.messages)["identity_method"] == MSG_IN_PERSON


def test_every_bad_field_is_reported_at_once() -> None:
    bad = dict(CORPORATION, company_name_kana="ほうじん", postal_code="104-0028",
               phone="03-0895-5034", birth_date="20991231", email_confirm="x@example.jp",
               branch_id="")
    with pytest.raises(ValidationError) as info:
        BusinessApplicationSchema().load(bad)
    assert set(info.value.messages) == {
        "company_name_kana", "postal_code", "phone", "birth_date", "email_confirm", "branch_id"}


def test_missing_required_fields_of_an_individual() -> None:
    with pytest.raises(ValidationError) as info:
        IndividualApplicationSchema().load({"kind": "individual"})
    errors = first_errors(info.value.messages)
    assert errors["last_name"] == "入力してください。"
    assert errors["branch_id"] == "選択してください。"
    assert errors["identity_method"] == "選択してください。"
    assert "phone" not in errors


# --- passwords (AUTH-2) -------------------------------------------------------

PASSWORDS = [
    ("Sakura1985Tokyo", None, None, []),
    ("aB3dE6gH9jK2", None, None, []),
    ("Ab1" + "x" * 13, None, None, []),  # 16 characters
    ("Ab1xxxxxx", None, None, ["10桁以上16桁以内"]),
    ("Ab1" + "x" * 14, None, None, ["10桁以上16桁以内"]),
    ("xyzwvuts1234", None, None, ["大文字、小文字"]),
    ("XYZWVUTS1234", None, None, ["大文字、小文字"]),
    ("AbcdefghIjkl", None, None, ["大文字、小文字"]),
    ("ＡbcdefXgh1234", None, None, ["半角英数字"]),
    ("Abcd efgh1234", None, None, ["半角英数字"]),
    ("Password1234", None, None, ["推測されやすい"]),
    ("Qwerty123456", None, None, ["推測されやすい"]),
    ("Sakura2024!!", None, None, ["推測されやすい"]),
    ("MP12345678Ab", "MP12345678", None, ["MyPageID"]),
    ("Xx1taro.yamada", None, "taro.yamada@example.jp", ["メールアドレス"]),
]


@pytest.mark.parametrize("password,mypage_id,email,fragments", PASSWORDS)
def test_password_policy(password: str, mypage_id: str | None, email: str | None,
                         fragments: list[str]) -> None:
    errors = check_password_policy(password, mypage_id=mypage_id, email=email)
    assert len(errors) == len(fragments), errors
    for fragment, message in zip(fragments, errors, strict=True):
        assert fragment in message


def test_first_login_schema_checks_policy_and_confirmation() -> None:
    with pytest.raises(ValidationError) as info:
        PasswordChangeSchema().load({"current_password": "Temp1234567x",
                                     "new_password": "short",
                                     "new_password_confirm": "shorter"})
    errors = info.value.messages
    assert "new_password" in errors and "new_password_confirm" in errors


def test_first_login_schema_keeps_passwords_unstripped() -> None:
    data = PasswordChangeSchema().load({"current_password": " Temp1234567x",
                                        "new_password": "Sakura1985Tokyo",
                                        "new_password_confirm": "Sakura1985Tokyo"})
    assert data["current_password"] == " Temp1234567x"


def test_first_login_new_password_must_differ_from_current() -> None:
    with pytest.raises(ValidationError, match="異なるパスワード"):
        PasswordChangeSchema().load({"current_password": "Sakura1985Tokyo",
                                     "new_password": "Sakura1985Tokyo",
                                     "new_password_confirm": "Sakura1985Tokyo"})


def test_password_reset_schema() -> None:
    data = PasswordResetSchema().load({"code": "12345678", "new_password": "Sakura1985Tokyo",
                                       "new_password_confirm": "Sakura1985Tokyo"})
    assert data["code"] == "12345678"
    with pytest.raises(ValidationError) as info:
        PasswordResetSchema().load({"code": "１２３４５６", "new_password": "Sakura1985Tokyo",
                                    "new_password_confirm": "Sakura1985Tokyx"})
    assert set(info.value.messages) == {"code", "new_password_confirm"}


def test_email_change_schema_requires_matching_confirmation() -> None:
    with pytest.raises(ValidationError) as info:
        EmailChangeSchema().load({"email": "a@example.jp", "email_confirm": "b@example.jp"})
    assert set(info.value.messages) == {"email_confirm"}
