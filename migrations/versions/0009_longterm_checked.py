"""longterm (SIGN-6): when each signed document was last found sound, for runs that
check only what was not checked recently

Revision ID: 0009_longterm_checked
Revises: 0008_longterm
Create Date: 2026-11-23 23:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0009_longterm_checked'
down_revision = '0008_longterm'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contract_documents') as batch:
        batch.add_column(sa.Column('longterm_checked_at', sa.DateTime(timezone=True),
                                   nullable=True))
        batch.create_index('ix_contract_documents_longterm_checked_at',
                           ['longterm_checked_at'])


def downgrade():
    with op.batch_alter_table('contract_documents') as batch:
        batch.drop_index('ix_contract_documents_longterm_checked_at')
        batch.drop_column('longterm_checked_at')
