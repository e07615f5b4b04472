"""The bank administrator's rules (ADM-1): branches, staff accounts and the
system notices shown on MyPage HOME. Every change is audited; views only
parse forms and call these."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from portal import audit
from portal.auth import sessions
from portal.auth.password_policy import PolicyError, check_password_policy
from portal.auth.services import MSG_CURRENT_WRONG, set_password, unlock
from portal.clock import now
from portal.crypto import generate_temporary_password, verify_secret
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import Branch, StaffRole, StaffUser, SystemNotice

MSG_CODE_TAKEN = "この店番はすでに登録されています。"
MSG_BRANCH_NAME_TAKEN = "この支店名はすでに登録されています。"
MSG_LOGIN_ID_TAKEN = "このログインIDはすでに使われています。"
MSG_NO_BRANCH = "選択した支店が見つかりません。"
MSG_NOT_ON_SELF = "ご自身のアカウントにはこの操作はできません。"
MSG_LAST_ADMIN = "有効な銀行管理者が1人もいなくなるため、この操作はできません。"

ROLE_LABELS = {StaffRole.BRANCH_STAFF: "支店担当者", StaffRole.BANK_ADMIN: "銀行管理者"}


# --- branches ----------------------------------------------------------------------------

def branches() -> list[Branch]:
    return list(db.session.execute(select(Branch).order_by(Branch.code)).scalars())


def get_branch(branch_id: int) -> Branch:
    branch = db.session.get(Branch, branch_id)
    if branch is None:
        raise NotFound()
    return branch


def _name_taken(name: str, *, except_id: int | None = None) -> bool:
    query = select(Branch.id).where(Branch.name == name)
    if except_id is not None:
        query = query.where(Branch.id != except_id)
    return db.session.execute(query.limit(1)).first() is not None


def create_branch(actor: StaffUser, *, code: str, name: str) -> Branch:
    if db.session.execute(select(Branch.id).where(Branch.code == code)).first():
        raise DomainError(MSG_CODE_TAKEN, field="code")
    if _name_taken(name):
        raise DomainError(MSG_BRANCH_NAME_TAKEN, field="name")
    branch = Branch(code=code, name=name)
    db.session.add(branch)
    db.session.flush()
    audit.record("branch.created", actor=actor, target=branch,
                 detail={"code": code, "name": name})
    return branch


def rename_branch(actor: StaffUser, branch_id: int, *, name: str) -> Branch:
    branch = get_branch(branch_id)
    if branch.name == name:
        return branch
    if _name_taken(name, except_id=branch.id):
        raise DomainError(MSG_BRANCH_NAME_TAKEN, field="name")
    old = branch.name
    branch.name = name
    audit.record("branch.renamed", actor=actor, target=branch, detail={"from": old, "to": name})
    return branch


# --- staff accounts ----------------------------------------------------------------------

def staff_members() -> list[StaffUser]:
    return list(db.session.execute(
        select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.login_id)).scalars())


def get_staff(staff_id: int) -> StaffUser:
    staff = db.session.get(StaffUser, staff_id)
    if staff is None:
        raise NotFound()
    return staff


def _check_branch(branch_id: int | None) -> None:
    if branch_id is not None and db.session.get(Branch, branch_id) is None:
        raise DomainError(MSG_NO_BRANCH, field="branch_id")


def _other_active_admins(staff: StaffUser) -> int:
    """Counted under row locks (PostgreSQL; SQLite writers are serialized), so
    two administrators cannot disable each other at the same moment. Every
    active administrator's row, the target's too, is locked in id order: two
    such changes queue behind each other instead of deadlocking."""
    ids = db.session.execute(
        select(StaffUser.id).where(StaffUser.role == StaffRole.BANK_ADMIN,
                                   StaffUser.active.is_(True))
        .order_by(StaffUser.id).with_for_update()).scalars().all()
    return len([other for other in ids if other != staff.id])


def _keep_an_admin(staff: StaffUser) -> None:
    if staff.role == StaffRole.BANK_ADMIN and staff.active and _other_active_admins(staff) == 0:
        raise DomainError(MSG_LAST_ADMIN)


def create_staff(actor: StaffUser, *, login_id: str, name: str, email: str, role: str,
                 branch_id: int | None) -> tuple[StaffUser, str]:
    """A new account and its temporary password (shown once, never stored in clear)."""
    taken = select(StaffUser.id).where(func.lower(StaffUser.login_id) == login_id.lower())
    if db.session.execute(taken).first():
        raise DomainError(MSG_LOGIN_ID_TAKEN, field="login_id")
    _check_branch(branch_id)
    staff = StaffUser(login_id=login_id, name=name, email=email, role=StaffRole(role),
                      branch_id=branch_id if role == StaffRole.BRANCH_STAFF else None,
                      password_hash="", active=True)
    temporary = generate_temporary_password()
    set_password(staff, temporary, temporary=True)
    db.session.add(staff)
    db.session.flush()
    audit.record("staff.created", actor=actor, target=staff,
                 detail={"login_id": login_id, "role": role, "branch_id": staff.branch_id})
    return staff, temporary


def update_staff(actor: StaffUser, staff_id: int, *, name: str, email: str, role: str,
                 branch_id: int | None) -> StaffUser:
    staff = get_staff(staff_id)
    new_role = StaffRole(role)
    if staff.id == actor.id and new_role != staff.role:
        raise DomainError(MSG_NOT_ON_SELF, field="role")
    if new_role != staff.role:
        _keep_an_admin(staff)
    _check_branch(branch_id)
    new_branch = branch_id if new_role == StaffRole.BRANCH_STAFF else None
    before = {"name": staff.name, "email": staff.email, "role": staff.role.value,
              "branch_id": staff.branch_id}
    staff.name, staff.email, staff.role, staff.branch_id = name, email, new_role, new_branch
    after = {"name": name, "email": email, "role": new_role.value, "branch_id": new_branch}
    changed = sorted(k for k in before if before[k] != after[k])
    if changed:
        if {"role", "branch_id"} & set(changed):
            sessions.end_all_sessions_of(staff)  # new rights take effect at the next login
        audit.record("staff.updated", actor=actor, target=staff,
                     detail={"changed": changed, "role": new_role.value,
                             "branch_id": new_branch})
    return staff


def set_staff_active(actor: StaffUser, staff_id: int, *, active: bool) -> StaffUser:
    staff = get_staff(staff_id)
    if staff.id == actor.id:
        raise DomainError(MSG_NOT_ON_SELF)
    if staff.active == active:
        return staff
    if not active:
        _keep_an_admin(staff)
        sessions.end_all_sessions_of(staff)
    staff.active = active
    audit.record("staff.enabled" if active else "staff.disabled", actor=actor, target=staff)
    return staff


def reset_staff_password(actor: StaffUser, staff_id: int) -> tuple[StaffUser, str]:
    """A new temporary password: the old one stops working, a lock is lifted
    and the member's sessions end."""
    staff = get_staff(staff_id)
    if staff.id == actor.id:
        raise DomainError(MSG_NOT_ON_SELF)
    temporary = generate_temporary_password()
    set_password(staff, temporary, temporary=True)
    unlock(staff)
    sessions.end_all_sessions_of(staff)
    audit.record("staff.password_reset", actor=actor, target=staff)
    return staff, temporary


def change_temporary_password(staff: StaffUser, current: str, new: str) -> None:
    """AUTH-3 for staff: the password an administrator saw is replaced at the
    first console login (現在のパスワード is the temporary one; AUTH-2 rules)."""
    if not verify_secret(staff.password_hash, current):
        audit.record("password.first_change_failed", actor=staff, target=staff)
        raise DomainError(MSG_CURRENT_WRONG, field="current_password")
    problems = check_password_policy(new, email=staff.email, login_id=staff.login_id)
    if problems:
        raise PolicyError(problems)
    set_password(staff, new, temporary=False)
    audit.record("password.first_changed", actor=staff, target=staff)


# --- system notices (お知らせ from the bank) ----------------------------------------------

def notices() -> list[SystemNotice]:
    return list(db.session.execute(
        select(SystemNotice).order_by(SystemNotice.starts_at.desc(), SystemNotice.id.desc())
    ).scalars())


def get_notice(notice_id: int) -> SystemNotice:
    notice = db.session.get(SystemNotice, notice_id)
    if notice is None:
        raise NotFound()
    return notice


def create_notice(actor: StaffUser, *, title: str, body: str, starts_at: datetime,
                  ends_at: datetime) -> SystemNotice:
    notice = SystemNotice(title=title, body=body, starts_at=starts_at, ends_at=ends_at,
                          created_by=actor.id, created_at=now())
    db.session.add(notice)
    db.session.flush()
    audit.record("system_notice.created", actor=actor, target=notice,
                 detail={"title": title, "starts_at": starts_at, "ends_at": ends_at})
    return notice


def update_notice(actor: StaffUser, notice_id: int, *, title: str, body: str,
                  starts_at: datetime, ends_at: datetime) -> SystemNotice:
    notice = get_notice(notice_id)
    notice.title, notice.body = title, body
    notice.starts_at, notice.ends_at = starts_at, ends_at
    notice.updated_by, notice.updated_at = actor.id, now()
    audit.record("system_notice.updated", actor=actor, target=notice,
                 detail={"title": title, "starts_at": starts_at, "ends_at": ends_at})
    return notice


def delete_notice(actor: StaffUser, notice_id: int) -> None:
    notice = get_notice(notice_id)
    audit.record("system_notice.deleted", actor=actor, target=notice,
                 detail={"title": notice.title})
    db.session.delete(notice)
