"""AUD-3: per-file keys wrapped by the master key; tampering never returns wrong bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from portal.filestore import FileIntegrityError, LocalEncryptedFileStore, get_file_store


def stored_path(app, key: str) -> Path:
    return Path(app.config["FILESTORE_PATH"]) / key[:2] / key


def test_round_trip_and_no_plaintext_on_disk(app):
    store = get_file_store()
    data = "本人確認書類 運転免許証".encode() * 100
    key = store.put(data, kind="kyc")
    assert store.get(key) == data
    assert "運転免許証".encode() not in stored_path(app, key).read_bytes()


def test_one_flipped_byte_fails_with_a_clear_error(app):
    store = get_file_store()
    key = store.put(os.urandom(4096), kind="contract")
    path = stored_path(app, key)
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(FileIntegrityError, match="integrity check failed"):
        store.get(key)


def test_a_truncated_file_fails(app):
    store = get_file_store()
    key = store.put(b"x" * 1000, kind="contract")
    path = stored_path(app, key)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(FileIntegrityError):
        store.get(key)


def test_a_file_copied_under_another_key_fails(app):
    store = get_file_store()
    first = store.put(b"first document", kind="poa")
    second = store.put(b"second document", kind="poa")
    stored_path(app, second).write_bytes(stored_path(app, first).read_bytes())
    with pytest.raises(FileIntegrityError):
        store.get(second)


def test_another_master_key_cannot_read(app):
    key = get_file_store().put(b"secret", kind="kyc")
    other = LocalEncryptedFileStore(app.config["FILESTORE_PATH"], os.urandom(32))
    with pytest.raises(FileIntegrityError):
        other.get(key)


def test_storage_names_are_server_generated(app):
    store = get_file_store()
    key = store.put(b"data", kind="../../etc/passwd")
    assert "/" not in key and ".." not in key
    assert stored_path(app, key).is_file()
