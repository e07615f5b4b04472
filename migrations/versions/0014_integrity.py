"""integrity of every stored file (SIGN-6, #14 item 7): placeholder, filled by the integrity work

Revision ID: 0014_integrity
Revises: 0013_evidence
Create Date: 2026-12-03 12:00:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0014_integrity'
down_revision = '0013_evidence'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
