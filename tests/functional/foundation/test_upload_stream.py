"""KYC-5 (issue #15 item 6): an identity document's plaintext never lands in a
temporary file on disk while the request is parsed. The KYC upload view is
declared with ``portal.web.uploads_in_memory``; the portal's request class
(``portal.web.PortalRequest``) keeps its multipart files in memory, other
uploads keep werkzeug's temporary file."""

from __future__ import annotations

import io
from typing import IO

from flask import Flask, request

from portal.web import PortalRequest

LARGE = 2 * 1024 * 1024  # werkzeug spools anything over 500 KB to a temporary file


def parsed_in_memory(app: Flask, path: str) -> bool:
    """Whether the file part posted to ``path`` was parsed into memory (all of it)."""
    data = b"\xff\xd8" + b"\0" * LARGE
    body = {"file": (io.BytesIO(data), "menkyo.jpg", "image/jpeg")}
    with app.test_request_context(path, method="POST", data=body,
                                  content_type="multipart/form-data"):
        assert isinstance(request._get_current_object(), PortalRequest)
        stream: IO[bytes] = request.files["file"].stream
        assert stream.read() == data
        return isinstance(stream, io.BytesIO)


def test_kyc5_an_identity_document_is_parsed_in_memory(app: Flask) -> None:
    assert parsed_in_memory(app, "/mypage/kyc/1/files")


def test_other_uploads_keep_the_temporary_file(app: Flask) -> None:
    assert not parsed_in_memory(app, "/console/contracts/new")
