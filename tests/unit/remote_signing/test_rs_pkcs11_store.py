"""The PKCS#11 key store on a private SoftHSM2 token (RS-2, PIN-2, issue #16 items 1-2).

What an auditor asks: a user's key signs only with the PIN *and* the token; the
service's keys are in the token and cannot be taken out of it."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pkcs11
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

from remote_signing.service.keystore import (
    KdfParams,
    KeyStoreMismatch,
    PinLayer,
    SoftwareKeyStore,
    WrongSecret,
)
from remote_signing.service.pkcs11_store import USER_WRAP_LABEL, Pkcs11KeyStore, Pkcs11Token
from tests.unit.remote_signing.rs_helpers import pkcs11_config, private_softhsm_token

FAST = KdfParams(time_cost=1, memory_kib=8192, parallelism=1)
PIN = "Kaiyaku2026!"
DIGEST = hashlib.sha256(b"contract").digest()


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Pkcs11Token:
    private_softhsm_token(tmp_path_factory.mktemp("softhsm-store"))
    cfg = pkcs11_config()
    return Pkcs11Token.shared(
        "/usr/lib/softhsm/libsofthsm2.so", cfg["PKCS11_TOKEN_LABEL"], cfg["PKCS11_USER_PIN"]
    )


@pytest.fixture
def store(token: Pkcs11Token) -> Pkcs11KeyStore:
    return Pkcs11KeyStore(token, os.urandom(32), FAST)


@pytest.fixture
def own_session(token: Pkcs11Token) -> Iterator[pkcs11.Session]:
    """What someone holding the token and its PIN (but no user PIN) can do."""
    with token.session() as s:
        yield s


def _verify(public: rsa.RSAPublicKey, signature: bytes, digest: bytes = DIGEST) -> None:
    public.verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))


def test_pin2_user_key_signs_with_pin_and_token(store: Pkcs11KeyStore) -> None:
    wrapped, public = store.generate(PIN, label="cred-1", key_size=2048)
    assert isinstance(public, rsa.RSAPublicKey)
    handle = store.unlock(wrapped, PIN, label="cred-1")
    [sig] = store.sign(wrapped, handle, [DIGEST], "sha256", label="cred-1")
    _verify(public, sig)
    with pytest.raises(WrongSecret):
        store.unlock(wrapped, "Kaiyaku2026?", label="cred-1")
    with pytest.raises(WrongSecret):  # a wrapped key copied onto another credential
        store.unlock(wrapped, PIN, label="cred-2")


def test_pin5_pin_change_rewraps_and_the_old_pin_stops_working(store: Pkcs11KeyStore) -> None:
    wrapped, public = store.generate(PIN, label="cred-3", key_size=2048)
    new = store.rewrap(wrapped, PIN, "Shinki2027#", label="cred-3")
    with pytest.raises(WrongSecret):
        store.unlock(new, PIN, label="cred-3")
    handle = store.unlock(new, "Shinki2027#", label="cred-3")
    assert isinstance(public, rsa.RSAPublicKey)
    _verify(public, store.sign(new, handle, [DIGEST], "sha256", label="cred-3")[0])


def test_pin2_what_the_database_holds_is_no_key_even_with_master_key_and_pin(
    token: Pkcs11Token,
) -> None:
    master = os.urandom(32)
    store = Pkcs11KeyStore(token, master, FAST)
    wrapped, _ = store.generate(PIN, label="cred-4", key_size=2048)
    # Master key and the right PIN open the outer layer: inside is the token's
    # wrapping, not a key.
    inner = PinLayer.open(
        PinLayer(master, FAST).kek(PIN, wrapped.salt, FAST), wrapped.blob, "cred-4"
    )
    with pytest.raises(ValueError):
        serialization.load_der_private_key(inner, password=None)
    # The software store (what a copied master key alone would give) refuses it.
    with pytest.raises(KeyStoreMismatch):
        SoftwareKeyStore(master, FAST).unlock(wrapped, PIN, label="cred-4")


def test_pin2_the_token_alone_cannot_use_a_stored_user_key(
    store: Pkcs11KeyStore, own_session: pkcs11.Session
) -> None:
    private_keys = {Attribute.CLASS: ObjectClass.PRIVATE_KEY}
    before = len(list(own_session.get_objects(private_keys)))
    wrapped, _ = store.generate(PIN, label="cred-5", key_size=2048)
    wrap_key = own_session.get_key(object_class=ObjectClass.SECRET_KEY, label=USER_WRAP_LABEL)
    # The stored blob is sealed under the PIN: the token's wrapping key does not open it.
    with pytest.raises(pkcs11.PKCS11Error):
        wrap_key.unwrap_key(
            ObjectClass.PRIVATE_KEY,
            KeyType.RSA,
            wrapped.blob,
            mechanism=Mechanism.AES_KEY_WRAP_PAD,
            template={Attribute.ENCRYPT: pkcs11.DEFAULT, Attribute.VERIFY: pkcs11.DEFAULT,
                      Attribute.WRAP: pkcs11.DEFAULT, Attribute.DERIVE: pkcs11.DEFAULT},
        )  # fmt: skip
    # No user key stays in the token: private keys there are the unattended ones only
    # (other tests of this process put resident seal keys there, labelled "cred-<hex>").
    keys = list(own_session.get_objects(private_keys))
    assert len(keys) == before
    assert "cred-5" not in {k[Attribute.LABEL] for k in keys}


def test_rs2_keys_in_the_token_are_sensitive_and_never_extractable(
    store: Pkcs11KeyStore, own_session: pkcs11.Session
) -> None:
    key, ref = store.new_authority_key("test-ca", 2048)
    assert ref.startswith(b"pkcs11:") and len(ref) < 64  # a reference, not key material
    digest = hashlib.sha256(b"tbs").digest()
    sig = key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    _verify(key.public_key(), sig, digest)
    with pytest.raises(InvalidSignature):
        _verify(key.public_key(), sig)
    again = store.load_authority_key("test-ca", ref)  # found again by its CKA_ID
    _verify(again.public_key(), sig, digest)
    secrets = list(own_session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})) + list(
        own_session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY})
    )
    assert secrets
    for obj in secrets:
        assert obj[Attribute.EXTRACTABLE] is False, obj[Attribute.LABEL]
        assert obj[Attribute.SENSITIVE] is True, obj[Attribute.LABEL]
        assert obj[Attribute.NEVER_EXTRACTABLE] is True, obj[Attribute.LABEL]
    wrap_key = own_session.get_key(object_class=ObjectClass.SECRET_KEY, label=USER_WRAP_LABEL)
    ca_key = own_session.get_key(object_class=ObjectClass.PRIVATE_KEY, label="rs-test-ca")
    with pytest.raises(pkcs11.PKCS11Error):
        wrap_key.wrap_key(ca_key, mechanism=Mechanism.AES_KEY_WRAP_PAD)


def test_rs2_the_software_store_refuses_token_references() -> None:
    soft = SoftwareKeyStore(os.urandom(32), FAST)
    with pytest.raises(KeyStoreMismatch):
        soft.load_authority_key("root", b"pkcs11:00ff")
