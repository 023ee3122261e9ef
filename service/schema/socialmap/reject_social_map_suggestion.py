"""Mutation ``rejectSocialMapSuggestion``: an editor declines a shelter's suggestion."""

from __future__ import annotations

from typing import Annotated

import strawberry

from service.schema.context import Info
from service.schema.ids import from_global_id
from service.schema.socialmap.suggestion_types import (
    SocialMapSuggestion,
    SocialMapSuggestionPayload,
)
from service.socialmap import suggestions


@strawberry.input(description="Reject a pending suggestion, saying why.")
class RejectSocialMapSuggestionInput:
    id: strawberry.ID = strawberry.field(description="The suggestion.")
    reason: str = strawberry.field(description="Why; the suggesting shelter sees it.")


async def reject_social_map_suggestion(
    info: Info,
    input: Annotated[
        RejectSocialMapSuggestionInput,
        strawberry.argument(description="The suggestion and the reason."),
    ],
) -> SocialMapSuggestionPayload:
    """Decline the suggestion; nothing on the map changes (editors only)."""
    ctx = info.context
    found = await suggestions.reject(
        ctx.deps.engine, ctx.principal, from_global_id("SocialMapSuggestion", input.id),
        input.reason, request_id=ctx.request_id,
    )  # fmt: skip
    return SocialMapSuggestionPayload(suggestion=SocialMapSuggestion.of(found))
