"""The rules of a two-sided transfer, decided without any I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.errors import RuleViolation
from service.domain.return_case import (
    ReturnCase,
    ReturnCaseReceivedByTransfer,
    ReturnCaseTransferred,
    WithdrawConsent,
    decide,
    evolve,
    fold,
)
from service.domain.return_case import transfer as tr
from service.domain.vocabulary import (
    ClosingReason,
    ConsentPurpose,
    DepartureMode,
    ExploitationForm,
    Gender,
    Phase,
    ReturnWish,
)
from service.events.types import EventRegistry
from tests.unit.test_return_case_rules import (
    CASE_ID,
    accept,
    consent,
    day,
    departure,
    preparing,
    ready,
)

RECEIVER = UUID("00000000-0000-4000-8000-00000000b11f")
OFFER = UUID("00000000-0000-4000-8000-0000000000ff")


def offer(**changes: object) -> tr.OfferTransfer:
    command = tr.OfferTransfer(
        case_id=CASE_ID,
        offer_id=OFFER,
        to_organisation="blijf-groep",
        to_organisation_id=RECEIVER,
        offered_on=day(10),
        share_personal_data=True,
        reason="no place left",
    )
    return replace(command, **changes)  # type: ignore[arg-type]


def apply(state: ReturnCase, command: tr.TransferCommand) -> ReturnCase:
    for event in tr.decide_transfer(state, command):
        state = evolve(state, event)
    return state


def rule(state: ReturnCase, command: tr.TransferCommand) -> str:
    with pytest.raises(RuleViolation) as raised:
        tr.decide_transfer(state, command)
    return raised.value.rule


def consented() -> ReturnCase:
    return accept(preparing(), consent(RECEIVER, "NL", ConsentPurpose.TRANSFER, on=day(5)))


def test_an_offer_needs_active_transfer_consent_for_the_receiving_shelter() -> None:
    assert rule(preparing(), offer()) == "TRANSFER_CONSENT_REQUIRED"
    other_purpose = accept(preparing(), consent(RECEIVER, "NL", ConsentPurpose.REFERRAL))
    assert rule(other_purpose, offer()) == "TRANSFER_CONSENT_REQUIRED"
    assert rule(consented(), offer(offered_on=day(4))) == "TRANSFER_CONSENT_REQUIRED"


def test_an_offer_keeps_the_case_open_and_blocks_a_second_offer() -> None:
    state = apply(consented(), offer())
    assert state.phase == Phase.PREPARATION
    assert state.pending_transfer is not None
    assert rule(state, offer(offer_id=uuid4())) == "TRANSFER_ALREADY_OFFERED"


def test_a_departed_client_is_not_transferred() -> None:
    consented_when_ready = accept(
        ready(), consent(RECEIVER, "NL", ConsentPurpose.TRANSFER, on=day(8))
    )
    state = accept(consented_when_ready, departure(DepartureMode.INDEPENDENT, day(30)))
    assert rule(state, offer()) == "TRANSFER_AFTER_DEPARTURE"


def test_decline_and_withdrawal_leave_the_case_open_and_offerable_again() -> None:
    for answer in (
        tr.RecordTransferDeclined(CASE_ID, OFFER, day(11), "no room"),
        tr.WithdrawTransferOffer(CASE_ID, OFFER, day(11), None),
    ):
        state = apply(apply(consented(), offer()), answer)
        assert state.closure is None
        assert state.pending_transfer is None
        assert rule(state, answer) == "NO_PENDING_TRANSFER"
        apply(state, offer(offer_id=uuid4(), offered_on=day(12)))


def test_declining_needs_a_reason() -> None:
    state = apply(consented(), offer())
    assert rule(state, tr.RecordTransferDeclined(CASE_ID, OFFER, day(11), "  ")) == (
        "REASON_REQUIRED"
    )


def test_acceptance_closes_the_sending_case_transferred_naming_the_offer() -> None:
    state = apply(consented(), offer())
    events = tr.decide_transfer(state, tr.CompleteTransfer(CASE_ID, OFFER, RECEIVER, day(12)))
    assert events == [ReturnCaseTransferred(CASE_ID, "blijf-groep", day(12), OFFER)]
    closed = evolve(state, events[0])
    assert closed.closure is not None
    assert closed.closure.reason == ClosingReason.TRANSFERRED
    assert closed.pending_transfer is None


def test_acceptance_after_the_consent_was_withdrawn_is_refused() -> None:
    state = apply(consented(), offer())
    state = accept(state, WithdrawConsent(CASE_ID, RECEIVER, ConsentPurpose.TRANSFER, day(11)))
    command = tr.CompleteTransfer(CASE_ID, OFFER, RECEIVER, day(12))
    assert rule(state, command) == "TRANSFER_CONSENT_WITHDRAWN"


def test_an_answer_cannot_predate_the_offer() -> None:
    state = apply(consented(), offer())
    command = tr.CompleteTransfer(CASE_ID, OFFER, RECEIVER, day(9))
    assert rule(state, command) == "DATE_BEFORE_TRANSFER_OFFER"


def received(**changes: object) -> ReturnCaseReceivedByTransfer:
    event = ReturnCaseReceivedByTransfer(
        case_id=uuid4(),
        offer_id=OFFER,
        from_organisation="moviera",
        intake_date=date(2026, 2, 1),
        first_intake_date=date(2026, 1, 5),
        pseudonym="Client A",
        gender=Gender.FEMALE,
        birth_year=1998,
        nationality="NG",
        country_of_origin="NG",
        languages=("en",),
        exploitation_forms=(ExploitationForm.FORCED_LABOUR,),
        return_conversations=1,
        latest_wish=ReturnWish.WANTS_TO_RETURN,
        departure_obligation=False,
        residence_status=None,
        risk_level=None,
        full_name=None,
        date_of_birth=None,
    )
    return replace(event, **changes)  # type: ignore[arg-type]


@given(
    conversations=st.integers(0, 5),
    wish=st.none() | st.sampled_from(ReturnWish),
    obligation=st.booleans(),
)
def test_a_received_case_folds_to_the_phase_of_the_facts_it_carries(
    conversations: int, wish: ReturnWish | None, obligation: bool
) -> None:
    event = received(
        return_conversations=conversations, latest_wish=wish, departure_obligation=obligation
    )
    state = fold([event])
    assert state is not None
    if wish == ReturnWish.WANTS_TO_RETURN or obligation:
        assert state.phase == Phase.PREPARATION
    elif conversations:
        assert state.phase == Phase.ORIENTATION
    else:
        assert state.phase == Phase.INTAKE
    # The received case works like any other: its own commands decide on it.
    assert decide(state, replace(consent(), case_id=event.case_id, given_on=date(2026, 2, 2)))


def test_a_version_1_transfer_reads_as_a_transfer_without_offer() -> None:
    registry = EventRegistry()
    registry.register(ReturnCaseTransferred)
    payload = {
        "case_id": str(CASE_ID),
        "to_organisation": "moviera",
        "transferred_on": "2026-01-09",
    }
    event = registry.decode("ReturnCaseTransferred", 1, payload, None)
    assert event == ReturnCaseTransferred(CASE_ID, "moviera", date(2026, 1, 9), None)
