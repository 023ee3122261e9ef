"""Mutation ``updateReferralMechanism``: revise a country's mechanism (editors only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry

from service.errors import BadUserInput
from service.schema.context import Info
from service.schema.socialmap.mechanism_inputs import (
    ReferralEdgeInput,
    ReferralMechanismPayload,
    ReferralStepInput,
    graph_raw,
)
from service.schema.socialmap.payloads import today
from service.schema.socialmap.queries import country_code
from service.socialmap import mechanism_editing


@strawberry.input(
    description="Fields left out stay as they are. A new flowchart is given whole: start, "
    "steps and edges together."
)
class UpdateReferralMechanismInput:
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    expected_version: int = strawberry.field(
        description="The version this change was decided on; a stale one gets CONFLICT."
    )
    title: str | None = strawberry.field(default=strawberry.UNSET, description="English title.")
    title_nl: str | None = strawberry.field(default=strawberry.UNSET, description="Dutch title.")
    notes: str | None = strawberry.field(default=strawberry.UNSET, description="English notes.")
    notes_nl: str | None = strawberry.field(default=strawberry.UNSET, description="Dutch notes.")
    start: str | None = strawberry.field(default=strawberry.UNSET, description="First step key.")
    steps: list[ReferralStepInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Every step of the new flowchart."
    )
    edges: list[ReferralEdgeInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Every arrow of the new flowchart."
    )
    last_verified_on: dt.date | None = strawberry.field(
        default=strawberry.UNSET, description="When you checked it against its sources."
    )
    reason: str | None = strawberry.field(
        default=None, description="Why it changes (kept in its history)."
    )


_FIELDS = {
    "title": "title_en", "title_nl": "title_nl", "notes": "notes_en", "notes_nl": "notes_nl",
    "last_verified_on": "last_verified_on",
}  # fmt: skip


async def update_referral_mechanism(
    info: Info,
    input: Annotated[
        UpdateReferralMechanismInput,
        strawberry.argument(description="What changes, with the expectedVersion and a reason."),
    ],
) -> ReferralMechanismPayload:
    """Write a new version of a mechanism; its history keeps every earlier one."""
    ctx = info.context
    country = country_code(input.country, "country")
    changes: dict[str, Any] = {
        stored: getattr(input, given)
        for given, stored in _FIELDS.items()
        if getattr(input, given) is not strawberry.UNSET
    }
    graph_parts = (input.start, input.steps, input.edges)
    given = [p is not strawberry.UNSET and p is not None for p in graph_parts]
    if any(given) and not all(given):
        raise BadUserInput(
            "give start, steps and edges together: the flowchart is replaced whole",
            rule="INCOMPLETE_FLOWCHART",
            field="steps",
        )
    if all(given):
        assert isinstance(input.start, str)
        assert input.steps
        assert input.edges is not None
        changes["graph"] = graph_raw(input.start, input.steps, input.edges)
    written = await mechanism_editing.update(
        ctx.deps.engine, ctx.principal, country, input.expected_version, changes, input.reason,
        request_id=ctx.request_id, today=today(),
    )  # fmt: skip
    return ReferralMechanismPayload.of(written)
