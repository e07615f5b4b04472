"""APP-5: the application life cycle as data."""

from __future__ import annotations

from portal.mypage.models import APPLICATION_TRANSITIONS, ApplicationState


def test_only_pending_applications_can_be_decided() -> None:
    assert APPLICATION_TRANSITIONS[ApplicationState.PENDING] == {
        ApplicationState.APPROVED, ApplicationState.REJECTED}
    assert APPLICATION_TRANSITIONS[ApplicationState.APPROVED] == frozenset()
    assert APPLICATION_TRANSITIONS[ApplicationState.REJECTED] == frozenset()
    assert set(APPLICATION_TRANSITIONS) == set(ApplicationState)


def test_states_have_japanese_labels() -> None:
    assert [s.label for s in ApplicationState] == ["審査待ち", "承認済", "否認"]
