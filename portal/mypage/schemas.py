"""Input schemas of the MyPage application (APP-2…4), the forgotten password
(AUTH-5) and the email change (AUTH-6); the password change of AUTH-3/AUTH-10 is
``portal.auth.schemas.PasswordChangeSchema``. Shape and format only: no database,
no side effects.

The same schemas serve the HTML form and any API; the views pass
``request.form.to_dict()`` and show ``first_errors(err.messages)`` next to the
fields.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, validates_schema

from portal.auth.schemas import Password, check_new_password
from portal.validation import (
    MSG,
    CalendarDate,
    Checkbox,
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
    Text,
    check_match,
)

KIND_CORPORATION = "corporation"
KIND_SOLE_PROPRIETOR = "sole_proprietor"
KIND_INDIVIDUAL = "individual"
KIND_LABELS = {
    KIND_CORPORATION: "法人",
    KIND_SOLE_PROPRIETOR: "個人事業主",
    KIND_INDIVIDUAL: "個人",
}

IDENTITY_DOCUMENTS = "documents"
IDENTITY_IN_PERSON = "in_person"
IDENTITY_LABELS = {
    IDENTITY_DOCUMENTS: "書類提出による確認",
    IDENTITY_IN_PERSON: "対面確認",
}
MSG_IN_PERSON = (
    "対面確認は現在お選びいただけません。"
    "本人確認は「書類提出による確認」を選択してください"
    "（MyPage開設後に本人確認書類をアップロードしていただきます）。"
)

# Field labels of the source guide (§2.2), in display order, used by the form,
# the confirm page and the console.
LABELS = {
    "kind": "法人・個人区分",
    "company_name": "法人名",
    "company_name_kana": "法人名カナ",
    "company_name_en": "法人名英字",
    "postal_code": "郵便番号",
    "address": "住所",
    "established_on": "設立年月日",
    "phone": "電話番号",
    "last_name": "お名前(姓)",
    "first_name": "お名前(名)",
    "last_name_kana": "お名前(姓)カナ",
    "first_name_kana": "お名前(名)カナ",
    "last_name_en": "お名前(姓)英字",
    "first_name_en": "お名前(名)英字",
    "birth_date": "生年月日",
    "mobile": "携帯電話番号",
    "email": "メールアドレス",
    "email_confirm": "メールアドレス(確認用)",
    "department": "所属",
    "title": "役職",
    "personal_signing": "代表者保証などの個人署名利用",
    "identity_method": "本人確認方法",
    "branch_id": "お申込み支店",
}


class FormSchema(Schema):
    """HTML forms post extra keys (csrf_token, buttons): ignore them."""

    class Meta:
        unknown = EXCLUDE


class KindSchema(FormSchema):
    kind = Choice(list(KIND_LABELS), required=True)


class PersonFields(FormSchema):
    """The person part (代表者情報 / the individual)."""

    last_name = FullWidthText(required=True, max_length=30)
    first_name = FullWidthText(required=True, max_length=30)
    last_name_kana = KatakanaText(required=True, max_length=30)
    first_name_kana = KatakanaText(required=True, max_length=30)
    last_name_en = RomanText(required=True, max_length=40)
    first_name_en = RomanText(required=True, max_length=40)
    birth_date = CalendarDate(required=True)
    mobile = PhoneNumber(required=True)
    email = EmailAddress(required=True)
    email_confirm = EmailAddress(required=True)
    identity_method = Choice([IDENTITY_DOCUMENTS], required=True,
                             refused={IDENTITY_IN_PERSON: MSG_IN_PERSON})
    branch_id = IntegerChoice(required=True)

    @validates_schema(skip_on_field_errors=False)
    def _emails_match(self, data: dict[str, Any], **kwargs: Any) -> None:
        check_match(data, "email", "email_confirm", MSG["email_mismatch"])


class BusinessApplicationSchema(PersonFields):
    """法人 and 個人事業主 (ご契約者様情報 + 代表者情報)."""

    company_name = FullWidthText(required=True, allow_space=True, max_length=100)
    company_name_kana = KatakanaText(required=True, allow_space=True, max_length=150)
    company_name_en = RomanText(required=True, digits=True, max_length=100)
    postal_code = PostalCode(required=True)
    address = FreeText(required=True, max_length=200)
    established_on = CalendarDate(required=True)
    phone = PhoneNumber(required=True)
    department = FreeText(max_length=60)
    title = FreeText(max_length=60)
    personal_signing = Checkbox()


class IndividualApplicationSchema(PersonFields):
    """個人: the individual is the only user; 電話番号 is optional."""

    postal_code = PostalCode(required=True)
    address = FreeText(required=True, max_length=200)
    phone = PhoneNumber()


SCHEMAS: dict[str, type[FormSchema]] = {
    KIND_CORPORATION: BusinessApplicationSchema,
    KIND_SOLE_PROPRIETOR: BusinessApplicationSchema,
    KIND_INDIVIDUAL: IndividualApplicationSchema,
}


def load_application(form: dict[str, Any]) -> dict[str, Any]:
    """Validate an application for the kind it names. Returns the loaded data
    with ``kind``; raises ValidationError with every field's messages."""
    kind = KindSchema().load(form)["kind"]
    data: dict[str, Any] = SCHEMAS[kind]().load(form)
    data["kind"] = kind
    return data


def fields_for(kind: str) -> list[str]:
    """The field names shown for ``kind``, in the guide's order."""
    names = set(SCHEMAS[kind]().fields)
    return [name for name in LABELS if name in names or name == "kind"]


class VerificationCodeSchema(FormSchema):
    """認証コード (APP-4, AUTH-5, AUTH-6)."""

    code = DigitCode(required=True, min_digits=6, max_digits=8)


class LoginIdSchema(FormSchema):
    """失念時パスワード変更, step 1: メールアドレス (またはMyPageID)."""

    login_id = Text(required=True, max_length=254)


class PasswordResetSchema(FormSchema):
    """失念時パスワード変更, step 2 (AUTH-5): 認証コード + new password twice."""

    code = DigitCode(required=True, min_digits=6, max_digits=8)
    new_password = Password()
    new_password_confirm = Password()

    @validates_schema(skip_on_field_errors=False)
    def _policy(self, data: dict[str, Any], **kwargs: Any) -> None:
        check_new_password(data, "new_password", "new_password_confirm")


class EmailChangeSchema(FormSchema):
    """メールアドレス変更 (AUTH-6): the new address twice."""

    email = EmailAddress(required=True)
    email_confirm = EmailAddress(required=True)

    @validates_schema(skip_on_field_errors=False)
    def _emails_match(self, data: dict[str, Any], **kwargs: Any) -> None:
        check_match(data, "email", "email_confirm", MSG["email_mismatch"])


class InvitationSchema(FormSchema):
    """Console: 利用登録お手続きのご案内 for a prospective customer (APP-1)."""

    customer_name = FreeText(max_length=100)
    valid_days = HalfWidthInteger(required=True, minimum=1, maximum=90)


class RejectSchema(FormSchema):
    """Console: reject an application with a reason (APP-5)."""

    reason = FreeText(required=True, max_length=250)
