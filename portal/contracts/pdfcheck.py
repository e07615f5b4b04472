"""The checks of one stored signed PDF (SIGN-6), without the database: every
signature validated the long-term way (``ades_lta_validation`` from the embedded
validation data), every document timestamp intact and the newest one trusted
now, and whether the newest timestamp is due for renewal. Used by the integrity
run's worker processes (``integrity``) and by the renewal (``longterm``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from io import BytesIO
from typing import Any

from asn1crypto import x509 as ax509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_timestamp
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

from portal.clock import now
from remote_signing.pdf import Trust

DOC_TIMESTAMP = "/DocTimeStamp"
GOOD_MODIFICATIONS = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES,
                      ModificationLevel.FORM_FILLING)


def lta_spec(root: ax509.Certificate) -> PdfSignatureValidationSpec:
    """Validation from the embedded DSS only, revocation data required (PAdES-LTA)."""
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[root]),
        revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO))
    return PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY)))


def _check_signature(sig: Any, root: ax509.Certificate) -> list[str]:
    name = sig.field_name
    result = asyncio.run(ades_lta_validation(sig, lta_spec(root)))
    status = result.api_status
    problems = []
    if status is None or not status.intact:
        problems.append(f"{name}：署名後に文書が変更されています（完全性NG）。")
    elif not status.valid:
        problems.append(f"{name}：署名値が正しくありません。")
    if result.ades_subindic is not AdESPassed.OK:
        problems.append(f"{name}：長期検証に失敗しました（{result.ades_subindic}）。")
    if status is not None and status.intact:
        if status.coverage not in (SignatureCoverageLevel.ENTIRE_FILE,
                                   SignatureCoverageLevel.ENTIRE_REVISION):
            problems.append(f"{name}：署名範囲が不正です（{status.coverage.name}）。")
        if status.modification_level not in GOOD_MODIFICATIONS or status.docmdp_ok is False:
            problems.append(f"{name}：署名後に許可されていない変更があります。")
    return problems


def _check_timestamp(sig: Any, root: ax509.Certificate, *, newest: bool) -> list[str]:
    """Every document timestamp must be intact; the newest one must also be trusted
    now and be followed only by validation data."""
    name = sig.field_name
    status = validate_pdf_timestamp(sig, validation_context=Trust(root).context())
    if not status.intact or not status.valid:
        return [f"{name}：ドキュメントタイムスタンプ後に文書が変更されています（完全性NG）。"]
    if not newest:
        return []
    problems = []
    if not status.trusted:
        problems.append(f"{name}：ドキュメントタイムスタンプの証明書を信頼できません。")
    if status.coverage is not SignatureCoverageLevel.ENTIRE_FILE:
        trailing_ok = (status.coverage is SignatureCoverageLevel.ENTIRE_REVISION
                       and status.modification_level in GOOD_MODIFICATIONS)
        if not trailing_ok:
            problems.append(f"{name}：タイムスタンプ後に許可されていない変更があります。")
    return problems


@dataclass
class PdfCheck:
    problems: list[str]
    newest_timestamp: Any = None  # EmbeddedPdfSignature
    timestamp_names: list[str] = field(default_factory=list)


def check_pdf(data: bytes, root: ax509.Certificate, expected_fields: list[str]) -> PdfCheck:
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        sigs = list(reader.embedded_signatures)
    except Exception as exc:  # noqa: BLE001  any parse failure of a stored file is a finding
        return PdfCheck([f"PDFとして読み取れません（{type(exc).__name__}）。"])
    names = [s.field_name for s in sigs]
    problems = [f"{n}：記録されている署名が文書にありません。"
                for n in expected_fields if n not in names]
    timestamps = [s for s in sigs if str(s.sig_object_type) == DOC_TIMESTAMP]
    if not timestamps:
        problems.append("ドキュメントタイムスタンプがありません（PAdES B-LTAではありません）。")
    for sig in sigs:
        try:
            if str(sig.sig_object_type) == DOC_TIMESTAMP:
                problems += _check_timestamp(sig, root, newest=sig is timestamps[-1])
            else:
                problems += _check_signature(sig, root)
        except Exception as exc:  # noqa: BLE001  a stored file that cannot be validated is a finding
            problems.append(f"{sig.field_name}：検証できません（{type(exc).__name__}）。")
    return PdfCheck(problems, timestamps[-1] if timestamps else None,
                    [t.field_name for t in timestamps])


def _cert_id(cert: ax509.Certificate) -> tuple[str, int]:
    return cert.issuer.sha256.hex(), cert.serial_number


def _not_after(cert: ax509.Certificate) -> datetime:
    value: datetime = cert["tbs_certificate"]["validity"]["not_after"].native
    return value


def renewal_decision(data: bytes, check: PdfCheck, window: timedelta, *,
                     at: datetime | None = None) -> tuple[bool, str]:
    """(due, note). Due when the newest document timestamp's TSA certificate expires
    within ``window``, unless that certificate already stamped the timestamp before
    it: a second renewal by the same certificate would not push the horizon out."""
    newest = check.newest_timestamp
    if newest is None:
        return False, ""
    cert = newest.signer_cert
    expires = _not_after(cert)
    if expires - (at or now()) > window:
        return False, ""
    reader = PdfFileReader(BytesIO(data), strict=False)
    timestamps = list(reader.embedded_timestamp_signatures)
    if len(timestamps) >= 2 and _cert_id(timestamps[-2].signer_cert) == _cert_id(cert):
        return False, (f"TSA証明書の有効期限（{expires:%Y-%m-%d}）が近づいていますが、"
                       "同じ証明書で更新済みです。TSA証明書の更新が必要です。")
    return True, f"TSA証明書の有効期限 {expires:%Y-%m-%d} 前の更新"
