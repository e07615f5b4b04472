"""The system-created power of attorney (【システム作成委任状見本】, USR-3,
CERT-3): a one-page Japanese PDF the creator signs electronically (SIGN-4)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from io import BytesIO

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT_NAME = "IPAexGothic"
FONT_PATHS = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
)
# The delegated powers, one tuple of printed lines each (broken between phrases).
POWERS = (
    ("・本サービスに登録された契約者および証明書利用者の情報の追加、変更、削除",
     "および証明書利用者選任の権限"),
    ("・本サービスによる契約締結および本サービスにより締結済みの",
     "契約書内容の閲覧の権限"),
)


@dataclass(frozen=True)
class PoaContent:
    bank_name: str
    service_name: str
    created_on: date
    company_name: str
    agent_name: str
    agent_name_kana: str
    principal_name: str
    principal_title: str


def _font() -> str:
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        path = next((p for p in FONT_PATHS if os.path.exists(p)), None)
        if path is None:
            raise RuntimeError("IPAex Gothic font not installed (Debian fonts-ipaexfont)")
        pdfmetrics.registerFont(TTFont(FONT_NAME, path))
    return FONT_NAME


def japanese_date(day: date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def _wrap(text: str, width: int) -> list[str]:
    return [text[i:i + width] for i in range(0, len(text), width)] or [""]


def render(content: PoaContent) -> bytes:
    """Render the PoA; ``invariant`` output: the same content gives the same bytes."""
    buf = BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=1)
    pdf.setTitle("委任状")
    pdf.setAuthor(content.service_name)
    font = _font()
    width, height = A4
    pdf.setFont(font, 22)
    pdf.drawCentredString(width / 2, height - 90, "委任状")
    pdf.setFont(font, 12)
    pdf.drawString(60, height - 140, f"{content.bank_name} 様")
    pdf.drawRightString(width - 60, height - 140, f"作成日：{japanese_date(content.created_on)}")
    y = height - 190
    pdf.drawString(60, y, f"会社名　{content.company_name}")
    y -= 40
    pdf.drawString(60, y, "（代理人）")
    y -= 24
    pdf.drawString(80, y, f"氏名　{content.agent_name}")
    if content.agent_name_kana:
        y -= 20
        pdf.setFont(font, 10)
        pdf.drawString(80, y, f"フリガナ　{content.agent_name_kana}")
        pdf.setFont(font, 12)
    y -= 40
    lead = (f"委任者は、上記の者を代理人と定め、{content.service_name}の利用につき、"
            "以下の権限を委任します。")
    for line in _wrap(lead, 38):
        pdf.drawString(60, y, line)
        y -= 20
    y -= 10
    pdf.setFont(font, 11)
    for power in POWERS:
        for i, line in enumerate(power):
            pdf.drawString(70 if i == 0 else 80, y, line)
            y -= 18
        y -= 6
    y -= 30
    pdf.setFont(font, 12)
    pdf.drawString(60, y, "（委任者）")
    y -= 24
    pdf.drawString(80, y, f"会社名　{content.company_name}")
    y -= 22
    title = f"{content.principal_title}　" if content.principal_title else ""
    pdf.drawString(80, y, f"氏名　{title}{content.principal_name}")
    y -= 30
    pdf.setFont(font, 9)
    pdf.drawString(60, y, "本委任状は委任者の電子署名により作成されています。")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()
