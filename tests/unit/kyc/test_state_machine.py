"""The KYC submission life cycle is a table; KYC_LIFECYCLE is its only writer."""

from __future__ import annotations

from typing import Any

import pytest

from kyc.models import TRANSITIONS, KycConsent, KycState, KycSubmission
from kyc.services import KYC_LIFECYCLE
from portal.errors import IllegalTransition
from portal.extensions import db

ALLOWED = {
    (KycState.DRAFT, KycState.SUBMITTED),
    (KycState.SUBMITTED, KycState.APPROVED),
    (KycState.SUBMITTED, KycState.REJECTED),
}


def test_the_table_allows_exactly_the_review_path() -> None:
    assert set(TRANSITIONS) == set(KycState)
    pairs = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert pairs == ALLOWED


@pytest.mark.parametrize("start", list(KycState))
@pytest.mark.parametrize("target", list(KycState))
def test_transition_follows_the_table(start: KycState, target: KycState,
                                      factories: Any) -> None:
    user = factories.customer()
    consent = KycConsent(user_id=user.id, document_version="t", ip="")
    db.session.add(consent)
    db.session.flush()
    submission = KycSubmission(user_id=user.id, company_id=user.company_id,
                               consent_id=consent.id, state=start)
    db.session.add(submission)
    db.session.flush()
    if (start, target) in ALLOWED:
        KYC_LIFECYCLE.move(submission, target, actor=user)
        assert submission.state == target
    else:
        with pytest.raises(IllegalTransition):
            KYC_LIFECYCLE.move(submission, target, actor=user)
        assert submission.state == start
