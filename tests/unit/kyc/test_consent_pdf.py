"""KYC-1: the shipped 個人情報の第三者提供内容について PDF is real and readable."""

from __future__ import annotations

import shutil
import subprocess

from kyc.consent_document import PDF_PATH, SECTIONS, TITLE
from portal.uploads import check_content, check_filename


def test_consent_pdf_is_shipped_and_is_a_pdf() -> None:
    data = PDF_PATH.read_bytes()
    assert check_content(data, check_filename(PDF_PATH.name)) == "pdf"


def test_consent_pdf_text_is_the_projects_own() -> None:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils (pdftotext) is needed to read the consent PDF"
    text = subprocess.run([pdftotext, str(PDF_PATH), "-"], check=True, capture_output=True,
                          text=True).stdout
    flat = "".join(text.split())
    assert TITLE in flat
    for heading, body in SECTIONS:
        assert "".join(heading.split()) in flat
        assert "".join(body.split())[:20] in flat
