"""The user cards (CERT-6, USR-3…USR-7, AUTH-3, AUTH-10): one builder and one
partial (templates/users/_user_cards.html) for 登録情報の照会・変更 and ユーザ情報の
管理, so both screens offer the same buttons (#13 item 5)."""

from __future__ import annotations

from typing import Any

from portal.certs.reissue import can_request_cert
from portal.certs.services import on_document_step
from portal.models import CustomerRole, CustomerUser
from portal.mypage.account import can_reissue
from portal.permissions import Permission, can
from portal.users import services

ROLE_ORDER = {CustomerRole.REPRESENTATIVE: 0, CustomerRole.ADMINISTRATOR: 1,
              CustomerRole.SIGNER: 2, CustomerRole.VIEWER: 3}


def user_cards(actor: CustomerUser) -> list[dict[str, Any]]:
    users = sorted(services.active_users(actor.company_id),
                   key=lambda u: (ROLE_ORDER.get(CustomerRole(u.role), 9), u.id))
    return [_card(actor, u) for u in users]


def _card(actor: CustomerUser, user: CustomerUser) -> dict[str, Any]:
    me = actor.id == user.id
    return {
        "user": user,
        "me": me,
        "role_label": CustomerRole(user.role).label,
        "can_upload_documents": me and on_document_step(user),
        "can_edit": can(actor, Permission.USERS_EDIT, user),
        "can_request_cert": can_request_cert(actor, user),
        "can_delete": services.can_delete(actor, user),
        "can_reissue": can_reissue(actor, user),
    }
