"""Data the concurrency tests prepare in process before gunicorn is loaded:
a branch with staff, a debtor company and a guarantor, a contract package
sent for signing, a KYC submission waiting for review."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD


@dataclass
class World:
    branch: Any
    staff: Any
    company: Any
    rep: Any
    signer: Any
    guarantor_company: Any
    guarantor: Any


def make_world(factories: Any) -> World:
    from portal.auth.services import new_mypage_id

    branch = factories.branch("東京支店")
    staff = factories.staff(branch)
    company = factories.company(branch, name="株式会社テスト商事")
    rep = factories.customer(company, role="representative")
    signer = factories.customer(company, role="signer")
    guarantor_company = factories.company(branch, kind="individual", name="保証 一郎")
    guarantor = factories.customer(guarantor_company, role="representative")
    for user in (rep, signer, guarantor):
        # unique across the session: the signing service outlives each test
        user.mypage_id = new_mypage_id()
        user.first_name = "太郎"
    db.session.commit()
    return World(branch, staff, company, rep, signer, guarantor_company, guarantor)


def sent_package(app: Any, world: World) -> int:
    """Two contracts and an important-matters document for the debtor and the
    guarantor, prepared and sent by the branch staff through the console."""
    from remote_signing.sample import sample_pdf
    from tests.functional.contracts.conftest import create_package

    return create_package(app, world, sample_pdf(), send=True)  # type: ignore[arg-type]


def submitted_kyc(app: Any, user: Any) -> int:
    """The customer's complete KYC submission, sent for the branch's review."""
    from tests.functional.kyc.conftest import KycDriver

    client = app.test_client()
    driver = KycDriver(client)
    driver.login(user)
    return driver.submit_complete()


def count(model: Any, *where: Any) -> int:
    db.session.commit()  # a fresh read of what the server committed
    return int(db.session.execute(select(func.count()).select_from(model).where(*where))
               .scalar_one())


PASSWORD = DEFAULT_PASSWORD
