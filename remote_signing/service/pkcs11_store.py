"""Keys in a PKCS#11 token (RS-2, PIN-2): SoftHSM2 in make run / make test, an
HSM in production through the same settings (module, token label, user PIN).

Unattended keys (root and issuing CA, OCSP responder, TSA, the bank seal) are
generated in the token as token objects: sensitive, never extractable, found
again by their CKA_ID, which the database keeps as ``pkcs11:<id hex>``.

A user's key is generated in the token as a session object and leaves it only
wrapped (AES key wrap with padding) by the token's own wrapping key, which is
itself never extractable. That wrapped blob is then sealed under the PIN layer
(KEK = HMAC(master key, argon2id(PIN))) and only this is stored. Signing
needs all three: the PIN opens the outer layer, the token unwraps the inner
one into a session object (CKA_TOKEN false, sensitive, not extractable) for
one request's signatures, and the object is destroyed. So neither a database
dump, nor the token (its PIN) alone, nor the master key signs for a user, and
the key is never in clear outside the token.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pkcs11
from asn1crypto import keys as akeys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from pkcs11 import DEFAULT, KeyType, Mechanism, ObjectClass
from pkcs11 import Attribute as A
from pkcs11.util.rsa import encode_rsa_public_key

from .keystore import (
    AuthorityKey,
    KdfParams,
    KeyStoreMismatch,
    PinLayer,
    PublicKey,
    WrappedKey,
)

USER_WRAP_LABEL = "rs-user-wrap"
REF_PREFIX = b"pkcs11:"
RESIDENT_PREFIX = b"resident:"
# DER DigestInfo prefixes (RFC 8017 9.2 note 1): RSA_PKCS signs DigestInfo || digest.
_DIGEST_INFO = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
# python-pkcs11 puts every capability attribute into its templates; a private
# key refuses CKA_ENCRYPT/VERIFY/WRAP (AttributeTypeInvalid), so drop them.
_ONLY_SIGN = {
    A.ENCRYPT: DEFAULT,
    A.DECRYPT: DEFAULT,
    A.WRAP: DEFAULT,
    A.UNWRAP: DEFAULT,
    A.VERIFY: DEFAULT,
    A.DERIVE: DEFAULT,
    A.SIGN: True,
    A.SENSITIVE: True,
    A.PRIVATE: True,
}
_PUBLIC = {A.VERIFY: True, A.ENCRYPT: False, A.WRAP: False}
_SHARED: dict[tuple[str, str, str], Pkcs11Token] = {}
_SHARED_LOCK = threading.Lock()


class Pkcs11Token:
    """One logged-in session per process, used under a lock (a PKCS#11 session
    is not for concurrent calls). Opened lazily, so a forking server opens it
    in the process that serves."""

    def __init__(self, module: str, token_label: str, user_pin: str) -> None:
        self._module = module
        self._label = token_label
        self._pin = user_pin
        self._lock = threading.RLock()
        self._session: Any = None
        self._pid = 0

    @contextmanager
    def session(self) -> Iterator[Any]:
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                lib = pkcs11.lib(self._module)
                token = lib.get_token(token_label=self._label)
                try:
                    self._session = token.open(rw=True, user_pin=self._pin)
                except pkcs11.UserAlreadyLoggedIn:
                    # Login is per process, not per session: another app
                    # (tests build several) already logged this process in.
                    self._session = token.open(rw=True)
                self._pid = os.getpid()
            yield self._session

    @classmethod
    def shared(cls, module: str, token_label: str, user_pin: str) -> Pkcs11Token:
        """One per process and token, so every app of the process shares its session."""
        key = (module, token_label, user_pin)
        with _SHARED_LOCK:
            if key not in _SHARED:
                _SHARED[key] = cls(module, token_label, user_pin)
            return _SHARED[key]

    def private_key(self, key_id: bytes) -> Any:
        with self.session() as s:
            return s.get_key(object_class=ObjectClass.PRIVATE_KEY, id=key_id)


class TokenRsaKey:
    """An RSA private key that stays in the token; signs like ``cryptography``'s
    (PKCS#1 v1.5 only), so the CA builders' re-signing and the TSA use it as is."""

    def __init__(self, token: Pkcs11Token, key_id: bytes, public: rsa.RSAPublicKey) -> None:
        self._token = token
        self.key_id = key_id
        self._public = public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    def sign(
        self,
        data: bytes,
        padding_: padding.AsymmetricPadding,
        algorithm: hashes.HashAlgorithm | utils.Prehashed,
    ) -> bytes:
        if not isinstance(padding_, padding.PKCS1v15):
            raise TypeError("the token keys sign PKCS#1 v1.5 only")
        with self._token.session():
            key = self._token.private_key(self.key_id)
            return bytes(key.sign(_digest_info(data, algorithm), mechanism=Mechanism.RSA_PKCS))


class Pkcs11KeyStore:
    def __init__(self, token: Pkcs11Token, master_key: bytes, kdf: KdfParams) -> None:
        self.token = token
        self._pin = PinLayer(master_key, kdf, backend="pkcs11")

    # --- unattended keys ----------------------------------------------------
    def new_authority_key(self, name: str, key_size: int) -> tuple[AuthorityKey, bytes]:
        key_id = os.urandom(16)
        with self.token.session() as s:
            pub, _priv = s.generate_keypair(
                KeyType.RSA,
                key_size,
                id=key_id,
                label=f"rs-{name}",
                store=True,
                public_template=_PUBLIC,
                private_template={**_ONLY_SIGN, A.EXTRACTABLE: False},
            )
            public = _public_key(pub)
        return TokenRsaKey(self.token, key_id, public), REF_PREFIX + key_id.hex().encode()

    def load_authority_key(self, name: str, stored: bytes) -> AuthorityKey:
        if not stored.startswith(REF_PREFIX):
            raise KeyStoreMismatch(
                f"service key {name} was stored by the software backend: start the pkcs11 "
                "backend on an empty database, or set KEYSTORE_BACKEND=software"
            )
        key_id = bytes.fromhex(stored[len(REF_PREFIX) :].decode())
        return TokenRsaKey(self.token, key_id, self._public_of(key_id))

    def _public_of(self, key_id: bytes) -> rsa.RSAPublicKey:
        with self.token.session() as s:
            return _public_key(s.get_key(object_class=ObjectClass.PUBLIC_KEY, id=key_id))

    # --- PIN-protected keys -------------------------------------------------
    def generate(
        self, secret: str, *, label: str, key_size: int, resident: bool = False
    ) -> tuple[WrappedKey, PublicKey]:
        if resident:
            key, ref = self.new_authority_key(label, key_size)
            return self._pin.wrap(RESIDENT_PREFIX + ref, secret, label), key.public_key()
        with self.token.session() as s:
            pub, priv = s.generate_keypair(
                KeyType.RSA,
                key_size,
                store=False,
                public_template=_PUBLIC,
                # Extractable only so the token can wrap it once; the copy it
                # unwraps for signing is not.
                private_template={**_ONLY_SIGN, A.EXTRACTABLE: True},
            )
            try:
                inner = bytes(
                    self._wrapping_key(s).wrap_key(priv, mechanism=Mechanism.AES_KEY_WRAP_PAD)
                )
                public = _public_key(pub)
            finally:
                priv.destroy()
                pub.destroy()
        return self._pin.wrap(inner, secret, label), public

    def unlock(self, wrapped: WrappedKey, secret: str, *, label: str) -> bytes:
        return self._pin.unlock(wrapped, secret, label)

    def sign(
        self,
        wrapped: WrappedKey,
        handle: bytes,
        digests: list[bytes],
        hash_algo: str,
        *,
        label: str,
    ) -> list[bytes]:
        self._pin.check_backend(wrapped)
        inner = PinLayer.open(handle, wrapped.blob, label)
        with self.token.session() as s:
            if inner.startswith(RESIDENT_PREFIX):
                key = self.load_authority_key(label, inner[len(RESIDENT_PREFIX) :])
                algo = utils.Prehashed(_HASHES[hash_algo])
                return [key.sign(d, padding.PKCS1v15(), algo) for d in digests]
            priv = self._wrapping_key(s).unwrap_key(
                ObjectClass.PRIVATE_KEY,
                KeyType.RSA,
                inner,
                mechanism=Mechanism.AES_KEY_WRAP_PAD,
                store=False,
                template={**_ONLY_SIGN, A.EXTRACTABLE: False},
            )
            try:
                prefix = _DIGEST_INFO[hash_algo]
                return [bytes(priv.sign(prefix + d, mechanism=Mechanism.RSA_PKCS)) for d in digests]
            finally:
                priv.destroy()

    def rewrap(self, wrapped: WrappedKey, old: str, new: str, *, label: str) -> WrappedKey:
        # Only the PIN layer changes; the inner blob still needs the token.
        kek = self._pin.unlock(wrapped, old, label)
        return self._pin.wrap(PinLayer.open(kek, wrapped.blob, label), new, label)

    def _wrapping_key(self, s: Any) -> Any:
        try:
            return s.get_key(object_class=ObjectClass.SECRET_KEY, label=USER_WRAP_LABEL)
        except pkcs11.NoSuchKey:
            return s.generate_key(
                KeyType.AES,
                256,
                label=USER_WRAP_LABEL,
                store=True,
                template={
                    A.EXTRACTABLE: False,
                    A.SENSITIVE: True,
                    A.PRIVATE: True,
                    A.WRAP: True,
                    A.UNWRAP: True,
                    A.ENCRYPT: False,
                    A.DECRYPT: False,
                    A.SIGN: False,
                    A.VERIFY: False,
                    A.DERIVE: False,
                },
            )


_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


def _digest_info(data: bytes, algorithm: hashes.HashAlgorithm | utils.Prehashed) -> bytes:
    if isinstance(algorithm, utils.Prehashed):
        return _DIGEST_INFO[algorithm._algorithm.name] + data
    h = hashes.Hash(algorithm)
    h.update(data)
    return _DIGEST_INFO[algorithm.name] + h.finalize()


def _public_key(pub: Any) -> rsa.RSAPublicKey:
    spki = akeys.PublicKeyInfo(
        {
            "algorithm": {"algorithm": "rsa"},
            "public_key": akeys.RSAPublicKey.load(encode_rsa_public_key(pub)),
        }
    )
    key = serialization.load_der_public_key(spki.dump())
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def init_token(directory: Path, *, label: str, user_pin: str, so_pin: str) -> Path:
    """A private SoftHSM2 token under ``directory`` (tests); returns its SOFTHSM2_CONF.
    scripts/services.sh does the same for make run / make test."""
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    shown = subprocess.run(
        ["softhsm2-util", "--show-slots"], env=env, capture_output=True, text=True, check=True
    ).stdout
    labels = {line.split(":", 1)[1].strip() for line in shown.splitlines() if "Label:" in line}
    if label not in labels:
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label,
             "--pin", user_pin, "--so-pin", so_pin],
            env=env, capture_output=True, check=True,
        )  # fmt: skip
    return conf


def softhsm_service_env(directory: Path, label: str = "rs-private") -> dict[str, str]:
    """Environment for a signing service process on a private SoftHSM2 token
    (tests, benchmarks); the token is made under ``directory``."""
    pin = "private-token-pin"
    conf = init_token(directory, label=label, user_pin=pin, so_pin="private-so-pin")
    return {
        "SOFTHSM2_CONF": str(conf),
        "RS_KEYSTORE_BACKEND": "pkcs11",
        "RS_PKCS11_TOKEN_LABEL": label,
        "RS_PKCS11_USER_PIN": pin,
    }
