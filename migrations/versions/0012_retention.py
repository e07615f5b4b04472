"""retention (CON-9, #14): placeholder, filled by the retention work

Revision ID: 0012_retention
Revises: 0011_rate_limits
Create Date: 2026-12-03 12:00:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0012_retention'
down_revision = '0011_rate_limits'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
