"""The domain's closed vocabularies, exposed as GraphQL enums (one definition, no copies).

The domain enums stay pure Python; their GraphQL descriptions, and those of every value, are
given here (``describe_values``), so the documentation pane explains each term.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

import strawberry

from service.domain import vocabulary as v

EnumT = TypeVar("EnumT", bound=Enum)


def describe_values(enum: Any, descriptions: Mapping[str, str]) -> None:
    """Give the values of a GraphQL enum (made with ``strawberry.enum``) their descriptions,
    by value name."""
    for value in enum.__strawberry_definition__.values:
        value.description = descriptions.get(value.name, value.description)


Phase = strawberry.enum(
    v.Phase,
    description="Where a return case stands in the order of steps. Derived from the recorded "
    "facts every time it is read, never set by hand: INTAKE -> ORIENTATION -> PREPARATION -> "
    "DEPARTED -> FOLLOW_UP -> CLOSED.",
)
describe_values(
    Phase,
    {
        "INTAKE": "Step 1. The case is open (openReturnCase) and the client is in care; return "
        "has not been discussed yet. Next: recordReturnConversation.",
        "ORIENTATION": "Step 2. Return has been discussed (recordReturnConversation) but the "
        "client does not (yet) want to return and has no departure obligation. A wish "
        "WANTS_TO_RETURN, or a legal position with a departure obligation, leads to PREPARATION.",
        "PREPARATION": "Step 3. The client wants to or must return: assess the risk, record "
        "consent, contact partner organisations, arrange return support and the travel "
        "document, agree a reintegration plan, plan the departure. Next: recordDeparture.",
        "DEPARTED": "Step 4. The client has left (recordDeparture). Next: recordFollowUp.",
        "FOLLOW_UP": "Step 5. At least one follow-up contact after return was recorded "
        "(typically at 3, 6 and 12 months). Next: closeReturnCase.",
        "CLOSED": "Step 6. The case was closed with a reason (closeReturnCase) or transferred "
        "to another shelter (transferCase). It accepts only reopenReturnCase, withdrawConsent and "
        "eraseClientPersonalData (CASE_CLOSED).",
    },
)
Gender = strawberry.enum(v.Gender, description="The client's gender, as the client states it.")
describe_values(
    Gender,
    {
        "FEMALE": "Female.",
        "MALE": "Male.",
        "OTHER": "Another gender identity.",
        "UNKNOWN": "Not known or not stated.",
    },
)
ExploitationForm = strawberry.enum(
    v.ExploitationForm,
    description="Forms of exploitation, following the usual classification of human "
    "trafficking (as in the Human Trafficking Case Data Standard).",
)
describe_values(
    ExploitationForm,
    {
        "SEXUAL_EXPLOITATION": "Sexual exploitation.",
        "FORCED_LABOUR": "Forced labour or labour exploitation.",
        "FORCED_CRIMINAL_ACTIVITY": "Forced criminal activity (e.g. drug trade, theft).",
        "FORCED_BEGGING": "Forced begging.",
        "SERVITUDE": "Servitude, including domestic servitude.",
        "FORCED_MARRIAGE": "Forced marriage.",
        "ORGAN_REMOVAL": "Removal of organs.",
        "OTHER": "Another form of exploitation.",
    },
)
ReturnWish = strawberry.enum(
    v.ReturnWish,
    description="The client's wish about return, as expressed in a return conversation; the "
    "latest one counts.",
)
describe_values(
    ReturnWish,
    {
        "WANTS_TO_RETURN": "The client wants to return: the case moves to PREPARATION.",
        "UNDECIDED": "The client has not decided: the case stays in ORIENTATION.",
        "DOES_NOT_WANT_TO_RETURN": "The client does not want to return: the case stays in "
        "ORIENTATION unless a departure obligation applies.",
    },
)
ResidenceStatus = strawberry.enum(
    v.ResidenceStatus, description="The client's residence position in the Netherlands."
)
describe_values(
    ResidenceStatus,
    {
        "REFLECTION_PERIOD": "The reflection period (up to three months) to decide whether to "
        "report the trafficking.",
        "TEMPORARY_VICTIM_PERMIT": "The temporary residence permit for victims of human "
        "trafficking, tied to the criminal proceedings.",
        "WITNESS_COMPLAINANT_PERMIT": "The residence permit for witness-complainants.",
        "ASYLUM": "An asylum application or asylum permit.",
        "EU_CITIZEN": "An EU citizen, with the right of free movement.",
        "NONE": "No lawful residence: departure is an obligation.",
    },
)
ProceedingsStage = strawberry.enum(
    v.ProceedingsStage,
    description="The stage of the criminal proceedings against the traffickers; when the "
    "prosecutor drops the case, the right to stay ends and departure becomes an obligation.",
)
describe_values(
    ProceedingsStage,
    {
        "NOT_REPORTED": "The trafficking has not been reported to the police.",
        "REPORTED": "Reported to the police.",
        "INVESTIGATION": "Under investigation.",
        "PROSECUTION": "The prosecutor is prosecuting.",
        "CONCLUDED": "The proceedings are concluded.",
        "DISMISSED": "The prosecutor dropped the case.",
    },
)
RiskLevel = strawberry.enum(
    v.RiskLevel, description="The overall risk of a return, as a risk assessment found it."
)
describe_values(
    RiskLevel,
    {
        "LOW": "Low risk.",
        "MEDIUM": "Medium risk; needs at least one risk factor (RISK_FACTORS_REQUIRED).",
        "HIGH": "High risk; needs at least one risk factor (RISK_FACTORS_REQUIRED).",
    },
)
RiskFactor = strawberry.enum(v.RiskFactor, description="A risk a return may carry.")
describe_values(
    RiskFactor,
    {
        "RE_TRAFFICKING": "Risk of being trafficked again.",
        "FAMILY_OR_NETWORK_INVOLVEMENT": "Family or the client's network was involved in the "
        "trafficking.",
        "DEBTS": "Debts, e.g. to recruiters or traffickers.",
        "STIGMA": "Stigma or rejection in the community of return.",
        "HEALTH": "Health needs that care at the destination must meet.",
        "OTHER": "Another risk (explain in the notes).",
    },
)
ConsentPurpose = strawberry.enum(
    v.ConsentPurpose,
    description="What the client consents to when data is shared with a partner organisation; "
    "consent is per organisation and purpose.",
)
describe_values(
    ConsentPurpose,
    {
        "REFERRAL": "Referral to the organisation for support.",
        "REINTEGRATION_SUPPORT": "Reintegration support after return.",
        "FOLLOW_UP_MONITORING": "Monitoring of the client's situation after return.",
        "TRANSFER": "Transfer of the case to another shelter (the receiving shelter as the "
        "organisation); offerTransfer needs it.",
    },
)
ReferralStatus = strawberry.enum(
    v.ReferralStatus, description="Where a referral to a partner organisation stands."
)
describe_values(
    ReferralStatus,
    {
        "REQUESTED": "The partner was contacted; no answer yet.",
        "ACCEPTED": "The partner accepted the referral.",
        "REJECTED": "The partner declined (a reason is required).",
        "WITHDRAWN": "The shelter or client withdrew the referral (a reason is required).",
        "COMPLETED": "The partner's support was completed.",
    },
)
ReturnSupportKind = strawberry.enum(
    v.ReturnSupportKind, description="Who supports the client's return."
)
describe_values(
    ReturnSupportKind,
    {
        "IOM_BASIC": "IOM basic return support: information, ticket, escort at the airport, "
        "help on arrival.",
        "IOM_REINTEGRATION": "IOM reintegration support; needs a written reintegration plan.",
        "DTV": "Support by the Repatriation and Departure Service (DT&V).",
        "SELF_ORGANISED": "Organised by the client.",
    },
)
TravelDocumentStatus = strawberry.enum(
    v.TravelDocumentStatus, description="Where the client's travel document stands."
)
describe_values(
    TravelDocumentStatus,
    {
        "REQUESTED": "Requested from the embassy (needs an original identity document).",
        "ISSUED": "Issued; recordable only after a request (TRAVEL_DOCUMENT_NOT_REQUESTED).",
        "OWN_VALID": "The client's own valid passport or identity document, usable for travel.",
    },
)
DepartureMode = strawberry.enum(v.DepartureMode, description="How the client left.")
describe_values(
    DepartureMode,
    {
        "INDEPENDENT": "The client left on their own.",
        "ASSISTED": "The client left with help (IOM, DT&V or the shelter).",
        "FORCED": "Forced return by DT&V, only when the client must leave, did not leave "
        "independently and did not accept help; the shelter records it as a fact it learns.",
    },
)
ClientSituation = strawberry.enum(
    v.ClientSituation, description="The client's situation as found in a follow-up contact."
)
describe_values(
    ClientSituation,
    {
        "STABLE": "Safe and settled.",
        "VULNERABLE": "In need of support, but not in immediate danger.",
        "AT_RISK": "At risk (e.g. of re-trafficking): act with the partner organisation.",
    },
)
ClosingReason = strawberry.enum(v.ClosingReason, description="Why a case was closed.")
describe_values(
    ClosingReason,
    {
        "RETURNED": "The client returned to the country of origin.",
        "STAYED_IN_NETHERLANDS": "The client stays in the Netherlands.",
        "LEFT_FOR_THIRD_COUNTRY": "The client left for another country.",
        "WITHDREW": "The client withdrew from the return track.",
        "LOST_CONTACT": "Contact with the client was lost.",
        "TRANSFERRED": "The case moved to another shelter; set by transferCase only "
        "(USE_TRANSFER).",
    },
)


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
describe_values(
    strawberry.enum(
        v.ErasureReason,
        description="Why a client's personal data was erased: a code, kept readable after the "
        "erasure and sent to the shelter's integrators.",
    ),
    {
        "CLIENT_REQUEST": "The client asked for erasure (GDPR art. 17).",
        "RETENTION": "The retention period ended (retention run).",
        "LEGAL_OBLIGATION": "A law or a court requires the erasure.",
        "OTHER": "Another reason: say more in the note (personal data, erased with the rest).",
    },
)
ArrivalReceiver = strawberry.enum(
    v.ArrivalReceiver, description="Who receives the client on arrival in the country of return."
)
describe_values(
    ArrivalReceiver,
    {
        "PARTNER_ORGANISATION": "A partner organisation of the social map (name it).",
        "FAMILY": "The client's family.",
        "IOM": "IOM, as part of its return support.",
        "NOBODY": "Nobody: give the reason.",
    },
)
FamilyAssessmentOutcome = strawberry.enum(
    v.FamilyAssessmentOutcome,
    description="The outcome of tracing and assessing a minor's family in the country of origin.",
)
describe_values(
    FamilyAssessmentOutcome,
    {
        "SAFE": "The family was traced and assessed as safe to return to.",
        "UNSAFE": "The family was assessed as unsafe: a return needs a receiving partner "
        "organisation.",
        "NOT_TRACED": "The family could not be traced.",
    },
)
ReturnHelp = strawberry.enum(
    v.ReturnHelp,
    description="Help with an independent return that can be offered to, and refused by, the "
    "client.",
)
describe_values(
    ReturnHelp,
    {
        "IOM_BASIC": "IOM's basic return support.",
        "IOM_REINTEGRATION": "IOM's reintegration support.",
        "DTV": "Support by the Repatriation and Departure Service (DT&V).",
        "SHELTER": "Help by the shelter itself.",
    },
)
