"""certs: the portal's mirror of each user's signing credential

Revision ID: 0005_certs
Revises: 0004_kyc
Create Date: 2026-11-23 19:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0005_certs'
down_revision = '0004_kyc'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        'signing_certificates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('credential_id', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=32), nullable=False),
        sa.Column('pin_locked', sa.Boolean(), nullable=False),
        sa.Column('serial_hex', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=500), nullable=False),
        sa.Column('valid_from', TZ, nullable=True),
        sa.Column('valid_to', TZ, nullable=True),
        sa.Column('revoked_at', TZ, nullable=True),
        sa.Column('revocation_reason', sa.String(length=32), nullable=False),
        sa.Column('expiry_notice_sent_at', TZ, nullable=True),
        sa.Column('created_at', TZ, nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_signing_certificates_company_id_companies')),
        sa.ForeignKeyConstraint(['user_id'], ['customer_users.id'],
                                name=op.f('fk_signing_certificates_user_id_customer_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_certificates')),
        sa.UniqueConstraint('credential_id', name=op.f('uq_signing_certificates_credential_id')),
    )
    op.create_index(op.f('ix_signing_certificates_company_id'), 'signing_certificates',
                    ['company_id'])
    op.create_index(op.f('ix_signing_certificates_user_id'), 'signing_certificates', ['user_id'])


def downgrade():
    op.drop_index(op.f('ix_signing_certificates_user_id'), table_name='signing_certificates')
    op.drop_index(op.f('ix_signing_certificates_company_id'), table_name='signing_certificates')
    op.drop_table('signing_certificates')
