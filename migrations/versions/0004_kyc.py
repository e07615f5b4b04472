"""kyc: consents, submissions, files, quarantine

Revision ID: 0004_kyc
Revises: 0003_mypage
Create Date: 2026-11-23 19:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0004_kyc'
down_revision = '0003_mypage'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        'kyc_consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('document_version', sa.String(length=20), nullable=False),
        sa.Column('agreed_at', TZ, nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['customer_users.id'],
                                name=op.f('fk_kyc_consents_user_id_customer_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kyc_consents')),
    )
    op.create_index(op.f('ix_kyc_consents_user_id'), 'kyc_consents', ['user_id'])

    op.create_table(
        'kyc_submissions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('consent_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('identity_type', sa.String(length=40), nullable=True),
        sa.Column('employment_type', sa.String(length=40), nullable=True),
        sa.Column('created_at', TZ, nullable=False),
        sa.Column('submitted_at', TZ, nullable=True),
        sa.Column('reviewed_at', TZ, nullable=True),
        sa.Column('reviewed_by', sa.Integer(), nullable=True),
        sa.Column('reject_reason', sa.Text(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['customer_users.id'],
                                name=op.f('fk_kyc_submissions_user_id_customer_users')),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_kyc_submissions_company_id_companies')),
        sa.ForeignKeyConstraint(['consent_id'], ['kyc_consents.id'],
                                name=op.f('fk_kyc_submissions_consent_id_kyc_consents')),
        sa.ForeignKeyConstraint(['reviewed_by'], ['staff_users.id'],
                                name=op.f('fk_kyc_submissions_reviewed_by_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kyc_submissions')),
    )
    op.create_index(op.f('ix_kyc_submissions_user_id'), 'kyc_submissions', ['user_id'])
    op.create_index(op.f('ix_kyc_submissions_company_id'), 'kyc_submissions', ['company_id'])
    op.create_index(op.f('ix_kyc_submissions_state'), 'kyc_submissions', ['state'])

    op.create_table(
        'kyc_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.Column('document_type', sa.String(length=40), nullable=False),
        sa.Column('slot', sa.String(length=20), nullable=False),
        sa.Column('storage_key', sa.String(length=80), nullable=False),
        sa.Column('original_name', sa.String(length=300), nullable=False),
        sa.Column('format', sa.String(length=10), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_at', TZ, nullable=False),
        sa.ForeignKeyConstraint(['submission_id'], ['kyc_submissions.id'],
                                name=op.f('fk_kyc_files_submission_id_kyc_submissions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kyc_files')),
        sa.UniqueConstraint('submission_id', 'category', 'slot',
                            name=op.f('uq_kyc_files_submission_id')),
    )
    op.create_index(op.f('ix_kyc_files_submission_id'), 'kyc_files', ['submission_id'])

    op.create_table(
        'kyc_quarantine',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.Column('document_type', sa.String(length=40), nullable=False),
        sa.Column('slot', sa.String(length=20), nullable=False),
        sa.Column('storage_key', sa.String(length=80), nullable=True),
        sa.Column('original_name', sa.String(length=300), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_reason', sa.String(length=20), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.Column('resolved_at', TZ, nullable=True),
        sa.ForeignKeyConstraint(['submission_id'], ['kyc_submissions.id'],
                                name=op.f('fk_kyc_quarantine_submission_id_kyc_submissions')),
        sa.ForeignKeyConstraint(['user_id'], ['customer_users.id'],
                                name=op.f('fk_kyc_quarantine_user_id_customer_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kyc_quarantine')),
    )
    op.create_index(op.f('ix_kyc_quarantine_submission_id'), 'kyc_quarantine', ['submission_id'])
    op.create_index(op.f('ix_kyc_quarantine_state'), 'kyc_quarantine', ['state'])


def downgrade():
    op.drop_table('kyc_quarantine')
    op.drop_table('kyc_files')
    op.drop_table('kyc_submissions')
    op.drop_table('kyc_consents')
