"""Upload checks (KYC-3) as pure functions: name, size, and content sniffed
from the bytes. The order matters: the size is checked before anything reads
or scans the content, so an oversize file never reaches clamd.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from kyc.errors import (
    BadFilename,
    ContentMismatch,
    EmptyFile,
    ExtensionNotAllowed,
    FileTooLarge,
    NoFile,
)
from portal.i18n import gettext
from portal.validation import clean_file_name

ALLOWED_EXTENSIONS = ("docx", "xlsx", "pdf", "jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff")
MAX_FILENAME_CHARS = 255
_OOXML_TYPES_LIMIT = 1024 * 1024

FORMAT_LABELS = {
    "pdf": "PDF",
    "jpeg": "JPEG画像",
    "png": "PNG画像",
    "gif": "GIF画像",
    "bmp": "BMP画像",
    "tiff": "TIFF画像",
    "docx": "Word文書（.docx）",
    "xlsx": "Excelファイル（.xlsx）",
}

EXTENSION_FORMAT = {
    "pdf": "pdf", "jpg": "jpeg", "jpeg": "jpeg", "png": "png", "gif": "gif",
    "bmp": "bmp", "tif": "tiff", "tiff": "tiff", "docx": "docx", "xlsx": "xlsx",
}

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# Formats a browser can show inline without running anything (staff preview).
PREVIEWABLE_IMAGES = frozenset({"jpeg", "png", "gif", "bmp"})


@dataclass(frozen=True)
class CheckedName:
    original: str  # NFC, kept as metadata only; never used as a storage name
    extension: str  # lower case, without the dot

    @property
    def format(self) -> str:
        return EXTENSION_FORMAT[self.extension]


def check_filename(name: str | None) -> CheckedName:
    if name is None or not name.strip():
        raise NoFile()
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise BadFilename("ファイル名に使用できない文字（NUL などの制御文字）が含まれています。"
                          "ファイル名を変更してから選択してください。")
    if "/" in name or "\\" in name:
        raise BadFilename("ファイル名にフォルダの区切り文字（/ や \\）は使用できません。"
                          "ファイル名を変更してから選択してください。")
    name = clean_file_name(name)  # NFC; bidi and zero-width characters removed
    if len(name) > MAX_FILENAME_CHARS:
        raise BadFilename(gettext(
            "ファイル名が長すぎます。%(n)s文字以内のファイル名にしてください。",
            n=MAX_FILENAME_CHARS))
    stem, dot, ext = name.rpartition(".")
    ext = ext.lower()
    if not dot or ext not in ALLOWED_EXTENSIONS:
        raise ExtensionNotAllowed(gettext(
            "アップロードできるファイルの拡張子は%(extensions)sです。",
            extensions=",".join(ALLOWED_EXTENSIONS)))
    if not stem.strip(" ."):
        raise BadFilename("ファイル名を確認してください"
                          "（拡張子だけのファイル名は使用できません）。")
    return CheckedName(original=name, extension=ext)


def check_size(size: int, limit: int) -> None:
    if size <= 0:
        raise EmptyFile()
    if size > limit:
        raise FileTooLarge(limit)


def _is_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-4096:]


def _is_jpeg(data: bytes) -> bool:
    return data.startswith(b"\xff\xd8\xff")


def _is_png(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"


def _is_gif(data: bytes) -> bool:
    return data[:6] in (b"GIF87a", b"GIF89a")


def _is_bmp(data: bytes) -> bool:
    if len(data) < 26 or not data.startswith(b"BM"):
        return False
    pixel_offset = int.from_bytes(data[10:14], "little")
    dib_size = int.from_bytes(data[14:18], "little")
    return dib_size in {12, 40, 52, 56, 64, 108, 124} and 14 + dib_size <= pixel_offset <= len(data)


def _is_tiff(data: bytes) -> bool:
    return data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _ooxml(main_dir: str, main_content_type: bytes) -> Callable[[bytes], bool]:
    """A real OOXML package: a zip with [Content_Types].xml declaring the main part."""

    def check(data: bytes) -> bool:
        if not data.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()
                if "[Content_Types].xml" not in names:
                    return False
                if not any(n.startswith(main_dir) for n in names):
                    return False
                if archive.getinfo("[Content_Types].xml").file_size > _OOXML_TYPES_LIMIT:
                    return False
                types = archive.read("[Content_Types].xml")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError,
                ValueError, EOFError, OSError):
            return False
        return main_content_type in types

    return check


SNIFFERS: dict[str, Callable[[bytes], bool]] = {
    "pdf": _is_pdf,
    "jpeg": _is_jpeg,
    "png": _is_png,
    "gif": _is_gif,
    "bmp": _is_bmp,
    "tiff": _is_tiff,
    "docx": _ooxml(
        "word/",
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ),
    "xlsx": _ooxml(
        "xl/", b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    ),
}


def identify(data: bytes) -> str | None:
    """What the bytes really are, as far as the allowed formats go."""
    for fmt, sniff in SNIFFERS.items():
        if sniff(data):
            return fmt
    return None


def _looks_like_markup(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<")


def check_content(data: bytes, checked: CheckedName) -> str:
    """The format the bytes prove, or a refusal saying what they are instead."""
    fmt = checked.format
    if SNIFFERS[fmt](data):
        return fmt
    message = gettext("ファイルの内容が拡張子（.%(extension)s）と一致しません。",
                      extension=checked.extension)
    actual = identify(data)
    if actual is not None:
        message += gettext("このファイルの内容は%(format)sです。",
                           format=gettext(FORMAT_LABELS[actual]))
    elif _looks_like_markup(data):
        message += gettext("HTML・SVG などのテキストファイルはアップロードできません。")
    message += gettext("%(format)sのファイルを選択してください。",
                       format=gettext(FORMAT_LABELS[fmt]))
    raise ContentMismatch(message)
