"""AUD-1: append-only, hash-chained operation log and `audit verify`."""

from __future__ import annotations

import importlib

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from portal import audit
from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, USE_PG, login_customer


def run_verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def write_entries(factories, n=4):
    user = factories.customer()
    for i in range(n):
        audit.record("test.event", actor=user, target=user, detail={"i": i}, ip="192.0.2.1")
    db.session.commit()
    return user


@pytest.fixture
def drop_append_only_guard(app):
    """What a DBA with full rights could do; the chain still tells."""
    migration = importlib.import_module("migrations.versions.0001_foundation")
    statements = migration.PG_TRIGGERS if USE_PG else migration.SQLITE_TRIGGERS

    def drop():
        if USE_PG:
            db.session.execute(text("DROP TRIGGER audit_log_no_update ON audit_log"))
            db.session.execute(text("DROP FUNCTION audit_log_append_only()"))
        else:
            db.session.execute(text("DROP TRIGGER audit_log_no_update"))
            db.session.execute(text("DROP TRIGGER audit_log_no_delete"))
        db.session.commit()

    yield drop
    db.session.rollback()
    exists = db.session.execute(text(
        "SELECT 1 FROM pg_trigger WHERE tgname = 'audit_log_no_update'" if USE_PG else
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_log_no_update'"
    )).first()
    if not exists:  # the session's shared PostgreSQL database keeps its guard
        for statement in statements:
            db.session.execute(text(statement))
        db.session.commit()


def test_login_writes_entries_with_actor_company_ip_and_time(client, factories):
    from portal.models import AuditEntry

    user = factories.customer()
    login_customer(client, user.email, DEFAULT_PASSWORD)
    entry = db.session.query(AuditEntry).filter_by(action="login.success").one()
    assert entry.actor_type == "customer" and entry.actor_id == user.id
    assert entry.company_id == user.company_id and entry.ip == "127.0.0.1"
    assert entry.at is not None and entry.target_type == "CustomerUser"


def test_intact_chain_verifies(app, factories):
    write_entries(factories)
    result = run_verify(app)
    assert result.exit_code == 0 and "intact" in result.output


def test_the_database_refuses_updates_and_deletes(app, factories):
    write_entries(factories)
    with pytest.raises(DBAPIError):
        db.session.execute(text("UPDATE audit_log SET action = 'x' WHERE id = 2"))
    db.session.rollback()
    with pytest.raises(DBAPIError):
        db.session.execute(text("DELETE FROM audit_log WHERE id = 2"))
    db.session.rollback()


def test_verify_names_an_altered_row(app, factories, drop_append_only_guard):
    write_entries(factories)
    drop_append_only_guard()
    db.session.execute(text("UPDATE audit_log SET ip = '203.0.113.9' WHERE id = 3"))
    db.session.commit()
    result = run_verify(app)
    assert result.exit_code != 0
    assert "entry 3" in result.output and "altered" in result.output


def test_verify_names_a_deleted_row(app, factories, drop_append_only_guard):
    write_entries(factories)
    drop_append_only_guard()
    db.session.execute(text("DELETE FROM audit_log WHERE id = 2"))
    db.session.commit()
    result = run_verify(app)
    assert result.exit_code != 0 and "entry 2" in result.output


def test_verify_notices_the_newest_entry_deleted(app, factories, drop_append_only_guard):
    write_entries(factories)
    drop_append_only_guard()
    db.session.execute(text("DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)"))
    db.session.commit()
    assert run_verify(app).exit_code != 0


def test_verify_notices_reordered_rows(app, factories, drop_append_only_guard):
    write_entries(factories)
    drop_append_only_guard()
    select_two = text("SELECT id, action, detail FROM audit_log WHERE id IN (2, 3)")
    rows = db.session.execute(select_two).all()
    (id_a, action_a, detail_a), (id_b, action_b, detail_b) = rows
    set_detail = text("UPDATE audit_log SET detail = :d WHERE id = :i")
    db.session.execute(set_detail, {"d": detail_b, "i": id_a})
    db.session.execute(set_detail, {"d": detail_a, "i": id_b})
    db.session.commit()
    result = run_verify(app)
    assert result.exit_code != 0 and "entry 2" in result.output
