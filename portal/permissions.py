"""The one permission policy (USR-2, AUD-4).

``can(actor, permission, target)`` answers from the role table and the
company/branch scoping. Views use ``@require`` for role-only checks and
``get_or_404_for`` for object checks; an object outside the actor's company
or branch is reported as "not found", never as "forbidden".
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import abort
from flask_login import current_user

from portal.extensions import db
from portal.models import Company, CustomerRole, CustomerUser, StaffRole, StaffUser


class Permission(StrEnum):
    # MyPage (customers)
    CONTRACTS_SIGN = "mypage:contracts:sign"
    CONTRACTS_VIEW = "mypage:contracts:view"
    CONTRACTS_VIEW_UNSIGNED = "mypage:contracts:view-unsigned"
    USERS_CREATE = "mypage:users:create"
    USERS_EDIT = "mypage:users:edit"
    USERS_DELETE = "mypage:users:delete"
    USERS_REISSUE_TEMP_PASSWORD = "mypage:users:reissue-temp-password"
    CERTS_REQUEST = "mypage:certs:request"
    PIN_LOCK = "mypage:pin:lock"
    COMPANY_VIEW = "mypage:company:view"
    COMPANY_EDIT = "mypage:company:edit"
    # Bank console (staff)
    CONSOLE_INVITATIONS = "console:invitations:create"
    CONSOLE_APPLICATIONS_REVIEW = "console:applications:review"
    CONSOLE_CUSTOMERS_VIEW = "console:customers:view"
    CONSOLE_CUSTOMERS_EDIT = "console:customers:edit"
    CONSOLE_KYC_REVIEW = "console:kyc:review"
    CONSOLE_CONTRACTS_PREPARE = "console:contracts:prepare"
    CONSOLE_CONTRACTS_CONCLUDE = "console:contracts:conclude"
    CONSOLE_AUDIT_READ = "console:audit:read"
    CONSOLE_MAINTENANCE = "console:maintenance:manage"
    CONSOLE_NOTICES = "console:notices:manage"
    CONSOLE_STAFF_MANAGE = "console:staff:manage"


R = CustomerRole
ALL_ROLES = frozenset(R)
SIGNING_ROLES = frozenset({R.REPRESENTATIVE, R.ADMINISTRATOR, R.SIGNER})
MANAGERS = frozenset({R.REPRESENTATIVE, R.ADMINISTRATOR})

# USR-2 as data: which customer roles hold each permission at all.
CUSTOMER_ROLES: dict[Permission, frozenset[CustomerRole]] = {
    Permission.CONTRACTS_SIGN: SIGNING_ROLES,
    Permission.CONTRACTS_VIEW: ALL_ROLES,
    Permission.CONTRACTS_VIEW_UNSIGNED: SIGNING_ROLES,
    Permission.USERS_CREATE: MANAGERS,
    Permission.USERS_EDIT: ALL_ROLES,  # others only for managers, see _customer_object_rule
    Permission.USERS_DELETE: MANAGERS,
    Permission.USERS_REISSUE_TEMP_PASSWORD: MANAGERS,
    Permission.CERTS_REQUEST: SIGNING_ROLES,  # signer only for self
    Permission.PIN_LOCK: MANAGERS,
    Permission.COMPANY_VIEW: ALL_ROLES,
    Permission.COMPANY_EDIT: MANAGERS,
}

BRANCH_STAFF_PERMISSIONS = frozenset({
    Permission.CONSOLE_INVITATIONS,
    Permission.CONSOLE_APPLICATIONS_REVIEW,
    Permission.CONSOLE_CUSTOMERS_VIEW,
    Permission.CONSOLE_CUSTOMERS_EDIT,
    Permission.CONSOLE_KYC_REVIEW,
    Permission.CONSOLE_CONTRACTS_PREPARE,
    Permission.CONSOLE_CONTRACTS_CONCLUDE,
})
BANK_ADMIN_PERMISSIONS = frozenset({
    Permission.CONSOLE_AUDIT_READ,
    Permission.CONSOLE_MAINTENANCE,
    Permission.CONSOLE_NOTICES,
    Permission.CONSOLE_STAFF_MANAGE,
})

# Actions on another user that are never allowed on oneself.
NOT_ON_SELF = frozenset({Permission.USERS_DELETE, Permission.PIN_LOCK,
                         Permission.USERS_REISSUE_TEMP_PASSWORD})


def _company_id_of(target: Any) -> int | None:
    if isinstance(target, Company):
        return target.id
    return getattr(target, "company_id", None)


def _branch_ids_of(target: Any) -> set[int]:
    """Branches whose staff may handle the target (application or deposit branch)."""
    if target is None:
        return set()
    if isinstance(target, Company):
        return {b for b in (target.application_branch_id, target.deposit_branch_id) if b}
    branch_id = getattr(target, "branch_id", None)
    if branch_id is not None:
        return {branch_id}
    company = getattr(target, "company", None)
    if isinstance(company, Company):
        return _branch_ids_of(company)
    company_id = getattr(target, "company_id", None)
    if company_id is not None:
        found = db.session.get(Company, company_id)
        return _branch_ids_of(found) if found else set()
    return set()


def _customer_object_rule(actor: CustomerUser, permission: Permission, target: Any) -> bool:
    if target is None:
        return True
    target_company = _company_id_of(target)
    if target_company is not None and target_company != actor.company_id:
        return False
    if isinstance(target, CustomerUser):
        is_self = target.id == actor.id
        if permission in NOT_ON_SELF and is_self:
            return False
        if permission is Permission.USERS_EDIT and not is_self:
            return actor.role in MANAGERS
        if permission in (Permission.CERTS_REQUEST, Permission.PIN_LOCK) \
                and target.role not in SIGNING_ROLES:
            return False  # CERT-1: a viewer has no certificate and no PIN
        if permission is Permission.CERTS_REQUEST:
            return is_self or actor.role in MANAGERS
    return True


def can(actor: Any, permission: Permission, target: Any = None) -> bool:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    if isinstance(actor, CustomerUser):
        if actor.role not in CUSTOMER_ROLES.get(permission, frozenset()):
            return False
        return _customer_object_rule(actor, permission, target)
    if isinstance(actor, StaffUser):
        if actor.role == StaffRole.BANK_ADMIN:
            return permission in BANK_ADMIN_PERMISSIONS
        if permission not in BRANCH_STAFF_PERMISSIONS:
            return False
        if target is None:
            return True
        return actor.branch_id in _branch_ids_of(target)
    return False


_P = ParamSpec("_P")
_R = TypeVar("_R")


def require(permission: Permission) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Role-level check for a view; object checks use ``get_or_404_for``."""

    def decorator(view: Callable[_P, _R]) -> Callable[_P, _R]:
        @wraps(view)
        def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            if not can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


T = TypeVar("T")


def get_or_404_for(actor: Any, permission: Permission, model: type[T], object_id: Any) -> T:
    obj = db.session.get(model, object_id)
    if obj is None or not can(actor, permission, obj):
        abort(404)
    return obj
