"""Writes the consent PDF (KYC-1) shipped as static/kyc/consent_third_party_provision.pdf.

Run once after editing the text: ``python -m kyc.consent_document``. The PDF
is shipped so the running portal needs neither reportlab fonts nor write access.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PDF_PATH = ROOT / "static" / "kyc" / "consent_third_party_provision.pdf"
DOWNLOAD_NAME = "個人情報の第三者提供内容について.pdf"
FONT_PATH = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"
TITLE = "個人情報の第三者提供内容について"
# Bump when the text changes; the consent record stores the version agreed to.
VERSION = "2026-11"

SECTIONS: tuple[tuple[str, str], ...] = (
    ("1. 目的",
     "当金庫は、電子契約サービスにおける電子署名用の電子証明書を発行するため、お客さまからご提出いただいた"
     "本人確認書類および在籍確認書類に記載された個人情報を、以下のとおり第三者に提供します。"),
    ("2. 提供先",
     "当金庫が電子証明書の発行を委託する認証局（電子認証局）およびリモート署名サービスの運営事業者。"),
    ("3. 提供する個人情報の項目",
     "氏名、氏名（カナ・英字）、生年月日、住所、勤務先名、役職、メールアドレス、携帯電話番号、"
     "本人確認書類・在籍確認書類の画像またはファイルおよびその記載事項。"),
    ("4. 提供先における利用目的",
     "電子証明書の発行・更新・失効、本人確認および不正利用の防止、法令に基づく記録の保存。"),
    ("5. 提供の方法",
     "暗号化された通信路および暗号化された保存領域を用いて提供し、目的外には利用させません。"),
    ("6. 保存期間",
     "提供先は、電子証明書の有効期間満了または失効後、法令で定める期間に限り保存し、その後消去します。"),
    ("7. 同意しない場合",
     "同意いただけない場合、電子証明書を発行できないため、電子署名を伴う電子契約をご利用いただけません。"),
    ("8. お問い合わせ",
     "個人情報の取扱いに関するお問い合わせは、お取引店までご連絡ください。"),
)


def build(path: Path = PDF_PATH) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    pdfmetrics.registerFont(TTFont("IPAexGothic", FONT_PATH))
    body = ParagraphStyle("body", fontName="IPAexGothic", fontSize=10.5, leading=17,
                          wordWrap="CJK")
    heading = ParagraphStyle("heading", parent=body, fontSize=12, spaceBefore=10, spaceAfter=4)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=24, alignment=1)
    story = [Paragraph(TITLE, title), Spacer(1, 12)]
    for head, text in SECTIONS:
        story += [Paragraph(head, heading), Paragraph(text, body)]
    story += [Spacer(1, 18), Paragraph(f"（{VERSION}版）", body)]
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(str(path), pagesize=A4, title=TITLE, author="電子契約サービス",
                            leftMargin=60, rightMargin=60, topMargin=60, bottomMargin=60,
                            invariant=1)
    doc.build(story)
    return path


if __name__ == "__main__":
    sys.stdout.write(f"{build()}\n")
