"""GraphQL types of the social map: organisations, their history, countries, mechanisms."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.scalars import JSON

from service.schema.context import Info
from service.schema.ids import to_global_id
from service.schema.socialmap.loaders import history_loader, utc_today
from service.socialmap import vocabulary as sv
from service.socialmap.countries import names_of
from service.socialmap.history import Change
from service.socialmap.model import Organisation, is_stale
from service.socialmap.repository import CountrySummary

Service = strawberry.enum(sv.Service, description="What an organisation offers.")
OrganisationKind = strawberry.enum(sv.OrganisationKind)
TargetGroup = strawberry.enum(sv.TargetGroup)
ContactChannelKind = strawberry.enum(sv.ContactChannelKind)
ReturnSupportLevel = strawberry.enum(
    sv.ReturnSupportLevel,
    description="How a Dutch organisation supports return: information, or hands-on guidance.",
)
OrganisationChangeKind = strawberry.enum(sv.ChangeKind, name="OrganisationChangeKind")
ImportFormat = strawberry.enum(sv.ImportFormat)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


@strawberry.type(description="A country's names in English and Dutch.")
class CountryNames:
    en: str
    nl: str

    @staticmethod
    def of(code: str) -> CountryNames | None:
        names = names_of(code)
        return None if names is None else CountryNames(en=names.en, nl=names.nl)


@strawberry.type
class ContactChannel:
    kind: sv.ContactChannelKind
    value: str
    label: str | None


@strawberry.type(description="One field of an organisation as it was before and after a change.")
class FieldChange:
    field: str
    before: JSON | None
    after: JSON | None


@strawberry.type(description="One change of an organisation: who, when, and what changed.")
class OrganisationChange:
    version: int = strawberry.field(description="The organisation's version after the change.")
    change: sv.ChangeKind
    actor: str = strawberry.field(description="The subject (user id) of the editor.")
    actor_organisation: str
    changed_at: dt.datetime
    reason: str | None
    changes: list[FieldChange]
    credited_suggestion: strawberry.ID | None = strawberry.field(
        description="The shelter's suggestion this change applied, when it came from one."
    )

    @classmethod
    def of(cls, change: Change) -> OrganisationChange:
        return cls(
            credited_suggestion=(
                strawberry.ID(to_global_id("SocialMapSuggestion", change.suggestion_id))
                if change.suggestion_id
                else None
            ),
            version=change.version,
            change=change.change,
            actor=change.actor,
            actor_organisation=change.actor_organisation,
            changed_at=change.changed_at,
            reason=change.reason,
            changes=[
                FieldChange(field=camel(name), before=JSON(d["from"]), after=JSON(d["to"]))
                for name, d in change.diff.items()
            ],
        )


@strawberry.type(
    description="An organisation of the international social map, shared by every shelter."
)
class SocialMapOrganisation:
    org_id: strawberry.Private[uuid.UUID]
    id: strawberry.ID
    version: int = strawberry.field(description="Send it as expectedVersion to change it.")
    name: str
    kind: sv.OrganisationKind
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    country_names: CountryNames | None
    city: str | None
    region: str | None
    services: list[sv.Service]
    target_groups: list[sv.TargetGroup]
    languages: list[str] = strawberry.field(description="ISO 639-1 codes.")
    contact_channels: list[ContactChannel]
    referral_notes: str | None
    last_verified_on: dt.date | None
    source: str | None
    return_support: sv.ReturnSupportLevel | None = strawberry.field(
        description="For Dutch organisations that support return; null for others."
    )
    demo: bool = strawberry.field(description="True for the fictional demo data set.")
    active: bool = strawberry.field(description="False once retired; cases keep pointing to it.")
    retired_at: dt.datetime | None
    retired_reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    name_nl: str | None = strawberry.field(description="The organisation's name in Dutch.")
    local_name: str | None = strawberry.field(
        description="The organisation's own name in its own language, where it has one."
    )
    description_en: str | None = strawberry.field(description="What it does, in English.")
    description_nl: str | None = strawberry.field(description="What it does, in Dutch.")
    latitude: float | None = strawberry.field(
        description="WGS 84 latitude in degrees (north positive); null when not located."
    )
    longitude: float | None = strawberry.field(
        description="WGS 84 longitude in degrees (east positive); null when not located."
    )
    distance_km: float | None = strawberry.field(
        default=None,
        description="Great-circle distance in km from the point of an `organisations(near:)` "
        "query; null elsewhere.",
    )

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="True when nobody verified this entry within the configured time (default "
        "12 months): check it before relying on it. Stale entries rank last in suggestions."
    )
    def stale(self, info: Info) -> bool:
        return is_stale(
            self.last_verified_on, utc_today(), info.context.settings.social_map_stale_months
        )

    @classmethod
    def of(cls, org: Organisation, distance_km: float | None = None) -> SocialMapOrganisation:
        d = org.data
        return cls(
            org_id=org.id,
            id=strawberry.ID(to_global_id("Organisation", org.id)),
            version=org.version,
            name=d.name,
            kind=d.kind,
            country=d.country,
            country_names=CountryNames.of(d.country),
            city=d.city,
            region=d.region,
            services=list(d.services),
            target_groups=list(d.target_groups),
            languages=list(d.languages),
            contact_channels=[
                ContactChannel(kind=c.kind, value=c.value, label=c.label)
                for c in d.contact_channels
            ],
            referral_notes=d.referral_notes,
            last_verified_on=d.last_verified_on,
            source=d.source,
            return_support=d.return_support,
            demo=org.demo,
            active=org.active,
            retired_at=org.retired_at,
            retired_reason=org.retired_reason,
            created_at=org.created_at,
            updated_at=org.updated_at,
            name_nl=d.name_nl,
            local_name=d.local_name,
            description_en=d.description_en,
            description_nl=d.description_nl,
            latitude=d.latitude,
            longitude=d.longitude,
            distance_km=None if distance_km is None else round(distance_km, 3),
        )

    @strawberry.field(description="Every change of this organisation, oldest first.")  # type: ignore[untyped-decorator]
    async def history(self, info: Info) -> list[OrganisationChange]:
        changes = await history_loader(info.context).load(self.org_id)
        return [OrganisationChange.of(c) for c in changes]


@strawberry.type(description="A country of the social map.")
class Country:
    code: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    names: CountryNames | None
    active_organisations: int
    has_referral_mechanism: bool

    @classmethod
    def of(cls, summary: CountrySummary) -> Country:
        return cls(
            code=summary.code,
            names=CountryNames.of(summary.code),
            active_organisations=summary.active_organisations,
            has_referral_mechanism=summary.has_referral_mechanism,
        )
