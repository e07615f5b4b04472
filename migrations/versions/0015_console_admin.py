"""console administration (#13): placeholder, filled by the console work

Revision ID: 0015_console_admin
Revises: 0014_integrity
Create Date: 2026-12-03 12:00:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0015_console_admin'
down_revision = '0014_integrity'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
