"""Append-only, hash-chained operation log (AUD-1).

Each entry's hash covers its own fields and the previous entry's hash, so
altering, deleting or reordering a row breaks the chain from that row on.
The chain head row is locked while appending, which keeps one chain when
several hosts write at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from flask import has_request_context, request
from sqlalchemy import select

from portal.clock import as_utc, now
from portal.extensions import db
from portal.models import AuditChainHead, AuditEntry, CustomerUser, StaffUser

GENESIS = "0" * 64


def _client_ip() -> str:
    if not has_request_context():
        return ""
    return request.remote_addr or ""


def _actor_fields(actor: Any) -> tuple[str, int | None, str, int | None]:
    if isinstance(actor, CustomerUser):
        return "customer", actor.id, actor.mypage_id, actor.company_id
    if isinstance(actor, StaffUser):
        return "staff", actor.id, actor.login_id, None
    return "system", None, "system", None


def _target_fields(target: Any) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, tuple):
        return str(target[0]), str(target[1])
    return type(target).__name__, str(getattr(target, "id", ""))


def entry_digest(entry: AuditEntry) -> str:
    payload = {
        "id": entry.id,
        "at": as_utc(entry.at).isoformat(timespec="microseconds"),
        "actor_type": entry.actor_type,
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "company_id": entry.company_id,
        "ip": entry.ip,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _lock_head() -> AuditChainHead:
    head = db.session.execute(
        select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditChainHead(id=1, last_id=0, last_hash=GENESIS)
        db.session.add(head)
        db.session.flush()
    return head


def record(
    action: str,
    *,
    actor: Any = None,
    company_id: int | None = None,
    target: Any = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append one entry in the current transaction (committed with it)."""
    actor_type, actor_id, actor_label, actor_company = _actor_fields(actor)
    target_type, target_id = _target_fields(target)
    head = _lock_head()
    entry = AuditEntry(
        id=head.last_id + 1,
        at=now(),
        actor_type=actor_type,
        actor_id=actor_id,
        actor_label=actor_label,
        company_id=company_id if company_id is not None else actor_company,
        ip=ip if ip is not None else _client_ip(),
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=json.dumps(detail or {}, sort_keys=True, ensure_ascii=False, default=str),
        prev_hash=head.last_hash,
    )
    entry.hash = entry_digest(entry)
    head.last_id = entry.id
    head.last_hash = entry.hash
    db.session.add(entry)
    return entry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    reason: str = ""


def verify_chain(batch: int = 5000) -> ChainReport:
    """Walk the chain in id order; report the first entry that breaks it.

    The head is read first and the walk stops at it, so entries appended while
    a long check runs are left for the next check instead of looking like a
    gap (the head and its entry are written in one transaction)."""
    head = db.session.get(AuditChainHead, 1)
    if head is None:
        first = db.session.execute(select(AuditEntry.id).order_by(AuditEntry.id).limit(1))
        if first.scalar() is not None:
            return ChainReport(False, 0, 1, "chain head missing (deleted)")
        return ChainReport(True, 0)
    head_id, head_hash = head.last_id, head.last_hash
    expected_prev = GENESIS
    expected_id = 1
    checked = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            select(AuditEntry)
            .where(AuditEntry.id > last_id, AuditEntry.id <= head_id)
            .order_by(AuditEntry.id).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for entry in rows:
            if entry.id != expected_id:
                return ChainReport(False, checked, expected_id, "entry missing (deleted)")
            if entry.prev_hash != expected_prev:
                return ChainReport(False, checked, entry.id, "previous hash does not match")
            if entry_digest(entry) != entry.hash:
                return ChainReport(False, checked, entry.id, "contents altered")
            expected_prev = entry.hash
            expected_id += 1
            checked += 1
            last_id = entry.id
        db.session.expunge_all()
    if head_id != last_id or head_hash != expected_prev:
        return ChainReport(False, checked, last_id + 1, "newest entries missing (deleted)")
    return ChainReport(True, checked)
