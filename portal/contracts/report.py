"""署名検証レポート (SIGN-5): every signature and timestamp of a package's
signed documents with signer, certificate, signing time and validity, checked
now against the signing service's root; rendered as a Japanese PDF."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any

from asn1crypto import x509 as ax509
from flask import current_app
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from portal import audit
from portal.clock import now, to_jst
from portal.filestore import get_file_store
from remote_signing import client as rs
from remote_signing.sample import japanese_font

from .models import ContractPackage
from .signing import Trust

log = logging.getLogger(__name__)


@dataclass
class SignatureLine:
    field_name: str
    kind: str  # 電子署名 / ドキュメントタイムスタンプ
    signer: str
    issuer: str
    serial: str
    cert_validity: str
    signing_time: str
    timestamp_time: str
    result: str
    details: list[str] = field(default_factory=list)


@dataclass
class DocumentReport:
    title: str
    sha256: str
    lines: list[SignatureLine]


def _jst(value: datetime | None) -> str:
    return to_jst(value).strftime("%Y/%m/%d %H:%M:%S JST") if value else "—"


def _name(cert: ax509.Certificate) -> str:
    native = cert.subject.native
    return f"{native.get('common_name', '')}（{native.get('organization_name', '')}）"


def _cert_fields(cert: ax509.Certificate) -> dict[str, str]:
    validity = cert["tbs_certificate"]["validity"]
    return {
        "signer": _name(cert),
        "issuer": cert.issuer.native.get("common_name", ""),
        "serial": format(cert.serial_number, "x"),
        "cert_validity": (f"{_jst(validity['not_before'].native)} ～ "
                          f"{_jst(validity['not_after'].native)}"),
    }


def _signature_line(sig: Any, root: ax509.Certificate) -> SignatureLine:
    if str(sig.sig_object_type) == "/DocTimeStamp":
        status = validate_pdf_timestamp(sig, validation_context=Trust(root).context())
        ok = status.intact and status.valid and status.trusted
        return SignatureLine(
            field_name=sig.field_name, kind="ドキュメントタイムスタンプ",
            **_cert_fields(status.signing_cert), signing_time="—",
            timestamp_time=_jst(status.timestamp),
            result="有効" if ok else "無効",
            details=[f"完全性：{'OK' if status.intact else 'NG'}",
                     f"信頼性：{'OK' if status.trusted else 'NG'}"])
    status = validate_pdf_signature(sig, signer_validation_context=Trust(root).context(),
                                    ts_validation_context=Trust(root).context())
    ts = status.timestamp_validity
    ok = status.intact and status.valid and status.trusted and not status.revoked
    return SignatureLine(
        field_name=sig.field_name, kind="電子署名", **_cert_fields(status.signing_cert),
        signing_time=_jst(status.signer_reported_dt),
        timestamp_time=_jst(ts.timestamp) if ts else "—",
        result="有効" if ok else "無効",
        details=[f"完全性：{'OK' if status.intact else 'NG'}",
                 f"信頼性：{'OK' if status.trusted else 'NG'}",
                 f"失効：{'あり' if status.revoked else 'なし'}",
                 f"署名範囲：{status.coverage.name}",
                 "署名タイムスタンプ："
                 + ("有効" if ts and ts.valid and ts.trusted else "無効/なし")])


def build(package: ContractPackage) -> list[DocumentReport]:
    client = rs.SigningClient.from_config(current_app.config)
    try:
        root = ax509.Certificate.load(client.root_certificate())
    finally:
        client.close()
    store = get_file_store()
    reports = []
    for document in package.contract_documents:
        data = store.get(document.current_key)
        reader = PdfFileReader(BytesIO(data), strict=False)
        lines = [_signature_line(sig, root) for sig in reader.embedded_signatures]
        reports.append(DocumentReport(document.title, document.current_sha256, lines))
    return reports


def report_pdf(package: ContractPackage, *, actor: Any) -> bytes:
    checked_at = now()
    reports = build(package)
    audit.record("contract.report.downloaded", actor=actor, target=package)
    return render(package, reports, checked_at)


def render(package: ContractPackage, reports: list[DocumentReport], checked_at: datetime) -> bytes:
    buf = BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    pdf.setTitle(f"署名検証レポート 案件{package.id}")
    font = japanese_font()
    y = 800

    def line(text: str, size: float = 9.5, indent: int = 0) -> None:
        nonlocal y
        if y < 60:
            pdf.showPage()
            y = 800
        pdf.setFont(font, size)
        pdf.drawString(50 + indent, y, text)
        y -= size + 6

    line("署名検証レポート", 16)
    line(f"検証日時：{_jst(checked_at)}")
    line(f"案件：{package.summary_label}　申込日 {package.application_date:%Y/%m/%d}　"
         f"本件担当 {package.staff_label}")
    line("文書に含まれる電子署名とタイムスタンプの各検証基準時刻における"
         "有効性の確認結果です。", 8.5)
    for report in reports:
        y -= 6
        line(f"■ {report.title}", 12)
        line(f"SHA-256：{report.sha256}", 8)
        for n, sig in enumerate(report.lines, 1):
            line(f"{n}. {sig.kind}（{sig.field_name}）　検証結果：{sig.result}", 10.5, 8)
            line(f"署名者：{sig.signer}", 9, 20)
            line(f"証明書：発行者 {sig.issuer}　シリアル {sig.serial}", 9, 20)
            line(f"証明書有効期間：{sig.cert_validity}", 9, 20)
            line(f"署名時刻（申告）：{sig.signing_time}　"
                 f"タイムスタンプ時刻：{sig.timestamp_time}", 9, 20)
            line("　".join(sig.details), 9, 20)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()
