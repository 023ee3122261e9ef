"""GraphQL object types of return cases and the caller."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types.nodes import SelectedField, Selection

from service.auth import Principal
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events.sealing import is_sealed
from service.schema import case_record as cr
from service.schema import safe_return as sr
from service.schema import work_fields
from service.schema.context import Info
from service.schema.htcds import htcds_record
from service.schema.ids import to_global_id
from service.schema.socialmap import case_fields
from service.schema.socialmap.types import SocialMapOrganisation
from service.schema.work_fields import ScheduledFollowUp
from service.socialmap.vocabulary import Service


@strawberry.type(description="An organisation: one of the shelters, or CoMensha.")
class Organisation:
    slug: str = strawberry.field(description="The organisation's stable short name, e.g. moviera.")
    name: str = strawberry.field(description="The organisation's name.")
    kind: str = strawberry.field(description="shelter, or coordination for CoMensha.")


@strawberry.type(description="The verified caller.")
class Me:
    subject: str = strawberry.field(description="The token's subject: your user id.")
    organisation: Organisation = strawberry.field(description="The organisation the token names.")
    roles: list[str] = strawberry.field(
        description="Your roles: caseworker, tenant-admin, integrator, comensha-analyst or "
        "social-map-editor."
    )

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
    version: int = strawberry.field(
        description="The event's version in the case's stream (1, 2, 3, ...)."
    )
    event_type: str = strawberry.field(description="The event's type, e.g. RiskAssessed.")
    occurred_at: dt.datetime = strawberry.field(
        description="When the service handled the command that caused it."
    )
    actor: str = strawberry.field(description="The subject (user id) who caused the event.")
    actor_role: str = strawberry.field(description="The role the actor acted in.")
    summary: str = strawberry.field(
        description="One line saying what happened, free of personal data."
    )
    organisation_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="The social-map organisation the event concerns, if any.")  # type: ignore[untyped-decorator]
    async def organisation(self, info: Info) -> SocialMapOrganisation | None:
        return await case_fields.timeline_organisation(info, self.organisation_id)


@strawberry.type(description="The client's personal data: shown only to the case's own shelter.")
class ClientPersonalData:
    full_name: str | None = strawberry.field(description="The client's full name.")
    date_of_birth: dt.date | None = strawberry.field(description="The client's date of birth.")
    notes: str | None = strawberry.field(description="Notes on the client from the profile.")


@strawberry.type(description="A referral of the client to a partner organisation.")
class Referral:
    id: strawberry.ID = strawberry.field(
        description="The referral's global ID: give it as referralId in updateReferralStatus."
    )
    organisation_id: strawberry.ID = strawberry.field(
        description="The global ID of the partner organisation (see partnerOrganisations)."
    )
    purpose: v.ConsentPurpose = strawberry.field(description="What the referral is for.")
    contacted_on: dt.date = strawberry.field(description="The day the organisation was contacted.")
    shares_personal_data: bool = strawberry.field(
        description="Whether the client's personal data is shared with it (this needed an active "
        "consent)."
    )
    status: v.ReferralStatus = strawberry.field(
        description="The current status (see statusHistory for every step)."
    )
    status_on: dt.date = strawberry.field(description="The day the current status was reached.")
    case_id: strawberry.Private[uuid.UUID | None] = None
    referral_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="Every status the referral had, oldest first, starting with REQUESTED."
    )
    async def status_history(self, info: Info) -> list[cr.ReferralStatusChange]:
        if self.case_id is None:
            return []
        record = await info.context.case_record_loader().load(self.case_id)
        return [
            cr.ReferralStatusChange.of(self.case_id, change)
            for referral in record.referrals
            if referral.referral_id == self.referral_id
            for change in referral.history
        ]

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="Notes on the contact with the partner." + cr.PERSONAL_NOTE
    )
    async def notes(self, info: Info) -> str | None:
        if self.case_id is None:
            return None
        record = await info.context.case_record_loader().load(self.case_id)
        version = next(
            (f.version for f in record.referrals if f.referral_id == self.referral_id), None
        )
        return await cr.personal_value(info, self.case_id, version, "notes", "referrals.notes")

    @classmethod
    def from_json(cls, raw: dict[str, Any], case_id: uuid.UUID | None = None) -> Referral:
        return cls(
            case_id=case_id,
            referral_id=uuid.UUID(raw["id"]),
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
    organisation_id: strawberry.ID = strawberry.field(
        description="The global ID of the organisation the consent is for."
    )
    purpose: v.ConsentPurpose = strawberry.field(description="What the consent covers.")
    given_on: dt.date = strawberry.field(description="The day consent was given.")
    outside_eea: bool = strawberry.field(
        description="True when the organisation is outside the EU/EEA: the client was told the "
        "transfer's risks (GDPR art. 49(1)(a))."
    )
    withdrawn_on: dt.date | None = strawberry.field(
        description="The day consent was withdrawn; null while active."
    )
    active: bool = strawberry.field(
        description="Given and not withdrawn: data may be shared under it."
    )

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
    id: strawberry.ID = strawberry.field(
        description="The case's global ID: give it as caseId to every case command."
    )
    version: int = strawberry.field(
        description="Version of the case's event stream; send it as expectedVersion."
    )
    phase: v.Phase = strawberry.field(
        description="Where the case stands in the order of steps, derived from the facts."
    )
    pseudonym: str | None = strawberry.field(
        description="The name the case is known by; not the client's real name."
    )
    gender: v.Gender | None = strawberry.field(description="The client's gender.")
    birth_year: int | None = strawberry.field(description="The client's year of birth, if known.")
    nationality: str | None = strawberry.field(
        description="ISO 3166-1 alpha-2 code of the client's nationality."
    )
    country_of_origin: str | None = strawberry.field(
        description="ISO 3166-1 alpha-2 code of the country of origin."
    )
    languages: list[str] = strawberry.field(
        description="ISO 639-1 codes of the languages the client speaks."
    )
    exploitation_forms: list[v.ExploitationForm] = strawberry.field(
        description="The forms of exploitation the client suffered."
    )
    intake_date: dt.date = strawberry.field(
        description="The day the client came into care (phase INTAKE)."
    )
    wish: v.ReturnWish | None = strawberry.field(
        description="The client's latest recorded wish about return."
    )
    residence_status: v.ResidenceStatus | None = strawberry.field(
        description="The latest recorded residence status (see legalPositions)."
    )
    proceedings_stage: v.ProceedingsStage | None = strawberry.field(
        description="The latest recorded stage of the criminal proceedings."
    )
    departure_obligation: bool = strawberry.field(
        description="True when the client must leave the Netherlands (derived from the legal "
        "position); the case is then in PREPARATION."
    )
    departure_deadline: dt.date | None = strawberry.field(
        description="The day by which the client must have left, if set."
    )
    risk_level: v.RiskLevel | None = strawberry.field(
        description="The latest assessed risk level (see riskAssessments)."
    )
    planned_departure_on: dt.date | None = strawberry.field(
        description="The planned day of departure (see plannedDepartures)."
    )
    departed_on: dt.date | None = strawberry.field(
        description="The day the client left; set from phase DEPARTED."
    )
    departure_mode: v.DepartureMode | None = strawberry.field(
        description="How the client left; set from phase DEPARTED."
    )
    destination_country: str | None = strawberry.field(
        description="ISO 3166-1 alpha-2 code of the country the client left for; null before "
        "departure (the planned one is in plannedDepartures)."
    )
    closing_reason: v.ClosingReason | None = strawberry.field(
        description="Why the case was closed; null unless CLOSED."
    )
    closed_on: dt.date | None = strawberry.field(
        description="The day the case was closed; null unless CLOSED."
    )
    transferred_to: str | None = strawberry.field(
        description="Slug of the shelter the case was transferred to."
    )
    follow_up_count: int = strawberry.field(
        description="How many follow-up contacts were recorded."
    )
    caseworker: str | None = strawberry.field(
        description="The user (token subject) the case is assigned to; null when unassigned."
    )
    partner_organisation_ids: list[strawberry.ID] = strawberry.field(
        description="Global IDs of the organisations contacted for this case (see "
        "partnerOrganisations)."
    )
    referrals: list[Referral] = strawberry.field(
        description="The referrals to partner organisations, with their current status."
    )
    consents: list[Consent] = strawberry.field(
        description="Every consent given, active or withdrawn."
    )
    personal_data_erased: bool = strawberry.field(
        description="True once the client's personal data was erased (until the client gives it "
        "again)."
    )
    # The read model's ``personal`` column: sealed with the client's key (or absent).
    sealed_personal: strawberry.Private[dict[str, Any] | None]
    opened_at: dt.datetime = strawberry.field(
        description="When the case was opened in the service."
    )
    updated_at: dt.datetime = strawberry.field(description="When the case last changed.")

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
            caseworker=row["caseworker"],
            partner_organisation_ids=[
                strawberry.ID(to_global_id("Organisation", o))
                for o in row["partner_organisation_ids"]
            ],
            referrals=[Referral.from_json(r, row["case_id"]) for r in row["referrals"]],
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

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="The case in the field and value names of HTCDS 2.0, the Human Trafficking "
        "Case Data Standard (see docs/htcds.md): for a shelter's tenant admins. Pseudonymous "
        "unless personal is true; a personal export is recorded in the access log."
    )
    async def htcds(
        self,
        info: Info,
        personal: Annotated[
            bool,
            strawberry.argument(description="Include the name and date of birth."),
        ] = False,
    ) -> JSON:
        return await htcds_record(info, self.case_id, personal)

    return_conversations: list[cr.ReturnConversation] = strawberry.field(
        resolver=cr.return_conversations,
        description="Every return conversation, oldest first (ORIENTATION onwards).",
    )
    legal_positions: list[cr.LegalPosition] = strawberry.field(
        resolver=cr.legal_positions,
        description="The history of the client's legal position, oldest first; the latest "
        "is also in residenceStatus, proceedingsStage and departureDeadline.",
    )
    risk_assessments: list[cr.RiskAssessment] = strawberry.field(
        resolver=cr.risk_assessments,
        description="Every risk assessment, oldest first; the latest level is also riskLevel.",
    )
    return_support: list[cr.ReturnSupport] = strawberry.field(
        resolver=cr.return_support,
        description="The return support arranged, oldest first (PREPARATION).",
    )
    travel_documents: list[cr.TravelDocument] = strawberry.field(
        resolver=cr.travel_documents,
        description="Every step with the travel document, oldest first (PREPARATION).",
    )
    planned_departures: list[cr.PlannedDeparture] = strawberry.field(
        resolver=cr.planned_departures,
        description="Every departure planned, oldest first; the latest is plannedDepartureOn.",
    )
    departure: cr.Departure | None = strawberry.field(
        resolver=cr.departure,
        description="The client's actual departure; null before the case reached DEPARTED.",
    )
    follow_ups: list[cr.FollowUp] = strawberry.field(
        resolver=cr.follow_ups,
        description="Every follow-up contact after return, oldest first (FOLLOW_UP).",
    )
    closings: list[cr.CaseClosing] = strawberry.field(
        resolver=cr.closings,
        description="Every closing (transfers included) with its reopening, oldest first.",
    )
    personal_data_erasures: list[cr.PersonalDataErasure] = strawberry.field(
        resolver=cr.personal_data_erasures,
        description="Every erasure of the client's personal data, oldest first.",
    )

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
        description="The follow-up contacts the shelter's schedule sets after the departure, "
        "done or still to do; empty before a departure."
    )
    async def follow_up_schedule(self, info: Info) -> list[ScheduledFollowUp]:
        return await work_fields.follow_up_schedule(info, self.case_id, self.version)

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
        first: Annotated[
            int, strawberry.argument(description="How many organisations to suggest at most.")
        ] = 10,
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


@strawberry.type(description="Where a page of a list ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when more items follow.")
    end_cursor: str | None = strawberry.field(
        description="Pass it as after to get the next page; null for an empty page."
    )


@strawberry.type(description="One case in a page of cases.")
class ReturnCaseEdge:
    cursor: str = strawberry.field(description="Pass it as after to get the cases after this one.")
    node: ReturnCase = strawberry.field(description="The case.")


@strawberry.type(description="A page of your shelter's cases, newest intake first.")
class ReturnCaseConnection:
    edges: list[ReturnCaseEdge] = strawberry.field(description="The cases of this page.")
    page_info: PageInfo = strawberry.field(
        description="Whether more follow, and the cursor to get them."
    )


@strawberry.type(description="The result of a command on a return case.")
class ReturnCasePayload:
    case: ReturnCase = strawberry.field(description="The case as it is after the command.")
    version: int = strawberry.field(description="The case's version after the command.")
    replayed: bool = strawberry.field(
        description="True when an idempotency key repeated an earlier request: nothing changed."
    )
