"""Mutation ``acceptSocialMapSuggestion``: an editor applies a shelter's suggestion."""

from __future__ import annotations

from typing import Annotated

import strawberry

from service.schema.context import Info
from service.schema.ids import from_global_id
from service.schema.socialmap.payloads import today
from service.schema.socialmap.suggestion_types import (
    SocialMapSuggestion,
    SocialMapSuggestionPayload,
)
from service.socialmap import suggestions


@strawberry.input(description="Accept a pending suggestion.")
class AcceptSocialMapSuggestionInput:
    id: strawberry.ID = strawberry.field(description="The suggestion.")


async def accept_social_map_suggestion(
    info: Info,
    input: Annotated[
        AcceptSocialMapSuggestionInput, strawberry.argument(description="The suggestion to apply.")
    ],
) -> SocialMapSuggestionPayload:
    """Apply the suggestion as a versioned change that credits it (editors only)."""
    ctx = info.context
    found = await suggestions.accept(
        ctx.deps.engine, ctx.principal, from_global_id("SocialMapSuggestion", input.id),
        request_id=ctx.request_id, today=today(),
    )  # fmt: skip
    return SocialMapSuggestionPayload(suggestion=SocialMapSuggestion.of(found))
