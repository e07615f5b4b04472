"""The bank's seal (CON-6, SIGN-1, SIGN-7): PAdES B-LTA with the console's
credential, the only one the signing service lets use the seal. 締結 seals the
contract documents (``signing.conclude``) and the 締結証明書 is sealed the same
way (``evidence.issue``); the PAdES set-up itself is
``remote_signing.pdf.seal_documents``. Nothing here reads or writes the database,
so both import it without a circle."""

from __future__ import annotations

import logging

from asn1crypto import x509 as ax509
from flask import current_app

from portal.errors import DomainError
from remote_signing import client as rs
from remote_signing.pdf import SignatureOptions, Trust, seal_documents

log = logging.getLogger(__name__)

BANK_FIELD = "BankSeal"
BANK_SEAL = SignatureOptions(field_name=BANK_FIELD, reason="契約締結")
SEAL_DESCRIPTION = "契約締結（銀行電子印）"
SEAL_FAILED = ("銀行の電子署名を付与できませんでした。しばらく時間を置いてから"
               "再度操作をしてください。")


def console_client() -> rs.SigningClient:
    """The bank console's credential: the only one that may use the bank seal (CON-6)."""
    return rs.SigningClient.from_config(current_app.config, "console")


def seal(documents: list[bytes]) -> tuple[list[bytes], rs.CredentialInfo]:
    """Every document sealed with one authorization, and the seal's credential; a
    service or TSA failure raises DomainError (SEAL_FAILED) with nothing sealed."""
    client = console_client()
    try:
        info = client.credential_info(client.list_credentials()[0])
        trust = Trust(ax509.Certificate.load(client.root_certificate()))
        return seal_documents(client, info, trust, documents, BANK_SEAL, SEAL_DESCRIPTION), info
    except (rs.SigningError, IndexError) as exc:
        log.warning("bank seal failed: %s", type(exc).__name__)
        raise DomainError(SEAL_FAILED) from exc
    finally:
        client.close()


def bank_seal(document: bytes) -> bytes:
    """The seal on a PDF the portal produced itself (the 締結証明書). The caller
    rolls back on the DomainError."""
    return seal([document])[0][0]
