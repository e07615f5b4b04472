"""Signing service tables: service keys, credentials, one-time codes, activation data.

Revision ID: rs0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from remote_signing.service.db import UTCDateTime

revision = "rs0001"
down_revision = None
branch_labels = None
depends_on = None


def _status(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def upgrade() -> None:
    op.create_table(
        "rs_service_key",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("cert_der", sa.LargeBinary(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "rs_credential",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", _status("credentialkind", "user", "seal"), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("owner_email", sa.String(length=254), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            _status("credentialstatus", "pending", "active", "locked", "revoked"),
            nullable=False,
        ),
        sa.Column("key_algo", sa.String(length=16), nullable=False),
        sa.Column("key_len", sa.Integer(), nullable=False),
        sa.Column("public_key_der", sa.LargeBinary(), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=True),
        sa.Column("cert_der", sa.LargeBinary(), nullable=True),
        sa.Column("not_before", UTCDateTime(), nullable=True),
        sa.Column("not_after", UTCDateTime(), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("kdf_salt", sa.LargeBinary(), nullable=False),
        sa.Column("kdf_params", sa.String(length=100), nullable=False),
        sa.Column("pin_failures", sa.Integer(), nullable=False),
        sa.Column("otp_failures", sa.Integer(), nullable=False),
        sa.Column("lock_reason", sa.String(length=32), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revocation_reason", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("serial"),
    )
    op.create_index("ix_rs_credential_user_id", "rs_credential", ["user_id"])
    op.create_table(
        "rs_otp",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("credential_id", sa.String(length=40), nullable=False),
        sa.Column("code_mac", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["credential_id"], ["rs_credential.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rs_otp_credential_id", "rs_otp", ["credential_id"])
    op.create_table(
        "rs_sad",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("credential_id", sa.String(length=40), nullable=False),
        sa.Column("hashes", sa.Text(), nullable=False),
        sa.Column("hash_algo", sa.String(length=16), nullable=False),
        sa.Column("num_signatures", sa.Integer(), nullable=False),
        sa.Column("wrapped_handle", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["credential_id"], ["rs_credential.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_rs_sad_credential_id", "rs_sad", ["credential_id"])


def downgrade() -> None:
    for table in ("rs_sad", "rs_otp", "rs_credential", "rs_service_key"):
        op.drop_table(table)
