"""Master key rotation: rewrap every data key under the current master key.

Events and read models are not touched: they are sealed with data keys, and data keys stay
the same; only their wrapping changes. Runs as the owner (the service role may not UPDATE
``data_keys``), tenant by tenant (row-level security is forced even for the owner), and each
tenant in one transaction. Rows already wrapped with the current key are skipped, so an
interrupted rotation can simply be run again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.privacy.keys import MasterKeyring

_SELECT = text(
    "SELECT tenant_id, case_id, key_id, wrapped_key, master_key_id FROM data_keys "
    "WHERE master_key_id <> :current FOR UPDATE"
)
_UPDATE = text(
    "UPDATE data_keys SET wrapped_key = :w, master_key_id = :m "
    "WHERE tenant_id = :t AND case_id = :c AND key_id = :k"
)


@dataclass(frozen=True, slots=True)
class RotationResult:
    rewrapped: int
    master_key_id: str


async def rewrap_data_keys(owner_engine: AsyncEngine, keyring: MasterKeyring) -> RotationResult:
    async with owner_engine.connect() as conn:
        found = await conn.execute(text("SELECT id FROM tenants"))
        tenants: list[uuid.UUID] = [r[0] for r in found]
    rewrapped = 0
    for tenant_id in tenants:
        async with owner_engine.begin() as conn:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
            rows = (await conn.execute(_SELECT, {"current": keyring.current.key_id})).all()
            for row in rows:
                names = {"tenant_id": row.tenant_id, "case_id": row.case_id, "key_id": row.key_id}
                secret = keyring.unwrap(bytes(row.wrapped_key), row.master_key_id, **names)
                wrapped, master_key_id = keyring.wrap(secret, **names)
                await conn.execute(
                    _UPDATE,
                    {
                        "w": wrapped,
                        "m": master_key_id,
                        "t": row.tenant_id,
                        "c": row.case_id,
                        "k": row.key_id,
                    },
                )
            rewrapped += len(rows)
    return RotationResult(rewrapped, keyring.current.key_id)
