"""Names shared by the adapter and the embedded service (CSC API v2 shapes).

Error codes travel in the JSON body as ``{"error": code, "error_description": text}``;
the adapter maps each code to one typed exception.
"""

from __future__ import annotations

from enum import StrEnum

API_PREFIX = "/csc/v2"
ADMIN_PREFIX = "/admin/v1"


class ErrorCode(StrEnum):
    INVALID_REQUEST = "invalid_request"
    UNAUTHORIZED_CLIENT = "unauthorized_client"
    CREDENTIAL_NOT_FOUND = "invalid_credential"
    PIN_INVALID = "invalid_pin"
    PIN_POLICY = "pin_policy"
    CREDENTIAL_LOCKED = "credential_locked"
    CREDENTIAL_REVOKED = "credential_revoked"
    CREDENTIAL_EXPIRED = "credential_expired"
    CREDENTIAL_PENDING = "credential_pending"
    OTP_INVALID = "invalid_otp"
    OTP_EXPIRED = "otp_expired"
    OTP_DELIVERY = "otp_delivery_failed"
    SAD_INVALID = "invalid_sad"
    HASH_NOT_AUTHORIZED = "hash_not_authorized"
    CONFLICT = "conflict"


class CredentialStatus(StrEnum):
    PENDING = "pending"  # PIN registered, certificate not issued yet (初期PIN登録 → 発行)
    ACTIVE = "active"
    LOCKED = "locked"
    REVOKED = "revoked"


class CredentialKind(StrEnum):
    USER = "user"
    SEAL = "seal"


# Digest algorithm OIDs accepted by authorize / signHash.
HASH_OIDS: dict[str, str] = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
HASH_OID_BY_NAME = {name: oid for oid, name in HASH_OIDS.items()}
HASH_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}

RSA_ENCRYPTION_OID = "1.2.840.113549.1.1.1"
EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"
