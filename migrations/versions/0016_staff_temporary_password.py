"""staff temporary passwords (AUTH-3 for the bank console): a staff account
created or reset by the bank administrator holds a temporary password that
must be changed at its first console login; existing accounts are not
temporary

Revision ID: 0016_staff_temporary_password
Revises: 0015_console_admin
Create Date: 2026-12-03 13:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016_staff_temporary_password'
down_revision = '0015_console_admin'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff_users') as batch_op:
        batch_op.add_column(sa.Column('password_is_temporary', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('staff_users') as batch_op:
        batch_op.drop_column('password_is_temporary')
