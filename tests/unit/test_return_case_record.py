"""The case record folds a case's events into typed facts, oldest first, with no personal
value of its own."""

from __future__ import annotations

import dataclasses
from datetime import date
from uuid import UUID, uuid4

from hypothesis import given

from service.domain import vocabulary as v
from service.domain.return_case.commands import Command
from service.domain.return_case.events import (
    ConsentGiven,
    ConsentWithdrawn,
    Event,
    PartnerOrganisationContacted,
    ReferralStatusChanged,
    ReturnCaseClosed,
    ReturnCaseOpened,
    ReturnCaseReopened,
    ReturnCaseTransferred,
    RiskAssessed,
)
from service.domain.return_case.record import CaseRecord, case_record
from tests.unit.test_return_case_properties import MARKER, SETTINGS, histories, run

CASE = UUID(int=1)
ORG = UUID(int=2)


def opened() -> ReturnCaseOpened:
    return ReturnCaseOpened(
        CASE, date(2026, 1, 1), "P", v.Gender.FEMALE, None, "NG", "NG", (), (), "Ada", None, None
    )


def record_of(*events: Event) -> CaseRecord:
    return case_record(enumerate((opened(), *events), start=1))


def test_a_referral_keeps_its_status_history_from_requested_on() -> None:
    referral = uuid4()
    record = record_of(
        PartnerOrganisationContacted(
            CASE, referral, ORG, "BE", v.ConsentPurpose.REFERRAL, date(2026, 1, 2), False, "n"
        ),
        ReferralStatusChanged(CASE, referral, v.ReferralStatus.ACCEPTED, date(2026, 1, 3), None),
        ReferralStatusChanged(CASE, referral, v.ReferralStatus.COMPLETED, date(2026, 2, 3), None),
    )
    (found,) = record.referrals
    assert [(c.version, c.status) for c in found.history] == [
        (2, v.ReferralStatus.REQUESTED),
        (3, v.ReferralStatus.ACCEPTED),
        (4, v.ReferralStatus.COMPLETED),
    ]


def test_a_withdrawal_ends_the_open_consent_and_a_new_consent_starts_again() -> None:
    give = ConsentGiven(CASE, ORG, "BE", v.ConsentPurpose.REFERRAL, date(2026, 1, 2), False, False)
    record = record_of(
        give,
        ConsentWithdrawn(CASE, ORG, v.ConsentPurpose.REFERRAL, date(2026, 1, 5)),
        dataclasses.replace(give, given_on=date(2026, 1, 9)),
    )
    assert [(c.given_on, c.withdrawn_on) for c in record.consents] == [
        (date(2026, 1, 2), date(2026, 1, 5)),
        (date(2026, 1, 9), None),
    ]


def test_closings_include_transfers_and_the_reopening_that_ended_them() -> None:
    record = record_of(
        ReturnCaseClosed(CASE, v.ClosingReason.WITHDREW, date(2026, 2, 1), "x"),
        ReturnCaseReopened(CASE, date(2026, 2, 3), "came back"),
        ReturnCaseTransferred(CASE, "moviera", date(2026, 3, 1)),
    )
    assert [
        (c.reason, c.transferred_to, c.reopened_on, c.reopening_version) for c in record.closings
    ] == [
        (v.ClosingReason.WITHDREW, None, date(2026, 2, 3), 3),
        (v.ClosingReason.TRANSFERRED, "moviera", None, None),
    ]


def test_the_record_holds_no_personal_value() -> None:
    record = record_of(
        RiskAssessed(CASE, date(2026, 1, 2), v.RiskLevel.HIGH, (v.RiskFactor.DEBTS,), "secret"),
        ReturnCaseClosed(CASE, v.ClosingReason.WITHDREW, date(2026, 2, 1), "secret"),
    )
    assert "secret" not in repr(record)
    assert "Ada" not in repr(record)
    assert record.risk_assessments[0].level == v.RiskLevel.HIGH


@SETTINGS
@given(histories)
def test_the_record_agrees_with_the_state_for_every_history(commands: list[Command]) -> None:
    result = run(commands)
    state = result.state
    record = case_record(enumerate(result.events, start=1))
    if state is None:
        assert record == CaseRecord()
        return
    by_version = dict(enumerate(result.events, start=1))
    positions = record.legal_positions
    assert (positions[-1].departure_obligation if positions else False) == (
        state.departure_obligation
    )
    risks = record.risk_assessments
    assert (risks[-1].level if risks else None) == state.risk_level
    assert {(c.organisation_id, c.purpose) for c in record.consents if c.withdrawn_on is None} == {
        (c.organisation_id, c.purpose) for c in state.active_consents
    }
    assert [(r.referral_id, r.history[-1].status) for r in record.referrals] == [
        (r.referral_id, r.status) for r in state.referrals
    ]
    assert len(record.follow_ups) == state.follow_ups
    departure = record.departure
    assert (departure and (departure.departed_on, departure.mode)) == (
        state.departure and (state.departure.departed_on, state.departure.mode)
    )
    open_closings = [c for c in record.closings if c.reopened_on is None]
    assert len(open_closings) == (1 if state.closed else 0)
    # Every fact points to the event that recorded it, and no personal value is copied.
    for facts in (record.risk_assessments, record.follow_ups, record.closings, record.referrals):
        for fact in facts:
            assert by_version[fact.version].case_id == state.case_id
    # The erasure's reason is not personal by design (it must outlive the erasure).
    assert MARKER not in repr(dataclasses.replace(record, erasures=()))
