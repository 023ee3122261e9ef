"""Deciding on the client profile, return conversations, legal position and risk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.domain.return_case.commands import (
    AssessRisk,
    OpenReturnCase,
    RecordLegalPosition,
    RecordReturnConversation,
    UpdateClientProfile,
)
from service.domain.return_case.events import (
    ClientProfileUpdated,
    LegalPositionRecorded,
    ReturnCaseOpened,
    ReturnConversationRecorded,
    RiskAssessed,
)
from service.domain.return_case.rules import (
    MIN_BIRTH_YEAR,
    clean_full_name,
    clean_notes,
    clean_pseudonym,
    require_country,
    require_languages,
    require_unique,
    violation,
)
from service.domain.return_case.state import ReturnCase
from service.domain.vocabulary import (
    ExploitationForm,
    Gender,
    ProceedingsStage,
    ResidenceStatus,
    RiskLevel,
)

__all__ = [
    "assess_risk",
    "has_departure_obligation",
    "open_case",
    "record_conversation",
    "record_legal_position",
    "update_profile",
]


# Residence positions that exist for victims and end when the prosecutor drops the case.
_VICTIM_POSITIONS = frozenset(
    {
        ResidenceStatus.REFLECTION_PERIOD,
        ResidenceStatus.TEMPORARY_VICTIM_PERMIT,
        ResidenceStatus.WITNESS_COMPLAINANT_PERMIT,
    }
)


def has_departure_obligation(
    residence_status: ResidenceStatus, proceedings_stage: ProceedingsStage
) -> bool:
    """Whether the client must leave the Netherlands.

    Without any residence status the client must leave. A victim's reflection period or
    permit ends when the prosecutor dismisses the case, and with it the right to stay.
    Asylum seekers and EU citizens have no obligation through this rule.
    """
    if residence_status == ResidenceStatus.NONE:
        return True
    return proceedings_stage == ProceedingsStage.DISMISSED and residence_status in _VICTIM_POSITIONS


@dataclass(frozen=True, slots=True)
class _Profile:
    pseudonym: str
    gender: Gender
    birth_year: int | None
    nationality: str
    country_of_origin: str
    languages: tuple[str, ...]
    exploitation_forms: tuple[ExploitationForm, ...]
    full_name: str | None
    date_of_birth: date | None
    notes: str | None


def _clean_profile(command: OpenReturnCase | UpdateClientProfile, intake_date: date) -> _Profile:
    pseudonym = clean_pseudonym(command.pseudonym)
    full_name = clean_full_name(command.full_name)
    notes = clean_notes(command.notes)
    birth_year, date_of_birth = command.birth_year, command.date_of_birth
    if birth_year is not None and not MIN_BIRTH_YEAR <= birth_year <= intake_date.year:
        raise violation("INVALID_BIRTH_YEAR")
    if date_of_birth is not None:
        if not date(MIN_BIRTH_YEAR, 1, 1) <= date_of_birth <= intake_date:
            raise violation("INVALID_DATE_OF_BIRTH")
        if birth_year is not None and birth_year != date_of_birth.year:
            raise violation("BIRTH_YEAR_MISMATCH")
    require_country(command.nationality)
    require_country(command.country_of_origin)
    languages = tuple(command.languages)
    require_languages(languages)
    require_unique(languages, "DUPLICATE_LANGUAGE")
    exploitation_forms = tuple(command.exploitation_forms)
    require_unique(exploitation_forms, "DUPLICATE_EXPLOITATION_FORM")
    return _Profile(
        pseudonym=pseudonym,
        gender=command.gender,
        birth_year=birth_year,
        nationality=command.nationality,
        country_of_origin=command.country_of_origin,
        languages=languages,
        exploitation_forms=exploitation_forms,
        full_name=full_name,
        date_of_birth=date_of_birth,
        notes=notes,
    )


def open_case(command: OpenReturnCase) -> ReturnCaseOpened:
    profile = _clean_profile(command, command.intake_date)
    return ReturnCaseOpened(
        case_id=command.case_id,
        intake_date=command.intake_date,
        pseudonym=profile.pseudonym,
        gender=profile.gender,
        birth_year=profile.birth_year,
        nationality=profile.nationality,
        country_of_origin=profile.country_of_origin,
        languages=profile.languages,
        exploitation_forms=profile.exploitation_forms,
        full_name=profile.full_name,
        date_of_birth=profile.date_of_birth,
        notes=profile.notes,
    )


def update_profile(state: ReturnCase, command: UpdateClientProfile) -> ClientProfileUpdated:
    profile = _clean_profile(command, state.intake_date)
    return ClientProfileUpdated(
        case_id=command.case_id,
        pseudonym=profile.pseudonym,
        gender=profile.gender,
        birth_year=profile.birth_year,
        nationality=profile.nationality,
        country_of_origin=profile.country_of_origin,
        languages=profile.languages,
        exploitation_forms=profile.exploitation_forms,
        full_name=profile.full_name,
        date_of_birth=profile.date_of_birth,
        notes=profile.notes,
    )


def record_conversation(
    state: ReturnCase, command: RecordReturnConversation
) -> ReturnConversationRecorded:
    if state.departed:
        raise violation("ALREADY_DEPARTED")
    return ReturnConversationRecorded(
        case_id=command.case_id,
        held_on=command.held_on,
        wish=command.wish,
        notes=clean_notes(command.notes),
    )


def record_legal_position(state: ReturnCase, command: RecordLegalPosition) -> LegalPositionRecorded:
    if state.departed:
        raise violation("ALREADY_DEPARTED")
    obligation = has_departure_obligation(command.residence_status, command.proceedings_stage)
    if command.departure_deadline is not None and not obligation:
        raise violation("DEADLINE_WITHOUT_OBLIGATION")
    return LegalPositionRecorded(
        case_id=command.case_id,
        recorded_on=command.recorded_on,
        residence_status=command.residence_status,
        proceedings_stage=command.proceedings_stage,
        departure_deadline=command.departure_deadline,
        departure_obligation=obligation,
    )


def assess_risk(command: AssessRisk) -> RiskAssessed:
    factors = tuple(command.factors)
    require_unique(factors, "DUPLICATE_RISK_FACTOR")
    if command.level in (RiskLevel.MEDIUM, RiskLevel.HIGH) and not factors:
        raise violation("RISK_FACTORS_REQUIRED")
    return RiskAssessed(
        case_id=command.case_id,
        assessed_on=command.assessed_on,
        level=command.level,
        factors=factors,
        notes=clean_notes(command.notes),
    )
