"""Typed refusals of the KYC area, each with the Japanese message a user sees."""

from __future__ import annotations

from portal.errors import DomainError
from portal.i18n import gettext

SCAN_PENDING_MESSAGE = "ウイルススキャン中です。しばらく時間を置いてから再度操作をしてください"


class UploadRejected(DomainError):
    """A file was refused; nothing of it is stored."""

    code = "rejected"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


class NoFile(UploadRejected):
    code = "no_file"

    def __init__(self) -> None:
        super().__init__("ファイルを選択してください。")


class BadFilename(UploadRejected):
    code = "bad_filename"


class ExtensionNotAllowed(UploadRejected):
    code = "extension"


class EmptyFile(UploadRejected):
    code = "empty"

    def __init__(self) -> None:
        super().__init__("ファイルの中身が空です（0バイト）。内容のあるファイルを選択してください。")


class FileTooLarge(UploadRejected):
    code = "too_large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(gettext(
            "ファイルサイズが上限（%(size)s）を超えています。%(size)s以下のファイルを選択してください。",
            size=format_size(limit_bytes)))


class ContentMismatch(UploadRejected):
    code = "content_mismatch"


class Infected(UploadRejected):
    code = "infected"

    def __init__(self, signature: str) -> None:
        super().__init__(
            "ファイルからウイルスが検出されたため、アップロードできません。"
            "ファイルを確認のうえ、別のファイルを選択してください。"
        )
        self.signature = signature


class ScanPending(DomainError):
    """The scanner could not answer; the bytes wait encrypted in quarantine (KYC-4)."""

    status_code = 202

    def __init__(self) -> None:
        super().__init__(SCAN_PENDING_MESSAGE, field="file")


TYPE_NOT_IN_LIST = "選択された書類の種類は利用できません。一覧から選択してください。"


class DocumentTypeNotAllowed(DomainError):
    def __init__(self, message: str = TYPE_NOT_IN_LIST) -> None:
        super().__init__(message, field="document_type")


def format_size(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)}MB"
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f}MB"
    return f"{n // 1024}KB" if n >= 1024 else gettext("%(n)sバイト", n=n)
