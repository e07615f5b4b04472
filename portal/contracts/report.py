"""署名検証レポート (SIGN-5): every signature and timestamp of a package's
signed documents with signer, certificate, signing time and validity against the
signing service's root at each validation time (#13 item 16: its signing time,
the conclusion, now), in Japanese words, rendered as a PDF inside its margins."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO
from typing import Any, Protocol

from asn1crypto import x509 as ax509
from flask import current_app
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import (
    SignatureCoverageLevel,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from portal import audit
from portal.clock import now, to_jst
from portal.filestore import get_file_store
from remote_signing import client as rs
from remote_signing.pdf import Trust
from remote_signing.sample import japanese_font

from .models import ContractPackage
from .seal import BANK_FIELD

log = logging.getLogger(__name__)


class ReportedDocument(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def current_key(self) -> str: ...
    @property
    def current_sha256(self) -> str: ...


class ReportedPackage(Protocol):
    """What a report reads of a package: a ContractPackage, or the archive's
    ArchivedPackage read before streaming."""

    @property
    def id(self) -> int: ...
    @property
    def application_date(self) -> date: ...
    @property
    def summary_label(self) -> str: ...
    @property
    def staff_label(self) -> str: ...
    @property
    def contract_documents(self) -> Sequence[ReportedDocument]: ...


@dataclass
class Validity:
    """One signature judged at one validation time (検証基準時刻)."""

    label: str  # 署名時 / 締結時 / 現在
    moment: str
    result: str  # 有効 / 無効


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
    validity: list[Validity] = field(default_factory=list)


@dataclass
class DocumentReport:
    title: str
    sha256: str
    lines: list[SignatureLine]


# pyHanko's values in the report's words (never its raw enum names).
COVERAGE: dict[Any, str] = {
    SignatureCoverageLevel.ENTIRE_FILE: "文書全体",
    SignatureCoverageLevel.ENTIRE_REVISION: "署名時点の文書全体（署名後に追記あり）",
    SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START: "文書の先頭から一部",
    SignatureCoverageLevel.UNCLEAR: "不明",
}
MODIFICATIONS: dict[Any, str] = {
    ModificationLevel.NONE: "なし",
    ModificationLevel.LTA_UPDATES: "検証情報・タイムスタンプの追加のみ",
    ModificationLevel.FORM_FILLING: "フォーム入力",
    ModificationLevel.ANNOTATIONS: "注釈の追加",
    ModificationLevel.OTHER: "その他の変更",
}


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


def _context(root: ax509.Certificate, moment: datetime | None) -> ValidationContext:
    """Trust as at ``moment`` (None: now). Revocation data fetched today may vouch
    for an earlier moment (retroactive): the service's OCSP answers for the past."""
    if moment is None:
        return Trust(root).context()
    return ValidationContext(trust_roots=[root], allow_fetching=True, moment=moment,
                             retroactive_revinfo=True, fetcher_backend=RequestsFetcherBackend())


def _ok(status: Any) -> bool:
    return bool(status.intact and status.valid and status.trusted
                and not getattr(status, "revoked", False))


def _moments(signed_at: datetime | None, concluded_at: datetime | None,
             checked_at: datetime) -> list[tuple[str, datetime | None]]:
    moments: list[tuple[str, datetime | None]] = []
    if signed_at is not None:
        moments.append(("署名時", signed_at))
    if concluded_at is not None:
        moments.append(("締結時", concluded_at))
    moments.append(("現在", None))
    return moments


def _signature_line(sig: Any, root: ax509.Certificate, concluded_at: datetime | None,
                    checked_at: datetime) -> SignatureLine:
    if str(sig.sig_object_type) == "/DocTimeStamp":
        stamp = validate_pdf_timestamp(sig, validation_context=Trust(root).context())
        validity = [Validity(label, _jst(moment or checked_at), "有効" if _ok(
            validate_pdf_timestamp(sig, validation_context=_context(root, moment))) else "無効")
                    for label, moment in _moments(stamp.timestamp, None, checked_at)]
        return SignatureLine(
            field_name=sig.field_name, kind="ドキュメントタイムスタンプ",
            **_cert_fields(stamp.signing_cert), signing_time="—",
            timestamp_time=_jst(stamp.timestamp),
            result="有効" if _ok(stamp) else "無効",
            details=[f"完全性：{'OK' if stamp.intact else 'NG'}",
                     f"信頼性：{'OK' if stamp.trusted else 'NG'}"],
            validity=validity)
    status = validate_pdf_signature(sig, signer_validation_context=Trust(root).context(),
                                    ts_validation_context=Trust(root).context())
    ts = status.timestamp_validity
    signed_at = ts.timestamp if ts else status.signer_reported_dt
    validity = []
    for label, moment in _moments(signed_at, concluded_at, checked_at):
        at = status if moment is None else validate_pdf_signature(
            sig, signer_validation_context=_context(root, moment),
            ts_validation_context=Trust(root).context())
        validity.append(Validity(label, _jst(moment or checked_at), "有効" if _ok(at) else "無効"))
    return SignatureLine(
        field_name=sig.field_name, kind="電子署名", **_cert_fields(status.signing_cert),
        signing_time=_jst(status.signer_reported_dt),
        timestamp_time=_jst(ts.timestamp) if ts else "—",
        result="有効" if _ok(status) else "無効",
        details=[f"完全性：{'OK' if status.intact else 'NG'}",
                 f"信頼性：{'OK' if status.trusted else 'NG'}",
                 f"失効：{'あり' if status.revoked else 'なし'}",
                 f"署名範囲：{COVERAGE.get(status.coverage, '不明')}",
                 "署名後の変更：" + MODIFICATIONS.get(status.modification_level, "不明"),
                 "署名タイムスタンプ："
                 + ("有効" if ts and ts.valid and ts.trusted else "無効/なし")],
        validity=validity)


def _concluded_at(package: Any, reader: PdfFileReader) -> datetime | None:
    """When the package was concluded: recorded at 締結, else the time of the bank
    seal's signature timestamp (a package read for the archive)."""
    recorded: datetime | None = getattr(package, "concluded_at", None)
    if recorded is not None:
        return recorded
    for sig in reader.embedded_signatures:
        if sig.field_name == BANK_FIELD and sig.attached_timestamp_data is not None:
            stamped: datetime = sig.attached_timestamp_data.gen_time
            return stamped
    return None


def build(package: ReportedPackage, checked_at: datetime | None = None) -> list[DocumentReport]:
    checked_at = checked_at or now()
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
        concluded_at = _concluded_at(package, reader)
        lines = [_signature_line(sig, root, concluded_at, checked_at)
                 for sig in reader.embedded_signatures]
        reports.append(DocumentReport(document.title, document.current_sha256, lines))
    return reports


def report_pdf(package: ContractPackage, *, actor: Any) -> bytes:
    checked_at = now()
    reports = build(package, checked_at)
    audit.record("contract.report.downloaded", actor=actor, target=package)
    return render(package, reports, checked_at)


PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 50  # points, on every side


def render(package: ReportedPackage, reports: list[DocumentReport], checked_at: datetime
           ) -> bytes:
    buf = BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    pdf.setTitle(f"署名検証レポート 案件{package.id}")
    font = japanese_font()
    top = PAGE_HEIGHT - MARGIN
    y = top

    def wrapped(text: str, size: float, width: float) -> list[str]:
        """``text`` in lines that fit ``width``: broken at its full-width spaces
        (between items) where possible, else anywhere (Japanese has no words)."""
        lines, current = [], ""
        for item in text.split("　"):
            joined = f"{current}　{item}" if current else item
            if pdf.stringWidth(joined, font, size) <= width:
                current = joined
                continue
            if current:
                lines.append(current)
            current = ""
            for char in item:
                if current and pdf.stringWidth(current + char, font, size) > width:
                    lines.append(current)
                    current = ""
                current += char
        return [*lines, current]

    def line(text: str, size: float = 9.5, indent: int = 0) -> None:
        nonlocal y
        for part in wrapped(text, size, PAGE_WIDTH - 2 * MARGIN - indent):
            if y < MARGIN + size:
                pdf.showPage()
                y = top
            pdf.setFont(font, size)
            pdf.drawString(MARGIN + indent, y, part)
            y -= size + 6

    line("署名検証レポート", 16)
    line(f"作成日時：{_jst(checked_at)}")
    line(f"案件：{package.summary_label}　申込日 {package.application_date:%Y/%m/%d}　"
         f"本件担当 {package.staff_label}")
    line("文書に含まれる電子署名とタイムスタンプについて、各検証基準時刻（署名時、締結時、"
         "現在）における有効性を確認した結果です。", 8.5)
    for report in reports:
        y -= 6
        line(f"■ {report.title}", 12)
        line(f"SHA-256：{report.sha256}", 8)
        for n, sig in enumerate(report.lines, 1):
            line(f"{n}. {sig.kind}（{sig.field_name}）　検証結果（現在）：{sig.result}", 10.5, 8)
            line(f"署名者：{sig.signer}", 9, 20)
            line(f"証明書：発行者 {sig.issuer}　シリアル {sig.serial}", 9, 20)
            line(f"証明書有効期間：{sig.cert_validity}", 9, 20)
            line(f"署名時刻（申告）：{sig.signing_time}　"
                 f"タイムスタンプ時刻：{sig.timestamp_time}", 9, 20)
            for v in sig.validity:
                line(f"検証基準時刻 {v.label}（{v.moment}）：{v.result}", 9, 20)
            line("　".join(sig.details), 9, 20)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()
