"""Demo contract packages (issue 6, item 9), for ``flask demo seed``.

``seed_contracts`` adds, once, to the demo company of ``portal.demo.seed``:
one package waiting for the representative's signature, and one concluded
package. The concluded one is really signed: the representative's signing
credential (the certificates area's demo certificate) is asked for the code with
PIN ``pin`` (checked at 送信) and signs with the PIN proof and the code read by
``read_code`` (the demo mailbox in the embedded profile), then the
demo staff member concludes with the bank's seal. Without a usable credential
the second package is skipped and the returned lines say why.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from portal.certs import dialog
from portal.certs.services import active_credential_id
from portal.clock import now, to_jst
from portal.dev.maildir import maildir_keys, wait_for_code
from portal.extensions import db
from portal.models import CustomerUser, StaffUser
from remote_signing.sample import sample_pdf

from . import services, signing
from .models import ContractPackage, ContractParty
from .states import PackageState
from .uploads import InspectedPdf


def _pdf(title: str) -> InspectedPdf:
    data = sample_pdf()
    return InspectedPdf(title, data, hashlib.sha256(data).hexdigest())


def _prepare(staff: StaffUser, rep: CustomerUser, summary: str, amount: int,
             days_ago: int) -> ContractPackage:
    today = to_jst(now()).date()
    data = {"application_date": today - timedelta(days=days_ago), "summary_type": summary,
            "loan_amount": amount, "planned_loan_date": today - timedelta(days=days_ago - 14),
            "staff_in_charge_id": staff.id, "cancels_package_id": None,
            "parties": [{"company_id": rep.company_id, "position": "debtor", "user_id": None}]}
    files = services.PackageFiles([_pdf("金銭消費貸借契約書"), _pdf("約定書")],
                                  _pdf("重要事項説明書"))
    package = services.create_package(staff, data, files)
    services.send_package(staff, package)
    db.session.commit()
    return package


def _has(rep: CustomerUser, state: PackageState) -> bool:
    return db.session.execute(
        select(ContractPackage.id).join(ContractParty)
        .where(ContractParty.company_id == rep.company_id, ContractPackage.state == state)
        .limit(1)).first() is not None


def seed_contracts(*, staff_login: str, staff_password: str, rep_mypage_id: str, pin: str,
                   read_code: Callable[[str, float], str] | None = None) -> list[str]:
    staff = db.session.execute(select(StaffUser).where(StaffUser.login_id == staff_login)
                               ).scalar_one_or_none()
    rep = db.session.execute(select(CustomerUser).where(CustomerUser.mypage_id == rep_mypage_id)
                             ).scalar_one_or_none()
    if staff is None or rep is None:
        return ["contracts: run the base demo seed first"]
    lines = []
    if not _has(rep, PackageState.UNSIGNED):
        waiting = _prepare(staff, rep, "loan_only", 10_000_000, days_ago=3)
        lines.append(f"contracts: package {waiting.id} waits for {rep.display_name}'s signature")
    if _has(rep, PackageState.CONCLUDED):
        return lines or ["contracts: demo packages already present"]
    if active_credential_id(rep) is None:
        lines.append("contracts: no concluded demo package yet: the representative has no "
                     "certificate (run `flask demo sign-sample` first, then this again)")
        return lines
    concluded = _prepare(staff, rep, "loan_with_guarantee", 50_000_000, days_ago=30)
    try:
        for document in concluded.documents:
            services.open_document(rep, concluded, document.id)
        services.confirm(rep, concluded, important=True, documents=True)
        db.session.commit()
        started = time.time() - 1
        box = Path(current_app.config["DEV_MAILDIR"])
        seen = maildir_keys(box)
        sent = dialog.send_code(rep, pin)  # 送信: the service checks the PIN first
        dialog.record_code_sent(rep, sent)
        db.session.commit()
        code = (read_code(rep.email, started) if read_code
                else wait_for_code(box, rep.email, seen, timeout=20))
        signing.sign_for_party(rep, concluded.id, proof=sent.proof, otp=code)
        db.session.commit()
        signing.conclude(staff, concluded.id, staff_password)
        db.session.commit()
    except Exception as exc:  # noqa: BLE001  (demo data: say what is missing, keep the rest)
        db.session.rollback()
        lines.append(f"contracts: package {concluded.id} left unsigned ({type(exc).__name__}; "
                     "is the signing service running?) — it can be signed in MyPage")
        return lines
    lines.append(f"contracts: package {concluded.id} signed and concluded (現在有効な契約)")
    return lines
