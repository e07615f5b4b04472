"""Document types as data (KYC-2).

Each type names the files it needs; the upload page shows one slot per file.
Employment-verification documents are asked of corporate users only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kyc.errors import DocumentTypeNotAllowed
from portal.models import CompanyKind


class DocumentCategory(StrEnum):
    IDENTITY = "identity"  # 本人確認書類
    EMPLOYMENT = "employment"  # 在籍確認書類

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    DocumentCategory.IDENTITY: "本人確認書類",
    DocumentCategory.EMPLOYMENT: "在籍確認書類",
}


@dataclass(frozen=True)
class FileSlot:
    key: str
    label: str


@dataclass(frozen=True)
class DocumentType:
    code: str
    category: DocumentCategory
    name: str
    slots: tuple[FileSlot, ...]

    def slot(self, key: str) -> FileSlot:
        for slot in self.slots:
            if slot.key == key:
                return slot
        raise DocumentTypeNotAllowed("アップロード書類の指定が正しくありません。")

    @property
    def slot_keys(self) -> tuple[str, ...]:
        return tuple(slot.key for slot in self.slots)


def _type(
    code: str, category: DocumentCategory, name: str, *slots: tuple[str, str]
) -> DocumentType:
    return DocumentType(code, category, name, tuple(FileSlot(k, label) for k, label in slots))


_I = DocumentCategory.IDENTITY
_E = DocumentCategory.EMPLOYMENT

DOCUMENT_TYPES: tuple[DocumentType, ...] = (
    _type("drivers_license", _I, "運転免許証",
          ("front", "運転免許証の表面"), ("back", "運転免許証の裏面")),
    _type("passport", _I, "パスポート",
          ("photo", "パスポートの顔写真ページ")),
    # Only the front: the back of the card carries the individual number,
    # which the bank must not collect for this purpose.
    _type("my_number_card", _I, "マイナンバーカード",
          ("front", "マイナンバーカードの表面")),
    _type("residence_card", _I, "在留カード",
          ("front", "在留カードの表面"), ("back", "在留カードの裏面")),
    _type("special_permanent_resident", _I, "特別永住者証明書",
          ("front", "特別永住者証明書の表面"), ("back", "特別永住者証明書の裏面")),
    _type("health_insurance", _I, "健康保険証",
          ("front", "健康保険証の表面"), ("back", "健康保険証の裏面"),
          ("supplement", "補助書類（住民票の写し・公共料金の領収書など）")),
    _type("business_card", _E, "名刺（社名と氏名が記載されたもの）",
          ("card", "名刺（社名と氏名が記載されたもの）")),
    _type("employee_id", _E, "社員証",
          ("front", "社員証（社名と氏名が記載された面）")),
    _type("employment_certificate", _E, "在籍証明書",
          ("certificate", "在籍証明書")),
)

_BY_CODE = {t.code: t for t in DOCUMENT_TYPES}


def requires_employment(kind: CompanyKind | str) -> bool:
    """Sole proprietors and individuals do not send an employment document."""
    return CompanyKind(kind) is CompanyKind.CORPORATION


def required_categories(kind: CompanyKind | str) -> tuple[DocumentCategory, ...]:
    if requires_employment(kind):
        return (DocumentCategory.IDENTITY, DocumentCategory.EMPLOYMENT)
    return (DocumentCategory.IDENTITY,)


def types_in(category: DocumentCategory) -> tuple[DocumentType, ...]:
    return tuple(t for t in DOCUMENT_TYPES if t.category is category)


def get_document_type(
    code: str, category: DocumentCategory, kind: CompanyKind | str
) -> DocumentType:
    """The type a user of ``kind`` may pick in ``category``, or a refusal."""
    doc_type = _BY_CODE.get(code)
    if doc_type is None or doc_type.category is not category:
        raise DocumentTypeNotAllowed()
    if category not in required_categories(kind):
        raise DocumentTypeNotAllowed("個人・個人事業主の方は在籍確認書類の登録は不要です。")
    return doc_type


def lookup(code: str) -> DocumentType:
    """A stored code back to its type (codes in the database are always known)."""
    return _BY_CODE[code]
