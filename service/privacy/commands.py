"""The privacy commands of ``safe-future``: ``keys rotate-master`` and ``retention run``.

Both need the database owner besides the service role: rotation rewraps data keys (the
service role may not UPDATE them) and both vacuum the key table (only its owner may).
"""

from __future__ import annotations

import datetime as dt
from typing import TextIO

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.auth import Tenant
from service.config import ConfigError, Settings
from service.db import create_app_engine
from service.domain.return_case import EVENT_TYPES
from service.events.store import EventStore
from service.events.types import EventRegistry
from service.handlers.return_case import Dependencies
from service.privacy.cipher import PersonalDataCipher
from service.privacy.erasure import vacuum_key_table
from service.privacy.keys import (
    MasterKeyring,
    TamperedCiphertext,
    UnknownMasterKey,
    generate_master_key,
    load_master_keyring,
    read_key_file,
    uses_generated_key,
    write_key_file,
)
from service.privacy.retention import run_retention
from service.privacy.rotation import rewrap_data_keys


async def _rewrap(owner: AsyncEngine, keyring: MasterKeyring, err: TextIO) -> int | None:
    try:
        return (await rewrap_data_keys(owner, keyring)).rewrapped
    except (UnknownMasterKey, TamperedCiphertext) as exc:
        print(f"rotation stopped, nothing of that tenant changed: {exc}", file=err)
        return None


async def rotate_master_key(settings: Settings, owner_url: URL, out: TextIO, err: TextIO) -> int:
    """Rewrap every data key under the current master key; events are not touched.

    Development (the generated key file): a new key is generated and written first, beside
    the old one, then every data key is rewrapped, then the old key is dropped from the file.
    A crash in between leaves both keys in the file and the command can simply run again.

    A configured key (environment or mounted file): put the new key in place as current and
    the old one in ``SAFE_FUTURE_PREVIOUS_MASTER_KEYS`` (or as a further line of the file),
    restart the service, run this command, then remove the old key from configuration.
    """
    try:
        keyring = load_master_keyring(settings)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=err)
        return 2
    generated = uses_generated_key(settings)
    if generated:
        path = settings.generated_master_key_file
        old_keys = read_key_file(path)
        new = generate_master_key()
        write_key_file(path, [new, *old_keys])
        keyring = MasterKeyring(new, [*old_keys, *keyring.previous])
    owner = create_async_engine(owner_url)
    try:
        rewrapped = await _rewrap(owner, keyring, err)
        if rewrapped is None:
            return 1
        await vacuum_key_table(owner)  # the old wrappings leave the table's files
    finally:
        await owner.dispose()
    if generated:
        write_key_file(settings.generated_master_key_file, [keyring.current])
    print(f"rewrapped {rewrapped} data keys under master key {keyring.current.key_id}", file=out)
    if not generated:
        print("now remove the previous master key(s) from the configuration", file=out)
    return 0


async def _tenants(engine: AsyncEngine) -> dict[str, Tenant]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, slug, name, kind FROM tenants"))
        return {r.slug: Tenant(id=r.id, slug=r.slug, name=r.name, kind=r.kind) for r in rows}


async def retention_run(
    settings: Settings,
    app_url: URL,
    owner_url: URL | None,
    *,
    dry_run: bool,
    today: dt.date,
    out: TextIO,
) -> int:
    """Erase (or list) the cases past retention; then, as the owner, vacuum the key table."""
    cipher = PersonalDataCipher(load_master_keyring(settings))
    engine = create_app_engine(app_url, 2)
    try:
        deps = Dependencies(
            engine, EventStore(EventRegistry(EVENT_TYPES), cipher=cipher), await _tenants(engine)
        )
        result = await run_retention(
            deps, today=today, years=settings.retention_years, dry_run=dry_run
        )
    finally:
        await engine.dispose()
    verb = "would erase" if dry_run else "erased"
    listed = result.candidates if dry_run else result.erased
    for case in listed:
        print(f"{verb} {case.tenant} {case.case_id} (closed {case.closed_on})", file=out)
    print(
        f"{len(listed)} case(s) {verb}: closed before {result.cutoff} "
        f"({settings.retention_years} years)",
        file=out,
    )
    if not dry_run and owner_url is not None:
        owner = create_async_engine(owner_url)
        try:
            await vacuum_key_table(owner)
        finally:
            await owner.dispose()
        print("vacuumed the key table", file=out)
    return 0
