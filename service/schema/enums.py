"""The domain's closed vocabularies, exposed as GraphQL enums (one definition, no copies)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

import strawberry

from service.domain import vocabulary as v

EnumT = TypeVar("EnumT", bound=Enum)

Phase = strawberry.enum(v.Phase, description="Where a return case stands; derived from events.")
Gender = strawberry.enum(v.Gender)
ExploitationForm = strawberry.enum(v.ExploitationForm)
ReturnWish = strawberry.enum(v.ReturnWish)
ResidenceStatus = strawberry.enum(v.ResidenceStatus)
ProceedingsStage = strawberry.enum(v.ProceedingsStage)
RiskLevel = strawberry.enum(v.RiskLevel)
RiskFactor = strawberry.enum(v.RiskFactor)
ConsentPurpose = strawberry.enum(v.ConsentPurpose)
ReferralStatus = strawberry.enum(v.ReferralStatus)
ReturnSupportKind = strawberry.enum(v.ReturnSupportKind)
TravelDocumentStatus = strawberry.enum(v.TravelDocumentStatus)
DepartureMode = strawberry.enum(v.DepartureMode)
ClientSituation = strawberry.enum(v.ClientSituation)
ClosingReason = strawberry.enum(v.ClosingReason)


def _described(cls: type[EnumT], description: str, values: Mapping[str, str]) -> type[EnumT]:
    """``cls`` as a GraphQL enum with a description for the type and for every value."""
    if set(values) != {member.name for member in cls}:
        raise ValueError(f"every value of {cls.__name__} needs a description")
    strawberry.enum(cls, description=description)
    for value in cls.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = values[value.name]
    return cls


ReachedParty = _described(
    v.ReachedParty,
    "Who a follow-up contact after return reached.",
    {
        "CLIENT": "The client in person.",
        "PARTNER_ORGANISATION": "The partner organisation supporting the client.",
        "FAMILY": "The client's family.",
    },
)
DangerSign = _described(
    v.DangerSign,
    "A sign of re-trafficking or danger noticed in a follow-up contact after return.",
    {
        "APPROACHED_BY_RECRUITERS": "Recruiters or intermediaries approached the client.",
        "CONTACT_WITH_TRAFFICKERS": "The client is in contact with the traffickers again.",
        "THREATS_OR_VIOLENCE": "The client or family is threatened or met with violence.",
        "DEBT_PRESSURE": "Debts are being claimed from the client or family.",
        "EXPLOITED_AGAIN": "The client is being exploited again.",
        "PLANS_UNSAFE_MIGRATION": "The client plans to migrate again through unsafe channels.",
        "REJECTED_BY_FAMILY_OR_COMMUNITY": "Family or community reject or stigmatise the client.",
        "CLIENT_MISSING": "No one knows where the client is.",
        "OTHER": "Another sign of danger (say which in the notes).",
    },
)
EscalationAction = _described(
    v.EscalationAction,
    "What was done when a follow-up after return called for escalation.",
    {
        "PARTNER_ORGANISATION_ALERTED": "The partner organisation was alerted to act.",
        "LOCAL_AUTHORITIES_ALERTED": "Police or authorities in the country of return were alerted.",
        "REFERRED_TO_PROTECTION": "The client was referred to shelter or protection.",
        "SAFETY_PLAN_UPDATED": "The safety plan was updated with the client.",
        "COMENSHA_INFORMED": "CoMensha was informed.",
        "OTHER": "Another action (say which in the notes).",
    },
)
PlanDomain = _described(
    v.PlanDomain,
    "A domain of the reintegration plan, in which the client's situation is followed.",
    {
        "HOUSING": "A safe place to live.",
        "INCOME_AND_WORK": "Income, work and training for work.",
        "HEALTH": "Physical and mental health care.",
        "EDUCATION": "School or education.",
        "SAFETY": "Safety from traffickers and others who threaten the client.",
        "FAMILY": "Relations with family and community.",
        "LEGAL_AND_DOCUMENTS": "Identity papers, legal matters and proceedings.",
    },
)
