"""GraphQL types of the social map: organisations, their history, countries, mechanisms."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.scalars import JSON

from service.schema.context import Info
from service.schema.enums import describe_values
from service.schema.ids import to_global_id
from service.schema.socialmap.loaders import history_loader, utc_today
from service.socialmap import vocabulary as sv
from service.socialmap.countries import names_of
from service.socialmap.history import Change
from service.socialmap.model import Organisation, is_stale
from service.socialmap.repository import CountrySummary

Service = strawberry.enum(sv.Service, description="What an organisation offers.")
OrganisationKind = strawberry.enum(
    sv.OrganisationKind, description="What kind of body an organisation is."
)
TargetGroup = strawberry.enum(sv.TargetGroup, description="Whom an organisation serves.")
ContactChannelKind = strawberry.enum(
    sv.ContactChannelKind, description="How an organisation can be reached."
)
ReturnSupportLevel = strawberry.enum(
    sv.ReturnSupportLevel,
    description="How a Dutch organisation supports return: information, or hands-on guidance.",
)
OrganisationChangeKind = strawberry.enum(
    sv.ChangeKind,
    name="OrganisationChangeKind",
    description="What one entry of an organisation's history did.",
)
ImportFormat = strawberry.enum(
    sv.ImportFormat, description="The format of a bulk import of organisations."
)

describe_values(
    Service,
    {
        "RETURN_COUNSELLING": "Counselling about return before departure.",
        "TRAVEL_ASSISTANCE": "Help with the journey: tickets, documents, escort.",
        "RECEPTION_ON_ARRIVAL": "Receiving the client on arrival in the country of return.",
        "SHELTER": "Safe accommodation.",
        "MEDICAL_CARE": "Medical care.",
        "PSYCHOSOCIAL_SUPPORT": "Psychosocial support and counselling.",
        "LEGAL_AID": "Legal aid.",
        "EDUCATION_AND_VOCATIONAL_TRAINING": "Education and vocational training.",
        "INCOME_SUPPORT": "Income support, e.g. a small business grant or job placement.",
        "FAMILY_TRACING": "Tracing family members and assessing the family.",
    },
)
describe_values(
    OrganisationKind,
    {
        "NGO": "A non-governmental organisation.",
        "GOVERNMENT": "A government body.",
        "INTERNATIONAL_ORGANISATION": "An international organisation, such as IOM.",
        "SHELTER": "A shelter for victims of trafficking.",
        "COORDINATION_CENTRE": "A national coordination centre, such as CoMensha.",
        "OTHER": "Another kind of body.",
    },
)
describe_values(
    TargetGroup,
    {
        "WOMEN": "Women.",
        "MEN": "Men.",
        "MINORS": "Minors (under 18).",
        "FAMILIES": "Families.",
        "LGBTIQ": "LGBTIQ persons.",
        "ALL": "Everyone.",
    },
)
describe_values(
    ContactChannelKind,
    {
        "EMAIL": "An e-mail address.",
        "PHONE": "A phone number.",
        "WEBSITE": "A website (URL).",
        "ADDRESS": "A postal or visiting address.",
    },
)
describe_values(
    ReturnSupportLevel,
    {
        "GENERAL_INFORMATION": "Gives general information about return.",
        "HANDS_ON_GUIDANCE": "Guides the client through the departure.",
    },
)
describe_values(
    OrganisationChangeKind,
    {
        "CREATED": "The organisation was added.",
        "UPDATED": "Some of its details changed.",
        "RETIRED": "It was retired.",
        "CONFIRMED": "An editor checked it and found it right: only the verification date changed.",
    },
)
describe_values(
    ImportFormat,
    {
        "CSV": "Comma-separated values with a header row.",
        "JSON": "A JSON list of objects.",
        "HTCDS_CSV": "HTCDS 2.0 organisation fields (org_Name, org_Type, ...) as CSV; see "
        "docs/htcds.md.",
        "HTCDS_JSON": "HTCDS 2.0 organisation fields as a JSON list of objects.",
    },
)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


@strawberry.type(description="A country's names in English and Dutch.")
class CountryNames:
    en: str = strawberry.field(description="The country's name in English.")
    nl: str = strawberry.field(description="The country's name in Dutch.")

    @staticmethod
    def of(code: str) -> CountryNames | None:
        names = names_of(code)
        return None if names is None else CountryNames(en=names.en, nl=names.nl)


@strawberry.type(description="One way to reach an organisation.")
class ContactChannel:
    kind: sv.ContactChannelKind = strawberry.field(
        description="E-mail, phone, website or postal address."
    )
    value: str = strawberry.field(description="The address, number or URL.")
    label: str | None = strawberry.field(
        description="What the channel is for, e.g. 'referrals desk'."
    )


@strawberry.type(description="One field of an organisation as it was before and after a change.")
class FieldChange:
    field: str = strawberry.field(description="The field's name as in SocialMapOrganisation.")
    before: JSON | None = strawberry.field(
        description="The value before the change; null when it was empty."
    )
    after: JSON | None = strawberry.field(
        description="The value after the change; null when it became empty."
    )


@strawberry.type(description="One change of an organisation: who, when, and what changed.")
class OrganisationChange:
    version: int = strawberry.field(description="The organisation's version after the change.")
    change: sv.ChangeKind = strawberry.field(description="Created, updated or retired.")
    actor: str = strawberry.field(description="The subject (user id) of the editor.")
    actor_organisation: str = strawberry.field(description="Slug of the editor's organisation.")
    changed_at: dt.datetime = strawberry.field(description="When the change was made.")
    reason: str | None = strawberry.field(description="Why (given when retiring); null otherwise.")
    changes: list[FieldChange] = strawberry.field(
        description="The fields that changed, each with its value before and after."
    )
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
    id: strawberry.ID = strawberry.field(
        description="The organisation's global ID: give it as organisationId in giveConsent and "
        "contactPartnerOrganisation."
    )
    version: int = strawberry.field(description="Send it as expectedVersion to change it.")
    name: str = strawberry.field(description="The organisation's name.")
    kind: sv.OrganisationKind = strawberry.field(description="What kind of body it is.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    country_names: CountryNames | None = strawberry.field(
        description="The country's names in English and Dutch."
    )
    city: str | None = strawberry.field(description="The city it works from.")
    region: str | None = strawberry.field(description="The region it covers.")
    services: list[sv.Service] = strawberry.field(
        description="What it offers to a person who returns."
    )
    target_groups: list[sv.TargetGroup] = strawberry.field(description="Whom it serves.")
    languages: list[str] = strawberry.field(description="ISO 639-1 codes.")
    contact_channels: list[ContactChannel] = strawberry.field(description="How to reach it.")
    referral_notes: str | None = strawberry.field(
        description="How to refer a client to it (shared knowledge of the shelters; no client "
        "data)."
    )
    last_verified_on: dt.date | None = strawberry.field(
        description="When these details were last checked."
    )
    source: str | None = strawberry.field(description="Where the details come from.")
    return_support: sv.ReturnSupportLevel | None = strawberry.field(
        description="For Dutch organisations that support return; null for others."
    )
    demo: bool = strawberry.field(description="True for the fictional demo data set.")
    active: bool = strawberry.field(description="False once retired; cases keep pointing to it.")
    retired_at: dt.datetime | None = strawberry.field(
        description="When it was retired; null while active."
    )
    retired_reason: str | None = strawberry.field(
        description="Why it was retired; null while active."
    )
    created_at: dt.datetime = strawberry.field(description="When it was added to the social map.")
    updated_at: dt.datetime = strawberry.field(description="When it was last changed.")
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
    names: CountryNames | None = strawberry.field(
        description="The country's names in English and Dutch."
    )
    active_organisations: int = strawberry.field(
        description="How many active organisations the map holds there."
    )
    has_referral_mechanism: bool = strawberry.field(
        description="Whether the map holds the country's national referral mechanism (see "
        "referralMechanism)."
    )

    @classmethod
    def of(cls, summary: CountrySummary) -> Country:
        return cls(
            code=summary.code,
            names=CountryNames.of(summary.code),
            active_organisations=summary.active_organisations,
            has_referral_mechanism=summary.has_referral_mechanism,
        )
