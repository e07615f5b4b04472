"""maintenance windows (AUTH-8): ad-hoc windows are edited and cancelled, never
deleted; a cancelled window keeps its row (取消済) and no longer blocks the
same times being booked again

Revision ID: 0010_maintenance_windows
Revises: 0009_longterm_checked
Create Date: 2026-11-24 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0010_maintenance_windows'
down_revision = '0009_longterm_checked'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('maintenance_windows') as batch:
        batch.drop_constraint('uq_maintenance_windows_starts_at', type_='unique')
        batch.add_column(sa.Column('created_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('updated_by', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('cancelled_by', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_maintenance_windows_updated_by_staff_users',
                                 'staff_users', ['updated_by'], ['id'])
        batch.create_foreign_key('fk_maintenance_windows_cancelled_by_staff_users',
                                 'staff_users', ['cancelled_by'], ['id'])
        batch.create_index('ix_maintenance_windows_ends_at', ['ends_at'])


def downgrade():
    with op.batch_alter_table('maintenance_windows') as batch:
        batch.drop_index('ix_maintenance_windows_ends_at')
        batch.drop_constraint('fk_maintenance_windows_cancelled_by_staff_users',
                              type_='foreignkey')
        batch.drop_constraint('fk_maintenance_windows_updated_by_staff_users',
                              type_='foreignkey')
        batch.drop_column('cancelled_by')
        batch.drop_column('cancelled_at')
        batch.drop_column('updated_by')
        batch.drop_column('updated_at')
        batch.drop_column('created_at')
        batch.create_unique_constraint('uq_maintenance_windows_starts_at',
                                       ['starts_at', 'ends_at'])
