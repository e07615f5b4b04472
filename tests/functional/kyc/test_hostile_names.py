"""Issue #12 item 6, KYC-3/USR-3: the one file-name rule of KYC documents and
powers of attorney (portal.uploads.check_filename, used by both) removes bidi
controls and zero-width characters before any check, so a name cannot pose as
another extension or hide characters on the review screen."""

from __future__ import annotations

import pytest

from portal.uploads import BadFilename, ExtensionNotAllowed, check_filename


@pytest.mark.parametrize(("sent", "stored"), [
    ("運転免許証\u200b.jpg", "運転免許証.jpg"),
    ("\ufeff保険証\u2066表面\u2069.png", "保険証表面.png"),
    ("委任状\u200d\u200c.pdf", "委任状.pdf"),
    ("カ\u3099イド.pdf", "ガイド.pdf"),  # NFC as before
])
def test_kyc3_invisible_characters_are_removed_from_the_stored_name(sent, stored):
    assert check_filename(sent).original == stored


def test_kyc3_a_right_to_left_override_cannot_disguise_the_extension():
    with pytest.raises(ExtensionNotAllowed):
        check_filename("請求書\u202efdp.exe")  # shown as 請求書exe.pdf


def test_kyc3_a_name_of_only_invisible_characters_is_refused():
    with pytest.raises((BadFilename, ExtensionNotAllowed)):
        check_filename("\u200b\u202e.pdf")
