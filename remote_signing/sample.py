"""A one-page Japanese sample contract (demo command, tests and benchmark)."""

from __future__ import annotations

import os
from io import BytesIO

from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT_PATHS = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
)
LINES = (
    "金銭消費貸借契約書（サンプル）",
    "",
    "株式会社サンプル銀行（以下「甲」という。）と株式会社テスト商事（以下「乙」という。）は、",
    "次のとおり金銭消費貸借契約を締結する。",
    "第1条 甲は乙に対し、金壱千万円を貸し付け、乙はこれを借り受けた。",
    "第2条 乙は、令和9年3月31日限り、前条の借入金を甲に返済する。",
    "第3条 本契約は、電子署名により締結する。",
)


def japanese_font() -> str:
    """The name of the Japanese font for reportlab's ``setFont`` (IPAex Gothic,
    registered on first use); the portal's generated PDFs draw with it too."""
    if "IPAexGothic" not in pdfmetrics.getRegisteredFontNames():
        path = next((p for p in FONT_PATHS if os.path.exists(p)), None)
        if path is None:
            raise RuntimeError("IPAex Gothic font not installed (Debian fonts-ipaexfont)")
        pdfmetrics.registerFont(TTFont("IPAexGothic", path))
    return "IPAexGothic"


def sample_pdf(min_size: int = 0) -> bytes:
    """Render the sample; ``min_size`` pads it with an incompressible image (benchmark)."""
    buf = BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle("金銭消費貸借契約書（サンプル）")
    font = japanese_font()
    y = 780
    for i, line in enumerate(LINES):
        c.setFont(font, 16 if i == 0 else 10.5)
        c.drawString(60, y, line)
        y -= 28 if i == 0 else 20
    if min_size:
        _noise_image(c, min_size)
    c.showPage()
    c.save()
    return buf.getvalue()


def _noise_image(c: canvas.Canvas, size: int) -> None:
    from PIL import Image

    side = int((size * 0.78 / 3) ** 0.5) + 1
    img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    c.drawImage(ImageReader(img), 60, 200, width=200, height=200)
