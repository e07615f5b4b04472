"""Alembic creates the schema: one head, and models and migrations agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from portal.extensions import db
from tests.conftest import ROOT


def script_directory() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config)


def test_there_is_exactly_one_head():
    heads = script_directory().get_heads()
    assert len(heads) == 1, f"several Alembic heads: {heads}; add a merge revision"


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from the migrated schema: {diff}"


def test_demo_seed_is_idempotent(app):
    from portal.models import CustomerUser, StaffUser

    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed", "--base-only"])
    second = runner.invoke(args=["demo", "seed", "--base-only"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert "MP00000001" in first.output and "staff01" in first.output
    assert db.session.query(CustomerUser).count() == 1
    assert db.session.query(StaffUser).count() == 2
