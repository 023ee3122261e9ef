"""The ``safe-future`` command: migrate, serve, token, schema export, seed, social-map import."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from service import db
from service.auth import KNOWN_ROLES, ensure_key_pair, issue_token
from service.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from service.events.store import EventStore


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
    from service.heap import collect_less_often
    from service.observability import configure_logging, skip_unwritten_record_fields
    from service.serving import server_config

    # In production, `safe-future migrate` runs once as the owner (a one-shot job) and the API
    # connects only as the service role.
    prepared = prepare(settings, migrate=not settings.production)
    print(
        f"Serving GraphQL on http://{settings.host}:{settings.port}/graphql\n"
        "Get a token with:  .venv/bin/safe-future token --org moviera --role caseworker",
        flush=True,
    )
    configure_logging()
    skip_unwritten_record_fields()
    collect_less_often()
    # uvicorn re-raises the signal that stopped it once it has shut down gracefully; with a
    # handler of our own in place that re-raise returns, and the process exits with 0.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    # Limits and timeouts: service.serving.
    uvicorn.Server(
        server_config(create_app(settings, prepared.app_url), settings.host, settings.port)
    ).run()
    return 0


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    if settings.production:
        print("tokens come from your identity provider in production mode", file=sys.stderr)
        return 2
    ensure_key_pair(settings.jwt_private_key_file, settings.jwt_public_key_file)
    if not 0 < args.hours * 3600 <= settings.jwt_max_lifetime_seconds:
        print(
            f"--hours must be more than 0 and at most "
            f"{settings.jwt_max_lifetime_seconds / 3600:g} (SAFE_FUTURE_JWT_MAX_LIFETIME_SECONDS)",
            file=sys.stderr,
        )
        return 2
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


def rebuild_store(settings: Settings) -> EventStore:
    """The store a rebuild reads the log with: the clients' keys open the log's personal
    fields and seal the rebuilt rows'. Module-level, so that each process of a rebuild's fill
    makes its own (``FillProcesses``)."""
    from service.domain.return_case import EVENT_TYPES
    from service.events.store import EventStore
    from service.events.types import EventRegistry
    from service.privacy.cipher import PersonalDataCipher
    from service.privacy.keys import load_master_keyring

    cipher = PersonalDataCipher(load_master_keyring(settings))
    return EventStore(EventRegistry(EVENT_TYPES), cipher=cipher)


# A rebuild's processes by default: each holds up to 9 of the database's connections, which it
# shares with the running service (PostgreSQL allows 100 unless told otherwise).
FILL_PROCESSES_AT_MOST = 4


def fill_processes() -> int:
    """A rebuild's processes by default: the cores this process may run on (its affinity where
    the system tells it), at most ``FILL_PROCESSES_AT_MOST``."""
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    return min(cores, FILL_PROCESSES_AT_MOST)


def _positive(text: str) -> int:
    """A count of at least one, for an option."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def cmd_projections(settings: Settings, args: argparse.Namespace) -> int:
    from service.events.projections.rebuild import REBUILDERS, FillProcesses

    names = [args.name] if args.name else sorted(REBUILDERS)
    unknown = [n for n in names if n not in REBUILDERS]
    if unknown:
        print(f"unknown projection(s): {', '.join(unknown)}; known: {sorted(REBUILDERS)}")
        return 2
    prepared = prepare(settings)
    processes = FillProcesses(args.processes, functools.partial(rebuild_store, settings))

    async def run() -> None:
        engine = create_async_engine(prepared.admin_url)
        try:
            store = rebuild_store(settings)
            for name in names:
                folded = await REBUILDERS[name](
                    engine, store, settings.app_db_role, processes=processes
                )
                print(f"rebuilt {name} from {folded} events")
        finally:
            await engine.dispose()

    asyncio.run(run())
    return 0


def cmd_reports_rebuild(settings: Settings, _args: argparse.Namespace) -> int:
    from service.reports.projection import rebuild_reports

    prepared = prepare(settings)
    events = asyncio.run(rebuild_reports(prepared.app_url))
    print(f"rebuilt the report read model from {events} events")
    return 0


def cmd_keys_rotate_master(settings: Settings, _args: argparse.Namespace) -> int:
    from service.privacy.commands import rotate_master_key

    prepared = prepare(settings)
    return asyncio.run(rotate_master_key(settings, prepared.admin_url, sys.stdout, sys.stderr))


def cmd_keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from service.privacy.commands import keys_rotate

    # Only the service role is needed: rewrapping goes through ``rewrap_data_keys``.
    prepared = prepare(settings, migrate=not settings.production)
    return asyncio.run(
        keys_rotate(settings, prepared.app_url, sys.stdout, sys.stderr, if_due=args.if_due)
    )


def cmd_keys_status(settings: Settings, _args: argparse.Namespace) -> int:
    from service.privacy.commands import keys_status

    prepared = prepare(settings, migrate=not settings.production)
    return asyncio.run(keys_status(settings, prepared.app_url, sys.stdout))


def cmd_retention_run(settings: Settings, args: argparse.Namespace) -> int:
    from service.privacy.commands import retention_run

    prepared = prepare(settings)
    return asyncio.run(
        retention_run(
            settings,
            prepared.app_url,
            prepared.admin_url,
            dry_run=args.dry_run,
            today=dt.datetime.now(dt.UTC).date(),
            out=sys.stdout,
        )
    )


def cmd_social_map_import(settings: Settings, args: argparse.Namespace) -> int:
    from service.socialmap import commands

    path = Path(args.file)
    fmt = commands.format_of(path, args.format)
    if fmt is None:
        print(
            "give --format csv, json, htcds_csv or htcds_json (or name the file *.csv or *.json)",
            file=sys.stderr,
        )
        return 2
    prepared = prepare(settings)
    # "Last verified" may be today anywhere on Earth (UTC+14), as in the API.
    today = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=14)).date()
    return asyncio.run(
        commands.import_file(
            prepared.admin_url,
            path,
            fmt,
            dry_run=args.dry_run,
            actor=commands.cli_actor(args.actor),
            today=today,
            out=sys.stdout,
            err=sys.stderr,
        )
    )


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    from service.socialmap import commands

    if args.demo and settings.production:
        print("the demo data set is fictional: refused in production mode", file=sys.stderr)
        return 2
    prepared = prepare(settings)
    return asyncio.run(commands.seed_database(prepared.admin_url, demo=args.demo, out=sys.stdout))


def cmd_policy_set(settings: Settings, args: argparse.Namespace) -> int:
    from service.work.commands import set_work_policy

    prepared = prepare(settings)
    return asyncio.run(
        set_work_policy(
            prepared.admin_url,
            args.org,
            follow_up_months=args.follow_up_months,
            follow_up_window_days=args.follow_up_window_days,
            referral_answer_days=args.referral_answer_days,
            out=sys.stdout,
            err=sys.stderr,
        )
    )


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
    rebuild.add_argument(
        "--processes",
        type=_positive,
        default=fill_processes(),
        help="processes that fill the read models at once, this one included, each with up to "
        f"9 database connections (default: the cores this process may use, at most "
        f"{FILL_PROCESSES_AT_MOST})",
    )
    rebuild.set_defaults(run=cmd_projections)
    reports = sub.add_parser("reports", help="CoMensha's cross-tenant reports")
    reports_sub = reports.add_subparsers(dest="action", required=True)
    reports_sub.add_parser(
        "rebuild", help="rebuild the report read model from the log"
    ).set_defaults(run=cmd_reports_rebuild)
    keys = sub.add_parser("keys", help="the keys that wrap the clients' data keys")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    rotate = keys_sub.add_parser(
        "rotate",
        help="new key-encryption key: rewrap every data key, destroy the old key "
        "(also finishes an interrupted rotation)",
    )
    rotate.add_argument(
        "--if-due",
        action="store_true",
        help="only when the current key is near SAFE_FUTURE_KEK_MAX_AGE_HOURS (for cron)",
    )
    rotate.set_defaults(run=cmd_keys_rotate)
    keys_sub.add_parser(
        "status", help="the current key-encryption key's age, when it is due, what is pending"
    ).set_defaults(run=cmd_keys_status)
    keys_sub.add_parser(
        "rotate-master",
        help="move every key under the current master key (after changing it)",
    ).set_defaults(run=cmd_keys_rotate_master)
    retention = sub.add_parser("retention", help="erase personal data past its retention period")
    retention_sub = retention.add_subparsers(dest="action", required=True)
    retention_run = retention_sub.add_parser(
        "run", help="erase cases closed longer ago than SAFE_FUTURE_RETENTION_YEARS"
    )
    retention_run.add_argument(
        "--dry-run", action="store_true", help="list the cases a run would erase; change nothing"
    )
    retention_run.set_defaults(run=cmd_retention_run)
    social_map = sub.add_parser("social-map", help="the shared social map of organisations")
    map_sub = social_map.add_subparsers(dest="action", required=True)
    importing = map_sub.add_parser(
        "import", help="import organisations from CSV or JSON (all rows or none)"
    )
    importing.add_argument("file", help="a .csv or .json file")
    importing.add_argument(
        "--format",
        choices=["csv", "json", "htcds_csv", "htcds_json"],
        help="default: the extension; htcds_* for HTCDS 2.0 organisation fields (org_Name, ...)",
    )
    importing.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    importing.add_argument("--actor", help="who imports, for the history (default: cli:<user>)")
    importing.set_defaults(run=cmd_social_map_import)
    seeding = sub.add_parser(
        "seed", help="load the social map's seed (idempotent; never overwrites edits)"
    )
    seeding.add_argument(
        "--demo", action="store_true", help="also load the fictional demo set (not in production)"
    )
    seeding.set_defaults(run=cmd_seed)
    policy = sub.add_parser("policy", help="a shelter's settings for follow-up and work lists")
    policy_sub = policy.add_subparsers(dest="action", required=True)
    policy_set = policy_sub.add_parser(
        "set", help="set the follow-up schedule and waiting times of one shelter"
    )
    policy_set.add_argument("--org", required=True, help="the shelter's slug")
    policy_set.add_argument(
        "--follow-up-months", help="months after departure, comma-separated (default 3,6,12)"
    )
    policy_set.add_argument(
        "--follow-up-window-days",
        type=int,
        help="days around a due date within which a contact is on time (default 30)",
    )
    policy_set.add_argument(
        "--referral-answer-days",
        type=int,
        help="days a referral may wait for an answer before it is work (default 14)",
    )
    policy_set.set_defaults(run=cmd_policy_set)
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
