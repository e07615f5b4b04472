"""Tables of the signing service. Secrets are stored only wrapped or hashed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..protocol import CredentialKind, CredentialStatus
from .db import Base


def _enum(cls: type[StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class ServiceKey(Base):
    """CA, issuing CA, TSA and OCSP responder keys, wrapped by the master key (unattended)."""

    __tablename__ = "rs_service_key"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)


class Credential(Base):
    __tablename__ = "rs_credential"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[CredentialKind] = mapped_column(_enum(CredentialKind))
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    owner_name: Mapped[str] = mapped_column(String(200))
    owner_email: Mapped[str] = mapped_column(String(254))
    organization: Mapped[str] = mapped_column(String(200))
    status: Mapped[CredentialStatus] = mapped_column(_enum(CredentialStatus))
    key_algo: Mapped[str] = mapped_column(String(16))
    key_len: Mapped[int] = mapped_column(Integer)
    public_key_der: Mapped[bytes] = mapped_column(LargeBinary)
    # Empty until the certificate is issued (status PENDING before).
    serial: Mapped[str | None] = mapped_column(String(64), unique=True)
    cert_der: Mapped[bytes | None] = mapped_column(LargeBinary)
    not_before: Mapped[datetime | None] = mapped_column()
    not_after: Mapped[datetime | None] = mapped_column()
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    kdf_salt: Mapped[bytes] = mapped_column(LargeBinary)
    kdf_params: Mapped[str] = mapped_column(String(100))
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    otp_failures: Mapped[int] = mapped_column(Integer, default=0)
    lock_reason: Mapped[str | None] = mapped_column(String(32))
    revoked_at: Mapped[datetime | None] = mapped_column()
    revocation_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column()


class Otp(Base):
    __tablename__ = "rs_otp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("rs_credential.id"), index=True)
    code_mac: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    # Set when the code is used or superseded by a newer one.
    closed_at: Mapped[datetime | None] = mapped_column()
    # PIN first (the guide's 1. PIN入力 >>> 2. 認証コード入力): when the PIN was
    # checked at sendOTP, its key-unwrapping secret waits here encrypted under a
    # key derived from the PIN token handed to the caller only; wiped when the
    # code is closed.
    pin_handle: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class Sad(Base):
    """Signature activation data: only the token's hash is stored; the key-unwrapping
    secret is encrypted under a key derived from the token itself."""

    __tablename__ = "rs_sad"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("rs_credential.id"), index=True)
    hashes: Mapped[str] = mapped_column(Text)
    hash_algo: Mapped[str] = mapped_column(String(16))
    num_signatures: Mapped[int] = mapped_column(Integer)
    wrapped_handle: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
