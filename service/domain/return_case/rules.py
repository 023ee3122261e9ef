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
            "The pseudonym must contain visible characters and no bidirectional control "
            "characters."
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
        "DEPARTURE_NEEDS_PREPARATION": (
            "An independent or assisted departure needs a prepared return: the client wants "
            "to return or is obliged to leave."
        ),
        "ASSISTED_DEPARTURE_NEEDS_SUPPORT": (
            "An assisted departure needs IOM or DT&V return support to be arranged first."
        ),
        # Follow-up
        "FOLLOW_UP_BEFORE_DEPARTURE": "A follow-up can be recorded only after departure.",
        "DATE_BEFORE_DEPARTURE": "A follow-up cannot be dated before the departure.",
        "SITUATION_MISMATCH": (
            "A follow-up that reached the client needs the client's situation; one that did "
            "not reach the client cannot have one."
        ),
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
