"""Erasure of a client's personal data: the command, run by a tenant admin or by retention.

The handler appends ``ClientPersonalDataErased``, re-projects the case without personal
fields and destroys the client's data key, all in one transaction (see
``service.handlers.return_case``). What the log and read models keep of the client is then
ciphertext nobody can open. A second erasure appends nothing. The case itself (phase, dates,
outcome) stays, so it still counts in reports.

The destroyed key's row lingers as a dead tuple until the table is vacuumed; the service role
cannot vacuum a table it does not own, so the owner does (``vacuum_key_table``, run by
``safe-future retention run``).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.auth import Principal
from service.db import tenant_transaction
from service.domain import return_case as rc
from service.domain.vocabulary import ErasureReason
from service.errors import Forbidden, NotFound
from service.handlers.return_case import CommandResult, Dependencies, handle

ERASING_ROLE = "tenant-admin"


def require_erasure_right(principal: Principal) -> None:
    if principal.organisation.kind != "shelter" or ERASING_ROLE not in principal.roles:
        raise Forbidden("only a tenant admin of the shelter may erase a client's personal data")


async def erase_client_personal_data(
    deps: Dependencies,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    expected_version: int,
    reason: ErasureReason,
    note: str | None = None,
    idempotency_key: str | None,
    request_id: str,
) -> CommandResult:
    """Erase the case's client's personal data; a no-op when nothing is left to erase.

    The erasure is dated today (the server's clock), or on the intake date for a case whose
    intake lies ahead: the right to erasure never fails on a date.
    """
    require_erasure_right(principal)
    async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
        intake = await conn.scalar(
            text("SELECT intake_date FROM return_cases WHERE case_id = :c"), {"c": case_id}
        )
    if intake is None:
        raise NotFound("return case not found")
    command = rc.EraseClientPersonalData(
        case_id=case_id, erased_on=max(deps.clock().date(), intake), reason=reason, note=note
    )
    return await handle(
        deps,
        principal,
        command,
        expected_version=expected_version,
        idempotency_key=idempotency_key,
        request_id=request_id,
    )


# VACUUM FULL VERBOSE reports the dead rows it had to copy because a snapshot still sees them.
_KEPT = re.compile(r"(\d+) dead row versions cannot be removed yet")


async def vacuum_key_table(owner_engine: AsyncEngine, *, wait_seconds: float = 60.0) -> bool:
    """Rewrite ``data_keys`` without the rows erasure deleted, as the table's owner.

    ``VACUUM FULL`` copies the live rows into a new file and truncates the old one when it
    commits, so a destroyed key's wrapped bytes leave the table's files (plain ``VACUUM``
    only marks their space free). It cannot run inside a transaction or a function, hence a
    connection of its own in autocommit mode. The table is small (one row per client) and the
    exclusive lock lasts milliseconds.

    A deleted row that some running snapshot may still see is "recently dead" and is copied
    along; PostgreSQL says how many (``VERBOSE``). Then this waits and runs again, for up to
    ``wait_seconds``. Returns ``False`` when rows were still kept at the end: they go at the
    next run.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    kept: list[int] = []

    def listen(_connection: Any, message: Any) -> None:
        found = _KEPT.search(str(getattr(message, "detail", None) or ""))
        if found:
            kept.append(int(found.group(1)))

    async with owner_engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        driver: Any = (await autocommit.get_raw_connection()).driver_connection
        driver.add_log_listener(listen)
        try:
            while True:
                kept.clear()
                await autocommit.execute(text("VACUUM (FULL, VERBOSE) data_keys"))
                for _ in range(10):  # the driver hands notices over on the next loop turns
                    if kept:
                        break
                    await asyncio.sleep(0)
                if not kept or kept[-1] == 0:
                    return True
                if loop.time() >= deadline:
                    return False
                await asyncio.sleep(0.2)
        finally:
            driver.remove_log_listener(listen)
