"""The contract's side of the signing dialog of CON-4, in the guide's order (SIGN-2):
1. PIN入力 → 送信: the signing service checks the PIN (a wrong one is refused
   here with the attempts left, counted toward the PIN lock of PIN-5, and no
   code is mailed) and mails the code;
2. 認証コード入力 → 認証: the mailed code and the PIN proof authorize the hashes
   of every contract document of the package (a wrong code is refused here with
   the attempts left; the limit locks the certificate as a wrong PIN does);
3. 認証完了 → 電子署名: the authorized hashes are signed.

The dialog itself (what waits between the steps, the messages, where a refusal
sends the user) is ``portal.certs.dialog``; ``ContractSigning`` is what it signs
for a package: loaded and checked once per request (the server checks the
confirmation steps again at every step and, under the package lock, at the
signature), the contract documents and their options, and how each outcome is
recorded (one audit entry, the 締結証明書's evidence row).
"""

from __future__ import annotations

from dataclasses import dataclass

from portal import audit
from portal.certs import dialog
from portal.filestore import get_file_store
from portal.models import CustomerUser
from remote_signing.pdf import SignatureOptions

from . import evidence, services, signing
from .models import ContractPackage, ContractParty


def purpose(package_id: int) -> str:
    """What the dialog of this package is kept under (with the user)."""
    return f"contract:{package_id}"


@dataclass(frozen=True)
class ContractSigning:
    """A package's contract documents as the dialog's subject (``dialog.Signable``)."""

    user: CustomerUser
    package: ContractPackage
    party: ContractParty
    ip: str = ""
    user_agent: str = ""
    checks_unchanged: bool = True  # another party may sign between 認証 and 電子署名

    @classmethod
    def open(cls, user: CustomerUser, package_id: int, *, lock: bool = False, ip: str = "",
             user_agent: str = "") -> ContractSigning:
        """The package if the user may sign it now; ``lock``: under the package's
        write lock (電子署名: two parties signing at once are serialized)."""
        if lock:
            services.lock_package(package_id)  # the same object customer_package returns
        package, _ = services.customer_package(user, package_id)
        party = services.check_ready_to_sign(user, package)
        return cls(user, package, party, ip, user_agent)

    @property
    def purpose(self) -> str:
        return purpose(self.package.id)

    @property
    def description(self) -> str:
        return signing.description(self.package)

    def documents(self) -> list[bytes]:
        store = get_file_store()
        return [store.get(d.current_key) for d in self.package.contract_documents]

    def options(self) -> list[SignatureOptions]:
        return signing.party_options(self.user, self.party,
                                     len(self.package.contract_documents))

    def record_code_sent(self, sent: dialog.CodeSent) -> None:
        dialog.record_code_sent(self.user, sent)
        evidence.note_code_sent(self.user, self.party, ip=self.ip, user_agent=self.user_agent)

    def record_authenticated(self) -> None:
        audit.record("contract.sign.authenticated", actor=self.user, target=self.party,
                     detail={"package": self.package.id})
        evidence.note_code_checked(self.user, self.package.id)

    def record_signed(self, signed: list[bytes]) -> ContractPackage:
        package = signing.record_party_signature(self.user, self.package, self.party, signed)
        evidence.note_signed(self.user, package.id, ip=self.ip, user_agent=self.user_agent)
        return package

    def record_refusal(self, refusal: dialog.Refusal) -> None:
        audit.record("contract.sign.refused", actor=self.user, target=self.party,
                     detail={"step": refusal.back_to.value, "reason": refusal.error.message,
                             "package": self.package.id})
