"""Whether a customer's use of the service has ended (解約, CON-9).

A read of its own so the login (``portal.auth``) can ask it without importing
the retention rules, which sit above contracts and users."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db

from .models import CompanyTermination


def termination_of(company_id: int) -> CompanyTermination | None:
    return db.session.execute(select(CompanyTermination).where(
        CompanyTermination.company_id == company_id)).scalars().first()


def is_terminated(company_id: int) -> bool:
    return termination_of(company_id) is not None
