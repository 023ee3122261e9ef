"""The ``safe-future`` command: migrate, serve, token, schema export."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from service import db
from service.auth import KNOWN_ROLES, ensure_key_pair, issue_token
from service.config import ConfigError, Settings, load_settings


@dataclass
class Prepared:
    admin_url: URL
    app_url: URL
    embedded: db.EmbeddedServer | None


def prepare(settings: Settings, *, migrate: bool = True) -> Prepared:
    """Start the embedded server when no DATABASE_URL is set, migrate, create dev keys.

    With ``migrate=False`` only the service role's URL is worked out: a production API
    container needs neither the owner's password nor the right to change the schema.
    """
    embedded = None
    if settings.database_url is None:
        embedded = db.EmbeddedServer(settings.data_dir / "pg")
        admin_url = embedded.admin_url()
    else:
        admin_url = db.to_async_url(settings.database_url)
    password = db.app_password(settings)

    async def setup() -> None:
        await db.ensure_database(admin_url)
        await db.migrate(
            admin_url, settings.app_db_role, password, migrations_dir=settings.migrations_dir
        )

    if migrate:
        asyncio.run(setup())
    if not settings.production:
        ensure_key_pair(settings.jwt_private_key_file, settings.jwt_public_key_file)
    return Prepared(admin_url, db.app_url(admin_url, settings.app_db_role, password), embedded)


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    prepare(settings)
    print("migrations applied")
    return 0


def cmd_serve(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app
    from service.observability import configure_logging

    # In production, `safe-future migrate` runs once as the owner (a one-shot job) and the API
    # connects only as the service role.
    prepared = prepare(settings, migrate=not settings.production)
    print(
        f"Serving GraphQL on http://{settings.host}:{settings.port}/graphql\n"
        "Get a token with:  .venv/bin/safe-future token --org moviera --role caseworker",
        flush=True,
    )
    configure_logging()
    uvicorn.run(
        create_app(settings, prepared.app_url),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,  # the request gate writes its own, without query strings
        ws="websockets-sansio",
    )
    return 0


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    if settings.production:
        print("tokens come from your identity provider in production mode", file=sys.stderr)
        return 2
    ensure_key_pair(settings.jwt_private_key_file, settings.jwt_public_key_file)
    unknown = set(args.role) - KNOWN_ROLES
    if unknown:
        print(f"unknown role(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    print(
        issue_token(
            settings.jwt_private_key_file.read_bytes(),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            subject=args.subject or f"dev-{args.org}",
            organisation=args.org,
            roles=args.role,
            lifetime=dt.timedelta(hours=args.hours),
        )
    )
    return 0


def cmd_export_schema(_settings: Settings, args: argparse.Namespace) -> int:
    from service.schema import SCHEMA_FILE, export_sdl

    sdl = export_sdl()
    if args.check:
        if not SCHEMA_FILE.exists() or SCHEMA_FILE.read_text() != sdl:
            print("schema.graphql is stale: run `safe-future export-schema`", file=sys.stderr)
            return 1
        return 0
    SCHEMA_FILE.write_text(sdl)
    print(f"wrote {SCHEMA_FILE}")
    return 0


def cmd_projections(settings: Settings, args: argparse.Namespace) -> int:
    from service.domain.return_case import EVENT_TYPES
    from service.events.projections.rebuild import REBUILDERS
    from service.events.store import EventStore
    from service.events.types import EventRegistry

    names = [args.name] if args.name else sorted(REBUILDERS)
    unknown = [n for n in names if n not in REBUILDERS]
    if unknown:
        print(f"unknown projection(s): {', '.join(unknown)}; known: {sorted(REBUILDERS)}")
        return 2
    prepared = prepare(settings)

    async def run() -> None:
        engine = create_async_engine(prepared.admin_url)
        try:
            store = EventStore(EventRegistry(EVENT_TYPES))
            for name in names:
                folded = await REBUILDERS[name](engine, store, settings.app_db_role)
                print(f"rebuilt {name} from {folded} events")
        finally:
            await engine.dispose()

    asyncio.run(run())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="safe-future", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(run=cmd_migrate)
    sub.add_parser("serve", help="migrate and serve the API").set_defaults(run=cmd_serve)
    token = sub.add_parser("token", help="issue a development token")
    token.add_argument("--org", required=True, help="organisation slug, e.g. moviera")
    token.add_argument("--role", action="append", required=True, help="role (repeatable)")
    token.add_argument("--subject", help="subject (user id); default dev-<org>")
    token.add_argument("--hours", type=float, default=8.0, help="lifetime in hours")
    token.set_defaults(run=cmd_token)
    projections = sub.add_parser("projections", help="read models")
    proj_sub = projections.add_subparsers(dest="action", required=True)
    rebuild = proj_sub.add_parser("rebuild", help="rebuild from the log, then swap in")
    rebuild.add_argument("name", nargs="?", help="one projection (default: all)")
    rebuild.set_defaults(run=cmd_projections)
    export = sub.add_parser("export-schema", help="write schema.graphql")
    export.add_argument("--check", action="store_true", help="fail when the file is stale")
    export.set_defaults(run=cmd_export_schema)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return int(args.run(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())
