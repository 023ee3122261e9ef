"""Closed vocabularies of the social map.

Like the return case's vocabularies, every member's value equals its name, so a value is
stored, imported and sent over the API exactly as it is spelled here. The schema exposes these
classes as GraphQL enums; the import accepts the same spellings (case-insensitive).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ChangeKind",
    "ContactChannelKind",
    "ImportFormat",
    "OrganisationKind",
    "ReturnSupportLevel",
    "Service",
    "SuggestionKind",
    "SuggestionStatus",
    "TargetGroup",
]


class Service(StrEnum):
    """What an organisation offers to a person who returns (or is about to)."""

    RETURN_COUNSELLING = "RETURN_COUNSELLING"
    TRAVEL_ASSISTANCE = "TRAVEL_ASSISTANCE"
    RECEPTION_ON_ARRIVAL = "RECEPTION_ON_ARRIVAL"
    SHELTER = "SHELTER"
    MEDICAL_CARE = "MEDICAL_CARE"
    PSYCHOSOCIAL_SUPPORT = "PSYCHOSOCIAL_SUPPORT"
    LEGAL_AID = "LEGAL_AID"
    EDUCATION_AND_VOCATIONAL_TRAINING = "EDUCATION_AND_VOCATIONAL_TRAINING"
    INCOME_SUPPORT = "INCOME_SUPPORT"
    FAMILY_TRACING = "FAMILY_TRACING"


class OrganisationKind(StrEnum):
    NGO = "NGO"
    GOVERNMENT = "GOVERNMENT"
    INTERNATIONAL_ORGANISATION = "INTERNATIONAL_ORGANISATION"
    SHELTER = "SHELTER"
    COORDINATION_CENTRE = "COORDINATION_CENTRE"
    OTHER = "OTHER"


class TargetGroup(StrEnum):
    WOMEN = "WOMEN"
    MEN = "MEN"
    MINORS = "MINORS"
    FAMILIES = "FAMILIES"
    LGBTIQ = "LGBTIQ"
    ALL = "ALL"


class ContactChannelKind(StrEnum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    WEBSITE = "WEBSITE"
    ADDRESS = "ADDRESS"


class ReturnSupportLevel(StrEnum):
    """How a Dutch organisation supports return: it informs, or it guides the departure."""

    GENERAL_INFORMATION = "GENERAL_INFORMATION"
    HANDS_ON_GUIDANCE = "HANDS_ON_GUIDANCE"


class ChangeKind(StrEnum):
    """What one entry of an organisation's history did."""

    CREATED = "CREATED"
    UPDATED = "UPDATED"
    RETIRED = "RETIRED"
    CONFIRMED = "CONFIRMED"  # checked by an editor and found still right; nothing else changed


class ImportFormat(StrEnum):
    CSV = "CSV"
    JSON = "JSON"
    HTCDS_CSV = "HTCDS_CSV"  # HTCDS 2.0 organisation fields (org_Name, ...), as CSV
    HTCDS_JSON = "HTCDS_JSON"  # the same, as a JSON array of objects


class SuggestionKind(StrEnum):
    """What a shelter suggests to CoMensha's editors."""

    ORGANISATION_CHANGE = "ORGANISATION_CHANGE"
    NEW_ORGANISATION = "NEW_ORGANISATION"
    MECHANISM_STEP_CORRECTION = "MECHANISM_STEP_CORRECTION"


class SuggestionStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
