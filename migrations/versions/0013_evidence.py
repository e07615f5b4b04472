"""evidence certificate (#16 item 4): placeholder, filled by the evidence work

Revision ID: 0013_evidence
Revises: 0012_retention
Create Date: 2026-12-03 12:00:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0013_evidence'
down_revision = '0012_retention'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
