"""Properties of the return case over random command sequences (hypothesis).

A strategy builds plausible commands for one case, valid and invalid mixed. Each sequence is
run through ``decide``/``evolve``, keeping only accepted events, and then checked against
facts that must hold for every history:

- versions run 1..n without gaps, and ``fold`` of the accepted events gives the final state;
- the phase equals an oracle computed from the event list alone, written here apart from the
  domain code;
- a refused command changes nothing, raises only domain errors, and no rule message contains
  a personal value (all personal text carries a marker, and dates of birth are checked too).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from datetime import date, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain.errors import CaseAlreadyExists, CaseNotFound, DomainError, RuleViolation
from service.domain.return_case import (
    RULES,
    AgreeReintegrationPlan,
    ArrangeReturnSupport,
    AssessRisk,
    ClientPersonalDataErased,
    CloseReturnCase,
    Command,
    ContactPartnerOrganisation,
    DepartureRecorded,
    EraseClientPersonalData,
    Event,
    FollowUpRecorded,
    GiveConsent,
    LegalPositionRecorded,
    OpenReturnCase,
    PlanDeparture,
    RecordDeparture,
    RecordFollowUp,
    RecordLegalPosition,
    RecordReturnConversation,
    RecordTravelDocument,
    ReopenReturnCase,
    ReturnCase,
    ReturnCaseClosed,
    ReturnCaseReopened,
    ReturnCaseTransferred,
    ReturnConversationRecorded,
    TransferCase,
    UpdateClientProfile,
    UpdateReferralStatus,
    WithdrawConsent,
    decide,
    evolve,
    fold,
)
from service.domain.vocabulary import (
    ClientSituation,
    ClosingReason,
    ConsentPurpose,
    DepartureMode,
    ErasureReason,
    ExploitationForm,
    Gender,
    Phase,
    ProceedingsStage,
    ReferralStatus,
    ResidenceStatus,
    ReturnSupportKind,
    ReturnWish,
    RiskFactor,
    RiskLevel,
    TravelDocumentStatus,
)

CASE_ID = UUID("00000000-0000-4000-8000-00000000c0de")
INTAKE = date(2024, 3, 1)
MARKER = "PII\u00a7"  # every personal string starts with this, so leaks are easy to spot

ORGANISATIONS = [UUID(int=0xA1), UUID(int=0xA2), UUID(int=0xA3)]
REFERRALS = [UUID(int=0xB1), UUID(int=0xB2), UUID(int=0xB3)]

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# -- strategies -------------------------------------------------------------------------------

dates = st.integers(min_value=-5, max_value=500).map(lambda n: INTAKE + timedelta(days=n))
dates_of_birth = st.dates(min_value=date(1895, 1, 1), max_value=date(2024, 6, 30))
countries = st.sampled_from(["NL", "DE", "NG", "RO", "UA", "VN", "BR"] * 2 + ["XX", "nl", "NGA"])
languages = st.sampled_from(["en", "nl", "yo", "ro", "vi", "xx", "EN"])


@st.composite
def personal_text(draw: st.DrawFn, max_length: int) -> str:
    """Free text marked as personal; now and then blank or too long."""
    kind = draw(st.sampled_from(["text"] * 8 + ["blank", "too_long"]))
    if kind == "blank":
        return "   "
    body = draw(st.text(alphabet=string.ascii_letters + " .,'-", max_size=12))
    if kind == "too_long":
        body += "x" * max_length
    return MARKER + body


notes = st.none() | personal_text(4000)
reasons = personal_text(500)
pseudonyms = st.sampled_from(["Client A"] * 6 + ["  Client B ", "", " ", "p" * 101])


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, object]:
    date_of_birth = draw(st.none() | dates_of_birth)
    if date_of_birth is not None and draw(st.booleans()):
        birth_year: int | None = date_of_birth.year
    else:
        birth_year = draw(st.none() | st.integers(min_value=1890, max_value=2030))
    return {
        "pseudonym": draw(pseudonyms),
        "gender": draw(st.sampled_from(Gender)),
        "birth_year": birth_year,
        "nationality": draw(countries),
        "country_of_origin": draw(countries),
        "languages": tuple(draw(st.lists(languages, max_size=3))),
        "exploitation_forms": tuple(draw(st.lists(st.sampled_from(ExploitationForm), max_size=3))),
        "full_name": draw(st.none() | personal_text(200)),
        "date_of_birth": date_of_birth,
        "notes": draw(notes),
    }


@st.composite
def valid_openings(draw: st.DrawFn) -> OpenReturnCase:
    date_of_birth = draw(st.none() | st.dates(date(1950, 1, 1), date(2010, 12, 31)))
    return OpenReturnCase(
        case_id=CASE_ID,
        intake_date=INTAKE,
        pseudonym="Client",
        gender=draw(st.sampled_from(Gender)),
        birth_year=date_of_birth.year if date_of_birth else None,
        nationality=draw(st.sampled_from(["NG", "RO", "VN"])),
        country_of_origin=draw(st.sampled_from(["NG", "RO", "VN"])),
        languages=("en",),
        exploitation_forms=(draw(st.sampled_from(ExploitationForm)),),
        full_name=MARKER + draw(st.text(alphabet=string.ascii_letters, max_size=10)),
        date_of_birth=date_of_birth,
        notes=draw(st.none() | st.just(MARKER + "notes")),
    )


any_openings = profiles().map(
    lambda profile: OpenReturnCase(case_id=CASE_ID, intake_date=INTAKE, **profile)  # type: ignore[arg-type]
)
profile_updates = profiles().map(
    lambda profile: UpdateClientProfile(case_id=CASE_ID, **profile)  # type: ignore[arg-type]
)

case_id = st.just(CASE_ID)


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each drawn as often as its weight says."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


organisations = st.sampled_from(ORGANISATIONS)
purposes = st.sampled_from(ConsentPurpose)

conversations = st.builds(
    RecordReturnConversation,
    case_id=case_id,
    held_on=dates,
    wish=st.sampled_from([ReturnWish.WANTS_TO_RETURN, *ReturnWish]),
    notes=notes,
)
legal_positions = st.builds(
    RecordLegalPosition,
    case_id=case_id,
    recorded_on=dates,
    residence_status=st.sampled_from(ResidenceStatus),
    proceedings_stage=st.sampled_from(ProceedingsStage),
    departure_deadline=st.none() | dates,
)
risk_assessments = st.builds(
    AssessRisk,
    case_id=case_id,
    assessed_on=dates,
    level=st.sampled_from(RiskLevel),
    factors=st.lists(st.sampled_from(RiskFactor), max_size=3).map(tuple),
    notes=notes,
)
consents = st.builds(
    GiveConsent,
    case_id=case_id,
    organisation_id=organisations,
    organisation_country=countries,
    purpose=purposes,
    given_on=dates,
    transfer_risks_explained=st.booleans(),
)
withdrawals = st.builds(
    WithdrawConsent,
    case_id=case_id,
    organisation_id=organisations,
    purpose=purposes,
    withdrawn_on=dates,
)
contacts = st.builds(
    ContactPartnerOrganisation,
    case_id=case_id,
    referral_id=st.sampled_from(REFERRALS),
    organisation_id=organisations,
    organisation_country=countries,
    purpose=purposes,
    contacted_on=dates,
    shares_personal_data=st.booleans(),
    notes=notes,
)
referral_updates = st.builds(
    UpdateReferralStatus,
    case_id=case_id,
    referral_id=st.sampled_from(REFERRALS),
    status=st.sampled_from(ReferralStatus),
    changed_on=dates,
    reason=st.none() | reasons,
)
return_support = st.builds(
    ArrangeReturnSupport,
    case_id=case_id,
    kind=st.sampled_from(ReturnSupportKind),
    arranged_on=dates,
)
travel_documents = st.builds(
    RecordTravelDocument,
    case_id=case_id,
    status=st.sampled_from(TravelDocumentStatus),
    recorded_on=dates,
    original_identity_document=st.booleans(),
)
plans = st.builds(AgreeReintegrationPlan, case_id=case_id, agreed_on=dates, notes=notes)
planned_departures = st.builds(
    PlanDeparture, case_id=case_id, planned_on=dates, destination_country=countries
)
departures = st.builds(
    RecordDeparture,
    case_id=case_id,
    departed_on=dates,
    mode=st.sampled_from(DepartureMode),
    destination_country=countries,
)
follow_ups = st.builds(
    RecordFollowUp,
    case_id=case_id,
    contacted_on=dates,
    reached=st.booleans(),
    situation=st.none() | st.sampled_from(ClientSituation),
    notes=notes,
)
transfers = st.builds(
    TransferCase,
    case_id=case_id,
    to_organisation=st.sampled_from(["moviera", "het-kopland", "Bad Slug", ""]),
    transferred_on=dates,
)
closings = st.builds(
    CloseReturnCase,
    case_id=case_id,
    reason=st.sampled_from(ClosingReason),
    closed_on=dates,
    notes=notes,
)
reopenings = st.builds(ReopenReturnCase, case_id=case_id, reopened_on=dates, reason=reasons)
erasures = st.builds(
    EraseClientPersonalData,
    case_id=case_id,
    erased_on=dates,
    reason=st.sampled_from(ErasureReason),
    note=notes,
)

# Weights favour the steps that move a case forward, so that histories often get as far as
# departure, follow-up, closing and reopening before they end.
later_commands = weighted(
    (1, any_openings),
    (1, profile_updates),
    (4, conversations),
    (2, legal_positions),
    (1, risk_assessments),
    (2, consents),
    (1, withdrawals),
    (2, contacts),
    (2, referral_updates),
    (3, return_support),
    (2, travel_documents),
    (1, plans),
    (1, planned_departures),
    (3, departures),
    (4, follow_ups),
    (1, transfers),
    (1, closings),
    (1, reopenings),
    (1, erasures),
)

histories = st.tuples(
    weighted((7, valid_openings()), (1, any_openings)),
    st.lists(later_commands, min_size=5, max_size=50),
).map(lambda pair: [pair[0], *pair[1]])


# -- running a history ----------------------------------------------------------------------


class Run:
    """The outcome of a history: accepted events, states, and refusals."""

    def __init__(self) -> None:
        self.state: ReturnCase | None = None
        self.events: list[Event] = []
        self.versions: list[int] = []
        self.refusals: list[tuple[Command, DomainError]] = []
        self.unchanged_after_refusal = True


def run(commands: Sequence[Command]) -> Run:
    result = Run()
    for command in commands:
        before = result.state
        try:
            decided = decide(result.state, command)
        except DomainError as error:
            result.refusals.append((command, error))
            result.unchanged_after_refusal &= (
                result.state is before and fold(result.events) == before
            )
            continue
        for event in decided:
            result.state = evolve(result.state, event)
            result.events.append(event)
            result.versions.append(result.state.version)
    return result


def oracle_phase(events: Sequence[Event]) -> Phase | None:
    """The phase by the written rules, from the events alone."""
    if not events:
        return None
    closed = followed_up = departed = talked = obliged = False
    wish: ReturnWish | None = None
    victim_positions = {
        ResidenceStatus.REFLECTION_PERIOD,
        ResidenceStatus.TEMPORARY_VICTIM_PERMIT,
        ResidenceStatus.WITNESS_COMPLAINANT_PERMIT,
    }
    for event in events:
        if isinstance(event, ReturnCaseClosed | ReturnCaseTransferred):
            closed = True
        elif isinstance(event, ReturnCaseReopened):
            closed = False
        elif isinstance(event, FollowUpRecorded):
            followed_up = True
        elif isinstance(event, DepartureRecorded):
            departed = True
        elif isinstance(event, ReturnConversationRecorded):
            talked, wish = True, event.wish
        elif isinstance(event, LegalPositionRecorded):
            obliged = event.residence_status == ResidenceStatus.NONE or (
                event.proceedings_stage == ProceedingsStage.DISMISSED
                and event.residence_status in victim_positions
            )
    if closed:
        return Phase.CLOSED
    if followed_up:
        return Phase.FOLLOW_UP
    if departed:
        return Phase.DEPARTED
    if wish == ReturnWish.WANTS_TO_RETURN or obliged:
        return Phase.PREPARATION
    if talked:
        return Phase.ORIENTATION
    return Phase.INTAKE


def personal_values(command: Command) -> list[str]:
    """Every personal value a command carries, as text that could show up in a message."""
    values: list[str] = []
    for name in ("full_name", "notes", "reason", "note"):
        value = getattr(command, name, None)
        if isinstance(value, str) and not isinstance(value, Enum) and value.strip():
            values.append(value.strip())
    date_of_birth = getattr(command, "date_of_birth", None)
    if isinstance(date_of_birth, date):
        values += [date_of_birth.isoformat(), date_of_birth.strftime("%d-%m-%Y")]
    return values


# -- properties -----------------------------------------------------------------------------


@SETTINGS
@given(histories)
def test_versions_are_contiguous_and_fold_rebuilds_the_state(commands: list[Command]) -> None:
    result = run(commands)

    assert result.versions == list(range(1, len(result.events) + 1))
    assert fold(result.events) == result.state
    if result.state is not None:
        assert result.state.version == len(result.events)


@SETTINGS
@given(histories)
def test_phase_equals_the_oracle_after_every_event(commands: list[Command]) -> None:
    result = run(commands)

    state: ReturnCase | None = None
    for count, event in enumerate(result.events, start=1):
        state = evolve(state, event)
        assert state.phase == oracle_phase(result.events[:count])


@SETTINGS
@given(histories)
def test_refused_commands_change_nothing_and_leak_no_personal_values(
    commands: list[Command],
) -> None:
    result = run(commands)

    assert result.unchanged_after_refusal
    for command, error in result.refusals:
        assert isinstance(error, RuleViolation | CaseNotFound | CaseAlreadyExists)
        if isinstance(error, RuleViolation):
            assert error.rule in RULES
        for text in (str(error), repr(error), error.message):
            assert MARKER not in text
            for value in personal_values(command):
                assert value not in text


@SETTINGS
@given(histories)
def test_erasure_is_idempotent_until_personal_data_comes_back(commands: list[Command]) -> None:
    result = run(commands)

    erased = False
    for event in result.events:
        if isinstance(event, ClientPersonalDataErased):
            assert not erased, "an erasure was recorded with nothing new to erase"
            erased = True
        elif any(getattr(event, name) not in (None, "") for name in event.personal_fields):
            erased = False
    if result.state is not None:
        assert result.state.personal_data_erased is erased


@SETTINGS
@given(histories)
def test_accepted_events_hold_only_trimmed_bounded_text(commands: list[Command]) -> None:
    result = run(commands)

    limits = {"pseudonym": 100, "full_name": 200, "notes": 4000, "reason": 500, "note": 4000}
    for event in result.events:
        for name, limit in limits.items():
            value = getattr(event, name, None)
            if isinstance(value, str):
                assert value == value.strip()
                assert 0 < len(value) <= limit
