"""The social map's command-line work: ``safe-future social-map import`` and ``seed``.

Both run as the database owner (like migrations): an operator's tool, not an API path. The
history records the command line as the actor (``--actor``, by default the operating-system
user).
"""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from service.errors import BadUserInput
from service.socialmap import importer, seed
from service.socialmap.history import Actor
from service.socialmap.vocabulary import ImportFormat

__all__ = ["cli_actor", "format_of", "import_file", "seed_database"]


def cli_actor(name: str | None) -> Actor:
    if name:
        return Actor(subject=name, organisation="cli")
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no user name in a bare container
        user = "unknown"
    return Actor(subject=f"cli:{user}", organisation="cli")


def format_of(path: Path, given: str | None) -> ImportFormat | None:
    """The file's format: as given, else from its extension (.csv or .json)."""
    name = (given or path.suffix.removeprefix(".")).upper()
    return ImportFormat(name) if name in ImportFormat.__members__ else None


def _read(path: Path, err: TextIO) -> str | None:
    try:
        if path.stat().st_size > importer.MAX_BYTES:
            print(f"{path}: larger than {importer.MAX_BYTES // (1024 * 1024)} MB", file=err)
            return None
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        print(f"{path}: cannot read ({exc.strerror})", file=err)
    except UnicodeDecodeError:
        print(f"{path}: not UTF-8 text", file=err)
    return None


async def import_file(
    admin_url: URL,
    path: Path,
    fmt: ImportFormat,
    *,
    dry_run: bool,
    actor: Actor,
    today: dt.date,
    out: TextIO,
    err: TextIO,
) -> int:
    """Import ``path``; 0 when done, 1 when refused (every bad row printed), 2 unreadable."""
    content = _read(path, err)
    if content is None:
        return 2
    engine = create_async_engine(admin_url)
    try:
        result = await importer.run_import(
            engine, actor, fmt, content, dry_run=dry_run, today=today
        )
    except importer.ImportRefused as refused:
        for error in refused.errors:
            print(f"{path}: {error}", file=err)
        print(f"{refused.message} ({len(refused.errors)} problem(s))", file=err)
        return 1
    except BadUserInput as exc:
        print(f"{path}: {exc.message}", file=err)
        return 1
    finally:
        await engine.dispose()
    verb = "would be" if dry_run else "were"
    print(
        f"{result.rows} row(s): {result.created} {verb} created, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.skipped_retired} skipped (retired)"
        + (" (dry run: nothing written)" if dry_run else ""),
        file=out,
    )
    return 0


async def seed_database(admin_url: URL, *, demo: bool, out: TextIO) -> int:
    engine = create_async_engine(admin_url)
    try:
        result = await seed.seed(engine, demo=demo)
    finally:
        await engine.dispose()
    print(
        f"seeded: {result.organisations} organisation(s), {result.mechanisms} referral "
        f"mechanism(s)"
        + (f", {result.demo_organisations} demo organisation(s)" if demo else "")
        + " new; everything else was present already",
        file=out,
    )
    return 0
