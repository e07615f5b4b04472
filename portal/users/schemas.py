"""Input schemas of the users area. The personal fields are the APP-2 fields
of the application form (``portal.mypage.schemas``), reused as they are."""

from __future__ import annotations

from marshmallow import EXCLUDE

from portal.mypage.schemas import (
    LABELS,
    BusinessApplicationSchema,
    FormSchema,
    IndividualApplicationSchema,
    PersonFields,
)
from portal.validation import Choice, FullWidthText, KatakanaText, RomanText

ROLE_CHOICES = {
    "representative": "代表者",
    "administrator": "管理者",
    "signer": "署名者",
    "viewer": "参照者",
}
ROLE_HINTS = {
    "representative": "会社代表者",
    "administrator": "代表者に代わり、電子署名やユーザ追加等を行うことが可能なユーザ",
    "signer": "代表者に代わり、電子署名を行うことが可能なユーザ",
    "viewer": "MyPageにログインし、契約書の参照が可能なユーザ",
}
POA_CHOICES = {"system": "システム作成", "upload": "ファイルアップロード"}

USER_LABELS = {k: LABELS[k] for k in (
    "last_name", "first_name", "last_name_kana", "first_name_kana", "last_name_en",
    "first_name_en", "birth_date", "mobile", "email", "email_confirm", "department", "title",
    "personal_signing", "identity_method")} | {"role": "権限", "poa_method": "委任状登録方法"}

_extra = BusinessApplicationSchema._declared_fields


class _UserFields(PersonFields):
    """APP-2's person fields without the branch, plus 所属・役職・個人署名利用."""

    class Meta:
        unknown = EXCLUDE
        exclude = ("branch_id",)

    department = _extra["department"]
    title = _extra["title"]
    personal_signing = _extra["personal_signing"]


class NewUserSchema(_UserFields):
    """ユーザ新規登録 (USR-3)."""

    role = Choice(list(ROLE_CHOICES), required=True)
    poa_method = Choice(list(POA_CHOICES))


class EditUserSchema(_UserFields):
    """ユーザ情報変更 (USR-5): no role, no identity method."""

    class Meta:
        unknown = EXCLUDE
        exclude = ("branch_id", "identity_method")


_business = BusinessApplicationSchema._declared_fields
_individual = IndividualApplicationSchema._declared_fields


class BusinessCompanySchema(FormSchema):
    """契約者情報変更 for 法人 / 個人事業主 (CO-2); form names as on the application."""

    # The application's company-name rules, under the model's attribute names.
    name = FullWidthText(required=True, allow_space=True, max_length=100,
                         data_key="company_name")
    name_kana = KatakanaText(required=True, allow_space=True, max_length=150,
                             data_key="company_name_kana")
    name_en = RomanText(required=True, digits=True, max_length=100, data_key="company_name_en")
    postal_code = _business["postal_code"]
    address = _business["address"]
    established_on = _business["established_on"]
    phone = _business["phone"]


class IndividualCompanySchema(FormSchema):
    """個人: the address and phone (the name is the user's own, changed as user info)."""

    postal_code = _individual["postal_code"]
    address = _individual["address"]
    phone = _individual["phone"]


COMPANY_LABELS = {"company_name": "法人名", "company_name_kana": "法人名 カナ",
                  "company_name_en": "法人名 英字", "postal_code": "郵便番号", "address": "住所",
                  "established_on": "設立年月日", "phone": "電話番号"}
