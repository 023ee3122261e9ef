"""The rules of the return case, one or more tests per rule (DESIGN.md section 6).

Every test starts from a case built by accepted commands, gives one more command, and checks
the observable outcome: the events decided, the derived phase, or the rule code refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.domain.errors import CaseAlreadyExists, CaseNotFound, NotReady, RuleViolation
from service.domain.return_case import (
    RULES,
    AgreeReintegrationPlan,
    ArrangeReturnSupport,
    AssessRisk,
    ClientPersonalDataErased,
    ClientProfileUpdated,
    CloseReturnCase,
    Command,
    ConsentGiven,
    ContactPartnerOrganisation,
    DepartureRecorded,
    EraseClientPersonalData,
    FollowUpRecorded,
    GiveConsent,
    LegalPositionRecorded,
    OpenReturnCase,
    PartnerOrganisationContacted,
    PlanDeparture,
    RecordDeparture,
    RecordFollowUp,
    RecordLegalPosition,
    RecordReturnConversation,
    RecordTravelDocument,
    ReferralStatusChanged,
    ReopenReturnCase,
    ReturnCase,
    ReturnCaseOpened,
    ReturnCaseTransferred,
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

CASE_ID = UUID("00000000-0000-4000-8000-000000000001")
OTHER_CASE_ID = UUID("00000000-0000-4000-8000-000000000002")
PARTNER_NL = UUID("00000000-0000-4000-8000-0000000000a1")
PARTNER_NG = UUID("00000000-0000-4000-8000-0000000000a2")
REFERRAL_ID = UUID("00000000-0000-4000-8000-0000000000b1")
INTAKE = date(2024, 3, 1)


def day(offset: int) -> date:
    """A date ``offset`` days after intake."""
    return INTAKE + timedelta(days=offset)


# -- building cases ---------------------------------------------------------------------------


def open_command(**changes: Any) -> OpenReturnCase:
    command = OpenReturnCase(
        case_id=CASE_ID,
        intake_date=INTAKE,
        pseudonym="Client A",
        gender=Gender.FEMALE,
        birth_year=1998,
        nationality="NG",
        country_of_origin="NG",
        languages=("en", "yo"),
        exploitation_forms=(ExploitationForm.SEXUAL_EXPLOITATION,),
        full_name="Blessing Okafor",
        date_of_birth=date(1998, 5, 4),
        notes="Referred by the police.",
    )
    return replace(command, **changes)


def profile_command(**changes: Any) -> UpdateClientProfile:
    opening = open_command()
    command = UpdateClientProfile(
        case_id=CASE_ID,
        pseudonym=opening.pseudonym,
        gender=opening.gender,
        birth_year=opening.birth_year,
        nationality=opening.nationality,
        country_of_origin=opening.country_of_origin,
        languages=opening.languages,
        exploitation_forms=opening.exploitation_forms,
        full_name=opening.full_name,
        date_of_birth=opening.date_of_birth,
        notes=opening.notes,
    )
    return replace(command, **changes)


def conversation(wish: ReturnWish, on: date | None = None) -> RecordReturnConversation:
    on = day(1) if on is None else on
    return RecordReturnConversation(CASE_ID, held_on=on, wish=wish, notes="Talked it through.")


def legal_position(
    status: ResidenceStatus,
    stage: ProceedingsStage = ProceedingsStage.REPORTED,
    deadline: date | None = None,
) -> RecordLegalPosition:
    return RecordLegalPosition(
        CASE_ID,
        recorded_on=day(2),
        residence_status=status,
        proceedings_stage=stage,
        departure_deadline=deadline,
    )


def consent(
    organisation: UUID = PARTNER_NL,
    country: str = "NL",
    purpose: ConsentPurpose = ConsentPurpose.REFERRAL,
    *,
    explained: bool = False,
    on: date | None = None,
) -> GiveConsent:
    on = day(3) if on is None else on
    return GiveConsent(
        CASE_ID,
        organisation_id=organisation,
        organisation_country=country,
        purpose=purpose,
        given_on=on,
        transfer_risks_explained=explained,
    )


def contact(
    *,
    shares: bool = True,
    organisation: UUID = PARTNER_NL,
    country: str = "NL",
    purpose: ConsentPurpose = ConsentPurpose.REFERRAL,
    referral_id: UUID = REFERRAL_ID,
    on: date | None = None,
) -> ContactPartnerOrganisation:
    on = day(4) if on is None else on
    return ContactPartnerOrganisation(
        CASE_ID,
        referral_id=referral_id,
        organisation_id=organisation,
        organisation_country=country,
        purpose=purpose,
        contacted_on=on,
        shares_personal_data=shares,
        notes="Asked for shelter on arrival.",
    )


def referral_status(
    status: ReferralStatus, reason: str | None = None, on: date | None = None
) -> UpdateReferralStatus:
    on = day(5) if on is None else on
    return UpdateReferralStatus(
        CASE_ID, referral_id=REFERRAL_ID, status=status, changed_on=on, reason=reason
    )


def support(kind: ReturnSupportKind) -> ArrangeReturnSupport:
    return ArrangeReturnSupport(CASE_ID, kind=kind, arranged_on=day(6))


def travel_document(
    status: TravelDocumentStatus, *, original_id: bool = True
) -> RecordTravelDocument:
    return RecordTravelDocument(
        CASE_ID, status=status, recorded_on=day(7), original_identity_document=original_id
    )


def plan(on: date | None = None, partner: UUID | None = None) -> AgreeReintegrationPlan:
    on = day(8) if on is None else on
    return AgreeReintegrationPlan(
        CASE_ID,
        agreed_on=on,
        partner_organisation_id=PARTNER_NG if partner is None else partner,
        goal_domains=(v.PlanDomain.INCOME_AND_WORK,),
        goal_responsible_organisation_ids=(None,),
        goal_budgets=(1500,),
        goal_target_dates=(on + timedelta(days=90),),
        goal_descriptions=("Small shop.",),
        notes=None,
    )


def arrival(on: date | None = None) -> rc.RecordArrivalArrangement:
    on = day(8) if on is None else on
    return rc.RecordArrivalArrangement(
        CASE_ID,
        arranged_on=on,
        destination_country="NG",
        destination_place="Benin City",
        receiver=v.ArrivalReceiver.FAMILY,
    )


def departure(mode: DepartureMode, on: date | None = None) -> RecordDeparture:
    on = day(30) if on is None else on
    return RecordDeparture(CASE_ID, departed_on=on, mode=mode, destination_country="NG")


def follow_up(
    on: date | None = None,
    *,
    reached: bool = True,
    situation: ClientSituation | None = ClientSituation.STABLE,
) -> RecordFollowUp:
    on = day(120) if on is None else on
    return RecordFollowUp(
        CASE_ID, contacted_on=on, reached=reached, situation=situation, notes="Doing well."
    )


def close(reason: ClosingReason, on: date | None = None) -> CloseReturnCase:
    on = day(200) if on is None else on
    return CloseReturnCase(CASE_ID, reason=reason, closed_on=on, notes="Case wrapped up.")


def reopen(
    reason: str = "Client came back to the shelter.", on: date | None = None
) -> ReopenReturnCase:
    on = day(210) if on is None else on
    return ReopenReturnCase(CASE_ID, reopened_on=on, reason=reason)


def erase(
    on: date | None = None,
    reason: ErasureReason = ErasureReason.CLIENT_REQUEST,
    note: str | None = None,
) -> EraseClientPersonalData:
    on = day(220) if on is None else on
    return EraseClientPersonalData(CASE_ID, erased_on=on, reason=reason, note=note)


def accept(state: ReturnCase | None, *commands: Command) -> ReturnCase:
    """Decide and apply each command in turn; every one must be accepted."""
    for command in commands:
        events = decide(state, command)
        assert events, f"{type(command).__name__} decided no events"
        for event in events:
            state = evolve(state, event)
    assert state is not None
    return state


def refused(state: ReturnCase | None, command: Command) -> str:
    """The rule code with which ``command`` is refused."""
    with pytest.raises(RuleViolation) as raised:
        decide(state, command)
    assert raised.value.rule in RULES
    return raised.value.rule


def opened() -> ReturnCase:
    return accept(None, open_command())


def preparing() -> ReturnCase:
    return accept(opened(), conversation(ReturnWish.WANTS_TO_RETURN))


def ready() -> ReturnCase:
    """An adult who wants to return, low risk, own valid passport, received by family."""
    return accept(
        preparing(),
        AssessRisk(CASE_ID, assessed_on=day(3), level=RiskLevel.LOW),
        RecordTravelDocument(
            CASE_ID,
            status=TravelDocumentStatus.OWN_VALID,
            recorded_on=day(7),
            original_identity_document=False,
        ),
        arrival(),
    )


def departed(mode: DepartureMode = DepartureMode.INDEPENDENT) -> ReturnCase:
    return accept(ready(), departure(mode))


def closed(reason: ClosingReason = ClosingReason.WITHDREW) -> ReturnCase:
    return accept(opened(), close(reason))


def one_of_each_command() -> list[Command]:
    """A well-formed command of every kind except opening, all dated after intake."""
    return [
        profile_command(),
        conversation(ReturnWish.UNDECIDED),
        legal_position(ResidenceStatus.TEMPORARY_VICTIM_PERMIT),
        AssessRisk(CASE_ID, assessed_on=day(3), level=RiskLevel.LOW),
        consent(),
        WithdrawConsent(
            CASE_ID,
            organisation_id=PARTNER_NL,
            purpose=ConsentPurpose.REFERRAL,
            withdrawn_on=day(9),
        ),
        contact(shares=False),
        referral_status(ReferralStatus.ACCEPTED),
        support(ReturnSupportKind.IOM_BASIC),
        travel_document(TravelDocumentStatus.REQUESTED),
        plan(),
        PlanDeparture(CASE_ID, planned_on=day(29), destination_country="NG"),
        departure(DepartureMode.FORCED),
        rc.RecordSafetyPlan(
            CASE_ID, written_on=day(4), risk_factors=(RiskFactor.DEBTS,), measures=("Advice.",)
        ),
        rc.ApproveSafetyPlan(CASE_ID, approved_on=day(5), approved_by="supervisor-1"),
        rc.RecordReturnHelpRefused(
            CASE_ID, refused_on=day(6), help_offered=(v.ReturnHelp.IOM_BASIC,)
        ),
        arrival(),
        rc.ReviseReintegrationPlan(
            CASE_ID,
            revised_on=day(9),
            partner_organisation_id=PARTNER_NG,
            goal_domains=(v.PlanDomain.HOUSING,),
            goal_responsible_organisation_ids=(PARTNER_NG,),
            goal_budgets=(None,),
            goal_target_dates=(day(60),),
            goal_descriptions=("A room.",),
        ),
        rc.RecordGuardian(CASE_ID, appointed_on=day(2), guardian_organisation="Nidos"),
        rc.RecordBestInterestsAssessment(
            CASE_ID, assessed_on=day(5), return_in_best_interests=True
        ),
        rc.RecordFamilyAssessment(
            CASE_ID, assessed_on=day(6), outcome=v.FamilyAssessmentOutcome.SAFE
        ),
        follow_up(),
        TransferCase(CASE_ID, to_organisation="moviera", transferred_on=day(40)),
        close(ClosingReason.WITHDREW),
        reopen(),
        erase(),
    ]


def command_name(command: Command) -> str:
    return type(command).__name__


# -- existence -------------------------------------------------------------------------------


def test_opening_a_case_records_the_profile_with_trimmed_text() -> None:
    events = decide(None, open_command(pseudonym="  Client A ", notes="   "))

    assert events == [
        ReturnCaseOpened(
            case_id=CASE_ID,
            intake_date=INTAKE,
            pseudonym="Client A",
            gender=Gender.FEMALE,
            birth_year=1998,
            nationality="NG",
            country_of_origin="NG",
            languages=("en", "yo"),
            exploitation_forms=(ExploitationForm.SEXUAL_EXPLOITATION,),
            full_name="Blessing Okafor",
            date_of_birth=date(1998, 5, 4),
            notes=None,
        )
    ]
    state = fold(events)
    assert state is not None
    assert (state.version, state.phase, state.intake_date) == (1, Phase.INTAKE, INTAKE)


@pytest.mark.parametrize("command", one_of_each_command(), ids=command_name)
def test_commands_on_a_case_that_does_not_exist_raise_case_not_found(command: Command) -> None:
    with pytest.raises(CaseNotFound):
        decide(None, command)


def test_command_for_another_case_raises_case_not_found() -> None:
    with pytest.raises(CaseNotFound):
        decide(opened(), replace(conversation(ReturnWish.UNDECIDED), case_id=OTHER_CASE_ID))


def test_opening_an_existing_case_raises_case_already_exists() -> None:
    with pytest.raises(CaseAlreadyExists):
        decide(opened(), open_command())


# -- closed cases and dates ------------------------------------------------------------------

CLOSED_CASE_COMMANDS = (ReopenReturnCase, WithdrawConsent, EraseClientPersonalData)


@pytest.mark.parametrize(
    "command",
    [c for c in one_of_each_command() if not isinstance(c, CLOSED_CASE_COMMANDS)],
    ids=command_name,
)
def test_closed_case_refuses_everything_but_reopening_and_client_rights(command: Command) -> None:
    assert refused(closed(), command) == "CASE_CLOSED"


def test_closed_case_accepts_only_reopen() -> None:
    state = closed()
    assert refused(state, conversation(ReturnWish.UNDECIDED)) == "CASE_CLOSED"

    reopened = accept(state, reopen())

    assert reopened.phase == Phase.INTAKE
    assert not reopened.closed


def test_closed_case_accepts_consent_withdrawal_and_erasure() -> None:
    state = accept(opened(), consent(), close(ClosingReason.LOST_CONTACT))
    withdrawal = WithdrawConsent(
        CASE_ID, organisation_id=PARTNER_NL, purpose=ConsentPurpose.REFERRAL, withdrawn_on=day(201)
    )

    state = accept(state, withdrawal, erase())

    assert state.active_consents == ()
    assert state.personal_data_erased
    assert state.phase == Phase.CLOSED


def _all_dates_moved_before_intake(command: Command) -> Command:
    changes: dict[str, Any] = {
        field.name: day(-1)
        for field in fields(command)
        if isinstance(getattr(command, field.name), date) and field.name != "date_of_birth"
    }
    return replace(command, **changes)


@pytest.mark.parametrize(
    "command",
    [c for c in one_of_each_command() if not isinstance(c, UpdateClientProfile)],
    ids=command_name,
)
def test_dates_before_intake_are_refused(command: Command) -> None:
    assert refused(opened(), _all_dates_moved_before_intake(command)) == "DATE_BEFORE_INTAKE"


def test_departure_deadline_before_intake_is_refused() -> None:
    command = legal_position(ResidenceStatus.NONE, deadline=day(-1))
    assert refused(opened(), command) == "DATE_BEFORE_INTAKE"


def test_dates_on_the_intake_day_are_accepted() -> None:
    state = accept(opened(), conversation(ReturnWish.UNDECIDED, on=INTAKE))
    assert state.phase == Phase.ORIENTATION


# -- client profile --------------------------------------------------------------------------


@pytest.mark.parametrize("pseudonym", ["", "   "])
def test_pseudonym_is_required(pseudonym: str) -> None:
    assert refused(None, open_command(pseudonym=pseudonym)) == "PSEUDONYM_REQUIRED"


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"pseudonym": "p" * 101}, "PSEUDONYM_TOO_LONG"),
        ({"full_name": "n" * 201}, "FULL_NAME_TOO_LONG"),
        ({"notes": "x" * 4001}, "NOTES_TOO_LONG"),
    ],
)
def test_profile_text_is_length_limited(changes: dict[str, Any], rule: str) -> None:
    assert refused(None, open_command(**changes)) == rule


def test_profile_text_at_the_limits_is_accepted() -> None:
    command = open_command(pseudonym="p" * 100, full_name="n" * 200, notes="x" * 4000)
    assert accept(None, command).version == 1


@pytest.mark.parametrize("birth_year", [1899, 2025])
def test_birth_year_must_lie_between_1900_and_intake(birth_year: int) -> None:
    command = open_command(birth_year=birth_year, date_of_birth=None)
    assert refused(None, command) == "INVALID_BIRTH_YEAR"


def test_birth_year_must_match_date_of_birth() -> None:
    command = open_command(birth_year=1997, date_of_birth=date(1998, 5, 4))
    assert refused(None, command) == "BIRTH_YEAR_MISMATCH"


@pytest.mark.parametrize("date_of_birth", [day(1), date(1899, 12, 31)])
def test_date_of_birth_must_lie_between_1900_and_intake(date_of_birth: date) -> None:
    command = open_command(birth_year=None, date_of_birth=date_of_birth)
    assert refused(None, command) == "INVALID_DATE_OF_BIRTH"


def test_birth_year_and_date_of_birth_are_optional() -> None:
    state = accept(None, open_command(birth_year=None, date_of_birth=None, full_name=None))
    assert state.phase == Phase.INTAKE


@pytest.mark.parametrize("code", ["nl", "XX", "NLD", "", "EL"])
@pytest.mark.parametrize("field", ["nationality", "country_of_origin"])
def test_countries_must_be_iso_3166_alpha_2_codes_in_capitals(field: str, code: str) -> None:
    assert refused(None, open_command(**{field: code})) == "INVALID_COUNTRY_CODE"


@pytest.mark.parametrize("code", ["EN", "eng", "xx", ""])
def test_languages_must_be_iso_639_1_codes_in_lower_case(code: str) -> None:
    assert refused(None, open_command(languages=("nl", code))) == "INVALID_LANGUAGE_CODE"


def test_languages_cannot_repeat() -> None:
    assert refused(None, open_command(languages=("en", "en"))) == "DUPLICATE_LANGUAGE"


def test_exploitation_forms_cannot_repeat() -> None:
    forms = (ExploitationForm.FORCED_LABOUR, ExploitationForm.FORCED_LABOUR)
    assert refused(None, open_command(exploitation_forms=forms)) == "DUPLICATE_EXPLOITATION_FORM"


def test_profile_update_replaces_the_whole_profile() -> None:
    command = profile_command(pseudonym="Client B", full_name=None, languages=("fr",))

    events = decide(opened(), command)

    assert len(events) == 1
    event = events[0]
    assert isinstance(event, ClientProfileUpdated)
    assert (event.pseudonym, event.full_name, event.languages) == ("Client B", None, ("fr",))


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"pseudonym": " "}, "PSEUDONYM_REQUIRED"),
        ({"nationality": "ng"}, "INVALID_COUNTRY_CODE"),
        ({"birth_year": 1997}, "BIRTH_YEAR_MISMATCH"),
        ({"birth_year": None, "date_of_birth": day(1)}, "INVALID_DATE_OF_BIRTH"),
        ({"languages": ("yo", "yo")}, "DUPLICATE_LANGUAGE"),
    ],
)
def test_profile_update_is_validated_like_opening(changes: dict[str, Any], rule: str) -> None:
    assert refused(opened(), profile_command(**changes)) == rule


def test_profile_update_after_erasure_may_give_personal_data_again() -> None:
    state = accept(opened(), erase())
    assert state.personal_data_erased

    state = accept(state, profile_command(full_name="Blessing Okafor"))

    assert not state.personal_data_erased


# -- phase -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("commands", "phase"),
    [
        ([], Phase.INTAKE),
        ([conversation(ReturnWish.UNDECIDED)], Phase.ORIENTATION),
        ([conversation(ReturnWish.DOES_NOT_WANT_TO_RETURN)], Phase.ORIENTATION),
        ([conversation(ReturnWish.WANTS_TO_RETURN)], Phase.PREPARATION),
        (
            [conversation(ReturnWish.WANTS_TO_RETURN), conversation(ReturnWish.UNDECIDED)],
            Phase.ORIENTATION,
        ),
        ([legal_position(ResidenceStatus.NONE)], Phase.PREPARATION),
        (
            [
                conversation(ReturnWish.DOES_NOT_WANT_TO_RETURN),
                legal_position(ResidenceStatus.NONE),
            ],
            Phase.PREPARATION,
        ),
        (
            [legal_position(ResidenceStatus.NONE), legal_position(ResidenceStatus.ASYLUM)],
            Phase.INTAKE,
        ),
        ([legal_position(ResidenceStatus.TEMPORARY_VICTIM_PERMIT)], Phase.INTAKE),
    ],
)
def test_phase_follows_wish_and_obligation(commands: list[Command], phase: Phase) -> None:
    assert accept(opened(), *commands).phase == phase


def test_phase_after_departure_and_follow_up() -> None:
    state = departed()
    assert state.phase == Phase.DEPARTED

    assert accept(state, follow_up()).phase == Phase.FOLLOW_UP


# -- conversations and legal position ---------------------------------------------------------


def test_conversation_after_departure_is_refused() -> None:
    assert refused(departed(), conversation(ReturnWish.UNDECIDED, on=day(40))) == "ALREADY_DEPARTED"


def test_legal_position_after_departure_is_refused() -> None:
    assert refused(departed(), legal_position(ResidenceStatus.NONE)) == "ALREADY_DEPARTED"


@pytest.mark.parametrize(
    ("status", "stage", "obligation"),
    [
        (ResidenceStatus.NONE, ProceedingsStage.NOT_REPORTED, True),
        (ResidenceStatus.REFLECTION_PERIOD, ProceedingsStage.DISMISSED, True),
        (ResidenceStatus.TEMPORARY_VICTIM_PERMIT, ProceedingsStage.DISMISSED, True),
        (ResidenceStatus.WITNESS_COMPLAINANT_PERMIT, ProceedingsStage.DISMISSED, True),
        (ResidenceStatus.TEMPORARY_VICTIM_PERMIT, ProceedingsStage.PROSECUTION, False),
        (ResidenceStatus.REFLECTION_PERIOD, ProceedingsStage.REPORTED, False),
        (ResidenceStatus.ASYLUM, ProceedingsStage.DISMISSED, False),
        (ResidenceStatus.EU_CITIZEN, ProceedingsStage.DISMISSED, False),
        (ResidenceStatus.EU_CITIZEN, ProceedingsStage.NOT_REPORTED, False),
    ],
)
def test_departure_obligation_follows_residence_and_proceedings(
    status: ResidenceStatus, stage: ProceedingsStage, obligation: bool
) -> None:
    [event] = decide(opened(), legal_position(status, stage))

    assert isinstance(event, LegalPositionRecorded)
    assert event.departure_obligation is obligation


def test_departure_deadline_needs_an_obligation() -> None:
    command = legal_position(ResidenceStatus.EU_CITIZEN, deadline=day(60))
    assert refused(opened(), command) == "DEADLINE_WITHOUT_OBLIGATION"


def test_departure_deadline_with_obligation_is_recorded() -> None:
    command = legal_position(
        ResidenceStatus.TEMPORARY_VICTIM_PERMIT, ProceedingsStage.DISMISSED, deadline=day(60)
    )
    [event] = decide(opened(), command)

    assert isinstance(event, LegalPositionRecorded)
    assert (event.departure_deadline, event.departure_obligation) == (day(60), True)


# -- risk --------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [RiskLevel.MEDIUM, RiskLevel.HIGH])
def test_medium_or_high_risk_needs_a_factor(level: RiskLevel) -> None:
    command = AssessRisk(CASE_ID, assessed_on=day(3), level=level, factors=())
    assert refused(opened(), command) == "RISK_FACTORS_REQUIRED"


def test_low_risk_needs_no_factor_and_high_risk_with_factors_is_recorded() -> None:
    low = AssessRisk(CASE_ID, assessed_on=day(3), level=RiskLevel.LOW)
    high = AssessRisk(
        CASE_ID,
        assessed_on=day(4),
        level=RiskLevel.HIGH,
        factors=(RiskFactor.RE_TRAFFICKING, RiskFactor.DEBTS),
    )
    assert accept(opened(), low, high).risk_level == RiskLevel.HIGH


def test_risk_factors_cannot_repeat() -> None:
    command = AssessRisk(
        CASE_ID, assessed_on=day(3), level=RiskLevel.HIGH, factors=(RiskFactor.DEBTS,) * 2
    )
    assert refused(opened(), command) == "DUPLICATE_RISK_FACTOR"


# -- consent ---------------------------------------------------------------------------------


def test_consent_outside_eea_needs_risks_explained() -> None:
    command = consent(PARTNER_NG, "NG", explained=False)
    assert refused(opened(), command) == "TRANSFER_RISKS_NOT_EXPLAINED"

    [event] = decide(opened(), replace(command, transfer_risks_explained=True))

    assert isinstance(event, ConsentGiven)
    assert event.outside_eea


@pytest.mark.parametrize("country", ["NL", "DE", "GR", "NO", "IS", "LI"])
def test_consent_inside_eu_eea_needs_no_risk_explanation(country: str) -> None:
    [event] = decide(opened(), consent(country=country, explained=False))

    assert isinstance(event, ConsentGiven)
    assert not event.outside_eea


def test_consent_needs_a_valid_country() -> None:
    assert refused(opened(), consent(country="Nigeria")) == "INVALID_COUNTRY_CODE"


def test_consent_cannot_be_given_twice_while_active() -> None:
    assert refused(accept(opened(), consent()), consent()) == "CONSENT_ALREADY_ACTIVE"


def test_consent_for_another_purpose_or_after_withdrawal_can_be_given() -> None:
    withdrawal = WithdrawConsent(
        CASE_ID, organisation_id=PARTNER_NL, purpose=ConsentPurpose.REFERRAL, withdrawn_on=day(5)
    )
    state = accept(
        opened(),
        consent(),
        consent(purpose=ConsentPurpose.REINTEGRATION_SUPPORT),
        withdrawal,
        consent(on=day(6)),
    )
    assert len(state.active_consents) == 2


def test_withdrawal_needs_an_active_consent() -> None:
    withdrawal = WithdrawConsent(
        CASE_ID, organisation_id=PARTNER_NL, purpose=ConsentPurpose.REFERRAL, withdrawn_on=day(5)
    )
    assert refused(opened(), withdrawal) == "NO_ACTIVE_CONSENT"
    assert refused(accept(opened(), consent(), withdrawal), withdrawal) == "NO_ACTIVE_CONSENT"


def test_consent_cannot_be_withdrawn_before_it_was_given() -> None:
    withdrawal = WithdrawConsent(
        CASE_ID, organisation_id=PARTNER_NL, purpose=ConsentPurpose.REFERRAL, withdrawn_on=day(2)
    )
    assert refused(accept(opened(), consent(on=day(3))), withdrawal) == "DATE_BEFORE_CONSENT"


def withdrawal_on(on: date) -> WithdrawConsent:
    return WithdrawConsent(
        CASE_ID, organisation_id=PARTNER_NL, purpose=ConsentPurpose.REFERRAL, withdrawn_on=on
    )


def test_consent_cannot_be_withdrawn_before_an_accepted_share_and_the_error_names_it() -> None:
    state = accept(
        opened(),
        consent(on=day(3)),
        contact(on=day(4)),
        referral_status(ReferralStatus.ACCEPTED, on=day(8)),
    )
    with pytest.raises(RuleViolation) as raised:
        decide(state, withdrawal_on(day(6)))
    assert raised.value.rule == "WITHDRAWAL_BEFORE_USE"
    assert "ReferralStatusChanged" in raised.value.message
    assert str(REFERRAL_ID) in raised.value.message
    assert day(8).isoformat() in raised.value.message
    [event] = decide(state, withdrawal_on(day(8)))
    assert event.withdrawn_on == day(8)


def test_consent_cannot_be_withdrawn_before_the_contact_that_shared_under_it() -> None:
    state = accept(opened(), consent(on=day(3)), contact(on=day(5)))
    with pytest.raises(RuleViolation) as raised:
        decide(state, withdrawal_on(day(4)))
    assert raised.value.rule == "WITHDRAWAL_BEFORE_USE"
    assert "PartnerOrganisationContacted" in raised.value.message


def test_a_rejected_referral_or_one_without_personal_data_does_not_bind_the_withdrawal() -> None:
    without_sharing = accept(
        opened(),
        consent(on=day(3)),
        contact(shares=False, on=day(6)),
        referral_status(ReferralStatus.ACCEPTED, on=day(9)),
    )
    [event] = decide(without_sharing, withdrawal_on(day(4)))
    assert event.withdrawn_on == day(4)
    rejected = accept(
        opened(),
        consent(on=day(3)),
        contact(on=day(4)),
        referral_status(ReferralStatus.REJECTED, "No capacity.", on=day(9)),
    )
    [event] = decide(rejected, withdrawal_on(day(5)))
    assert event.withdrawn_on == day(5)


def test_uses_of_an_earlier_consent_do_not_bind_a_consent_given_again() -> None:
    state = accept(
        opened(),
        consent(on=day(3)),
        contact(on=day(4)),
        withdrawal_on(day(4)),
        consent(on=day(5)),
    )
    [event] = decide(state, withdrawal_on(day(5)))
    assert event.withdrawn_on == day(5)


@given(offset=st.integers(min_value=0, max_value=20), used=st.integers(min_value=4, max_value=20))
def test_a_withdrawal_is_taken_exactly_when_dated_on_or_after_the_last_use(
    offset: int, used: int
) -> None:
    state = accept(
        opened(),
        consent(on=day(3)),
        contact(on=day(4)),
        referral_status(ReferralStatus.ACCEPTED, on=day(used)),
    )
    withdrawal = withdrawal_on(day(3 + offset))
    if 3 + offset >= used:
        assert decide(state, withdrawal)
    else:
        assert refused(state, withdrawal) == "WITHDRAWAL_BEFORE_USE"


# -- partner organisations and referrals -------------------------------------------------------


def test_sharing_with_partner_needs_active_consent() -> None:
    assert refused(opened(), contact(shares=True)) == "CONSENT_REQUIRED"

    withdrawal = WithdrawConsent(
        CASE_ID, organisation_id=PARTNER_NL, purpose=ConsentPurpose.REFERRAL, withdrawn_on=day(3)
    )
    assert refused(accept(opened(), consent(), withdrawal), contact()) == "CONSENT_REQUIRED"

    other_purpose = consent(purpose=ConsentPurpose.FOLLOW_UP_MONITORING)
    assert refused(accept(opened(), other_purpose), contact()) == "CONSENT_REQUIRED"

    state = accept(opened(), consent(), contact())
    assert state.referrals[0].status == ReferralStatus.REQUESTED


def test_sharing_before_the_consent_date_is_refused() -> None:
    state = accept(opened(), consent(on=day(10)))
    assert refused(state, contact(on=day(9))) == "CONSENT_REQUIRED"


def test_sharing_with_an_organisation_in_another_country_than_consented_is_refused() -> None:
    state = accept(opened(), consent(PARTNER_NG, "NL"))
    command = contact(organisation=PARTNER_NG, country="NG")
    assert refused(state, command) == "CONSENT_COUNTRY_MISMATCH"


def test_contact_without_sharing_personal_data_needs_no_consent() -> None:
    [event] = decide(opened(), contact(shares=False))

    assert isinstance(event, PartnerOrganisationContacted)
    assert not event.shares_personal_data


def test_referral_ids_are_unique() -> None:
    state = accept(opened(), contact(shares=False))
    assert refused(state, contact(shares=False)) == "REFERRAL_EXISTS"


def test_contact_needs_a_valid_country() -> None:
    assert refused(opened(), contact(shares=False, country="XX")) == "INVALID_COUNTRY_CODE"


def test_status_of_unknown_referral_cannot_change() -> None:
    assert refused(opened(), referral_status(ReferralStatus.ACCEPTED)) == "UNKNOWN_REFERRAL"


ALLOWED_TRANSITIONS = {
    (ReferralStatus.REQUESTED, ReferralStatus.ACCEPTED),
    (ReferralStatus.REQUESTED, ReferralStatus.REJECTED),
    (ReferralStatus.REQUESTED, ReferralStatus.WITHDRAWN),
    (ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED),
    (ReferralStatus.ACCEPTED, ReferralStatus.WITHDRAWN),
}
PATH_TO = {
    ReferralStatus.REQUESTED: [],
    ReferralStatus.ACCEPTED: [ReferralStatus.ACCEPTED],
    ReferralStatus.REJECTED: [ReferralStatus.REJECTED],
    ReferralStatus.WITHDRAWN: [ReferralStatus.WITHDRAWN],
    ReferralStatus.COMPLETED: [ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED],
}


@pytest.mark.parametrize("current", list(ReferralStatus))
@pytest.mark.parametrize("target", list(ReferralStatus))
def test_referral_status_follows_the_allowed_transitions(
    current: ReferralStatus, target: ReferralStatus
) -> None:
    state = accept(
        opened(),
        contact(shares=False),
        *(referral_status(status, reason="No capacity.") for status in PATH_TO[current]),
    )
    command = referral_status(target, reason="No capacity.", on=day(6))

    if (current, target) in ALLOWED_TRANSITIONS:
        [event] = decide(state, command)
        assert isinstance(event, ReferralStatusChanged)
        assert accept(state, command).referrals[0].status == target
    else:
        assert refused(state, command) == "INVALID_REFERRAL_TRANSITION"


@pytest.mark.parametrize("status", [ReferralStatus.REJECTED, ReferralStatus.WITHDRAWN])
def test_failed_referral_needs_a_reason(status: ReferralStatus) -> None:
    state = accept(opened(), contact(shares=False))
    assert refused(state, referral_status(status, reason="  ")) == "REASON_REQUIRED"
    assert refused(state, referral_status(status, reason="r" * 501)) == "REASON_TOO_LONG"


def test_referral_status_cannot_change_before_contact() -> None:
    state = accept(opened(), contact(shares=False, on=day(10)))
    command = referral_status(ReferralStatus.ACCEPTED, on=day(9))
    assert refused(state, command) == "DATE_BEFORE_REFERRAL"


# -- preparation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        support(ReturnSupportKind.IOM_BASIC),
        travel_document(TravelDocumentStatus.REQUESTED),
    ],
    ids=command_name,
)
def test_preparation_steps_need_the_preparation_phase(command: Command) -> None:
    assert refused(opened(), command) == "NOT_IN_PREPARATION"
    assert refused(accept(opened(), conversation(ReturnWish.UNDECIDED)), command) == (
        "NOT_IN_PREPARATION"
    )
    assert accept(preparing(), command).phase == Phase.PREPARATION


def test_preparation_steps_are_refused_after_departure() -> None:
    assert refused(departed(), support(ReturnSupportKind.DTV)) == "NOT_IN_PREPARATION"


def test_the_same_return_support_cannot_be_arranged_twice() -> None:
    state = accept(preparing(), support(ReturnSupportKind.IOM_BASIC))
    assert refused(state, support(ReturnSupportKind.IOM_BASIC)) == "SUPPORT_ALREADY_ARRANGED"
    state = accept(state, support(ReturnSupportKind.IOM_REINTEGRATION))
    assert state.return_support == (
        ReturnSupportKind.IOM_BASIC,
        ReturnSupportKind.IOM_REINTEGRATION,
    )


def test_travel_document_request_needs_an_original_identity_document() -> None:
    command = travel_document(TravelDocumentStatus.REQUESTED, original_id=False)
    assert refused(preparing(), command) == "ORIGINAL_ID_REQUIRED"


def test_travel_document_is_issued_only_after_a_request() -> None:
    issued = travel_document(TravelDocumentStatus.ISSUED)
    assert refused(preparing(), issued) == "TRAVEL_DOCUMENT_NOT_REQUESTED"

    state = accept(preparing(), travel_document(TravelDocumentStatus.REQUESTED), issued)
    assert state.travel_document == TravelDocumentStatus.ISSUED


def test_reintegration_plan_is_agreed_in_preparation_or_after_departure() -> None:
    agreed = plan(on=day(50))
    assert refused(opened(), agreed) == "NOT_IN_PREPARATION"
    assert refused(accept(opened(), conversation(ReturnWish.UNDECIDED)), agreed) == (
        "NOT_IN_PREPARATION"
    )
    assert accept(preparing(), agreed).reintegration_plan_agreed
    assert accept(departed(), agreed).reintegration_plan_agreed
    assert accept(departed(), follow_up(), agreed).reintegration_plan_agreed


def test_planned_departure_needs_a_valid_country() -> None:
    command = PlanDeparture(CASE_ID, planned_on=day(20), destination_country="ng")
    assert refused(preparing(), command) == "INVALID_COUNTRY_CODE"


# -- departure ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "commands",
    [
        [],
        [conversation(ReturnWish.UNDECIDED)],
        [conversation(ReturnWish.DOES_NOT_WANT_TO_RETURN)],
        [legal_position(ResidenceStatus.EU_CITIZEN, ProceedingsStage.PROSECUTION)],
        [rc.RecordReturnHelpRefused(CASE_ID, refused_on=day(5), help_offered=(v.ReturnHelp.DTV,))],
    ],
)
def test_forced_departure_needs_a_departure_obligation(commands: list[Command]) -> None:
    state = accept(opened(), *commands)
    assert refused(state, departure(DepartureMode.FORCED)) == "FORCED_RETURN_NEEDS_OBLIGATION"


def test_forced_departure_needs_refused_help_or_a_passed_deadline() -> None:
    obliged = accept(opened(), legal_position(ResidenceStatus.NONE))
    assert refused(obliged, departure(DepartureMode.FORCED)) == (
        "FORCED_RETURN_NEEDS_REFUSAL_OR_DEADLINE"
    )
    refusal = rc.RecordReturnHelpRefused(
        CASE_ID, refused_on=day(5), help_offered=(v.ReturnHelp.IOM_BASIC, v.ReturnHelp.DTV)
    )
    assert accept(obliged, refusal, departure(DepartureMode.FORCED)).phase == Phase.DEPARTED


def test_forced_departure_after_the_departure_deadline_passed() -> None:
    deadline = RecordLegalPosition(
        CASE_ID,
        recorded_on=day(2),
        residence_status=ResidenceStatus.NONE,
        proceedings_stage=ProceedingsStage.NOT_REPORTED,
        departure_deadline=day(28),
    )
    state = accept(opened(), deadline)
    assert refused(state, departure(DepartureMode.FORCED, on=day(28))) == (
        "FORCED_RETURN_NEEDS_REFUSAL_OR_DEADLINE"
    )
    [event] = decide(state, departure(DepartureMode.FORCED, on=day(29)))
    assert isinstance(event, DepartureRecorded)
    assert event.mode == DepartureMode.FORCED


@pytest.mark.parametrize("mode", [DepartureMode.INDEPENDENT, DepartureMode.ASSISTED])
def test_voluntary_departure_needs_the_wish_to_return(mode: DepartureMode) -> None:
    state = accept(opened(), conversation(ReturnWish.UNDECIDED))
    with pytest.raises(NotReady) as raised:
        decide(state, departure(mode))
    assert raised.value.rule == "NOT_READY"
    assert "RETURN_WISH_MISSING" in raised.value.missing


def test_independent_departure_when_ready_is_recorded() -> None:
    assert departed(DepartureMode.INDEPENDENT).departure is not None


@pytest.mark.parametrize(
    ("kinds", "accepted"),
    [
        ((), False),
        ((ReturnSupportKind.SELF_ORGANISED,), False),
        ((ReturnSupportKind.IOM_BASIC,), True),
        ((ReturnSupportKind.DTV,), True),
    ],
)
def test_assisted_departure_needs_return_support(
    kinds: tuple[ReturnSupportKind, ...], accepted: bool
) -> None:
    state = accept(ready(), *(support(kind) for kind in kinds))
    command = departure(DepartureMode.ASSISTED)

    if accepted:
        assert accept(state, command).phase == Phase.DEPARTED
    else:
        with pytest.raises(NotReady) as raised:
            decide(state, command)
        assert raised.value.missing == ("RETURN_SUPPORT_MISSING",)


@pytest.mark.parametrize("mode", list(DepartureMode))
def test_a_client_departs_only_once(mode: DepartureMode) -> None:
    assert refused(departed(), departure(mode, on=day(31))) == "ALREADY_DEPARTED"


def test_departure_needs_a_valid_country() -> None:
    command = replace(departure(DepartureMode.FORCED), destination_country="XK")
    assert refused(opened(), command) == "INVALID_COUNTRY_CODE"


# -- follow-up ---------------------------------------------------------------------------------


def test_follow_up_before_departure_is_refused() -> None:
    assert refused(opened(), follow_up()) == "FOLLOW_UP_BEFORE_DEPARTURE"
    assert refused(preparing(), follow_up()) == "FOLLOW_UP_BEFORE_DEPARTURE"


def test_follow_up_cannot_be_dated_before_the_departure() -> None:
    assert refused(departed(), follow_up(on=day(29))) == "DATE_BEFORE_DEPARTURE"


@pytest.mark.parametrize(
    ("reached", "situation"),
    [(True, None), (False, ClientSituation.AT_RISK)],
)
def test_follow_up_situation_matches_whether_the_client_was_reached(
    reached: bool, situation: ClientSituation | None
) -> None:
    command = follow_up(reached=reached, situation=situation)
    assert refused(departed(), command) == "SITUATION_MISMATCH"


def test_unreached_follow_up_without_situation_is_recorded() -> None:
    state = accept(departed(), follow_up(reached=False, situation=None))
    assert state.phase == Phase.FOLLOW_UP


@pytest.mark.parametrize(
    ("departed_on", "contacted_on", "months"),
    [
        (date(2024, 4, 15), date(2024, 4, 15), 0),
        (date(2024, 4, 15), date(2024, 7, 14), 2),
        (date(2024, 4, 15), date(2024, 7, 15), 3),
        (date(2024, 4, 15), date(2025, 4, 15), 12),
        (date(2024, 3, 31), date(2024, 4, 30), 1),
        (date(2024, 3, 31), date(2024, 4, 29), 0),
    ],
)
def test_follow_up_records_whole_months_after_departure(
    departed_on: date, contacted_on: date, months: int
) -> None:
    state = accept(ready(), departure(DepartureMode.INDEPENDENT, on=departed_on))

    [event] = decide(state, follow_up(on=contacted_on))

    assert isinstance(event, FollowUpRecorded)
    assert event.months_after_departure == months


# -- transfer, closing, reopening --------------------------------------------------------------


def test_transfer_closes_the_case_as_transferred() -> None:
    command = TransferCase(CASE_ID, to_organisation=" het-kopland ", transferred_on=day(40))

    [event] = decide(opened(), command)
    state = accept(opened(), command)

    assert event == ReturnCaseTransferred(
        CASE_ID, to_organisation="het-kopland", transferred_on=day(40)
    )
    assert state.phase == Phase.CLOSED
    assert state.closure is not None
    assert (state.closure.reason, state.closure.transferred_to) == (
        ClosingReason.TRANSFERRED,
        "het-kopland",
    )


@pytest.mark.parametrize(
    "slug", ["", "Moviera", "het kopland", "-moviera", "hvo--querido", "a" * 101]
)
def test_transfer_needs_an_organisation_slug(slug: str) -> None:
    command = TransferCase(CASE_ID, to_organisation=slug, transferred_on=day(40))
    assert refused(opened(), command) == "INVALID_ORGANISATION_SLUG"


def test_closing_as_transferred_goes_through_transfer() -> None:
    assert refused(opened(), close(ClosingReason.TRANSFERRED)) == "USE_TRANSFER"


def test_closing_as_returned_needs_a_departure() -> None:
    assert refused(preparing(), close(ClosingReason.RETURNED)) == "RETURNED_NEEDS_DEPARTURE"
    assert accept(departed(), close(ClosingReason.RETURNED)).phase == Phase.CLOSED


def test_departed_client_cannot_be_closed_as_stayed_in_the_netherlands() -> None:
    command = close(ClosingReason.STAYED_IN_NETHERLANDS)
    assert refused(departed(), command) == "DEPARTED_CLIENT_CANNOT_STAY"
    assert accept(opened(), command).phase == Phase.CLOSED


@pytest.mark.parametrize(
    "reason",
    [
        ClosingReason.LEFT_FOR_THIRD_COUNTRY,
        ClosingReason.WITHDREW,
        ClosingReason.LOST_CONTACT,
    ],
)
def test_case_can_be_closed_with_a_reason_before_or_after_departure(reason: ClosingReason) -> None:
    assert accept(opened(), close(reason)).phase == Phase.CLOSED
    assert accept(departed(), close(reason)).phase == Phase.CLOSED


def test_a_closed_case_cannot_be_closed_again() -> None:
    assert refused(closed(), close(ClosingReason.LOST_CONTACT)) == "CASE_CLOSED"


def test_only_a_closed_case_can_be_reopened() -> None:
    assert refused(opened(), reopen()) == "CASE_NOT_CLOSED"


@pytest.mark.parametrize("reason", ["", "   "])
def test_reopening_needs_a_reason(reason: str) -> None:
    assert refused(closed(), reopen(reason=reason)) == "REASON_REQUIRED"


def test_reopening_reason_is_length_limited() -> None:
    assert refused(closed(), reopen(reason="r" * 501)) == "REASON_TOO_LONG"


def test_a_case_cannot_be_reopened_before_it_was_closed() -> None:
    assert refused(closed(), reopen(on=day(199))) == "DATE_BEFORE_CLOSING"


@pytest.mark.parametrize(
    ("state", "phase"),
    [
        (lambda: accept(opened(), close(ClosingReason.WITHDREW)), Phase.INTAKE),
        (lambda: accept(preparing(), close(ClosingReason.WITHDREW)), Phase.PREPARATION),
        (lambda: accept(departed(), close(ClosingReason.RETURNED)), Phase.DEPARTED),
        (
            lambda: accept(departed(), follow_up(), close(ClosingReason.RETURNED)),
            Phase.FOLLOW_UP,
        ),
        (
            lambda: accept(
                preparing(), TransferCase(CASE_ID, to_organisation="moviera", transferred_on=day(9))
            ),
            Phase.PREPARATION,
        ),
    ],
)
def test_reopening_recomputes_the_phase_from_the_facts(
    state: Callable[[], ReturnCase], phase: Phase
) -> None:
    reopened = accept(state(), reopen())
    assert reopened.phase == phase
    assert reopened.closure is None


# -- erasure ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [opened, preparing, departed, closed],
    ids=["intake", "preparation", "departed", "closed"],
)
def test_personal_data_can_be_erased_in_every_phase(state: Callable[[], ReturnCase]) -> None:
    case = state()

    [event] = decide(case, erase())

    assert event == ClientPersonalDataErased(
        CASE_ID, erased_on=day(220), reason=ErasureReason.CLIENT_REQUEST, note=None
    )
    after = accept(case, erase())
    assert after.personal_data_erased
    assert after.phase == case.phase


def test_erasing_twice_is_a_no_op() -> None:
    state = accept(opened(), erase())
    assert decide(state, erase(on=day(221))) == []


def test_erasure_is_needed_again_after_new_personal_data() -> None:
    state = accept(opened(), erase(), conversation(ReturnWish.UNDECIDED, on=day(221)))
    assert not state.personal_data_erased
    assert len(decide(state, erase(on=day(222)))) == 1


def test_events_without_personal_values_keep_the_data_erased() -> None:
    no_notes = RecordReturnConversation(CASE_ID, held_on=day(221), wish=ReturnWish.UNDECIDED)
    state = accept(opened(), erase(), no_notes, legal_position(ResidenceStatus.ASYLUM))
    assert state.personal_data_erased
    assert decide(state, erase(on=day(222))) == []


def test_an_erasure_note_is_personal_trimmed_and_bounded() -> None:
    [event] = decide(opened(), erase(reason=ErasureReason.OTHER, note="  Asked by phone. "))
    assert isinstance(event, ClientPersonalDataErased)
    assert (event.reason, event.note) == (ErasureReason.OTHER, "Asked by phone.")
    assert "note" in ClientPersonalDataErased.personal_fields
    assert "reason" not in ClientPersonalDataErased.personal_fields
    [blank] = decide(opened(), erase(note="   "))
    assert isinstance(blank, ClientPersonalDataErased)
    assert blank.note is None
    assert refused(opened(), erase(note="x" * 4001)) == "NOTES_TOO_LONG"


# -- lifecycle ---------------------------------------------------------------------------------


def test_full_lifecycle_reaches_closed() -> None:
    steps: list[tuple[Command, Phase]] = [
        (open_command(), Phase.INTAKE),
        (conversation(ReturnWish.UNDECIDED, on=day(1)), Phase.ORIENTATION),
        (
            legal_position(ResidenceStatus.TEMPORARY_VICTIM_PERMIT, ProceedingsStage.PROSECUTION),
            Phase.ORIENTATION,
        ),
        (conversation(ReturnWish.WANTS_TO_RETURN, on=day(3)), Phase.PREPARATION),
        (
            AssessRisk(
                CASE_ID,
                assessed_on=day(4),
                level=RiskLevel.MEDIUM,
                factors=(RiskFactor.STIGMA,),
                notes="Family may reject her.",
            ),
            Phase.PREPARATION,
        ),
        (
            consent(
                PARTNER_NG, "NG", ConsentPurpose.REINTEGRATION_SUPPORT, explained=True, on=day(5)
            ),
            Phase.PREPARATION,
        ),
        (
            contact(
                organisation=PARTNER_NG,
                country="NG",
                purpose=ConsentPurpose.REINTEGRATION_SUPPORT,
                on=day(6),
            ),
            Phase.PREPARATION,
        ),
        (referral_status(ReferralStatus.ACCEPTED, on=day(8)), Phase.PREPARATION),
        (support(ReturnSupportKind.IOM_REINTEGRATION), Phase.PREPARATION),
        (travel_document(TravelDocumentStatus.REQUESTED), Phase.PREPARATION),
        (
            RecordTravelDocument(
                CASE_ID,
                status=TravelDocumentStatus.ISSUED,
                recorded_on=day(20),
                original_identity_document=True,
            ),
            Phase.PREPARATION,
        ),
        (plan(on=day(21)), Phase.PREPARATION),
        (arrival(on=day(22)), Phase.PREPARATION),
        (PlanDeparture(CASE_ID, planned_on=day(30), destination_country="NG"), Phase.PREPARATION),
        (departure(DepartureMode.ASSISTED, on=day(30)), Phase.DEPARTED),
        (follow_up(on=day(122)), Phase.FOLLOW_UP),
        (referral_status(ReferralStatus.COMPLETED, on=day(123)), Phase.FOLLOW_UP),
        (follow_up(on=day(300)), Phase.FOLLOW_UP),
        (close(ClosingReason.RETURNED, on=day(400)), Phase.CLOSED),
    ]
    state: ReturnCase | None = None
    events = []
    for command, phase in steps:
        decided = decide(state, command)
        events.extend(decided)
        for event in decided:
            state = evolve(state, event)
        assert state is not None
        assert state.phase == phase, command_name(command)

    assert state is not None
    assert state.version == len(steps) == len(events)
    assert fold(events) == state
    assert state.closure is not None
    assert state.closure.reason == ClosingReason.RETURNED
