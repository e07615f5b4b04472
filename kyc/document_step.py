"""Whether a user is on the step where identity documents are asked for (KYC-1):
only on the way to a certificate. Where a user stands on that way is the signing
room's knowledge (``portal.certs``, which comes after kyc), so that room
registers its answer here at import (``register_document_step``); until one is
registered no user is asked for documents."""

from __future__ import annotations

from collections.abc import Callable

from portal.models import CustomerUser

DocumentStep = Callable[[CustomerUser], bool]

_answers: list[DocumentStep] = []


def register_document_step(predicate: DocumentStep) -> DocumentStep:
    """The one answer (registering again replaces it)."""
    _answers[:] = [predicate]
    return predicate


def on_document_step(user: CustomerUser) -> bool:
    return bool(_answers) and _answers[0](user)
