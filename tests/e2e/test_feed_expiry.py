"""A subscription lives no longer than the token that opened its socket."""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.auth import issue_token
from service.config import Settings
from tests.e2e.conftest import LiveServer
from tests.e2e.test_feed_ws_auth import (
    feed_socket,
    next_event,
    operation_errors,
    receive,
    subscribe,
    until_closed,
)
from tests.e2e.test_lifecycle import open_case


async def test_a_subscription_ends_when_its_token_expires_and_the_socket_closes_with_4401(
    as_org: Any, live_server: LiveServer, settings: Settings
) -> None:
    case = (await open_case(as_org("moviera"), pseudonym="Expiry"))["case"]
    short = issue_token(
        settings.jwt_private_key_file.read_bytes(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        subject="short-lived",
        organisation="moviera",
        roles=["caseworker"],
        lifetime=dt.timedelta(seconds=2),
    )
    async with feed_socket(live_server, short) as ws:
        await subscribe(ws, "feed", case_id=case["id"])
        op_id, event = await next_event(ws)
        assert (op_id, event["version"]) == ("feed", 1)
        ending = await receive(ws, seconds=10)
        errors = operation_errors(ending)
        assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]
        assert errors[0]["extensions"]["reason"] == "TOKEN_EXPIRED"
        _, code = await until_closed(ws, seconds=5)
        assert code == 4401
