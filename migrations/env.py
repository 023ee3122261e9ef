"""Alembic environment.

Migrations run as the database owner. The service calls them programmatically
(``service.db.migrate``), handing over an open connection and the service role's name; the
``alembic`` command line works too, with ``-x url=...`` naming the owner's URL.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config
# Revisions share helpers in migration_helpers.py beside this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("run migrations with `safe-future migrate`, or pass -x url=<owner URL>")
    asyncio.run(_run_async(url))
