"""What the social map's mutations share: contact channel input and the result payload."""

from __future__ import annotations

import datetime as dt

import strawberry

from service.schema.socialmap.types import SocialMapOrganisation
from service.socialmap import vocabulary as sv
from service.socialmap.editing import EditResult


def today() -> dt.date:
    """The latest date "last verified" may hold: today somewhere on Earth (UTC+14)."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=14)).date()


@strawberry.input(description="One way to reach an organisation.")
class ContactChannelInput:
    kind: sv.ContactChannelKind = strawberry.field(
        description="E-mail, phone, website or postal address."
    )
    value: str = strawberry.field(
        description="An e-mail address, a phone number, an http(s) URL, or a postal address."
    )
    label: str | None = strawberry.field(
        default=None, description="What the channel is for, e.g. 'referrals desk'."
    )


def channels(values: list[ContactChannelInput] | None) -> list[dict[str, object]] | None:
    if values is None:
        return None
    return [{"kind": c.kind, "value": c.value, "label": c.label} for c in values]


@strawberry.type(description="The result of a change of the social map.")
class OrganisationPayload:
    organisation: SocialMapOrganisation = strawberry.field(
        description="The organisation as it is now."
    )
    version: int = strawberry.field(description="The organisation's version after the change.")
    replayed: bool = strawberry.field(
        description="True when an idempotency key repeated an earlier request: nothing changed."
    )

    @classmethod
    def of(cls, result: EditResult) -> OrganisationPayload:
        return cls(
            organisation=SocialMapOrganisation.of(result.organisation),
            version=result.version,
            replayed=result.replayed,
        )
