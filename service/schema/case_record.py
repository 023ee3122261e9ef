"""GraphQL types of the case record: every fact a case's events record, as typed fields.

The facts come from ``service.domain.return_case.record`` through the request's
``case_record_loader`` (the events of every case in the response in one statement). Personal
parts (notes, free-text reasons) are read from the opened event of the fact's version, only
when selected, and every value returned is recorded in the personal-data access log under the
name ``<field of ReturnCase>.<field>`` (for example ``riskAssessments.notes``).

To show a new fact: a type here with ``of``, a resolver below, and one field on ``ReturnCase``
(``strawberry.field(resolver=...)``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Protocol

import strawberry

from service.domain import vocabulary as v
from service.domain.return_case import record as r
from service.schema.context import Info

PERSONAL_NOTE = (
    " Personal data: shown to the case's own shelter only, recorded in the personal-data "
    "access log, and null once the client's personal data was erased."
)


async def personal_value(
    info: Info, case_id: uuid.UUID, version: int | None, field: str, logged_as: str
) -> str | None:
    """The personal field ``field`` of the event ``version`` of the case, decrypted; a value
    returned is recorded in the access log as ``logged_as``."""
    if version is None:
        return None
    events = await info.context.opened_events_loader().load(case_id)
    value = getattr(events.get(version), field, None)
    if value is None:
        return None
    info.context.personal_reads.setdefault(case_id, set()).add(logged_as)
    return str(value)


@strawberry.type(
    description="A return conversation (phase ORIENTATION onwards): the client's wish as "
    "expressed on that day. A wish WANTS_TO_RETURN moves the case to PREPARATION."
)
class ReturnConversation:
    case_id: strawberry.Private[uuid.UUID]
    version: strawberry.Private[int]
    held_on: dt.date = strawberry.field(description="The day of the conversation.")
    wish: v.ReturnWish = strawberry.field(description="The wish the client expressed.")

    @strawberry.field(description="What was discussed." + PERSONAL_NOTE)  # type: ignore[untyped-decorator]
    async def notes(self, info: Info) -> str | None:
        return await personal_value(
            info, self.case_id, self.version, "notes", "returnConversations.notes"
        )

    @classmethod
    def of(cls, case_id: uuid.UUID, fact: r.ReturnConversation) -> ReturnConversation:
        return cls(case_id=case_id, version=fact.version, held_on=fact.held_on, wish=fact.wish)


@strawberry.type(
    description="The client's legal position in the Netherlands as recorded on one day. "
    "Without a residence status, or when a victim's permit ends because the case against the "
    "traffickers was dismissed, departure becomes an obligation and the case enters PREPARATION."
)
class LegalPosition:
    recorded_on: dt.date = strawberry.field(description="The day this position was recorded.")
    residence_status: v.ResidenceStatus = strawberry.field(
        description="The residence status on that day."
    )
    proceedings_stage: v.ProceedingsStage = strawberry.field(
        description="The stage of the criminal proceedings against the traffickers."
    )
    departure_deadline: dt.date | None = strawberry.field(
        description="The day by which the client must have left, if one was set."
    )
    departure_obligation: bool = strawberry.field(
        description="True when the client must leave the Netherlands; derived by the service "
        "from status and proceedings, never entered by hand."
    )

    @classmethod
    def of(cls, fact: r.LegalPosition) -> LegalPosition:
        return cls(
            recorded_on=fact.recorded_on,
            residence_status=fact.residence_status,
            proceedings_stage=fact.proceedings_stage,
            departure_deadline=fact.departure_deadline,
            departure_obligation=fact.departure_obligation,
        )


@strawberry.type(
    description="A risk assessment for the return (phase PREPARATION): the level and the risk "
    "factors found. A departure should rest on a recent one."
)
class RiskAssessment:
    case_id: strawberry.Private[uuid.UUID]
    version: strawberry.Private[int]
    assessed_on: dt.date = strawberry.field(description="The day of the assessment.")
    level: v.RiskLevel = strawberry.field(description="The overall risk level of a return.")
    factors: list[v.RiskFactor] = strawberry.field(description="The risk factors found.")

    @strawberry.field(description="The assessor's reasoning." + PERSONAL_NOTE)  # type: ignore[untyped-decorator]
    async def notes(self, info: Info) -> str | None:
        return await personal_value(
            info, self.case_id, self.version, "notes", "riskAssessments.notes"
        )

    @classmethod
    def of(cls, case_id: uuid.UUID, fact: r.RiskAssessment) -> RiskAssessment:
        return cls(
            case_id=case_id,
            version=fact.version,
            assessed_on=fact.assessed_on,
            level=fact.level,
            factors=list(fact.factors),
        )


@strawberry.type(
    description="One step in a referral's status history: REQUESTED when the partner was "
    "contacted, then ACCEPTED, REJECTED, WITHDRAWN or COMPLETED."
)
class ReferralStatusChange:
    case_id: strawberry.Private[uuid.UUID]
    version: strawberry.Private[int]
    status: v.ReferralStatus = strawberry.field(description="The status from this day on.")
    changed_on: dt.date = strawberry.field(description="The day the status changed.")

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="Why the referral was rejected or withdrawn (required then); null for the "
        "first step." + PERSONAL_NOTE
    )
    async def reason(self, info: Info) -> str | None:
        return await personal_value(
            info, self.case_id, self.version, "reason", "referrals.statusHistory.reason"
        )

    @classmethod
    def of(cls, case_id: uuid.UUID, fact: r.ReferralStatusChange) -> ReferralStatusChange:
        return cls(
            case_id=case_id,
            version=fact.version,
            status=fact.status,
            changed_on=fact.changed_on,
        )


@strawberry.type(
    description="Return support arranged for the client (phase PREPARATION): IOM basic or "
    "reintegration support, DT&V, or organised by the client. IOM reintegration support needs "
    "a written reintegration plan."
)
class ReturnSupport:
    kind: v.ReturnSupportKind = strawberry.field(description="Who supports the return.")
    arranged_on: dt.date = strawberry.field(description="The day it was arranged.")

    @classmethod
    def of(cls, fact: r.ReturnSupport) -> ReturnSupport:
        return cls(kind=fact.kind, arranged_on=fact.arranged_on)


@strawberry.type(
    description="A step with the client's travel document (phase PREPARATION): requested from "
    "the embassy, then issued. A request needs the original identity document."
)
class TravelDocument:
    status: v.TravelDocumentStatus = strawberry.field(description="Requested or issued.")
    recorded_on: dt.date = strawberry.field(description="The day of this step.")
    original_identity_document: bool = strawberry.field(
        description="Whether the client's original identity document was available."
    )

    @classmethod
    def of(cls, fact: r.TravelDocument) -> TravelDocument:
        return cls(
            status=fact.status,
            recorded_on=fact.recorded_on,
            original_identity_document=fact.original_identity_document,
        )


@strawberry.type(
    description="A planned departure (phase PREPARATION): the date may lie ahead; a later plan "
    "replaces an earlier one."
)
class PlannedDeparture:
    planned_on: dt.date = strawberry.field(description="The planned day of departure.")
    destination_country: str = strawberry.field(
        description="ISO 3166-1 alpha-2 code of the country the client plans to go to."
    )

    @classmethod
    def of(cls, fact: r.PlannedDeparture) -> PlannedDeparture:
        return cls(planned_on=fact.planned_on, destination_country=fact.destination_country)


@strawberry.type(
    description="The client's actual departure, which moves the case to DEPARTED. A forced "
    "departure is carried out by DT&V; the shelter records it as a fact it learns."
)
class Departure:
    departed_on: dt.date = strawberry.field(description="The day the client left.")
    mode: v.DepartureMode = strawberry.field(
        description="Independent, assisted, or forced (by DT&V)."
    )
    destination_country: str = strawberry.field(
        description="ISO 3166-1 alpha-2 code of the country the client left for."
    )

    @classmethod
    def of(cls, fact: r.DepartureRecord) -> Departure:
        return cls(
            departed_on=fact.departed_on,
            mode=fact.mode,
            destination_country=fact.destination_country,
        )


@strawberry.type(
    description="A follow-up contact after return (phase FOLLOW_UP; typically at 3, 6 and 12 "
    "months): whether the client was reached and how they were doing."
)
class FollowUp:
    case_id: strawberry.Private[uuid.UUID]
    version: strawberry.Private[int]
    contacted_on: dt.date = strawberry.field(description="The day of the contact attempt.")
    reached: bool = strawberry.field(description="Whether the client was reached.")
    situation: v.ClientSituation | None = strawberry.field(
        description="The client's situation as found; null when not reached."
    )
    months_after_departure: int = strawberry.field(
        description="Whole months from departure to this contact (derived)."
    )

    @strawberry.field(description="What was found." + PERSONAL_NOTE)  # type: ignore[untyped-decorator]
    async def notes(self, info: Info) -> str | None:
        return await personal_value(info, self.case_id, self.version, "notes", "followUps.notes")

    @classmethod
    def of(cls, case_id: uuid.UUID, fact: r.FollowUp) -> FollowUp:
        return cls(
            case_id=case_id,
            version=fact.version,
            contacted_on=fact.contacted_on,
            reached=fact.reached,
            situation=fact.situation,
            months_after_departure=fact.months_after_departure,
        )


@strawberry.type(
    description="A closing of the case (phase CLOSED), with its reason; a transfer to another "
    "shelter closes it with reason TRANSFERRED. A reopening ends the closing."
)
class CaseClosing:
    case_id: strawberry.Private[uuid.UUID]
    version: strawberry.Private[int]
    reopening_version: strawberry.Private[int | None]
    reason: v.ClosingReason = strawberry.field(description="Why the case was closed.")
    closed_on: dt.date = strawberry.field(description="The day it was closed or transferred.")
    transferred_to: str | None = strawberry.field(
        description="Slug of the shelter that took the case over; set for TRANSFERRED only."
    )
    reopened_on: dt.date | None = strawberry.field(
        description="The day the case was reopened after this closing; null while closed."
    )

    @strawberry.field(description="Notes on the closing." + PERSONAL_NOTE)  # type: ignore[untyped-decorator]
    async def notes(self, info: Info) -> str | None:
        return await personal_value(info, self.case_id, self.version, "notes", "closings.notes")

    @strawberry.field(description="Why the case was reopened." + PERSONAL_NOTE)  # type: ignore[untyped-decorator]
    async def reopening_reason(self, info: Info) -> str | None:
        return await personal_value(
            info, self.case_id, self.reopening_version, "reason", "closings.reopeningReason"
        )

    @classmethod
    def of(cls, case_id: uuid.UUID, fact: r.Closing) -> CaseClosing:
        return cls(
            case_id=case_id,
            version=fact.version,
            reopening_version=fact.reopening_version,
            reason=fact.reason,
            closed_on=fact.closed_on,
            transferred_to=fact.transferred_to,
            reopened_on=fact.reopened_on,
        )


@strawberry.type(
    description="An erasure of the client's personal data (any phase): the client's key was "
    "destroyed, so every personal field recorded before it reads as null."
)
class PersonalDataErasure:
    erased_on: dt.date = strawberry.field(description="The day of the erasure.")
    reason: v.ErasureReason = strawberry.field(
        description="Why, as a code; stays readable (the optional note is erased with the rest)."
    )

    @classmethod
    def of(cls, fact: r.Erasure) -> PersonalDataErasure:
        return cls(erased_on=fact.erased_on, reason=fact.reason)


# -- the fields of ReturnCase ----------------------------------------------------------------


class HasCaseId(Protocol):
    """The parent of a case record field: a ``ReturnCase``."""

    case_id: uuid.UUID


async def return_conversations(root: HasCaseId, info: Info) -> list[ReturnConversation]:
    record = await info.context.case_record_loader().load(root.case_id)
    return [ReturnConversation.of(root.case_id, f) for f in record.return_conversations]


async def legal_positions(root: HasCaseId, info: Info) -> list[LegalPosition]:
    record = await info.context.case_record_loader().load(root.case_id)
    return [LegalPosition.of(f) for f in record.legal_positions]


async def risk_assessments(root: HasCaseId, info: Info) -> list[RiskAssessment]:
    record = await info.context.case_record_loader().load(root.case_id)
    return [RiskAssessment.of(root.case_id, f) for f in record.risk_assessments]


async def return_support(root: HasCaseId, info: Info) -> list[ReturnSupport]:
    record = await info.context.case_record_loader().load(root.case_id)
    return [ReturnSupport.of(f) for f in record.return_support]


async def travel_documents(root: HasCaseId, info: Info) -> list[TravelDocument]:
    record = await info.context.case_record_loader().load(root.case_id)
    return [TravelDocument.of(f) for f in record.travel_documents]


async def planned_departures(root: HasCaseId, info: Info) -> list[PlannedDeparture]:
    record = await info.context.case_record_loader().load(root.case_id)
    return [PlannedDeparture.of(f) for f in record.planned_departures]


async def departure(root: HasCaseId, info: Info) -> Departure | None:
    record = await info.context.case_record_loader().load(root.case_id)
    departure = record.departure
    return None if departure is None else Departure.of(departure)


async def follow_ups(root: HasCaseId, info: Info) -> list[FollowUp]:
    record = await info.context.case_record_loader().load(root.case_id)
    return [FollowUp.of(root.case_id, f) for f in record.follow_ups]


async def closings(root: HasCaseId, info: Info) -> list[CaseClosing]:
    record = await info.context.case_record_loader().load(root.case_id)
    return [CaseClosing.of(root.case_id, f) for f in record.closings]


async def personal_data_erasures(root: HasCaseId, info: Info) -> list[PersonalDataErasure]:
    record = await info.context.case_record_loader().load(root.case_id)
    return [PersonalDataErasure.of(f) for f in record.erasures]


__all__ = [
    "CaseClosing",
    "Departure",
    "FollowUp",
    "HasCaseId",
    "LegalPosition",
    "PersonalDataErasure",
    "PlannedDeparture",
    "ReferralStatusChange",
    "ReturnConversation",
    "ReturnSupport",
    "RiskAssessment",
    "TravelDocument",
    "personal_value",
]
