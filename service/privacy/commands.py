"""The privacy commands of ``safe-future``: ``keys rotate``, ``keys status``,
``keys rotate-master`` and ``retention run``.

``keys rotate`` and ``keys status`` need only the service role (rewrapping goes through the
``rewrap_data_keys`` function). ``rotate-master`` and ``retention run`` also vacuum the key
table as its owner.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
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
from service.privacy.kek import KekRing, KekUnavailable
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
from service.privacy.rotation import (
    RotationIncomplete,
    RotationResult,
    describe,
    key_status,
    key_status_brief,
    rotate_keks,
    rotation_due,
)


async def _rotate(
    engine: AsyncEngine, keyring: MasterKeyring, err: TextIO, *, new_kek: bool = True
) -> RotationResult | None:
    try:
        return await rotate_keks(
            engine, KekRing(keyring, settings_kek_dir(keyring)), new_kek=new_kek
        )
    except (UnknownMasterKey, TamperedCiphertext, KekUnavailable, RotationIncomplete) as exc:
        print(f"rotation stopped, no key-encryption key was destroyed: {exc}", file=err)
        return None


def settings_kek_dir(keyring: MasterKeyring) -> Path:
    if keyring.kek_dir is None:
        raise ConfigError("no directory for key-encryption keys is configured")
    return keyring.kek_dir


async def rotate_master_key(settings: Settings, owner_url: URL, out: TextIO, err: TextIO) -> int:
    """Move everything to the current master key: a key-encryption key rotation whose new KEK
    is wrapped by it, so the old KEKs (wrapped by the old master key) are destroyed and data
    keys still wrapped directly by a master key (from before KEKs) are rewrapped under a KEK.
    Events are not touched. Afterwards nothing needs the old master key.

    Development (the generated key file): a new key is generated and written first, beside
    the old one, then the rotation runs, then the old key is dropped from the file. A crash in
    between leaves both keys in the file and the command can simply run again.

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
        keyring = MasterKeyring(new, [*old_keys, *keyring.previous], kek_dir=keyring.kek_dir)
    owner = create_async_engine(owner_url)
    try:
        result = await _rotate(owner, keyring, err)
        if result is None:
            return 1
        await vacuum_key_table(owner)  # the old wrappings leave the table's files
    finally:
        await owner.dispose()
    if generated:
        write_key_file(settings.generated_master_key_file, [keyring.current])
    print(
        f"rewrapped {result.rewrapped} data keys under key-encryption key {result.current}, "
        f"itself wrapped by master key {keyring.current.key_id}; destroyed "
        f"{len(result.destroyed)} old key-encryption key(s)",
        file=out,
    )
    if not generated:
        print("now remove the previous master key(s) from the configuration", file=out)
    return 0


async def keys_rotate(
    settings: Settings, url: URL, out: TextIO, err: TextIO, *, if_due: bool
) -> int:
    """``safe-future keys rotate [--if-due]``: rotate the key-encryption key now (or only when
    the schedule would), finishing an interrupted rotation first."""
    try:
        keyring = load_master_keyring(settings)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=err)
        return 2
    engine = create_async_engine(url)
    try:
        if if_due:
            ring = KekRing(keyring, settings.kek_dir)
            max_age = dt.timedelta(hours=settings.kek_max_age_hours)
            margin = dt.timedelta(seconds=settings.kek_check_seconds)
            if not rotation_due(await key_status_brief(engine, ring, max_age), margin):
                print("not due: the current key-encryption key is younger than its limit", file=out)
                return 0
        result = await _rotate(engine, keyring, err)
    finally:
        await engine.dispose()
    if result is None:
        return 1
    print(
        f"current key-encryption key {result.current}; rewrapped {result.rewrapped} data "
        f"keys; destroyed {len(result.destroyed)} old key-encryption key(s)"
        + (f": {', '.join(result.destroyed)}" if result.destroyed else ""),
        file=out,
    )
    return 0


async def keys_status(settings: Settings, url: URL, out: TextIO) -> int:
    """``safe-future keys status``: the current KEK's age, when it is due, what is pending."""
    keyring = load_master_keyring(settings)
    engine = create_async_engine(url)
    try:
        status = await key_status(
            engine,
            KekRing(keyring, settings.kek_dir),
            dt.timedelta(hours=settings.kek_max_age_hours),
        )
    finally:
        await engine.dispose()
    for line in describe(status):
        print(line, file=out)
    print(f"master key: {keyring.current.key_id} (plus {len(keyring.previous)} previous)", file=out)
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
