"""The rules of the return case: stable codes, their messages, and input checks.

Every ``RuleViolation`` raised by ``decide`` uses a code from ``RULES`` and a fixed English
sentence. Messages are constants, never built from command values, so they cannot leak
personal data into logs or API errors.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable, Mapping
from datetime import date
from types import MappingProxyType

from service.domain.codes import is_country, is_language
from service.domain.errors import RuleViolation

__all__ = [
    "EARLIEST_DATE",
    "LATEST_DATE",
    "MAX_FULL_NAME_LENGTH",
    "MAX_NOTES_LENGTH",
    "MAX_PSEUDONYM_LENGTH",
    "MAX_REASON_LENGTH",
    "MAX_SLUG_LENGTH",
    "MIN_BIRTH_YEAR",
    "RULES",
    "clean_full_name",
    "clean_notes",
    "clean_optional_reason",
    "clean_pseudonym",
    "clean_required_reason",
    "clean_slug",
    "require_country",
    "require_date_in_range",
    "require_languages",
    "require_not_before",
    "require_unique",
    "violation",
]

MAX_PSEUDONYM_LENGTH = 100
MAX_FULL_NAME_LENGTH = 200
MAX_NOTES_LENGTH = 4000
MAX_REASON_LENGTH = 500
MAX_SLUG_LENGTH = 100
MIN_BIRTH_YEAR = 1900
# The window every date of a case must lie in (the date of birth has its own rule).
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2099, 12, 31)
# Bidirectional controls reorder what a reader sees (U+202E shows "gpj.exe" as "exe.jpg").
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                           "\u2066\u2067\u2068\u2069")  # fmt: skip

RULES: Mapping[str, str] = MappingProxyType(
    {
        # Lifecycle
        "CASE_CLOSED": (
            "A closed case accepts only reopening, withdrawal of consent and erasure of "
            "personal data."
        ),
        "CASE_NOT_CLOSED": "Only a closed case can be reopened.",
        "DATE_BEFORE_INTAKE": "Every date must be on or after the intake date of the case.",
        "DATE_OUT_OF_RANGE": "Every date must lie between 1 January 1990 and 31 December 2099.",
        "DATE_IN_FUTURE": (
            "A recorded date cannot lie in the future; only a planned departure date and a "
            "departure deadline may."
        ),
        "PSEUDONYM_NOT_VISIBLE": (
            "The pseudonym must contain visible characters and no bidirectional control characters."
        ),
        "DATE_BEFORE_CLOSING": "A case cannot be reopened before the date it was closed.",
        "USE_TRANSFER": (
            "A case is closed with reason TRANSFERRED only by transferring it to another shelter."
        ),
        "RETURNED_NEEDS_DEPARTURE": (
            "A case can be closed with reason RETURNED only after a departure is recorded."
        ),
        "DEPARTED_CLIENT_CANNOT_STAY": (
            "A case with a recorded departure cannot be closed with reason STAYED_IN_NETHERLANDS."
        ),
        "INVALID_ORGANISATION_SLUG": (
            "The receiving organisation must be given as its slug: lower-case letters and "
            "digits in groups joined by single hyphens, at most 100 characters."
        ),
        "REASON_REQUIRED": "A reason is required.",
        "REASON_TOO_LONG": "A reason can be at most 500 characters long.",
        "NOTES_TOO_LONG": "Notes can be at most 4000 characters long.",
        # Client profile
        "PSEUDONYM_REQUIRED": "A pseudonym is required.",
        "PSEUDONYM_TOO_LONG": "A pseudonym can be at most 100 characters long.",
        "FULL_NAME_TOO_LONG": "A full name can be at most 200 characters long.",
        "INVALID_BIRTH_YEAR": "The birth year must lie between 1900 and the year of intake.",
        "INVALID_DATE_OF_BIRTH": (
            "The date of birth must lie between 1 January 1900 and the intake date."
        ),
        "BIRTH_YEAR_MISMATCH": "The birth year must be the year of the date of birth.",
        "INVALID_COUNTRY_CODE": (
            "A country must be given as an assigned ISO 3166-1 alpha-2 code in capitals, "
            "such as NL."
        ),
        "INVALID_LANGUAGE_CODE": (
            "A language must be given as an ISO 639-1 code in lower case, such as nl."
        ),
        "DUPLICATE_LANGUAGE": "Each language can be listed only once.",
        "DUPLICATE_EXPLOITATION_FORM": "Each form of exploitation can be listed only once.",
        # Conversations and legal position
        "ALREADY_DEPARTED": "This cannot be recorded after the client has departed.",
        "DEADLINE_WITHOUT_OBLIGATION": (
            "A departure deadline can be recorded only when the client is obliged to leave: "
            "without a residence status, or when a victim's permit ends because the case "
            "against the traffickers was dismissed."
        ),
        # Risk
        "RISK_FACTORS_REQUIRED": "A medium or high risk level needs at least one risk factor.",
        "DUPLICATE_RISK_FACTOR": "Each risk factor can be listed only once.",
        # Consent and referrals
        "TRANSFER_RISKS_NOT_EXPLAINED": (
            "Consent to share data with an organisation outside the EU/EEA is valid only "
            "after the client was told the risks of that transfer (GDPR art. 49(1)(a))."
        ),
        "CONSENT_ALREADY_ACTIVE": (
            "The client already has an active consent for this organisation and purpose."
        ),
        "NO_ACTIVE_CONSENT": (
            "There is no active consent for this organisation and purpose to withdraw."
        ),
        "DATE_BEFORE_CONSENT": "Consent cannot be withdrawn before the date it was given.",
        "WITHDRAWAL_BEFORE_USE": (
            "Consent cannot be withdrawn on a date before personal data was shared under it "
            "(a referral contacted, accepted or completed)."
        ),
        "CONSENT_REQUIRED": (
            "Sharing personal data with a partner organisation needs the client's consent for "
            "that organisation and purpose, given on or before the contact and not withdrawn."
        ),
        "CONSENT_COUNTRY_MISMATCH": (
            "Personal data can be shared only with an organisation in the country the client "
            "consented to."
        ),
        "REFERRAL_EXISTS": "A referral with this id already exists.",
        "UNKNOWN_REFERRAL": "There is no referral with this id in this case.",
        "INVALID_REFERRAL_TRANSITION": (
            "A referral moves from REQUESTED to ACCEPTED, REJECTED or WITHDRAWN, and from "
            "ACCEPTED to COMPLETED or WITHDRAWN; no other status change is possible."
        ),
        "DATE_BEFORE_REFERRAL": (
            "A referral's status cannot change before the organisation was contacted."
        ),
        # Preparation and departure
        "NOT_IN_PREPARATION": (
            "This can be recorded only while a return is being prepared: the client wants "
            "to return or is obliged to leave."
        ),
        "SUPPORT_ALREADY_ARRANGED": "This kind of return support is already arranged.",
        "ORIGINAL_ID_REQUIRED": (
            "A travel document from the embassy can be requested only with an original "
            "identity document."
        ),
        "TRAVEL_DOCUMENT_NOT_REQUESTED": (
            "A travel document can be recorded as issued only after it was requested."
        ),
        "NOT_READY": (
            "The departure is not ready: every missing item is named below and in the case's "
            "readiness."
        ),
        "DESTINATION_MISMATCH": (
            "The destination country must be the one in the case's arrival arrangement."
        ),
        "FORCED_RETURN_NOT_PLANNED": (
            "A forced return is carried out by DT&V, not by the shelter: it is recorded when "
            "the shelter learns of it, never planned."
        ),
        "FORCED_RETURN_NEEDS_OBLIGATION": (
            "A forced return needs a departure obligation in the client's legal position."
        ),
        "FORCED_RETURN_NEEDS_REFUSAL_OR_DEADLINE": (
            "A forced return comes only after the client refused return help or the departure "
            "deadline passed without an independent departure."
        ),
        "EMERGENCY_NEEDS_ADMIN": (
            "Only a tenant admin or supervisor may record an emergency departure."
        ),
        "EMERGENCY_NOT_NEEDED": ("This departure is ready: record it without an emergency."),
        "EMERGENCY_ONLY_VOLUNTARY": (
            "An emergency departure is independent or assisted; a forced return follows its "
            "own rules."
        ),
        # Safe return: safety plan, help refused, arrival, minors
        "RISK_NOT_ASSESSED": "A safety plan can be written only after a risk assessment.",
        "SAFETY_PLAN_MEASURES_REQUIRED": (
            "A safety plan needs at least one risk factor, each with a measure that is not blank."
        ),
        "SAFETY_PLAN_MISMATCH": "A safety plan needs exactly one measure per risk factor.",
        "NO_SAFETY_PLAN": "There is no safety plan to approve.",
        "SAFETY_PLAN_ALREADY_APPROVED": "The current safety plan is already approved.",
        "SELF_APPROVAL": "A safety plan must be approved by someone other than its author.",
        "DATE_BEFORE_SAFETY_PLAN": "A safety plan cannot be approved before it was written.",
        "HELP_OFFERED_REQUIRED": (
            "Name at least one kind of return help that was offered to the client."
        ),
        "DUPLICATE_HELP": "Each kind of return help can be listed only once.",
        "PLACE_REQUIRED": "The place of destination (city or region) is required.",
        "PLACE_TOO_LONG": "The place of destination can be at most 200 characters long.",
        "RECEIVER_ORGANISATION_REQUIRED": (
            "When a partner organisation receives the client, name it from the social map; "
            "otherwise name none."
        ),
        "RECEIVER_ORGANISATION_COUNTRY_MISMATCH": (
            "The receiving partner organisation must be in the destination country."
        ),
        "GUARDIAN_REQUIRED": "The guardian (the guardianship organisation) is required.",
        "GUARDIAN_TOO_LONG": "The guardian can be at most 200 characters long.",
        # Reintegration plan
        "PLAN_ALREADY_AGREED": (
            "A reintegration plan is already agreed for this case: revise it instead."
        ),
        "NO_PLAN_TO_REVISE": "There is no agreed reintegration plan to revise.",
        "DATE_BEFORE_PLAN": ("A revision cannot be dated before the latest version of the plan."),
        "PLAN_GOALS_REQUIRED": (
            "A reintegration plan needs at least one goal, each with a description."
        ),
        "PLAN_GOALS_MISMATCH": (
            "Each goal needs its domain, responsible organisation (or none for the client and "
            "family), budget (or none), target date and description."
        ),
        "PLAN_GOALS_TOO_MANY": "A reintegration plan can have at most 50 goals.",
        "INVALID_BUDGET": "A support budget is a whole number of euros from 0 to 1000000.",
        "TARGET_DATE_BEFORE_PLAN": "A goal's target date cannot lie before the plan's date.",
        # Follow-up
        "FOLLOW_UP_BEFORE_DEPARTURE": "A follow-up can be recorded only after departure.",
        "DATE_BEFORE_DEPARTURE": "A follow-up cannot be dated before the departure.",
        "SITUATION_MISMATCH": (
            "A follow-up that reached the client needs the client's situation; one that did "
            "not reach the client cannot have one."
        ),
        "REACHED_MISMATCH": (
            "Who was reached can be given only for a follow-up that reached someone."
        ),
        "DUPLICATE_REACHED_PARTY": "Each person or organisation reached can be listed only once.",
        "DUPLICATE_PLAN_DOMAIN": "Each plan domain can be given only one situation.",
        "DUPLICATE_DANGER_SIGN": "Each sign of danger can be listed only once.",
        "ESCALATION_BEFORE_DEPARTURE": "An escalation after return needs a recorded departure.",
        # Case workers
        "INVALID_CASEWORKER": (
            "A case worker is named by the subject of their token: 1 to 255 characters "
            "without spaces or control characters."
        ),
        "CASEWORKER_ALREADY_ASSIGNED": "This case worker is already assigned to the case.",
    }
)

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def violation(rule: str, message: str | None = None) -> RuleViolation:
    """The ``RuleViolation`` for ``rule``, with its catalogue message unless one is given.

    A given message must be a constant sentence too: never pass command values into it.
    """
    return RuleViolation(rule, message if message is not None else RULES[rule])


def _clean(value: str | None, max_length: int, too_long_rule: str) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    if len(cleaned) > max_length:
        raise violation(too_long_rule)
    return cleaned or None


def clean_pseudonym(value: str) -> str:
    cleaned = _clean(value, MAX_PSEUDONYM_LENGTH, "PSEUDONYM_TOO_LONG")
    if cleaned is None:
        raise violation("PSEUDONYM_REQUIRED")
    visible = [c for c in cleaned if unicodedata.category(c)[0] not in "CZM"]
    if not visible or _BIDI_CONTROLS.intersection(cleaned):
        raise violation("PSEUDONYM_NOT_VISIBLE")
    return cleaned


def require_date_in_range(day: date) -> None:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise violation("DATE_OUT_OF_RANGE")


def clean_full_name(value: str | None) -> str | None:
    return _clean(value, MAX_FULL_NAME_LENGTH, "FULL_NAME_TOO_LONG")


def clean_notes(value: str | None) -> str | None:
    """Stripped notes; blank notes become ``None``."""
    return _clean(value, MAX_NOTES_LENGTH, "NOTES_TOO_LONG")


def clean_optional_reason(value: str | None) -> str | None:
    return _clean(value, MAX_REASON_LENGTH, "REASON_TOO_LONG")


def clean_required_reason(value: str | None, message: str | None = None) -> str:
    cleaned = clean_optional_reason(value)
    if cleaned is None:
        raise violation("REASON_REQUIRED", message)
    return cleaned


def clean_slug(value: str) -> str:
    cleaned = value.strip()
    if len(cleaned) > MAX_SLUG_LENGTH or _SLUG.fullmatch(cleaned) is None:
        raise violation("INVALID_ORGANISATION_SLUG")
    return cleaned


def require_country(code: str) -> None:
    if not is_country(code):
        raise violation("INVALID_COUNTRY_CODE")


def require_languages(codes: Iterable[str]) -> None:
    if not all(is_language(code) for code in codes):
        raise violation("INVALID_LANGUAGE_CODE")


def require_unique(values: Iterable[Hashable], rule: str) -> None:
    seen: set[Hashable] = set()
    for value in values:
        if value in seen:
            raise violation(rule)
        seen.add(value)


def require_not_before(day: date, earliest: date, rule: str) -> None:
    if day < earliest:
        raise violation(rule)
