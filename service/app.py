"""The Starlette application: routes, middleware and lifespan (engine, tenants, feed)."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import URL
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from service.auth import Tenant, TokenVerifier, identity_provider, load_signing_key, service_issuer
from service.browser_policy import BrowserPolicy
from service.config import Settings
from service.db import create_app_engine, migration_heads, tenant_transaction
from service.domain.return_case import EVENT_TYPES, ReadinessPolicy
from service.events.announce import CommitAnnouncer
from service.events.cursor import CursorSealer
from service.events.feed import FeedHub
from service.events.store import EventStore
from service.events.stream_cache import StreamCache
from service.events.types import EventRegistry
from service.exports.http import routes as export_routes
from service.gate import RequestGate
from service.graphiql import graphiql_routes
from service.graphql_view import SafeFutureGraphQL
from service.handlers.return_case import Dependencies
from service.health import healthz, metrics, readyz
from service.heap import SubscriptionHeap, freeze_after_start_up
from service.integrators.clients import is_active
from service.integrators.oauth import token_endpoint
from service.observability import Metrics
from service.privacy.cipher import PersonalDataCipher
from service.privacy.keys import load_master_keyring
from service.privacy.rotation import (
    check_kek_directory,
    ensure_first_kek,
    run_rotation_schedule,
)
from service.reports.http import routes as report_routes
from service.reports.projection import ReportProjection
from service.schema.ids import to_global_id
from service.serving import writes_together
from service.socialmap.http import routes as socialmap_routes


async def load_tenants(engine: Any) -> dict[str, Tenant]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, slug, name, kind FROM tenants"))
        return {r.slug: Tenant(id=r.id, slug=r.slug, name=r.name, kind=r.kind) for r in rows}


def create_app(
    settings: Settings, app_db_url: URL, clock: Callable[[], dt.datetime] | None = None
) -> Starlette:
    """The ASGI app, connecting as the service role at ``app_db_url``.

    ``clock`` tells the time (default: the system's, in UTC): it dates recorded events and
    decides what is due today. Tests pass one they can move.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        signing_key = load_signing_key(settings)
        # Personal fields are encrypted per client under this master key; production refuses
        # to start without one (ConfigError), development generates one in the data folder.
        cipher = PersonalDataCipher(load_master_keyring(settings))
        engine = create_app_engine(app_db_url, settings.db_pool_size)
        listen_dsn = app_db_url.set(drivername="postgresql").render_as_string(hide_password=False)
        feed: FeedHub | None = None
        reports: ReportProjection | None = None
        # Commits wake this process's feed and reports at once, other processes by NOTIFY.
        announcer = CommitAnnouncer(lambda: asyncpg.connect(listen_dsn))
        rotation: asyncio.Task[None] | None = None
        heap: asyncio.Task[None] | None = None
        stop_rotation = asyncio.Event()

        async def client_active(tenant: Tenant, client_id: str) -> bool:
            async with tenant_transaction(engine, tenant.id) as conn:
                return await is_active(conn, client_id)

        try:
            tenants = await load_tenants(engine)
            app.state.metrics = metrics_ = Metrics()
            store = EventStore(
                EventRegistry(EVENT_TYPES),
                on_append=metrics_.events_appended.inc,
                cipher=cipher,
                announce=announcer.committed,
                stream_cache=StreamCache(),
            )
            app.state.settings = settings
            app.state.migration_heads = migration_heads(settings.migrations_dir)
            app.state.signing_key = signing_key
            app.state.verifier = TokenVerifier(
                [identity_provider(settings), service_issuer(settings, signing_key)],
                audience=settings.jwt_audience,
                tenants=tenants,
                leeway=settings.jwt_leeway_seconds,
                max_lifetime=settings.jwt_max_lifetime_seconds,
                client_active=client_active,
            )
            app.state.deps = Dependencies(
                engine=engine,
                store=store,
                tenants=tenants,
                clock=clock or (lambda: dt.datetime.now(dt.UTC)),
                readiness_policy=ReadinessPolicy(
                    risk_assessment_max_age_days=settings.risk_assessment_max_age_days
                ),
            )
            app.state.cursors = CursorSealer(signing_key)

            async def subscriber_active(tenant_id: uuid.UUID, client_id: str) -> bool:
                async with tenant_transaction(engine, tenant_id) as conn:
                    return await is_active(conn, client_id)

            # The NOTIFYs this process sent are skipped: its readers were called already.
            def listen() -> Awaitable[asyncpg.Connection]:
                connecting: Awaitable[asyncpg.Connection] = asyncpg.connect(listen_dsn)
                return connecting

            feed = FeedHub(
                engine,
                store,
                listen,
                client_active=subscriber_active,
                revocation_recheck_seconds=settings.revocation_recheck_seconds,
                own_notification=announcer.sent_here,
                write_together=writes_together,
            )
            await feed.start()
            app.state.feed = feed
            announcer.on_commit(feed.wake)
            reports = ReportProjection(engine, store, listen, own_notification=announcer.sent_here)
            await reports.start()
            announcer.on_commit(reports.wake)
            metrics_.track_subscriptions(lambda: feed.subscriber_count if feed else 0)
            await ensure_first_kek(engine, cipher.keks)
            await check_kek_directory(engine, cipher.keks)
            # Key-encryption keys rotate on schedule (one instance at a time), so copies of
            # the database made before an erasure stop being readable within the maximum age.
            rotation = asyncio.create_task(
                run_rotation_schedule(
                    engine,
                    cipher.keks,
                    max_age=dt.timedelta(hours=settings.kek_max_age_hours),
                    interval=dt.timedelta(seconds=settings.kek_check_seconds),
                    stop=stop_rotation,
                )
            )
            # Full collections walk only what came after start-up and the open subscriptions
            # (service.heap).
            freeze_after_start_up()
            heap = asyncio.create_task(
                SubscriptionHeap(lambda: feed.subscriber_count).run(stop_rotation)
            )
            yield
        finally:
            stop_rotation.set()
            if rotation is not None:
                await rotation
            if heap is not None:
                await heap
                gc.unfreeze()  # what was frozen is collected normally after a stop
            await announcer.close()
            if reports is not None:
                await reports.stop()
            if feed is not None:
                await feed.close()
            await engine.dispose()

    graphql = SafeFutureGraphQL(settings)
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/oauth/token", token_endpoint, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *report_routes(),
            *socialmap_routes(lambda org_id: to_global_id("Organisation", org_id)),
            *export_routes(lambda case_id: to_global_id("ReturnCase", case_id)),
            *(graphiql_routes() if settings.graphiql else ()),
        ],
        middleware=[
            Middleware(BrowserPolicy, allowed_origins=settings.allowed_origins),
            Middleware(RequestGate, max_body_bytes=settings.max_body_bytes, protect=("/graphql",)),
        ],
        lifespan=lifespan,
    )
