"""GraphQL object types of return cases and the caller."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from service.auth import Principal
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events.sealing import is_sealed
from service.schema import safe_return as sr
from service.schema.context import Info
from service.schema.ids import to_global_id
from service.schema.socialmap import case_fields
from service.schema.socialmap.types import SocialMapOrganisation
from service.socialmap.vocabulary import Service


@strawberry.type(description="An organisation: one of the shelters, or CoMensha.")
class Organisation:
    slug: str
    name: str
    kind: str


@strawberry.type(description="The verified caller.")
class Me:
    subject: str
    organisation: Organisation
    roles: list[str]

    @staticmethod
    def of(principal: Principal) -> Me:
        org = principal.organisation
        return Me(
            subject=principal.subject,
            organisation=Organisation(slug=org.slug, name=org.name, kind=org.kind),
            roles=sorted(principal.roles),
        )


@strawberry.type(description="One step in a case's history. The summary holds no personal data.")
class TimelineEntry:
    version: int
    event_type: str
    occurred_at: dt.datetime
    actor: str
    actor_role: str
    summary: str
    organisation_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="The social-map organisation the event concerns, if any.")  # type: ignore[untyped-decorator]
    async def organisation(self, info: Info) -> SocialMapOrganisation | None:
        return await case_fields.timeline_organisation(info, self.organisation_id)


@strawberry.type(description="The client's personal data: shown only to the case's own shelter.")
class ClientPersonalData:
    full_name: str | None
    date_of_birth: dt.date | None
    notes: str | None


@strawberry.type(description="A referral of the client to a partner organisation.")
class Referral:
    id: strawberry.ID
    organisation_id: strawberry.ID
    purpose: v.ConsentPurpose
    contacted_on: dt.date
    shares_personal_data: bool
    status: v.ReferralStatus
    status_on: dt.date

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Referral:
        return cls(
            id=strawberry.ID(to_global_id("Referral", uuid.UUID(raw["id"]))),
            organisation_id=strawberry.ID(
                to_global_id("Organisation", uuid.UUID(raw["organisation_id"]))
            ),
            purpose=v.ConsentPurpose(raw["purpose"]),
            contacted_on=dt.date.fromisoformat(raw["contacted_on"]),
            shares_personal_data=raw["shares_personal_data"],
            status=v.ReferralStatus(raw["status"]),
            status_on=dt.date.fromisoformat(raw["status_on"]),
        )


@strawberry.type(description="A consent of the client, per partner organisation and purpose.")
class Consent:
    organisation_id: strawberry.ID
    purpose: v.ConsentPurpose
    given_on: dt.date
    outside_eea: bool
    withdrawn_on: dt.date | None
    active: bool

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Consent:
        withdrawn = raw["withdrawn_on"]
        return cls(
            organisation_id=strawberry.ID(
                to_global_id("Organisation", uuid.UUID(raw["organisation_id"]))
            ),
            purpose=v.ConsentPurpose(raw["purpose"]),
            given_on=dt.date.fromisoformat(raw["given_on"]),
            outside_eea=raw["outside_eea"],
            withdrawn_on=dt.date.fromisoformat(withdrawn) if withdrawn else None,
            active=withdrawn is None,
        )


def _selected_names(info: Info) -> set[str]:
    """Names of the fields selected below the current one, through fragments too."""
    names: set[str] = set()

    def walk(selections: list[Selection]) -> None:
        for selection in selections:
            if isinstance(selection, SelectedField):
                names.add(selection.name)
            else:
                walk(selection.selections)

    for field in info.selected_fields:
        walk(field.selections)
    return names


def _enum(cls: Any, raw: str | None) -> Any:
    return None if raw is None else cls(raw)


@strawberry.type(description="A return case of one client of one shelter.")
class ReturnCase:
    case_id: strawberry.Private[uuid.UUID]
    id: strawberry.ID
    version: int = strawberry.field(
        description="Version of the case's event stream; send it as expectedVersion."
    )
    phase: v.Phase
    pseudonym: str | None
    gender: v.Gender | None
    birth_year: int | None
    nationality: str | None
    country_of_origin: str | None
    languages: list[str]
    exploitation_forms: list[v.ExploitationForm]
    intake_date: dt.date
    wish: v.ReturnWish | None = strawberry.field(
        description="The client's latest recorded wish about return."
    )
    residence_status: v.ResidenceStatus | None
    proceedings_stage: v.ProceedingsStage | None
    departure_obligation: bool
    departure_deadline: dt.date | None
    risk_level: v.RiskLevel | None
    planned_departure_on: dt.date | None
    departed_on: dt.date | None
    departure_mode: v.DepartureMode | None
    destination_country: str | None
    closing_reason: v.ClosingReason | None
    closed_on: dt.date | None
    transferred_to: str | None = strawberry.field(
        description="Slug of the shelter the case was transferred to."
    )
    follow_up_count: int
    partner_organisation_ids: list[strawberry.ID]
    referrals: list[Referral]
    consents: list[Consent]
    personal_data_erased: bool
    # The read model's ``personal`` column: sealed with the client's key (or absent).
    sealed_personal: strawberry.Private[dict[str, Any] | None]
    opened_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ReturnCase:
        return cls(
            case_id=row["case_id"],
            id=strawberry.ID(to_global_id("ReturnCase", row["case_id"])),
            version=row["version"],
            phase=v.Phase(row["phase"]),
            pseudonym=row["pseudonym"],
            gender=_enum(v.Gender, row["gender"]),
            birth_year=row["birth_year"],
            nationality=row["nationality"],
            country_of_origin=row["country_of_origin"],
            languages=list(row["languages"]),
            exploitation_forms=[v.ExploitationForm(x) for x in row["exploitation_forms"]],
            intake_date=row["intake_date"],
            wish=_enum(v.ReturnWish, row["wish"]),
            residence_status=_enum(v.ResidenceStatus, row["residence_status"]),
            proceedings_stage=_enum(v.ProceedingsStage, row["proceedings_stage"]),
            departure_obligation=row["departure_obligation"],
            departure_deadline=row["departure_deadline"],
            risk_level=_enum(v.RiskLevel, row["risk_level"]),
            planned_departure_on=row["planned_departure_on"],
            departed_on=row["departed_on"],
            departure_mode=_enum(v.DepartureMode, row["departure_mode"]),
            destination_country=row["destination_country"],
            closing_reason=_enum(v.ClosingReason, row["closing_reason"]),
            closed_on=row["closed_on"],
            transferred_to=row["transferred_to"],
            follow_up_count=row["follow_up_count"],
            partner_organisation_ids=[
                strawberry.ID(to_global_id("Organisation", o))
                for o in row["partner_organisation_ids"]
            ],
            referrals=[Referral.from_json(r) for r in row["referrals"]],
            consents=[Consent.from_json(c) for c in row["consents"]],
            personal_data_erased=row["personal_data_erased"],
            sealed_personal=row["personal"],
            opened_at=row["opened_at"],
            updated_at=row["updated_at"],
        )

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="Name, date of birth and notes; null once erased. Every response that "
        "returns them is recorded in the personal-data access log."
    )
    async def personal(self, info: Info) -> ClientPersonalData | None:
        raw = self.sealed_personal
        if raw and is_sealed(raw):
            raw = await info.context.personal_loader().load(
                (self.case_id, tuple(sorted(raw.items())))
            )
        if not raw:
            return None  # none given, or erased: the key is gone and so is the value
        dob = raw.get("date_of_birth")
        data = ClientPersonalData(
            full_name=raw.get("full_name"),
            date_of_birth=dt.date.fromisoformat(dob) if dob else None,
            notes=raw.get("notes"),
        )
        values = {
            "fullName": data.full_name,
            "dateOfBirth": data.date_of_birth,
            "notes": data.notes,
        }
        returned = {name for name in _selected_names(info) if values.get(name) is not None}
        if returned:
            info.context.personal_reads.setdefault(self.case_id, set()).update(returned)
        return data

    @strawberry.field(description="Every event of the case, oldest first.")  # type: ignore[untyped-decorator]
    async def timeline(self, info: Info) -> list[TimelineEntry]:
        entries = await info.context.timeline_loader().load(self.case_id)
        return [
            TimelineEntry(
                version=e["version"],
                event_type=e["event_type"],
                occurred_at=e["occurred_at"],
                actor=e["actor"],
                actor_role=e["actor_role"],
                summary=e["summary"],
                organisation_id=e["organisation_id"],
            )
            for e in entries
        ]

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="The organisations contacted for this case, retired ones included."
    )
    async def partner_organisations(self, info: Info) -> list[SocialMapOrganisation]:
        return await case_fields.partner_organisations(info, self.partner_organisation_ids)

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="For a case in PREPARATION: active organisations in the country of return "
        "(the planned destination, else the country of origin) offering the services the "
        "client needs. Empty in every other phase."
    )
    async def suggested_partners(
        self,
        info: Info,
        services: Annotated[
            list[Service] | None,
            strawberry.argument(description=case_fields.SUGGESTED_SERVICES_DESCRIPTION),
        ] = None,
        first: int = 10,
    ) -> list[SocialMapOrganisation]:
        return await case_fields.suggested_partners(
            info, self.case_id, self.phase, self.country_of_origin, services, first
        )

    # --- a safe return (readiness and the facts it is derived from) -------------------------

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="Whether a departure of this kind is ready, and what is still missing. "
        "The same rules refuse planDeparture and recordDeparture."
    )
    async def readiness(
        self,
        info: Info,
        kind: Annotated[
            v.DepartureMode, strawberry.argument(description="The kind of departure to check.")
        ],
        on: Annotated[
            dt.date | None,
            strawberry.argument(description="The day of departure to check; default today."),
        ] = None,
    ) -> sr.Readiness:
        state = await sr.load_state(info, self.case_id)
        policy = info.context.deps.readiness_policy
        return sr.Readiness.of(rc.readiness(state, kind, on or sr.today(info), policy))

    @strawberry.field(description="The current safety plan, if one is written.")  # type: ignore[untyped-decorator]
    async def safety_plan(self, info: Info) -> sr.SafetyPlan | None:
        return sr.safety_plan(await sr.load_state(info, self.case_id))

    @strawberry.field(description="Every recorded refusal of return help, oldest first.")  # type: ignore[untyped-decorator]
    async def return_help_refusals(self, info: Info) -> list[sr.ReturnHelpRefusal]:
        return sr.help_refusals(await sr.load_state(info, self.case_id))

    @strawberry.field(description="Destination and who receives the client, if arranged.")  # type: ignore[untyped-decorator]
    async def arrival(self, info: Info) -> sr.ArrivalArrangement | None:
        return sr.arrival(await sr.load_state(info, self.case_id))

    @strawberry.field(description="The current reintegration plan, if one is agreed.")  # type: ignore[untyped-decorator]
    async def reintegration_plan(self, info: Info) -> sr.ReintegrationPlan | None:
        return sr.reintegration_plan(await sr.load_state(info, self.case_id))

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="When the reintegration plan is due: a month after arrival; null before "
        "departure."
    )
    async def plan_due_on(self, info: Info) -> dt.date | None:
        return rc.plan_due_on(await sr.load_state(info, self.case_id))

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="True when the client has arrived, no plan is agreed and it is past due."
    )
    async def plan_overdue(self, info: Info) -> bool:
        return rc.plan_overdue(await sr.load_state(info, self.case_id), sr.today(info))

    @strawberry.field(description="Guardian and assessments for a client who may be a minor.")  # type: ignore[untyped-decorator]
    async def minor_protection(self, info: Info) -> sr.MinorProtection:
        return sr.minor_protection(await sr.load_state(info, self.case_id))

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="True when the departure was recorded as an emergency by an admin or "
        "supervisor, before it was ready."
    )
    async def emergency_departure(self, info: Info) -> bool:
        return (await sr.load_state(info, self.case_id)).emergency_departure


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ReturnCaseEdge:
    cursor: str
    node: ReturnCase


@strawberry.type
class ReturnCaseConnection:
    edges: list[ReturnCaseEdge]
    page_info: PageInfo


@strawberry.type(description="The result of a command on a return case.")
class ReturnCasePayload:
    case: ReturnCase
    version: int = strawberry.field(description="The case's version after the command.")
    replayed: bool = strawberry.field(
        description="True when an idempotency key repeated an earlier request: nothing changed."
    )
