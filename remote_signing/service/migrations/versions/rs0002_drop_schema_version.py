"""Drop ``rs_schema``, the version row databases had before the service used migrations.

Revision ID: rs0002
Revises: rs0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rs0002"
down_revision = "rs0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "rs_schema" in sa.inspect(op.get_bind()).get_table_names():
        op.drop_table("rs_schema")


def downgrade() -> None:
    pass
