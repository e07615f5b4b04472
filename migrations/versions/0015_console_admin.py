"""console administration (#13 item 7, ADM-1): the bank's system notices shown
on MyPage HOME for a period (branches and staff use the existing tables)

Revision ID: 0015_console_admin
Revises: 0014_integrity
Create Date: 2026-12-03 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0015_console_admin'
down_revision = '0014_integrity'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'system_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['staff_users.id']),
        sa.ForeignKeyConstraint(['updated_by'], ['staff_users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_system_notices_starts_at', 'system_notices', ['starts_at'])
    op.create_index('ix_system_notices_ends_at', 'system_notices', ['ends_at'])


def downgrade():
    op.drop_index('ix_system_notices_ends_at', table_name='system_notices')
    op.drop_index('ix_system_notices_starts_at', table_name='system_notices')
    op.drop_table('system_notices')
