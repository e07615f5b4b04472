"""longterm (SIGN-6): alerts of the periodic re-validation of signed files

Revision ID: 0008_longterm
Revises: 0007_users
Create Date: 2026-11-23 22:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008_longterm'
down_revision = '0007_users'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('contract_longterm_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('document_title', sa.String(length=255), nullable=False),
    sa.Column('recorded_sha256', sa.String(length=64), nullable=False),
    sa.Column('problems', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('first_detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detections', sa.Integer(), nullable=False),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['staff_users.id'], name=op.f('fk_contract_longterm_alerts_acknowledged_by_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_longterm_alerts'))
    )
    with op.batch_alter_table('contract_longterm_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_longterm_alerts_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_longterm_alerts_package_id'), ['package_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_longterm_alerts_state'), ['state'], unique=False)


def downgrade():
    with op.batch_alter_table('contract_longterm_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_longterm_alerts_state'))
        batch_op.drop_index(batch_op.f('ix_contract_longterm_alerts_package_id'))
        batch_op.drop_index(batch_op.f('ix_contract_longterm_alerts_document_id'))

    op.drop_table('contract_longterm_alerts')
