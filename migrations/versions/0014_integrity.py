"""integrity of every stored file (SIGN-6, #14 item 7): the key of each party
signature's revision (so a superseded revision can still be opened and checked)
and which stored file a long-term alert is about (contract document, original,
revision, 締結証明書, KYC file, power of attorney)

Revision ID: 0014_integrity
Revises: 0013_evidence
Create Date: 2026-12-03 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0014_integrity'
down_revision = '0013_evidence'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contract_signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('result_key', sa.String(length=80), nullable=True))
    with op.batch_alter_table('contract_longterm_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_ref', sa.String(length=80), nullable=False,
                                      server_default=''))


def downgrade():
    with op.batch_alter_table('contract_longterm_alerts', schema=None) as batch_op:
        batch_op.drop_column('file_ref')
    with op.batch_alter_table('contract_signatures', schema=None) as batch_op:
        batch_op.drop_column('result_key')
