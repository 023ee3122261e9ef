"""GraphQL types of national referral mechanisms (flowcharts) and their history."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from service.domain.vocabulary import ExploitationForm
from service.schema.context import Info
from service.schema.ids import to_global_id
from service.schema.socialmap.loaders import organisation_loader, utc_today
from service.schema.socialmap.types import CountryNames, SocialMapOrganisation
from service.socialmap import flowchart
from service.socialmap import vocabulary as sv
from service.socialmap.mechanisms import Mechanism, MechanismChange, MechanismData
from service.socialmap.model import is_stale


@strawberry.type(description="Where a step's content comes from.")
class ReferralSource:
    document: str = strawberry.field(description="The public document (title and publisher).")
    published: str | None = strawberry.field(
        description="The document's date as precise as known (YYYY, YYYY-MM or YYYY-MM-DD); "
        "null when it states none."
    )
    consulted_on: dt.date = strawberry.field(description="When an editor last read it.")


@strawberry.type(description="One step of a referral mechanism: what happens, and who does it.")
class ReferralStep:
    organisation_id: strawberry.Private[uuid.UUID | None]
    key: str = strawberry.field(description="The step's stable key within its mechanism.")
    position: int = strawberry.field(description="The step's place in the list (1 = first).")
    title: str = strawberry.field(description="The step's title in English.")
    title_nl: str | None = strawberry.field(description="The step's title in Dutch.")
    description: str = strawberry.field(description="What happens in this step, in English.")
    description_nl: str | None = strawberry.field(description="What happens, in Dutch.")
    responsible_body: str = strawberry.field(description="Who is responsible for the step.")
    typical_duration: str | None = strawberry.field(
        description="How long the step typically takes, where public sources say so."
    )
    legal_basis: str | None = strawberry.field(description="The legal basis, where known.")
    source: ReferralSource = strawberry.field(description="Where this step comes from.")

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="The responsible body as an organisation of the map, where it is one."
    )
    async def responsible_organisation(self, info: Info) -> SocialMapOrganisation | None:
        if self.organisation_id is None:
            return None
        found = await organisation_loader(info.context).load(self.organisation_id)
        return None if found is None else SocialMapOrganisation.of(found)

    @classmethod
    def of(cls, step: flowchart.Step, position: int) -> ReferralStep:
        return cls(
            organisation_id=step.responsible_organisation_id,
            key=step.key,
            position=position,
            title=step.title_en,
            title_nl=step.title_nl,
            description=step.description_en,
            description_nl=step.description_nl,
            responsible_body=step.responsible_body,
            typical_duration=step.typical_duration,
            legal_basis=step.legal_basis,
            source=ReferralSource(
                document=step.source.document,
                published=step.source.published,
                consulted_on=step.source.consulted_on,
            ),
        )


@strawberry.type(description="Who an edge of the flowchart applies to; null means anyone.")
class ReferralCondition:
    minor: bool | None = strawberry.field(description="True: minors only; false: adults only.")
    eu_citizen: bool | None = strawberry.field(
        description="True: EU citizens only; false: third-country nationals only."
    )
    exploitation_forms: list[ExploitationForm] = strawberry.field(
        description="Only for these forms of exploitation; empty means any form."
    )
    cooperates_with_police: bool | None = strawberry.field(
        description="True: only when the client cooperates with the police; false: only when not."
    )


@strawberry.type(description="An arrow of the flowchart: from one step to the next, for whom.")
class ReferralEdge:
    source: str = strawberry.field(description="The key of the step the arrow leaves.")
    target: str = strawberry.field(description="The key of the step the arrow enters.")
    condition: ReferralCondition = strawberry.field(description="Who the arrow applies to.")


@strawberry.type(
    description="A country's national referral mechanism for victims of human trafficking, as "
    "a flowchart: steps joined by arrows that may apply only to some clients (minors, EU "
    "citizens, ...). Shared by every shelter; changed only by CoMensha's editors."
)
class ReferralMechanism:
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    country_names: CountryNames | None = strawberry.field(description="The country's names.")
    version: int = strawberry.field(description="Send it as expectedVersion to change it.")
    title: str = strawberry.field(description="The mechanism's title in English.")
    title_nl: str | None = strawberry.field(description="The mechanism's title in Dutch.")
    notes: str | None = strawberry.field(description="Notes for the reader, in English.")
    notes_nl: str | None = strawberry.field(description="Notes for the reader, in Dutch.")
    start: str = strawberry.field(description="The key of the first step.")
    steps: list[ReferralStep] = strawberry.field(description="Every step of the flowchart.")
    edges: list[ReferralEdge] = strawberry.field(description="Every arrow of the flowchart.")
    last_verified_on: dt.date | None = strawberry.field(
        description="When an editor last checked the mechanism against its sources."
    )
    active: bool = strawberry.field(description="False once retired by an editor.")
    retired_reason: str | None = strawberry.field(description="Why it was retired.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="True when nobody verified the mechanism within the configured time."
    )
    def stale(self, info: Info) -> bool:
        return is_stale(
            self.last_verified_on, utc_today(), info.context.settings.social_map_stale_months
        )

    @classmethod
    def of(cls, mechanism: Mechanism) -> ReferralMechanism:
        return cls.of_data(
            mechanism.country, mechanism.version, mechanism.data, mechanism.active,
            mechanism.retired_reason, mechanism.updated_at,
        )  # fmt: skip

    @classmethod
    def of_data(
        cls,
        country: str,
        version: int,
        data: MechanismData,
        active: bool,
        retired_reason: str | None,
        updated_at: dt.datetime,
    ) -> ReferralMechanism:
        graph = data.graph
        return cls(
            country=country,
            country_names=CountryNames.of(country),
            version=version,
            title=data.title_en,
            title_nl=data.title_nl,
            notes=data.notes_en,
            notes_nl=data.notes_nl,
            start=graph.start,
            steps=[ReferralStep.of(s, i) for i, s in enumerate(graph.steps, 1)],
            edges=[
                ReferralEdge(
                    source=e.source,
                    target=e.target,
                    condition=ReferralCondition(
                        minor=e.condition.minor,
                        eu_citizen=e.condition.eu_citizen,
                        exploitation_forms=list(e.condition.exploitation_forms),
                        cooperates_with_police=e.condition.cooperates_with_police,
                    ),
                )
                for e in graph.edges
            ],
            last_verified_on=data.last_verified_on,
            active=active,
            retired_reason=retired_reason,
            updated_at=updated_at,
        )


@strawberry.type(description="The steps of a mechanism that apply to one client, in order.")
class ReferralRoute:
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    mechanism_version: int = strawberry.field(description="The mechanism version walked.")
    steps: list[ReferralStep] = strawberry.field(description="The path, from the first step.")


@strawberry.type(description="One version of a referral mechanism: who changed it, when, why.")
class ReferralMechanismChange:
    version: int = strawberry.field(description="The mechanism's version after the change.")
    change: sv.ChangeKind = strawberry.field(description="What the change did.")
    actor: str = strawberry.field(description="The subject (user id) of the editor.")
    actor_organisation: str = strawberry.field(description="The editor's organisation.")
    changed_at: dt.datetime = strawberry.field(description="When.")
    reason: str | None = strawberry.field(description="Why, as the editor gave it.")
    credited_suggestion: strawberry.ID | None = strawberry.field(
        description="The shelter's suggestion this change applied, when it came from one."
    )
    mechanism: ReferralMechanism = strawberry.field(
        description="The mechanism as it was right after this change."
    )

    @classmethod
    def of(cls, change: MechanismChange) -> ReferralMechanismChange:
        snap = change.snapshot
        data = MechanismData(
            title_en=snap["title_en"],
            title_nl=snap.get("title_nl"),
            notes_en=snap.get("notes_en"),
            notes_nl=snap.get("notes_nl"),
            graph=flowchart.from_json(snap["graph"]),
            last_verified_on=(
                dt.date.fromisoformat(snap["last_verified_on"])
                if snap.get("last_verified_on")
                else None
            ),
        )
        return cls(
            version=change.version,
            change=change.change,
            actor=change.actor,
            actor_organisation=change.actor_organisation,
            changed_at=change.changed_at,
            reason=change.reason,
            credited_suggestion=(
                strawberry.ID(to_global_id("SocialMapSuggestion", change.suggestion_id))
                if change.suggestion_id
                else None
            ),
            mechanism=ReferralMechanism.of_data(
                change.country,
                change.version,
                data,
                change.change is not sv.ChangeKind.RETIRED,
                change.reason if change.change is sv.ChangeKind.RETIRED else None,
                change.changed_at,
            ),
        )
