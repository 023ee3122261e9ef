"""Mutation ``recordReturnConversation``.

Record a conversation about return and the client's wish.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input
class RecordReturnConversationInput(CaseCommandInput):
    held_on: dt.date
    wish: v.ReturnWish
    notes: str | None = None


async def record_return_conversation(
    info: Info, input: RecordReturnConversationInput
) -> ReturnCasePayload:
    """Record a conversation about return and the client's wish."""
    return await run_case_command(info, rc.RecordReturnConversation, input)
