"""Whether a customer's use of the service has ended (解約, CON-9), and the
login's refusal of such a customer (registered with ``portal.auth.services``)."""

from __future__ import annotations

from sqlalchemy import select

from portal.auth.services import Refusal, register_customer_check
from portal.extensions import db
from portal.models import CustomerUser

from .models import CompanyTermination

TERMINATED_LOGIN = ("このお客さまのMyPageのご利用は終了しています（解約済み）。"
                    "ご不明な点はお取引店までお問い合わせください。")


def termination_of(company_id: int) -> CompanyTermination | None:
    return db.session.execute(select(CompanyTermination).where(
        CompanyTermination.company_id == company_id)).scalars().first()


def is_terminated(company_id: int) -> bool:
    return termination_of(company_id) is not None


@register_customer_check
def refuse_terminated_login(user: CustomerUser) -> Refusal | None:
    """解約 (#14 item 5): MyPage access ends with a clear message."""
    if is_terminated(user.company_id):
        return Refusal(TERMINATED_LOGIN, "login.refused_terminated")
    return None
