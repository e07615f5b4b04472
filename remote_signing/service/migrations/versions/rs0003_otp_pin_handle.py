"""PIN first: the code row keeps the PIN-unwrapped secret sealed under the PIN token.

Revision ID: rs0003
Revises: rs0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rs0003"
down_revision = "rs0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rs_otp") as batch:
        batch.add_column(sa.Column("pin_handle", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rs_otp") as batch:
        batch.drop_column("pin_handle")
