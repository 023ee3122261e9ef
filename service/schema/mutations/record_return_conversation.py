"""Mutation ``recordReturnConversation``.

Record a conversation about return and the client's wish.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="A conversation with the client about return.")
class RecordReturnConversationInput(CaseCommandInput):
    held_on: dt.date = strawberry.field(
        description="The day of the conversation; on or after the intake date."
    )
    wish: v.ReturnWish = strawberry.field(
        description="The wish the client expressed; the latest counts for the phase."
    )
    notes: str | None = strawberry.field(
        default=None,
        description="What was discussed (at most 4000 characters). Personal data: encrypted, "
        "erasable.",
    )


async def record_return_conversation(
    info: Info, input: Annotated[RecordReturnConversationInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record a conversation about return and the client's wish."""
    return await run_case_command(info, rc.RecordReturnConversation, input)
