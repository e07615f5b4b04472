"""Encrypted file store (AUD-3).

Every file gets its own random AES-256 data key; the data key is wrapped
(AES-GCM) by the master key and stored in the file's header. The file key is
bound as associated data, so a file copied under another name, a flipped
byte or a truncated file fails to decrypt instead of returning wrong bytes.
The backend is chosen by ``FILESTORE_BACKEND`` (a dotted path).
"""

from __future__ import annotations

import importlib
import os
import secrets
import struct
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from portal.config import master_key_bytes

MAGIC = b"PFS1"
_HEADER = struct.Struct(">4sH")


class FileIntegrityError(Exception):
    """The stored bytes are not what was written (tampered, truncated, or wrong key)."""


class FileMissing(Exception):
    pass


class FileStore(Protocol):
    def put(self, data: bytes, *, kind: str) -> str: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class LocalEncryptedFileStore:
    def __init__(self, root: str | os.PathLike[str], master_key: bytes) -> None:
        self.root = Path(root)
        self._master = AESGCM(master_key)

    def _path(self, key: str) -> Path:
        if not key or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789-_" for c in key):
            raise FileMissing(key)
        return self.root / key[:2] / key

    def put(self, data: bytes, *, kind: str) -> str:
        safe_kind = "".join(c for c in kind.lower() if c.isalnum())[:16] or "file"
        key = f"{safe_kind}-{secrets.token_hex(16)}"
        dek = AESGCM.generate_key(bit_length=256)
        wrap_nonce = os.urandom(12)
        wrapped = wrap_nonce + self._master.encrypt(wrap_nonce, dek, b"dek:" + key.encode())
        nonce = os.urandom(12)
        body = AESGCM(dek).encrypt(nonce, data, b"file:" + key.encode())
        blob = _HEADER.pack(MAGIC, len(wrapped)) + wrapped + nonce + body
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return key

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError as exc:
            raise FileMissing(key) from exc
        try:
            magic, wrapped_len = _HEADER.unpack_from(blob)
            if magic != MAGIC:
                raise FileIntegrityError(f"{key}: not a portal file store file")
            start = _HEADER.size
            wrapped = blob[start:start + wrapped_len]
            nonce = blob[start + wrapped_len:start + wrapped_len + 12]
            body = blob[start + wrapped_len + 12:]
            dek = self._master.decrypt(wrapped[:12], wrapped[12:], b"dek:" + key.encode())
            return AESGCM(dek).decrypt(nonce, body, b"file:" + key.encode())
        except (InvalidTag, struct.error, ValueError) as exc:
            raise FileIntegrityError(
                f"{key}: integrity check failed (the file was altered or truncated)"
            ) from exc

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass


def get_file_store() -> FileStore:
    app = current_app
    store: FileStore | None = app.extensions.get("portal.filestore")
    if store is None:
        module_name, _, class_name = app.config["FILESTORE_BACKEND"].rpartition(".")
        cls = getattr(importlib.import_module(module_name), class_name)
        store = cls(app.config["FILESTORE_PATH"], master_key_bytes(app.config["MASTER_KEY"]))
        app.extensions["portal.filestore"] = store
    return store
