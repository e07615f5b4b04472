"""KYC-3: extensions, magic bytes, real OOXML, size before scanning, file names."""

from __future__ import annotations

import pytest

from kyc import devtools
from portal.uploads import (
    DOCUMENT_EXTENSIONS,
    BadFilename,
    ContentMismatch,
    EmptyFile,
    ExtensionNotAllowed,
    FileTooLarge,
    NoFile,
    check_content,
    check_filename,
    check_size,
)

LIMIT = 10 * 1024 * 1024

CLEAN = {
    "scan.pdf": devtools.sample_pdf,
    "photo.jpg": lambda: devtools.sample_image("JPEG"),
    "photo.JPEG": lambda: devtools.sample_image("JPEG"),
    "photo.png": lambda: devtools.sample_image("PNG"),
    "photo.gif": lambda: devtools.sample_image("GIF"),
    "photo.bmp": lambda: devtools.sample_image("BMP"),
    "photo.tif": lambda: devtools.sample_image("TIFF"),
    "photo.tiff": lambda: devtools.sample_image("TIFF"),
    "在籍証明書.docx": devtools.sample_docx,
    "在籍証明書.xlsx": devtools.sample_xlsx,
}


def test_allowed_extensions_are_those_of_the_guide() -> None:
    assert ",".join(DOCUMENT_EXTENSIONS) == "docx,xlsx,pdf,jpg,jpeg,png,gif,bmp,tif,tiff"


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_clean_files_of_every_allowed_kind_pass(name: str) -> None:
    checked = check_filename(name)
    assert check_content(CLEAN[name](), checked) == checked.format


@pytest.mark.parametrize("name", ["virus.exe", "page.html", "image.svg", "archive.zip",
                                  "noextension", "doc.docm", "sheet.xls", "photo.jpg.exe"])
def test_extension_not_in_the_list_is_refused(name: str) -> None:
    with pytest.raises(ExtensionNotAllowed) as refused:
        check_filename(name)
    assert refused.value.message == (
        "アップロードできるファイルの拡張子はdocx,xlsx,pdf,jpg,jpeg,png,gif,bmp,tif,tiffです。")


def test_png_renamed_pdf_is_refused_and_says_what_it_is() -> None:
    with pytest.raises(ContentMismatch) as refused:
        check_content(devtools.sample_image("PNG"), check_filename("license.pdf"))
    assert refused.value.message == ("ファイルの内容が拡張子（.pdf）と一致しません。"
                                     "このファイルの内容はPNG画像です。PDFのファイルを選択してください。")


@pytest.mark.parametrize("body", [
    b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'></svg>",
])
def test_html_or_svg_renamed_jpg_is_refused(body: bytes) -> None:
    with pytest.raises(ContentMismatch) as refused:
        check_content(body, check_filename("face.jpg"))
    assert "HTML・SVG などのテキストファイルはアップロードできません" in refused.value.message
    assert refused.value.message.endswith("JPEG画像のファイルを選択してください。")


@pytest.mark.parametrize("name, body", [
    ("fake.docx", b"PK\x03\x04 not really a zip"),
    ("plain.docx", devtools._zip({"hello.txt": "hi"})),  # a zip, but not OOXML
    ("sheet.docx", devtools.sample_xlsx()),  # an xlsx renamed docx
    ("doc.xlsx", devtools.sample_docx()),
    ("nomain.docx", devtools._zip({"[Content_Types].xml": "<Types/>", "word/x.xml": "<x/>"})),
    ("truncated.pdf", devtools.sample_pdf()[:200]),  # no %%EOF
    ("photo.png", devtools.sample_image("JPEG")),
    ("photo.tif", devtools.sample_image("BMP")),
    ("photo.gif", b"GIF90a" + b"\x00" * 20),
    ("photo.bmp", b"BM" + b"\x00" * 30),
])
def test_content_must_match_the_extension(name: str, body: bytes) -> None:
    with pytest.raises(ContentMismatch, match=r"ファイルの内容が拡張子（\.\w+）と一致しません"):
        check_content(body, check_filename(name))


def test_empty_file_is_refused() -> None:
    with pytest.raises(EmptyFile) as refused:
        check_size(0, LIMIT)
    assert refused.value.message == ("ファイルの中身が空です（0バイト）。"
                                     "内容のあるファイルを選択してください。")


def test_eleven_megabytes_is_refused_with_the_limit_in_the_message() -> None:
    check_size(LIMIT, LIMIT)  # exactly 10 MB is fine
    with pytest.raises(FileTooLarge) as refused:
        check_size(11 * 1024 * 1024, LIMIT)
    assert refused.value.message == ("ファイルサイズが上限（10MB）を超えています。"
                                     "10MB以下のファイルを選択してください。")


def test_limit_is_configurable() -> None:
    with pytest.raises(FileTooLarge, match="上限（2MB）"):
        check_size(2 * 1024 * 1024 + 1, 2 * 1024 * 1024)


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "..\\..\\boot.ini.jpg", "a/b.pdf",
                                  "C:\\Users\\taro\\license.png"])
def test_path_separators_are_refused(name: str) -> None:
    with pytest.raises(BadFilename, match="フォルダの区切り文字"):
        check_filename(name)


@pytest.mark.parametrize("name", ["license\x00.pdf.exe", "a\x00.pdf", "tab\there.pdf", "nl\n.pdf"])
def test_nul_and_control_characters_are_refused(name: str) -> None:
    with pytest.raises(BadFilename, match="制御文字"):
        check_filename(name)


def test_three_hundred_characters_is_refused() -> None:
    with pytest.raises(BadFilename, match="255文字以内"):
        check_filename("あ" * 296 + ".pdf")
    assert check_filename("あ" * 251 + ".pdf").original == "あ" * 251 + ".pdf"


@pytest.mark.parametrize("name", [None, "", "   "])
def test_missing_file_is_refused(name: str | None) -> None:
    with pytest.raises(NoFile, match="ファイルを選択してください"):
        check_filename(name)


def test_dot_only_names_are_refused() -> None:
    with pytest.raises(BadFilename):
        check_filename(".pdf")


def test_original_name_is_normalised_metadata() -> None:
    decomposed = "ﾃｽﾄ運転免許証の表面" + "\u30cf\u309a" + ".PDF"  # パ as ハ + combining mark
    checked = check_filename(decomposed)
    assert checked.extension == "pdf"
    assert "\u30d1" in checked.original  # NFC
