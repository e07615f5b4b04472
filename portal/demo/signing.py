"""The demo representative's signing certificate and the demo contract packages
(``flask demo seed``, ``flask demo sign-sample``). Needs the signing service."""

from __future__ import annotations

import click
from sqlalchemy import select

from portal import audit
from portal.certs.models import CertState, SigningCertificate
from portal.certs.services import active_credential_id, signing_client
from portal.contracts.demo import seed_contracts
from portal.demo import DEMO_REP_MYPAGE_ID, DEMO_STAFF, seed
from portal.extensions import db
from portal.models import CustomerUser
from remote_signing.client import SigningError

DEMO_SIGNING_PIN = "DemoPin2026A"


def demo_representative() -> CustomerUser:
    """The demo representative, with the base data and a certificate if missing."""
    rep = db.session.scalar(
        select(CustomerUser).where(CustomerUser.mypage_id == DEMO_REP_MYPAGE_ID)
    )
    if rep is None:
        seed()
        rep = db.session.scalar(
            select(CustomerUser).where(CustomerUser.mypage_id == DEMO_REP_MYPAGE_ID)
        )
    assert rep is not None
    if active_credential_id(rep) is None:
        give_demo_certificate(rep)
    return rep


def give_demo_certificate(rep: CustomerUser) -> None:
    """Demo data: the representative's PIN registration and 発行, as one step."""
    with signing_client() as api:
        info = api.create_credential(
            user_id=rep.mypage_id,
            name=rep.display_name,
            email=rep.email,
            organization=rep.company.name,
            pin=DEMO_SIGNING_PIN,
        )
    cert = SigningCertificate(
        user_id=rep.id,
        company_id=rep.company_id,
        credential_id=info.credential_id,
        state=CertState.ACTIVE,
        pin_locked=False,
        serial_hex=info.serial_hex,
        subject=info.subject[:500],
        valid_from=info.valid_from,
        valid_to=info.valid_to,
        revocation_reason="",
    )
    db.session.add(cert)
    db.session.flush()
    audit.record(
        "certs.demo_issued",
        target=cert,
        company_id=rep.company_id,
        detail={"credential": info.credential_id},
    )
    db.session.commit()
    click.echo(f"demo certificate issued to {rep.display_name}")


def seed_signing_demo() -> list[str]:
    """The demo representative's certificate and the demo contract packages."""
    try:
        demo_representative()  # issues the certificate once
    except SigningError as exc:
        db.session.rollback()
        return [f"signing demo skipped: the signing service is not usable ({type(exc).__name__}); "
                "start it with scripts/services.sh start signing and run this again"]
    lines = [f"  署名用PIN (代表者)   : {DEMO_SIGNING_PIN}"]
    lines += seed_contracts(staff_login=DEMO_STAFF[0], staff_password=DEMO_STAFF[1],
                            rep_mypage_id=DEMO_REP_MYPAGE_ID, pin=DEMO_SIGNING_PIN)
    return lines
