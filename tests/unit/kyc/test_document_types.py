"""KYC-2: document types are data; employment documents for corporations only."""

from __future__ import annotations

import pytest

from kyc.document_types import (
    DOCUMENT_TYPES,
    DocumentCategory,
    get_document_type,
    required_categories,
    types_in,
)
from kyc.errors import DocumentTypeNotAllowed
from portal.models import CompanyKind


def slot_labels(code: str, category: DocumentCategory = DocumentCategory.IDENTITY) -> list[str]:
    return [s.label for s in get_document_type(code, category, CompanyKind.CORPORATION).slots]


def test_identity_documents_name_the_files_each_needs() -> None:
    assert slot_labels("drivers_license") == ["運転免許証の表面", "運転免許証の裏面"]
    assert slot_labels("passport") == ["パスポートの顔写真ページ"]
    assert slot_labels("my_number_card") == ["マイナンバーカードの表面"]
    assert slot_labels("residence_card") == ["在留カードの表面", "在留カードの裏面"]
    health = slot_labels("health_insurance")
    assert health[:2] == ["健康保険証の表面", "健康保険証の裏面"]
    assert health[2].startswith("補助書類")


def test_employment_documents_include_business_card_id_and_certificate() -> None:
    names = [t.name for t in types_in(DocumentCategory.EMPLOYMENT)]
    assert names == ["名刺（社名と氏名が記載されたもの）", "社員証", "在籍証明書"]


def test_codes_and_slot_keys_are_unique() -> None:
    codes = [t.code for t in DOCUMENT_TYPES]
    assert len(codes) == len(set(codes))
    for doc_type in DOCUMENT_TYPES:
        assert doc_type.slots and len(set(doc_type.slot_keys)) == len(doc_type.slots)


@pytest.mark.parametrize("kind", [CompanyKind.SOLE_PROPRIETOR, CompanyKind.INDIVIDUAL])
def test_individuals_and_sole_proprietors_send_no_employment_document(kind: CompanyKind) -> None:
    assert required_categories(kind) == (DocumentCategory.IDENTITY,)
    with pytest.raises(DocumentTypeNotAllowed, match="在籍確認書類の登録は不要"):
        get_document_type("business_card", DocumentCategory.EMPLOYMENT, kind)


def test_corporate_users_send_both() -> None:
    assert required_categories(CompanyKind.CORPORATION) == (
        DocumentCategory.IDENTITY, DocumentCategory.EMPLOYMENT)


@pytest.mark.parametrize("code, category", [
    ("library_card", DocumentCategory.IDENTITY),  # not in the list
    ("business_card", DocumentCategory.IDENTITY),  # in the other list
    ("passport", DocumentCategory.EMPLOYMENT),
    ("", DocumentCategory.IDENTITY),
])
def test_a_type_not_in_the_list_is_refused(code: str, category: DocumentCategory) -> None:
    with pytest.raises(DocumentTypeNotAllowed) as refused:
        get_document_type(code, category, CompanyKind.CORPORATION)
    assert refused.value.message == (
        "選択された書類の種類は利用できません。一覧から選択してください。")
    assert refused.value.field == "document_type"


def test_unknown_slot_is_refused() -> None:
    passport = get_document_type("passport", DocumentCategory.IDENTITY, CompanyKind.INDIVIDUAL)
    with pytest.raises(DocumentTypeNotAllowed):
        passport.slot("back")
