"""Read model ``case_timeline``: one entry per event, with a summary free of personal data."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.events.types import RecordedEvent


def _v(value: Any) -> str:
    if isinstance(value, enum.Enum):  # its value as stored (``.value`` is a slower property)
        return str(value._value_)
    return str(getattr(value, "value", value))


_SUMMARIES: dict[str, Callable[[Any], str]] = {
    "ReturnCaseOpened": lambda e: f"Case opened, intake on {e.intake_date}",
    "ClientProfileUpdated": lambda e: "Client profile updated",
    "ReturnConversationRecorded": lambda e: f"Return conversation on {e.held_on}: {_v(e.wish)}",
    "LegalPositionRecorded": lambda e: (
        f"Legal position: {_v(e.residence_status)}, proceedings {_v(e.proceedings_stage)}"
        + (", departure obligation" if e.departure_obligation else "")
    ),
    "RiskAssessed": lambda e: f"Risk assessed as {_v(e.level)}",
    "ConsentGiven": lambda e: f"Consent given for {_v(e.purpose)}",
    "ConsentWithdrawn": lambda e: f"Consent withdrawn for {_v(e.purpose)}",
    "PartnerOrganisationContacted": lambda e: (
        f"Partner organisation contacted for {_v(e.purpose)}"
        + (" (personal data shared)" if e.shares_personal_data else "")
    ),
    "ReferralStatusChanged": lambda e: f"Referral {_v(e.status)}",
    "ReturnSupportArranged": lambda e: f"Return support arranged: {_v(e.kind)}",
    "TravelDocumentRecorded": lambda e: f"Travel document {_v(e.status)}",
    "ReintegrationPlanAgreed": lambda e: (
        f"Reintegration plan agreed on {e.agreed_on} ({len(e.goal_domains)} goals)"
    ),
    "ReintegrationPlanRevised": lambda e: (
        f"Reintegration plan revised on {e.revised_on} (revision {e.revision})"
    ),
    "SafetyPlanRecorded": lambda e: f"Safety plan written on {e.written_on}",
    "SafetyPlanApproved": lambda e: f"Safety plan approved on {e.approved_on}",
    "ReturnHelpRefused": lambda e: (
        f"Return help refused on {e.refused_on}: " + ", ".join(_v(h) for h in e.help_offered)
    ),
    "ArrivalArranged": lambda e: (
        f"Arrival arranged in {e.destination_country}, received by {_v(e.receiver)}"
    ),
    "GuardianRecorded": lambda e: f"Guardian recorded from {e.appointed_on}",
    "BestInterestsAssessed": lambda e: (
        f"Best-interests assessment on {e.assessed_on}: return "
        + ("in" if e.return_in_best_interests else "not in")
        + " the child's best interests"
    ),
    "FamilyAssessed": lambda e: f"Family assessed on {e.assessed_on}: {_v(e.outcome)}",
    "EmergencyDepartureRecorded": lambda e: (
        f"Emergency departure on {e.departed_on}, not ready: " + ", ".join(e.missing)
    ),
    "DeparturePlanned": lambda e: f"Departure planned for {e.planned_on}",
    "DepartureRecorded": lambda e: (
        f"Forced return by DT&V on {e.departed_on} to {e.destination_country}, reported"
        if _v(e.mode) == "FORCED"
        else f"Departed on {e.departed_on} ({_v(e.mode)}) to {e.destination_country}"
    ),
    "FollowUpRecorded": lambda e: (
        f"Follow-up after {e.months_after_departure} months: "
        + (
            f"reached {', '.join(_v(p) for p in e.reached_parties)}, {_v(e.situation)}"
            if e.reached
            else "not reached"
        )
        + (f", {len(e.danger_signs)} sign(s) of danger" if e.danger_signs else "")
        + (", escalation needed" if e.escalation_needed else "")
    ),
    "FollowUpEscalated": lambda e: f"Escalated on {e.escalated_on}: {_v(e.action)}",
    "CaseworkerAssigned": lambda e: "Case worker assigned",
    "ReturnCaseTransferred": lambda e: f"Transferred to {e.to_organisation}",
    "TransferOffered": lambda e: f"Transfer offered to {e.to_organisation}",
    "TransferOfferWithdrawn": lambda e: "Transfer offer withdrawn",
    "TransferOfferDeclined": lambda e: "Transfer offer declined by the receiving shelter",
    "ReturnCaseReceivedByTransfer": lambda e: (
        f"Received by transfer from {e.from_organisation} (intake there "
        f"{e.first_intake_date.isoformat()}, {e.return_conversations} return conversations)"
    ),
    "ReturnCaseClosed": lambda e: f"Closed: {_v(e.reason)}",
    "ReturnCaseReopened": lambda e: "Case reopened",
    "ClientPersonalDataErased": lambda e: "Client personal data erased",
}


def summary(recorded: RecordedEvent) -> str:
    describe = _SUMMARIES.get(recorded.event_type)
    return describe(recorded.event) if describe else recorded.event_type


COLUMNS = (
    "tenant_id", "case_id", "version", "global_position", "event_type", "occurred_at",
    "recorded_at", "actor", "actor_role", "summary", "organisation_id",
)  # fmt: skip


def insert_statement(suffix: str = "") -> Any:
    """The insert into ``case_timeline`` (or a rebuild copy named with ``suffix``)."""
    return text(
        f"INSERT INTO case_timeline{suffix} (tenant_id, case_id, version, global_position, "  # noqa: S608
        "event_type, occurred_at, recorded_at, actor, actor_role, summary, organisation_id) "
        "VALUES (:tenant_id, :case_id, :version, :global_position, :event_type, :occurred_at, "
        ":recorded_at, :actor, :actor_role, :summary, :organisation_id)"
    )


_INSERT = insert_statement()


def entry(recorded: RecordedEvent) -> dict[str, Any]:
    return {
        "tenant_id": recorded.tenant_id,
        "case_id": recorded.stream_id,
        "version": recorded.version,
        "global_position": recorded.global_position,
        "event_type": recorded.event_type,
        "occurred_at": recorded.occurred_at,
        "recorded_at": recorded.recorded_at,
        "actor": recorded.metadata.actor,
        "actor_role": recorded.metadata.role,
        "summary": summary(recorded),
        "organisation_id": getattr(recorded.event, "organisation_id", None),
    }


def entry_columns(events: Sequence[RecordedEvent]) -> list[list[Any]]:
    """``entry`` of every event, column by column in ``COLUMNS`` order (for bulk writers)."""
    return [
        [e.tenant_id for e in events],
        [e.stream_id for e in events],
        [e.version for e in events],
        [e.global_position for e in events],
        [e.event_type for e in events],
        [e.occurred_at for e in events],
        [e.recorded_at for e in events],
        [e.metadata.actor for e in events],
        [e.metadata.role for e in events],
        [summary(e) for e in events],
        [getattr(e.event, "organisation_id", None) for e in events],
    ]


async def timelines(
    conn: AsyncConnection, case_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Timelines of several cases in one statement (for a DataLoader)."""
    result = await conn.execute(
        text(
            "SELECT case_id, version, event_type, occurred_at, actor, actor_role, summary, "
            "organisation_id FROM case_timeline WHERE case_id = ANY(:ids) "
            "ORDER BY case_id, version"
        ),
        {"ids": list(case_ids)},
    )
    out: dict[uuid.UUID, list[dict[str, Any]]] = {cid: [] for cid in case_ids}
    for row in result:
        out[row.case_id].append(dict(row._mapping))
    return out
