"""rate limits (AUTH-4, AUTH-9): one counter table for every policy (account
lockout, per-address login throttle, code issuance and code checks); the
per-IP login_throttle table and the users' failed_logins/locked_until columns
become rows of it

Revision ID: 0011_rate_limits
Revises: 0010_maintenance_windows
Create Date: 2026-11-24 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0011_rate_limits'
down_revision = '0010_maintenance_windows'
branch_labels = None
depends_on = None

USER_TABLES = ('customer_users', 'staff_users')


def upgrade():
    op.create_table(
        'rate_limits',
        sa.Column('policy', sa.String(length=32), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('policy', 'key', name=op.f('pk_rate_limits')),
    )
    op.create_index(op.f('ix_rate_limits_window_start'), 'rate_limits', ['window_start'])
    # Counters restart: a lock in progress ends with the upgrade (at most one lock period).
    op.drop_table('login_throttle')
    for table in USER_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('failed_logins')
            batch.drop_column('locked_until')


def downgrade():
    for table in USER_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False,
                                       server_default='0'))
            batch.add_column(sa.Column('locked_until', sa.DateTime(timezone=True),
                                       nullable=True))
    op.create_table(
        'login_throttle',
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('ip', name=op.f('pk_login_throttle')),
    )
    op.drop_index(op.f('ix_rate_limits_window_start'), table_name='rate_limits')
    op.drop_table('rate_limits')
