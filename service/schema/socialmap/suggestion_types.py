"""GraphQL types of suggestions from the shelters to the social map's editors."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.scalars import JSON

from service.schema.context import Info
from service.schema.enums import describe_values
from service.schema.ids import to_global_id
from service.schema.socialmap.loaders import organisation_loader
from service.schema.socialmap.types import SocialMapOrganisation, camel
from service.socialmap import vocabulary as sv
from service.socialmap.suggestions import Suggestion

SuggestionKind = strawberry.enum(
    sv.SuggestionKind,
    description="What a shelter suggests.",
    name="SocialMapSuggestionKind",
)
SuggestionStatus = strawberry.enum(
    sv.SuggestionStatus,
    description="Where a suggestion stands: waiting for an editor, applied, or not applied.",
    name="SocialMapSuggestionStatus",
)

describe_values(
    SuggestionKind,
    {
        "ORGANISATION_CHANGE": "A correction of an organisation already on the map.",
        "NEW_ORGANISATION": "An organisation the map does not have yet.",
        "MECHANISM_STEP_CORRECTION": "A correction of the texts of one step of a country's "
        "referral mechanism.",
    },
)
describe_values(
    SuggestionStatus,
    {
        "PENDING": "Waiting for an editor.",
        "ACCEPTED": "Applied to the map as a versioned change that credits the suggestion.",
        "REJECTED": "Not applied; the editor's reason says why.",
    },
)


@strawberry.type(
    description="A shelter's suggestion to change the social map. Seen only by the suggesting "
    "shelter and CoMensha's editors; applied only when an editor accepts it."
)
class SocialMapSuggestion:
    organisation_id: strawberry.Private[uuid.UUID | None]
    id: strawberry.ID = strawberry.field(description="The suggestion's id.")
    kind: sv.SuggestionKind = strawberry.field(description="What it suggests.")
    status: sv.SuggestionStatus = strawberry.field(description="Where it stands.")
    shelter: str = strawberry.field(description="The suggesting shelter (its slug).")
    suggested_by: str = strawberry.field(description="The subject (user id) who suggested it.")
    suggested_at: dt.datetime = strawberry.field(description="When.")
    country: str | None = strawberry.field(description="The mechanism's country, for steps.")
    step_key: str | None = strawberry.field(description="The corrected step, for steps.")
    proposal: JSON = strawberry.field(
        description="The suggested values, by field name (as in the organisation or step input)."
    )
    reason: str = strawberry.field(description="Why the shelter suggests it.")
    decided_at: dt.datetime | None = strawberry.field(description="When an editor decided.")
    decision_reason: str | None = strawberry.field(description="Why it was rejected.")
    applied_version: int | None = strawberry.field(
        description="The version of the organisation or mechanism that applied it."
    )

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="The organisation it is about (changes); null for other kinds."
    )
    async def organisation(self, info: Info) -> SocialMapOrganisation | None:
        if self.organisation_id is None:
            return None
        found = await organisation_loader(info.context).load(self.organisation_id)
        return None if found is None else SocialMapOrganisation.of(found)

    @classmethod
    def of(cls, s: Suggestion) -> SocialMapSuggestion:
        return cls(
            organisation_id=s.organisation_id,
            id=strawberry.ID(to_global_id("SocialMapSuggestion", s.id)),
            kind=s.kind,
            status=s.status,
            shelter=s.shelter,
            suggested_by=s.suggested_by,
            suggested_at=s.suggested_at,
            country=s.country,
            step_key=s.step_key,
            proposal=JSON({camel(k): v for k, v in s.proposal.items()}),
            reason=s.reason,
            decided_at=s.decided_at,
            decision_reason=s.decision_reason,
            applied_version=s.applied_version,
        )


@strawberry.type(description="The result of suggesting, accepting or rejecting a suggestion.")
class SocialMapSuggestionPayload:
    suggestion: SocialMapSuggestion = strawberry.field(description="The suggestion as it stands.")
