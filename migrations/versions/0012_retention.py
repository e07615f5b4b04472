"""retention (CON-9, #14): tombstones of deleted packages, legal holds,
advance deletion notices sent, and customer terminations (解約)

Revision ID: 0012_retention
Revises: 0011_rate_limits
Create Date: 2026-12-03 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0012_retention'
down_revision = '0011_rate_limits'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'retention_tombstones',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=False),
        sa.Column('summary_type', sa.String(length=32), nullable=False),
        sa.Column('final_state', sa.String(length=20), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('branch_name', sa.String(length=100), nullable=False),
        sa.Column('company_ids', sa.String(length=255), nullable=False),
        sa.Column('application_date', sa.Date(), nullable=False),
        sa.Column('concluded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('policy', sa.String(length=64), nullable=False),
        sa.Column('file_hashes', sa.Text(), nullable=False),
        sa.Column('pending_keys', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_tombstones')),
        sa.UniqueConstraint('package_id', name=op.f('uq_retention_tombstones_package_id')),
    )
    with op.batch_alter_table('retention_tombstones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_tombstones_branch_id'), ['branch_id'])
        batch_op.create_index(batch_op.f('ix_retention_tombstones_deleted_at'), ['deleted_at'])
    op.create_table(
        'retention_legal_holds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=True),
        sa.Column('company_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('placed_by_id', sa.Integer(), nullable=False),
        sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lifted_by_id', sa.Integer(), nullable=True),
        sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('lift_reason', sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_legal_holds')),
    )
    with op.batch_alter_table('retention_legal_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_legal_holds_company_id'), ['company_id'])
        batch_op.create_index(batch_op.f('ix_retention_legal_holds_lifted_at'), ['lifted_at'])
        batch_op.create_index(batch_op.f('ix_retention_legal_holds_package_id'), ['package_id'])
    op.create_table(
        'retention_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=False),
        sa.Column('days_before', sa.Integer(), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_notices')),
        sa.UniqueConstraint('package_id', 'days_before',
                            name=op.f('uq_retention_notices_package_id')),
    )
    with op.batch_alter_table('retention_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_notices_package_id'), ['package_id'])
    op.create_table(
        'retention_terminations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('terminated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('personal_data_deleted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('pending_keys', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_terminations')),
        sa.UniqueConstraint('company_id', name=op.f('uq_retention_terminations_company_id')),
    )


def downgrade():
    op.drop_table('retention_terminations')
    with op.batch_alter_table('retention_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_notices_package_id'))
    op.drop_table('retention_notices')
    with op.batch_alter_table('retention_legal_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_legal_holds_package_id'))
        batch_op.drop_index(batch_op.f('ix_retention_legal_holds_lifted_at'))
        batch_op.drop_index(batch_op.f('ix_retention_legal_holds_company_id'))
    op.drop_table('retention_legal_holds')
    with op.batch_alter_table('retention_tombstones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_tombstones_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_retention_tombstones_branch_id'))
    op.drop_table('retention_tombstones')
