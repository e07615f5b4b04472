"""Typed refusals of the KYC area, each with the Japanese message a user sees.

The upload refusals (name, size, content, virus, scan pending) belong to the
one upload pipeline, ``portal.uploads``."""

from __future__ import annotations

from portal.errors import DomainError

TYPE_NOT_IN_LIST = "選択された書類の種類は利用できません。一覧から選択してください。"


class DocumentTypeNotAllowed(DomainError):
    def __init__(self, message: str = TYPE_NOT_IN_LIST) -> None:
        super().__init__(message, field="document_type")
