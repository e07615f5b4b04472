"""Key store behind an interface, so an HSM (PKCS#11) backend can replace it.

Software implementation (RS-2, PIN-2): each private key is generated here and
stored as PKCS#8 encrypted with AES-256-GCM under a key-encryption key

    KEK = HMAC-SHA256(master_key, "rs-kek-v1" || argon2id(PIN, salt))

so neither a database dump (no master key) nor the master key alone (no PIN)
unwraps it. A wrong PIN fails the GCM tag check; no PIN verifier is stored.

The PKCS#11 backend (``pkcs11_store.Pkcs11KeyStore``, RS-2) keeps the same PIN
layer but what it wraps is the token's own wrapping of the key, so the token is
needed too. ``remote_signing.service.build_keystore`` picks the backend from ``KEYSTORE_BACKEND``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Protocol

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


class WrongSecret(Exception):
    """The PIN (or seal secret) does not unwrap the key."""


class KeyStoreMismatch(RuntimeError):
    """A stored key belongs to the other backend (the database and the
    configured KEYSTORE_BACKEND do not match)."""


class AuthorityKey(Protocol):
    """What the CA, OCSP responder and TSA sign with: an RSA private key of
    ``cryptography`` (software) or a key that stays in the token; both take
    ``sign(data, padding, algorithm)`` with PKCS#1 v1.5."""

    @property
    def key_size(self) -> int: ...

    def public_key(self) -> rsa.RSAPublicKey: ...

    def sign(
        self,
        data: bytes,
        padding: padding.AsymmetricPadding,
        algorithm: hashes.HashAlgorithm | utils.Prehashed,
    ) -> bytes: ...


@dataclass(frozen=True)
class WrappedKey:
    blob: bytes
    salt: bytes
    params: str


@dataclass(frozen=True)
class KdfParams:
    time_cost: int
    memory_kib: int
    parallelism: int

    def dumps(self) -> str:
        return json.dumps(
            {"alg": "argon2id", "t": self.time_cost, "m": self.memory_kib, "p": self.parallelism}
        )

    @classmethod
    def loads(cls, text: str) -> KdfParams:
        d = json.loads(text)
        return cls(time_cost=d["t"], memory_kib=d["m"], parallelism=d["p"])


class KeyStore(Protocol):
    def generate(
        self, secret: str, *, label: str, key_size: int, resident: bool = False
    ) -> tuple[WrappedKey, PublicKey]:
        """Create a key pair usable only with ``secret``; ``label`` binds it to its owner.
        ``resident``: an unattended key (the bank seal) that an HSM keeps inside."""

    def unlock(self, wrapped: WrappedKey, secret: str, *, label: str) -> bytes:
        """Check ``secret``; return an activation handle for :meth:`sign` (raises WrongSecret)."""

    def sign(
        self,
        wrapped: WrappedKey,
        handle: bytes,
        digests: list[bytes],
        hash_algo: str,
        *,
        label: str,
    ) -> list[bytes]:
        """Sign pre-computed digests with the key the handle activates."""

    def rewrap(self, wrapped: WrappedKey, old: str, new: str, *, label: str) -> WrappedKey:
        """Change the secret protecting a key (raises WrongSecret)."""

    def new_authority_key(self, name: str, key_size: int) -> tuple[AuthorityKey, bytes]:
        """A new unattended key (root, issuing, tsa, ocsp) and the reference to store."""

    def load_authority_key(self, name: str, stored: bytes) -> AuthorityKey:
        """The key a stored reference names (raises KeyStoreMismatch)."""


class PinLayer:
    """AES-256-GCM under KEK = HMAC(master, argon2id(PIN)); the label is the AAD."""

    def __init__(self, master_key: bytes, kdf: KdfParams, backend: str | None = None) -> None:
        self._master = master_key
        self._kdf = kdf
        self._backend = backend

    def wrap(self, payload: bytes, secret: str, label: str) -> WrappedKey:
        salt = os.urandom(16)
        kek = self.kek(secret, salt, self._kdf)
        nonce = os.urandom(12)
        blob = nonce + AESGCM(kek).encrypt(nonce, payload, label.encode())
        params = json.loads(self._kdf.dumps())
        if self._backend:
            params["ks"] = self._backend
        return WrappedKey(blob=blob, salt=salt, params=json.dumps(params))

    def unlock(self, wrapped: WrappedKey, secret: str, label: str) -> bytes:
        """Check the secret; the KEK is the activation handle."""
        self.check_backend(wrapped)
        kek = self.kek(secret, wrapped.salt, KdfParams.loads(wrapped.params))
        self.open(kek, wrapped.blob, label)
        return kek

    def check_backend(self, wrapped: WrappedKey) -> None:
        if json.loads(wrapped.params).get("ks") != self._backend:
            raise KeyStoreMismatch("the key was stored by another KEYSTORE_BACKEND")

    def kek(self, secret: str, salt: bytes, kdf: KdfParams) -> bytes:
        stretched = hash_secret_raw(
            secret.encode(),
            salt,
            time_cost=kdf.time_cost,
            memory_cost=kdf.memory_kib,
            parallelism=kdf.parallelism,
            hash_len=32,
            type=Type.ID,
        )
        return hmac.new(self._master, b"rs-kek-v1" + stretched, hashlib.sha256).digest()

    @staticmethod
    def open(kek: bytes, blob: bytes, label: str) -> bytes:
        try:
            return AESGCM(kek).decrypt(blob[:12], blob[12:], label.encode())
        except InvalidTag as exc:
            raise WrongSecret from exc


class SoftwareKeyStore:
    def __init__(self, master_key: bytes, kdf: KdfParams) -> None:
        self._master = master_key
        self._kdf = kdf
        self._pin = PinLayer(master_key, kdf)
        self._service_wrap = derive_key(master_key, "rs-service-keys-v1")

    def generate(
        self, secret: str, *, label: str, key_size: int, resident: bool = False
    ) -> tuple[WrappedKey, PublicKey]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return self._wrap(der, secret, label), key.public_key()

    def unlock(self, wrapped: WrappedKey, secret: str, *, label: str) -> bytes:
        return self._pin.unlock(wrapped, secret, label)

    # CA keys sign unattended: wrapped by a key derived from the master key only.
    def new_authority_key(self, name: str, key_size: int) -> tuple[AuthorityKey, bytes]:
        key = rsa.generate_private_key(65537, key_size)
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return key, seal(self._service_wrap, der, name.encode())

    def load_authority_key(self, name: str, stored: bytes) -> AuthorityKey:
        try:
            der = unseal(self._service_wrap, stored, name.encode())
        except InvalidTag as exc:
            raise KeyStoreMismatch(f"service key {name} does not open in software") from exc
        key = serialization.load_der_private_key(der, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    def sign(
        self,
        wrapped: WrappedKey,
        handle: bytes,
        digests: list[bytes],
        hash_algo: str,
        *,
        label: str,
    ) -> list[bytes]:
        der = self._decrypt(handle, wrapped.blob, label)
        # The key was generated here and is authenticated by GCM: skip the slow RSA checks.
        key = serialization.load_der_private_key(
            der, password=None, unsafe_skip_rsa_key_validation=True
        )
        algo = utils.Prehashed(_HASHES[hash_algo])
        if isinstance(key, rsa.RSAPrivateKey):
            return [key.sign(d, padding.PKCS1v15(), algo) for d in digests]
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return [key.sign(d, ec.ECDSA(algo)) for d in digests]
        raise TypeError("unsupported key type")

    def rewrap(self, wrapped: WrappedKey, old: str, new: str, *, label: str) -> WrappedKey:
        kek = self.unlock(wrapped, old, label=label)
        der = self._decrypt(kek, wrapped.blob, label)
        return self._wrap(der, new, label)

    def _wrap(self, der: bytes, secret: str, label: str) -> WrappedKey:
        return self._pin.wrap(der, secret, label)

    @staticmethod
    def _decrypt(kek: bytes, blob: bytes, label: str) -> bytes:
        return PinLayer.open(kek, blob, label)


def derive_key(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        master
    )


def seal(key: bytes, data: bytes, aad: bytes = b"") -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, data, aad)


def unseal(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    return AESGCM(key).decrypt(blob[:12], blob[12:], aad)
