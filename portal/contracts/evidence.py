"""締結証明書 (SIGN-7, #16 item 4): a Japanese PDF, sealed by the bank as PAdES B-LTA
when a package is concluded, that proves on its own who signed and how.

For each party's signature: the signer (name, company, role), the certificate
(subject, serial, issuer, validity), the signing time from the signature's
timestamp, and how sole control was shown: the signing service checked the PIN
and mailed the code to a masked address at 送信, checked the code at 認証,
and signed at 電子署名, with the client's address and browser at each step. Then each
document's SHA-256 before signing, after each signature and after the bank
seal; the conclusion and the staff member; and the operation-log entries (ids
and entry hashes) that record these events.

What the audit log does not hold (masked address, browser) is recorded at
signing time in ``SigningEvidence`` (``note_code_sent`` / ``note_signed``,
called by the signing dialog). Packages signed before that show 記録なし for
those fields; one concluded before the certificate existed gets it on its
first download.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as ax509
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas
from sqlalchemy import select

from portal import audit
from portal.clock import now, to_jst
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.filestore import get_file_store
from portal.models import AuditEntry, CustomerUser, StaffUser
from remote_signing.sample import japanese_font

from .models import (
    ContractPackage,
    ContractParty,
    ContractSignature,
    SignatureKind,
    SigningEvidence,
)
from .seal import bank_seal
from .services import lock_package

log = logging.getLogger(__name__)

NO_RECORD = "記録なし"
CODE_SENT = "certs.sign_code_sent"
SIGNED = "contract.signed"
AUTHENTICATED = "contract.sign.authenticated"
BANK_SEALED = "contract.bank_sealed"
PACKAGE_STATE = "contract.package.state"
ACTION_LABELS = {
    CODE_SENT: "PIN照合・認証コード送信",
    SIGNED: "電子署名（認証コード照合）",
    BANK_SEALED: "銀行電子印の付与",
    PACKAGE_STATE: "締結",
}


# --- recorded at signing time ---------------------------------------------------------

def mask_email(address: str) -> str:
    """``taro@example.co.jp`` → ``t***@example.co.jp`` (the length stays hidden)."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"


def _latest_entry(action: str, user: CustomerUser) -> AuditEntry | None:
    return db.session.execute(
        select(AuditEntry).where(AuditEntry.action == action,
                                 AuditEntry.actor_type == "customer",
                                 AuditEntry.actor_id == user.id)
        .order_by(AuditEntry.id.desc()).limit(1)
    ).scalar_one_or_none()


def note_code_sent(user: CustomerUser, party: ContractParty, *, ip: str,
                   user_agent: str) -> None:
    """After 送信 succeeded: the service checked the PIN and mailed the code to
    the user's address (the credential's address follows the user's)."""
    entry = _latest_entry(CODE_SENT, user)
    db.session.add(SigningEvidence(
        package_id=party.package_id, party_id=party.id, user_id=user.id,
        signer_role=user.role.label, code_sent_audit_id=entry.id if entry else None,
        code_sent_at=entry.at if entry else now(), code_sent_to=mask_email(user.email),
        sent_ip=ip[:64], sent_user_agent=user_agent[:512]))


def note_code_checked(user: CustomerUser, package_id: int) -> None:
    """After 認証 succeeded (same transaction): the service checked the code
    against the prepared documents' hashes (#13 item 10)."""
    entry = _latest_entry(AUTHENTICATED, user)
    if entry is None:
        return
    row = _open_row(user, package_id, int(entry.target_id))
    row.code_checked_at = entry.at


def note_signed(user: CustomerUser, package_id: int, *, ip: str, user_agent: str) -> None:
    """After 電子署名 succeeded (same transaction)."""
    entry = _latest_entry(SIGNED, user)
    if entry is None:
        return
    row = _open_row(user, package_id, int(entry.target_id))
    row.signed_audit_id = entry.id
    if row.code_checked_at is None:  # authenticated before 認証 was recorded here
        row.code_checked_at = entry.at
    row.signed_ip = ip[:64]
    row.signed_user_agent = user_agent[:512]


def _open_row(user: CustomerUser, package_id: int, party_id: int) -> SigningEvidence:
    row = db.session.execute(
        select(SigningEvidence).where(SigningEvidence.package_id == package_id,
                                      SigningEvidence.party_id == party_id,
                                      SigningEvidence.user_id == user.id,
                                      SigningEvidence.signed_audit_id.is_(None))
        .order_by(SigningEvidence.id.desc()).limit(1)
    ).scalar_one_or_none()
    if row is None:  # 送信 happened before this was recorded
        row = SigningEvidence(package_id=package_id, party_id=party_id, user_id=user.id,
                              signer_role=user.role.label)
        db.session.add(row)
    return row


# --- what the certificate says ------------------------------------------------------------

@dataclass(frozen=True)
class CertificateFacts:
    subject: str
    serial: str
    issuer: str
    validity: str


@dataclass
class PartyEvidence:
    heading: str
    signer: str
    certificate: CertificateFacts | None
    timestamps: list[str]
    control: list[str]
    entries: list[AuditEntry] = field(default_factory=list)


@dataclass
class DocumentEvidence:
    title: str
    digests: list[tuple[str, str]]  # (after what, SHA-256)


@dataclass
class Evidence:
    package: ContractPackage
    parties: list[PartyEvidence]
    documents: list[DocumentEvidence]
    conclusion: list[str]
    entries: list[AuditEntry]


def _jst(value: datetime | None) -> str:
    return to_jst(value).strftime("%Y/%m/%d %H:%M:%S JST") if value else NO_RECORD


def _certificate(cert: ax509.Certificate) -> CertificateFacts:
    validity = cert["tbs_certificate"]["validity"]
    return CertificateFacts(
        subject=cert.subject.human_friendly, serial=format(cert.serial_number, "x"),
        issuer=cert.issuer.native.get("common_name", ""),
        validity=f"{_jst(validity['not_before'].native)} ～ {_jst(validity['not_after'].native)}")


def _timestamp_time(signed_data: cms.SignedData) -> datetime | None:
    """genTime of the RFC 3161 token in the signature's unsigned attributes."""
    signer_info = signed_data["signer_infos"][0]
    for attr in signer_info["unsigned_attrs"] or []:
        if attr["type"].native == "signature_time_stamp_token":
            token = attr["values"][0]
            tst_info = token["content"]["encap_content_info"]["content"].parsed
            gen_time: datetime = tst_info["gen_time"].native
            return gen_time
    return None


@dataclass(frozen=True)
class EmbeddedFacts:
    certificate: CertificateFacts
    timestamp: datetime | None


def _embedded(data: bytes) -> dict[str, EmbeddedFacts]:
    reader = PdfFileReader(BytesIO(data), strict=False)
    return {sig.field_name: EmbeddedFacts(_certificate(sig.signer_cert),
                                          _timestamp_time(sig.signed_data))
            for sig in reader.embedded_signatures
            if str(sig.sig_object_type) != "/DocTimeStamp"}


def _entries(ids: Iterable[int | None]) -> dict[int, AuditEntry]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = db.session.execute(select(AuditEntry).where(AuditEntry.id.in_(wanted))).scalars()
    return {row.id: row for row in rows}


def _signed_entry(party: ContractParty) -> AuditEntry | None:
    return db.session.execute(
        select(AuditEntry).where(AuditEntry.action == SIGNED,
                                 AuditEntry.target_type == "ContractParty",
                                 AuditEntry.target_id == str(party.id))
        .order_by(AuditEntry.id.desc()).limit(1)
    ).scalar_one_or_none()


def _browser(ip: str, user_agent: str) -> str:
    return f"IPアドレス {ip or NO_RECORD}　ブラウザ {user_agent or NO_RECORD}"


def _control_lines(row: SigningEvidence | None, signed: AuditEntry | None) -> list[str]:
    if row is None or row.code_sent_audit_id is None:
        sent = [f"署名用PIN：電子署名サービスによる照合　{NO_RECORD}",
                f"認証コードの送信：{NO_RECORD}"]
        sent_from = f"送信時の接続元：{NO_RECORD}"
    else:
        sent = [f"署名用PIN：電子署名サービスが照合（{_jst(row.code_sent_at)}）",
                f"認証コードの送信：{row.code_sent_to} 宛に送信（{_jst(row.code_sent_at)}）"]
        sent_from = f"送信時の接続元：{_browser(row.sent_ip, row.sent_user_agent)}"
    if row is not None and row.code_checked_at is not None:
        checked = f"認証コードの照合：電子署名サービスが照合（{_jst(row.code_checked_at)}）"
        signed_from = f"電子署名時の接続元：{_browser(row.signed_ip, row.signed_user_agent)}"
    else:
        checked = f"認証コードの照合：{NO_RECORD}"
        ip = signed.ip if signed is not None else ""
        signed_from = f"電子署名時の接続元：{_browser(ip, '')}"
    return [*sent, checked, sent_from, signed_from]


def _party_evidence(package: ContractPackage, party: ContractParty,
                    embedded: list[tuple[str, dict[str, EmbeddedFacts]]]) -> PartyEvidence:
    signed = _signed_entry(party)
    row = next((r for r in reversed(package.signing_evidence)
                if r.party_id == party.id and signed is not None
                and r.signed_audit_id == signed.id), None)
    user = party.signed_by
    role = row.signer_role if row is not None and row.signer_role else (
        user.role.label if user is not None else "")
    signer = (f"氏名 {user.display_name}　会社 {user.company.name}　役割 {role}"
              if user is not None else NO_RECORD)
    found = [(title, facts[party.signature_field]) for title, facts in embedded
             if party.signature_field in facts]
    refs = _entries([row.code_sent_audit_id if row else None, signed.id if signed else None])
    return PartyEvidence(
        heading=(f"当事者{party.position_order + 1}　{party.position_label}："
                 f"{party.display_name}"),
        signer=signer, certificate=found[0][1].certificate if found else None,
        timestamps=[f"{title}：{_jst(facts.timestamp)}" for title, facts in found],
        control=_control_lines(row, signed), entries=list(refs.values()))


def _document_evidence(package: ContractPackage) -> list[DocumentEvidence]:
    signatures = db.session.execute(
        select(ContractSignature).where(ContractSignature.package_id == package.id)
        .order_by(ContractSignature.id)
    ).scalars().all()
    parties = {p.id: p for p in package.parties}
    out = []
    for document in package.contract_documents:
        digests = [("署名前（登録時）", document.original_sha256)]
        for sig in (s for s in signatures if s.document_id == document.id):
            if sig.kind == SignatureKind.PARTY and sig.party_id in parties:
                party = parties[sig.party_id]
                digests.append((f"当事者{party.position_order + 1}の署名後", sig.result_sha256))
            elif sig.kind == SignatureKind.BANK:
                digests.append(("銀行電子印の付与後（締結）", sig.result_sha256))
        if digests[-1][1] != document.current_sha256:
            digests.append(("現在の保存版", document.current_sha256))
        out.append(DocumentEvidence(document.title, digests))
    return out


def _conclusion(package: ContractPackage) -> tuple[list[str], list[AuditEntry]]:
    rows = db.session.execute(
        select(AuditEntry).where(AuditEntry.target_type == "ContractPackage",
                                 AuditEntry.target_id == str(package.id),
                                 AuditEntry.action.in_([BANK_SEALED, PACKAGE_STATE]))
        .order_by(AuditEntry.id)
    ).scalars().all()
    entries = [e for e in rows if e.action == BANK_SEALED
               or json.loads(e.detail).get("to") == "concluded"]
    bank = db.session.execute(
        select(ContractSignature).where(ContractSignature.package_id == package.id,
                                        ContractSignature.kind == SignatureKind.BANK)
        .limit(1)
    ).scalar_one_or_none()
    staff = db.session.get(StaffUser, bank.staff_user_id) if bank and bank.staff_user_id else None
    who = NO_RECORD
    if staff is not None:
        branch = staff.branch.name if staff.branch else ""
        who = f"{branch} {staff.name}（ログインID {staff.login_id}）".strip()
    lines = [f"締結日時：{_jst(package.concluded_at)}", f"締結操作者（銀行担当者）：{who}"]
    if bank is not None:
        lines.append(f"銀行電子印の証明書：シリアル番号 {bank.certificate_serial}")
    return lines, entries


def collect(package: ContractPackage) -> Evidence:
    store = get_file_store()
    embedded = [(d.title, _embedded(store.get(d.current_key))) for d in package.contract_documents]
    parties = [_party_evidence(package, p, embedded) for p in package.parties]
    conclusion, concluded_entries = _conclusion(package)
    entries = sorted({e.id: e for p in parties for e in p.entries}.values(), key=lambda e: e.id)
    return Evidence(package, parties, _document_evidence(package), conclusion,
                    [*entries, *concluded_entries])


# --- the PDF ---------------------------------------------------------------------------------

LEFT, TOP, BOTTOM, RIGHT = 50, 800, 60, 545


class _Writer:
    def __init__(self, pdf: canvas.Canvas) -> None:
        self.pdf, self.font = pdf, japanese_font()
        self.y: float = TOP

    def line(self, text: str, size: float = 9.0, indent: int = 0) -> None:
        for part in self._wrap(text, size, indent):
            if self.y < BOTTOM:
                self.pdf.showPage()
                self.y = TOP
            self.pdf.setFont(self.font, size)
            self.pdf.drawString(LEFT + indent, self.y, part)
            self.y -= size + 5

    def gap(self, points: int = 6) -> None:
        self.y -= points

    def _wrap(self, text: str, size: float, indent: int) -> list[str]:
        width = RIGHT - LEFT - indent
        parts, current = [], ""
        for char in text:
            if current and stringWidth(current + char, self.font, size) > width:
                parts.append(current)
                current = "　" + char if char != " " else "　"
            else:
                current += char
        return [*parts, current]


def render(evidence: Evidence, issued_at: datetime) -> bytes:
    package = evidence.package
    buf = BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    pdf.setTitle(f"締結証明書 案件{package.id}")
    out = _Writer(pdf)
    out.line("締結証明書", 16)
    out.line(f"案件番号：{package.id}　申込概要：{package.summary_label}　"
             f"申込日：{package.application_date:%Y/%m/%d}")
    out.line(f"本件担当：{package.staff_label}　発行日時：{_jst(issued_at)}")
    out.line("本書は、本契約の各当事者による電子署名が本人の管理の下で行われたこと、"
             "契約書等の内容と締結の経過を、電子署名サービスおよび本ポータルの記録に"
             "基づき証明するものです。本書には銀行の電子署名（電子印）を付しています。", 8.5)
    for party in evidence.parties:
        out.gap()
        out.line(f"■ {party.heading}", 12)
        out.line(f"署名者：{party.signer}", 9, 10)
        cert = party.certificate
        if cert is None:
            out.line(f"電子証明書：{NO_RECORD}", 9, 10)
        else:
            out.line(f"電子証明書：主体者 {cert.subject}", 9, 10)
            out.line(f"シリアル番号 {cert.serial}　発行者 {cert.issuer}", 9, 22)
            out.line(f"有効期間 {cert.validity}", 9, 22)
        out.line("署名時刻（署名タイムスタンプ）：", 9, 10)
        for stamp in party.timestamps or [NO_RECORD]:
            out.line(stamp, 9, 22)
        out.line("本人による操作（唯一の管理）の確認：", 9, 10)
        for text in party.control:
            out.line(text, 9, 22)
    out.gap()
    out.line("■ 契約書等のハッシュ値（SHA-256）", 12)
    for document in evidence.documents:
        out.line(document.title, 9.5, 10)
        for label, digest in document.digests:
            out.line(f"{label}：{digest}", 8, 22)
    out.gap()
    out.line("■ 締結", 12)
    for text in evidence.conclusion:
        out.line(text, 9, 10)
    out.gap()
    out.line("■ 操作ログ（記録番号・エントリハッシュ）", 12)
    for entry in evidence.entries:
        label = ACTION_LABELS.get(entry.action, entry.action)
        out.line(f"No.{entry.id}　{_jst(entry.at)}　{label}（{entry.action}）", 8.5, 10)
        out.line(f"操作者 {entry.actor_label}　IPアドレス {entry.ip or NO_RECORD}", 8, 22)
        out.line(f"ハッシュ {entry.hash}", 8, 22)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


# --- issuing and downloading --------------------------------------------------------------------

def issue_at_conclusion(staff: StaffUser, package: ContractPackage) -> None:
    """At 締結, once the documents are sealed. The conclusion stands even if the
    service fails now: the certificate is then issued at its first download
    (nothing of it is stored, so the package is as if concluded before #16)."""
    try:
        issue(staff, package)
    except DomainError as exc:
        log.warning("evidence certificate deferred for package %s: %s", package.id,
                    exc.message)
        audit.record("contract.evidence.deferred", actor=staff, target=package)


def issue(staff: StaffUser | None, package: ContractPackage) -> None:
    """Render, seal (B-LTA) and store the certificate in the current
    transaction; a seal failure raises DomainError with nothing stored."""
    sealed = bank_seal(render(collect(package), now()))
    package.evidence_key = get_file_store().put(sealed, kind="evidence")
    package.evidence_sha256 = hashlib.sha256(sealed).hexdigest()
    audit.record("contract.evidence.issued", actor=staff, target=package,
                 detail={"sha256": package.evidence_sha256})


def certificate_pdf(package: ContractPackage, *, actor: Any) -> bytes:
    """The stored certificate (permissions are the caller's, as for the report);
    a package concluded before certificates existed gets one now."""
    if package.concluded_at is None:
        raise NotFound()
    if package.evidence_key is None:
        package = lock_package(package.id)
        if package.evidence_key is None:
            issue(None, package)
    data = get_file_store().get(package.evidence_key or "")
    audit.record("contract.evidence.downloaded", actor=actor, target=package)
    return data
