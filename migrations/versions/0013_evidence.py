"""evidence certificate (#16 item 4): how each signer showed sole control
(PIN checked and code mailed at 送信, code checked at 電子署名, client address
and browser, the operation-log entries) and the package's sealed 締結証明書

Revision ID: 0013_evidence
Revises: 0012_retention
Create Date: 2026-12-03 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0013_evidence'
down_revision = '0012_retention'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'contract_signing_evidence',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=False),
        sa.Column('party_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('signer_role', sa.String(length=32), nullable=False),
        sa.Column('code_sent_audit_id', sa.Integer(), nullable=True),
        sa.Column('code_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('code_sent_to', sa.String(length=254), nullable=False),
        sa.Column('sent_ip', sa.String(length=64), nullable=False),
        sa.Column('sent_user_agent', sa.String(length=512), nullable=False),
        sa.Column('signed_audit_id', sa.Integer(), nullable=True),
        sa.Column('code_checked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('signed_ip', sa.String(length=64), nullable=False),
        sa.Column('signed_user_agent', sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(['package_id'], ['contract_packages.id'],
                                name=op.f('fk_contract_signing_evidence_package_id_contract_packages')),
        sa.ForeignKeyConstraint(['user_id'], ['customer_users.id'],
                                name=op.f('fk_contract_signing_evidence_user_id_customer_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_signing_evidence')),
    )
    with op.batch_alter_table('contract_signing_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_signing_evidence_package_id'),
                              ['package_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_signing_evidence_party_id'),
                              ['party_id'], unique=False)
    with op.batch_alter_table('contract_packages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence_key', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('evidence_sha256', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('contract_packages', schema=None) as batch_op:
        batch_op.drop_column('evidence_sha256')
        batch_op.drop_column('evidence_key')
    with op.batch_alter_table('contract_signing_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_signing_evidence_party_id'))
        batch_op.drop_index(batch_op.f('ix_contract_signing_evidence_package_id'))
    op.drop_table('contract_signing_evidence')
