"""Secrets: argon2 for passwords, keyed HMAC for short codes, AES-GCM
envelopes with the master key."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from portal.config import master_key_bytes

_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(hashed: str, secret: str) -> bool:
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def generate_code(digits: int = 6) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def generate_temporary_password() -> str:
    """Meets AUTH-2: 12 characters with upper, lower and digits."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(12))
        if (any(c.isupper() for c in candidate) and any(c.islower() for c in candidate)
                and any(c.isdigit() for c in candidate)):
            return candidate


def master_key() -> bytes:
    return master_key_bytes(current_app.config["MASTER_KEY"])


def hmac_code(code: str, *, purpose: str) -> str:
    """Short codes (6–8 digits) are hashed with a keyed HMAC: a leaked table
    cannot be brute-forced offline without the master key."""
    key = hashlib.sha256(master_key() + b"code:" + purpose.encode()).digest()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def codes_equal(stored_hmac: str, code: str, *, purpose: str) -> bool:
    return hmac.compare_digest(stored_hmac, hmac_code(code, purpose=purpose))


def seal(plaintext: bytes, *, context: bytes) -> bytes:
    """AES-256-GCM under the master key; ``context`` is bound as AAD."""
    nonce = os.urandom(12)
    return nonce + AESGCM(master_key()).encrypt(nonce, plaintext, context)


def unseal(sealed: bytes, *, context: bytes) -> bytes:
    return AESGCM(master_key()).decrypt(sealed[:12], sealed[12:], context)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
