"""Closed vocabularies of the return case.

Every vocabulary is a ``StrEnum`` whose values equal their names, so a value is stored and sent
over the API exactly as it is spelled here. Adding a member is a schema change for events that
carry it; renaming or removing one needs an upcaster.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ArrivalReceiver",
    "ClientSituation",
    "ClosingReason",
    "ConsentPurpose",
    "DangerSign",
    "DepartureMode",
    "ErasureReason",
    "EscalationAction",
    "ExploitationForm",
    "FamilyAssessmentOutcome",
    "Gender",
    "Phase",
    "PlanDomain",
    "ProceedingsStage",
    "ReachedParty",
    "ReferralStatus",
    "ResidenceStatus",
    "ReturnHelp",
    "ReturnSupportKind",
    "ReturnWish",
    "RiskFactor",
    "RiskLevel",
    "TravelDocumentStatus",
]


class Phase(StrEnum):
    """Where a case stands; always derived from the recorded facts, never set by hand."""

    INTAKE = "INTAKE"
    ORIENTATION = "ORIENTATION"
    PREPARATION = "PREPARATION"
    DEPARTED = "DEPARTED"
    FOLLOW_UP = "FOLLOW_UP"
    CLOSED = "CLOSED"


class Gender(StrEnum):
    FEMALE = "FEMALE"
    MALE = "MALE"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class ExploitationForm(StrEnum):
    """Forms of exploitation, following the usual classification of human trafficking."""

    SEXUAL_EXPLOITATION = "SEXUAL_EXPLOITATION"
    FORCED_LABOUR = "FORCED_LABOUR"
    FORCED_CRIMINAL_ACTIVITY = "FORCED_CRIMINAL_ACTIVITY"
    FORCED_BEGGING = "FORCED_BEGGING"
    SERVITUDE = "SERVITUDE"
    FORCED_MARRIAGE = "FORCED_MARRIAGE"
    ORGAN_REMOVAL = "ORGAN_REMOVAL"
    OTHER = "OTHER"


class ReturnWish(StrEnum):
    """The client's wish as expressed in a return conversation."""

    WANTS_TO_RETURN = "WANTS_TO_RETURN"
    UNDECIDED = "UNDECIDED"
    DOES_NOT_WANT_TO_RETURN = "DOES_NOT_WANT_TO_RETURN"


class ResidenceStatus(StrEnum):
    """Residence position in the Netherlands."""

    REFLECTION_PERIOD = "REFLECTION_PERIOD"
    TEMPORARY_VICTIM_PERMIT = "TEMPORARY_VICTIM_PERMIT"
    WITNESS_COMPLAINANT_PERMIT = "WITNESS_COMPLAINANT_PERMIT"
    ASYLUM = "ASYLUM"
    EU_CITIZEN = "EU_CITIZEN"
    NONE = "NONE"


class ProceedingsStage(StrEnum):
    """Stage of the criminal proceedings against the traffickers."""

    NOT_REPORTED = "NOT_REPORTED"
    REPORTED = "REPORTED"
    INVESTIGATION = "INVESTIGATION"
    PROSECUTION = "PROSECUTION"
    CONCLUDED = "CONCLUDED"
    DISMISSED = "DISMISSED"


class RiskLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class RiskFactor(StrEnum):
    RE_TRAFFICKING = "RE_TRAFFICKING"
    FAMILY_OR_NETWORK_INVOLVEMENT = "FAMILY_OR_NETWORK_INVOLVEMENT"
    DEBTS = "DEBTS"
    STIGMA = "STIGMA"
    HEALTH = "HEALTH"
    OTHER = "OTHER"


class ConsentPurpose(StrEnum):
    """What the client consents to when data is shared with a partner organisation."""

    REFERRAL = "REFERRAL"
    REINTEGRATION_SUPPORT = "REINTEGRATION_SUPPORT"
    FOLLOW_UP_MONITORING = "FOLLOW_UP_MONITORING"
    TRANSFER = "TRANSFER"


class ReferralStatus(StrEnum):
    REQUESTED = "REQUESTED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"
    COMPLETED = "COMPLETED"


class ReturnSupportKind(StrEnum):
    """IOM basic return support, IOM reintegration support, DT&V, or organised by the client."""

    IOM_BASIC = "IOM_BASIC"
    IOM_REINTEGRATION = "IOM_REINTEGRATION"
    DTV = "DTV"
    SELF_ORGANISED = "SELF_ORGANISED"


class TravelDocumentStatus(StrEnum):
    """REQUESTED and ISSUED: a document from the embassy; OWN_VALID: the client's own."""

    REQUESTED = "REQUESTED"
    ISSUED = "ISSUED"
    OWN_VALID = "OWN_VALID"


class DepartureMode(StrEnum):
    INDEPENDENT = "INDEPENDENT"
    ASSISTED = "ASSISTED"
    FORCED = "FORCED"


class ClientSituation(StrEnum):
    """The client's situation as found in a follow-up contact after return."""

    STABLE = "STABLE"
    VULNERABLE = "VULNERABLE"
    AT_RISK = "AT_RISK"


class ClosingReason(StrEnum):
    RETURNED = "RETURNED"
    STAYED_IN_NETHERLANDS = "STAYED_IN_NETHERLANDS"
    LEFT_FOR_THIRD_COUNTRY = "LEFT_FOR_THIRD_COUNTRY"
    WITHDREW = "WITHDREW"
    LOST_CONTACT = "LOST_CONTACT"
    TRANSFERRED = "TRANSFERRED"


class ReachedParty(StrEnum):
    """Who a follow-up contact after return reached."""

    CLIENT = "CLIENT"
    PARTNER_ORGANISATION = "PARTNER_ORGANISATION"
    FAMILY = "FAMILY"


class DangerSign(StrEnum):
    """Signs of re-trafficking or danger noticed in a follow-up contact after return."""

    APPROACHED_BY_RECRUITERS = "APPROACHED_BY_RECRUITERS"
    CONTACT_WITH_TRAFFICKERS = "CONTACT_WITH_TRAFFICKERS"
    THREATS_OR_VIOLENCE = "THREATS_OR_VIOLENCE"
    DEBT_PRESSURE = "DEBT_PRESSURE"
    EXPLOITED_AGAIN = "EXPLOITED_AGAIN"
    PLANS_UNSAFE_MIGRATION = "PLANS_UNSAFE_MIGRATION"
    REJECTED_BY_FAMILY_OR_COMMUNITY = "REJECTED_BY_FAMILY_OR_COMMUNITY"
    CLIENT_MISSING = "CLIENT_MISSING"
    OTHER = "OTHER"


class EscalationAction(StrEnum):
    """What was done when a follow-up after return called for escalation."""

    PARTNER_ORGANISATION_ALERTED = "PARTNER_ORGANISATION_ALERTED"
    LOCAL_AUTHORITIES_ALERTED = "LOCAL_AUTHORITIES_ALERTED"
    REFERRED_TO_PROTECTION = "REFERRED_TO_PROTECTION"
    SAFETY_PLAN_UPDATED = "SAFETY_PLAN_UPDATED"
    COMENSHA_INFORMED = "COMENSHA_INFORMED"
    OTHER = "OTHER"


class ArrivalReceiver(StrEnum):
    """Who receives the client on arrival in the country of return."""

    PARTNER_ORGANISATION = "PARTNER_ORGANISATION"
    FAMILY = "FAMILY"
    IOM = "IOM"
    NOBODY = "NOBODY"


class FamilyAssessmentOutcome(StrEnum):
    """The outcome of tracing and assessing a minor's family in the country of origin."""

    SAFE = "SAFE"
    UNSAFE = "UNSAFE"
    NOT_TRACED = "NOT_TRACED"


class ReturnHelp(StrEnum):
    """Help with an independent return that can be offered to (and refused by) the client."""

    IOM_BASIC = "IOM_BASIC"
    IOM_REINTEGRATION = "IOM_REINTEGRATION"
    DTV = "DTV"
    SHELTER = "SHELTER"


class PlanDomain(StrEnum):
    """The domains of life a reintegration plan sets goals in."""

    HOUSING = "HOUSING"
    INCOME_AND_WORK = "INCOME_AND_WORK"
    HEALTH = "HEALTH"
    EDUCATION = "EDUCATION"
    SAFETY = "SAFETY"
    FAMILY = "FAMILY"
    LEGAL_AND_DOCUMENTS = "LEGAL_AND_DOCUMENTS"


class ErasureReason(StrEnum):
    """Why a client's personal data was erased: a code, never free text (it stays readable
    in the log and reaches integrators)."""

    CLIENT_REQUEST = "CLIENT_REQUEST"
    RETENTION = "RETENTION"
    LEGAL_OBLIGATION = "LEGAL_OBLIGATION"
    OTHER = "OTHER"
