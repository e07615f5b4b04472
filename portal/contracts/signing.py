"""The signatures of a package, through the remote-signing adapter (SIGN-1/2).

* A party's signature (CON-4) is made by the certificates area's signing dialog
  (``portal.certs.dialog``: PIN, code, certificate state, messages), which the
  contract's side drives through ``signing_flow.ContractSigning``; this module
  says what a party signs (``party_options``, ``description``) and records the
  result (``record_party_signature``): each document gets a new incremental
  revision with a signature timestamp (PAdES B-T). ``sign_for_party`` signs in
  one step with a PIN proof and the mailed code (demo seed, tests).
* ``conclude``: the bank's seal (``seal.seal``, console client only) adds
  validation data for every earlier signature, the bank's signature with its own
  validation data, and a document timestamp (PAdES B-LTA); then the 締結証明書 is
  issued (``evidence.issue_at_conclusion``).

Both run under ``services.lock_package``: two parties signing at once are
serialized, so neither revision is lost.
"""

from __future__ import annotations

import hashlib

from portal import audit
from portal.certs import dialog
from portal.certs.services import current_certificate
from portal.clock import now
from portal.errors import DomainError
from portal.extensions import db
from portal.filestore import get_file_store
from portal.mail import queue_mail
from portal.models import CustomerUser, StaffUser
from remote_signing.client import PinProof
from remote_signing.pdf import SignatureOptions

from . import evidence, seal, services
from .models import ContractPackage, ContractParty, ContractSignature, SignatureKind
from .states import PACKAGE_LIFECYCLE, PARTY_LIFECYCLE, PackageState, PartyState

# --- party signatures (CON-4) ------------------------------------------------------------

def description(package: ContractPackage) -> str:
    """What the signing service shows with the authorization."""
    return f"契約案件 {package.id}"


def party_options(user: CustomerUser, party: ContractParty, count: int) -> list[SignatureOptions]:
    return [SignatureOptions(field_name=party.signature_field, reason="契約締結",
                             name=user.display_name) for _ in range(count)]


def sign_for_party(user: CustomerUser, package_id: int, *, proof: PinProof,
                   otp: str) -> ContractPackage:
    """電子署名 in one step: ``proof`` (from ``dialog.send_code``) + the mailed code
    authorize and sign every contract document of the package for the user's
    party (demo seed, tests; the MyPage dialog goes through ``signing_flow``).
    All or nothing (CertError)."""
    package = services.lock_package(package_id)
    party = services.check_ready_to_sign(user, package)
    store = get_file_store()
    documents = package.contract_documents
    signed = dialog.sign_pdfs(user, [store.get(d.current_key) for d in documents], proof=proof,
                              code=otp, options=party_options(user, party, len(documents)),
                              description=description(package))
    return record_party_signature(user, package, party, signed)


def record_party_signature(user: CustomerUser, package: ContractPackage, party: ContractParty,
                           signed: list[bytes]) -> ContractPackage:
    """Keep the party's signed revision of every contract document (in the caller's
    transaction, with the package locked): the party is 署名済, and the package
    all signed once every party is."""
    documents = package.contract_documents
    cert = current_certificate(user)
    serial, subject = (cert.serial_hex, cert.subject) if cert is not None else ("", "")
    for document, data in zip(documents, signed, strict=True):
        services.store_revision(document, data)
        db.session.add(ContractSignature(
            package_id=package.id, document_id=document.id, party_id=party.id,
            kind=SignatureKind.PARTY, field_name=party.signature_field,
            customer_user_id=user.id, certificate_subject=subject[:500],
            certificate_serial=serial, result_sha256=document.current_sha256,
            result_key=document.current_key))
    party.signed_by_id = user.id
    party.signed_at = now()
    PARTY_LIFECYCLE.move(party, PartyState.SIGNED, actor=user, detail={"package": package.id})
    services.retire_sign_requests(package, party)
    audit.record("contract.signed", actor=user, target=party,
                 detail={"package": package.id, "documents": [d.current_sha256 for d in documents],
                         "certificate_serial": serial})
    if all(p.state == PartyState.SIGNED for p in package.parties):
        PACKAGE_LIFECYCLE.move(package, PackageState.ALL_SIGNED, actor=user,
                               company_id=user.company_id)
        for staff in _staff_to_tell(package):
            queue_mail("contract_all_signed_staff", staff.email, name=staff.name, package=package)
    return package


def _staff_to_tell(package: ContractPackage) -> list[StaffUser]:
    people = {package.staff_in_charge.id: package.staff_in_charge}
    creator = db.session.get(StaffUser, package.created_by_id)
    if creator is not None:
        people[creator.id] = creator
    return list(people.values())


# --- conclusion (CON-6, SIGN-1 B-LTA) -------------------------------------------------------

def conclude(staff: StaffUser, package_id: int, password: str) -> ContractPackage:
    """Check the staff member's password, then seal every contract document."""
    services.check_staff_password(staff, password)
    package = services.lock_package(package_id)
    if package.state in (PackageState.CONCLUDED, PackageState.REPAID, PackageState.CANCELLED):
        raise DomainError("この契約は既に締結されています。")  # e.g. a second click (#13 item 15)
    if package.state in (PackageState.VOID, PackageState.WITHDRAWN):
        raise DomainError(f"この契約は{package.state_label}のため締結できません。")
    if package.state != PackageState.ALL_SIGNED:
        raise DomainError("すべての当事者の署名が完了していないため、締結できません。"
                          f"（契約進捗：{package.state_label}）")
    store = get_file_store()
    documents = package.contract_documents
    try:
        sealed, info = seal.seal([store.get(d.current_key) for d in documents])
    except DomainError:
        db.session.rollback()
        raise
    for document, data in zip(documents, sealed, strict=True):
        services.store_revision(document, data)
        db.session.add(ContractSignature(
            package_id=package.id, document_id=document.id, kind=SignatureKind.BANK,
            field_name=seal.BANK_FIELD, staff_user_id=staff.id,
            certificate_subject=info.subject[:500], certificate_serial=info.serial_hex,
            result_sha256=document.current_sha256))
    audit.record("contract.bank_sealed", actor=staff, target=package,
                 detail={"documents": [d.current_sha256 for d in documents]})
    services.after_conclusion(staff, package)
    evidence.issue_at_conclusion(staff, package)  # 締結証明書 (#16 item 4)
    return package


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
