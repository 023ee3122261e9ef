"""Shared code of the fault-injection tests (``test_faults_*.py``).

* ``post``: one GraphQL request over real HTTP, returning what happened (a response or a
  transport error) instead of raising, so a test can judge every outcome;
* ``Writer``: one client stepping its own case with ``expectedVersion`` and an idempotency key
  per command, retrying a failed command with the same key, recording every acknowledgement;
* ``FeedFollower``: a graphql-transport-ws subscriber that resubscribes from its last cursor
  whenever a subscription ends, and reconnects whenever its socket drops;
* ``ServeProcess``: a ``safe-future serve`` subprocess on loopback against the test database;
* ``log_facts`` / ``consistency_problems`` / ``ack_problems``: what the log and the read models
  hold, read as the owner (row-level security does not hide rows from it).

Every wait has a timeout and every loop a bound.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

from service.auth import load_signing_key
from service.config import Settings
from service.schema.ids import from_global_id
from tests.conftest import APP_PASSWORD, Database

WAIT = 10.0
TRANSPORT_WS = "graphql-transport-ws"
ERROR_CODES = frozenset(
    {"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT", "CONFLICT", "INTERNAL"}
)
# What an error shown to a client must never contain (DESIGN §9: no stack trace, no SQL).
LEAKS = ("[SQL:", "Traceback", "asyncpg", "sqlalchemy", "SELECT ", "INSERT ")

TERMINATE_SERVICE_BACKENDS = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE usename = 'safe_future_app' AND datname = current_database() "
    "AND pid <> pg_backend_pid()"
)

CASE_FIELDS = "id version"
OPEN = f"""
mutation Open($input: OpenReturnCaseInput!) {{
  openReturnCase(input: $input) {{ version replayed case {{ {CASE_FIELDS} }} }}
}}
"""
READ_CASE = """
query Read($id: ID!) {
  returnCase(id: $id) { id version timeline { version eventType } }
}
"""
EVENT_FIELDS = "cursor caseId version eventType"
SUBSCRIBE = f"""
subscription Feed($after: String, $caseId: ID) {{
  caseEvents(after: $after, caseId: $caseId) {{ {EVENT_FIELDS} }}
}}
"""
PAGE = f"""
query Page($after: String, $first: Int!, $caseId: ID) {{
  caseEvents(after: $after, first: $first, caseId: $caseId) {{
    edges {{ cursor node {{ {EVENT_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""


def mutation(name: str) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return f"""
    mutation Run($input: {input_type}!) {{
      {name}(input: $input) {{ version replayed case {{ {CASE_FIELDS} }} }}
    }}
    """


def step_command(n: int) -> tuple[str, str, dict[str, Any]]:
    """The ``n``-th change of a writer: commands the rules accept any number of times on an
    open case that has not departed. (mutation name, event type, input fields)"""
    day = f"2026-03-{n % 28 + 1:02d}"
    if n % 2:
        return "assessRisk", "RiskAssessed", {"assessedOn": day, "level": "LOW"}
    return (
        "recordReturnConversation",
        "ReturnConversationRecorded",
        {"heldOn": day, "wish": "UNDECIDED"},
    )


def open_input(pseudonym: str) -> dict[str, Any]:
    return {
        "intakeDate": "2026-01-05",
        "pseudonym": pseudonym,
        "gender": "FEMALE",
        "birthYear": 1998,
        "nationality": "NG",
        "countryOfOrigin": "NG",
        "languages": ["en"],
        "exploitationForms": ["FORCED_LABOUR"],
    }


# --- HTTP -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one HTTP request got: a status and body, or (status None) a transport error."""

    label: str
    status: int | None
    body: dict[str, Any] | None = None
    transport_error: str | None = None

    @property
    def ok(self) -> bool:
        return (
            self.status == 200
            and self.body is not None
            and not self.body.get("errors")
            and self.body.get("data") is not None
        )

    @property
    def codes(self) -> list[Any]:
        errors = (self.body or {}).get("errors") or []
        return [(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)]

    def problems(self) -> list[str]:
        """Why this outcome breaks the error contract (a 5xx, an error without a code, ...)."""
        if self.status is None or self.ok:
            return []
        found: list[str] = []
        if self.status >= 500:
            found.append(f"{self.label}: HTTP {self.status}: {self.body}")
        errors = (self.body or {}).get("errors")
        if not isinstance(errors, list) or not errors:
            found.append(f"{self.label}: HTTP {self.status} without GraphQL errors: {self.body}")
            return found
        for code in self.codes:
            if code not in ERROR_CODES:
                found.append(f"{self.label}: error without a known extensions.code: {errors}")
        shown = json.dumps(errors)
        found.extend(
            f"{self.label}: error shows {leak!r}: {shown}" for leak in LEAKS if leak in shown
        )
        return found


async def post(
    http: httpx.AsyncClient,
    token: str,
    query: str,
    variables: dict[str, Any],
    label: str = "request",
    seconds: float = WAIT,
) -> Outcome:
    try:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
            timeout=seconds,
        )
    except httpx.TransportError as exc:
        return Outcome(label, None, transport_error=type(exc).__name__)
    try:
        body = response.json()
    except ValueError:
        body = {"unparsable": response.text[:500]}
    return Outcome(label, response.status_code, body if isinstance(body, dict) else {"raw": body})


# --- writers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    """A mutation the service acknowledged: data and no errors."""

    case_id: str  # global ID
    version: int
    event_type: str
    idempotency_key: str


@dataclass
class Pending:
    """A command sent but not (yet) acknowledged: resend it as it was, key included."""

    name: str
    query: str
    variables: dict[str, Any]
    event_type: str
    label: str


@dataclass
class Writer:
    """One client stepping its own case, one command at a time, with ``expectedVersion``.

    Every command carries a fresh idempotency key; a failed command is sent again with the same
    key and the same expected version (a real client's retry), so a command whose commit reached
    the database before its answer was lost is answered as it was first, never applied twice.
    With ``stop_on_transport_error`` the writer stops at the first request that gets no HTTP
    response at all (the server is gone); ``pending`` then holds the unanswered command, which
    ``retry_pending`` sends again (to another server: set ``http`` first).
    """

    http: httpx.AsyncClient
    token: str
    name: str
    stop_on_transport_error: bool = False
    max_attempts: int = 12
    case_id: str | None = None
    version: int = 0
    acks: list[Ack] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    stopped: bool = False
    pending: Pending | None = None
    on_ack: Callable[[], None] | None = None

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    async def _send(self, pending: Pending) -> bool:
        """Send ``pending`` until acknowledged (True), the server is gone, or attempts run out."""
        self.pending = pending
        for attempt in range(self.max_attempts):
            outcome = await post(
                self.http, self.token, pending.query, pending.variables, pending.label
            )
            self.outcomes.append(outcome)
            if outcome.ok:
                assert outcome.body is not None
                self._acknowledge(outcome.body["data"][pending.name], pending)
                return True
            if outcome.status is None and self.stop_on_transport_error:
                self.stopped = True
                return False
            await asyncio.sleep(min(0.02 * 2**attempt, 0.4))
        self.gave_up.append(pending.label)
        return False

    def _acknowledge(self, payload: dict[str, Any], pending: Pending) -> None:
        case = payload["case"]
        expected = pending.variables["input"].get("expectedVersion", 0)
        assert payload["version"] == expected + 1, (pending.label, payload, expected)
        key = pending.variables["input"]["idempotencyKey"]
        self.case_id = case["id"]
        self.version = payload["version"]
        self.acks.append(Ack(case["id"], payload["version"], pending.event_type, key))
        self.pending = None
        if self.on_ack is not None:
            self.on_ack()

    def _key(self) -> str:
        return f"fault-{self.name}-{uuid.uuid4().hex}"

    async def open(self, pseudonym: str = "Fault Client") -> None:
        fields = {**open_input(pseudonym), "idempotencyKey": self._key()}
        label = f"{self.name} open"
        await self._send(
            Pending("openReturnCase", OPEN, {"input": fields}, "ReturnCaseOpened", label)
        )

    async def retry_pending(self) -> bool:
        """Send the unanswered command again, with its key; True when acknowledged now."""
        if self.pending is None:
            return False
        self.stopped = False
        pending = dataclasses.replace(self.pending, label=self.pending.label + " (retried)")
        return await self._send(pending)

    async def _resync(self) -> bool:
        """After giving up on a command: learn the case's version from the API."""
        for _ in range(self.max_attempts):
            outcome = await post(
                self.http, self.token, READ_CASE, {"id": self.case_id}, f"{self.name} read"
            )
            self.outcomes.append(outcome)
            if outcome.ok:
                assert outcome.body is not None
                self.version = outcome.body["data"]["returnCase"]["version"]
                self.pending = None
                return True
            if outcome.status is None and self.stop_on_transport_error:
                self.stopped = True
                return False
            await asyncio.sleep(0.1)
        return False

    async def run(self, steps: int, start: int = 0) -> None:
        """Changes number ``start`` to ``start + steps - 1`` on the writer's case (opened
        first when it has none), until the server is gone."""
        if self.case_id is None:
            await self.open()
        for n in range(start, start + steps):
            if self.stopped or self.case_id is None:
                return
            name, event_type, fields = step_command(n)
            fields = {
                **fields,
                "caseId": self.case_id,
                "expectedVersion": self.version,
                "idempotencyKey": self._key(),
            }
            pending = Pending(
                name, mutation(name), {"input": fields}, event_type, f"{self.name} {name}#{n}"
            )
            if not await self._send(pending) and not self.stopped and not await self._resync():
                return


def contract_problems(outcomes: Iterable[Outcome]) -> list[str]:
    return [p for o in outcomes for p in o.problems()]


# --- the feed ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedEvent:
    cursor: str
    case_id: str
    version: int
    event_type: str


class FeedFollower:
    """Follows several ``caseEvents`` subscriptions on one socket, resuming each from its cursor.

    ``feeds`` maps a logical name to the subscription's ``caseId`` (None: the whole shelter)
    and its starting ``after``. Whenever a subscription ends (``error``, ``complete``, or a
    ``next`` carrying errors) it is subscribed again with a fresh operation id from the last
    cursor it received; whenever the socket drops, the follower reconnects (to ``urls()``)
    and resubscribes every feed. Messages for an operation given up are ignored. With
    ``churn_every`` the follower also ends subscriptions and drops its socket on purpose, so
    that resumption itself runs while faults happen.
    """

    def __init__(
        self,
        urls: Callable[[], str],
        token: str,
        feeds: dict[str, tuple[str | None, str | None]],
        churn_every: int = 0,
    ) -> None:
        self.urls = urls
        self.churn_every = churn_every
        self.churns = 0
        self._since_churn = 0
        self.token = token
        self.case_ids = {name: case_id for name, (case_id, _) in feeds.items()}
        self.cursors = {name: after for name, (_, after) in feeds.items()}
        self.received: dict[str, list[FeedEvent]] = {name: [] for name in feeds}
        self.ends: list[tuple[str, Any]] = []  # (feed, what ended it)
        self.closes: list[tuple[int | None, str]] = []  # (close code, reason) per socket drop
        self.problems: list[str] = []
        self.connections = 0
        self.subscriptions = 0
        self._live: dict[str, str] = {}

    async def _subscribe(self, ws: ClientConnection, name: str) -> None:
        self.subscriptions += 1
        assert self.subscriptions <= 2000, "far more resubscriptions than any fault explains"
        op_id = f"{name}#{self.subscriptions}"
        self._live[op_id] = name
        variables = {"after": self.cursors[name], "caseId": self.case_ids[name]}
        payload = {"query": SUBSCRIBE, "variables": variables}
        await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))

    async def _handle(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            return
        if kind == "pong":
            return
        name = self._live.get(str(message.get("id")))
        if name is None:
            return  # an operation this client has given up
        payload = message.get("payload")
        if kind == "next" and isinstance(payload, dict) and not payload.get("errors"):
            raw = payload["data"]["caseEvents"]
            event = FeedEvent(raw["cursor"], raw["caseId"], raw["version"], raw["eventType"])
            self.received[name].append(event)
            self.cursors[name] = event.cursor
            await self._churn(ws, str(message["id"]), name)
            return
        if kind in ("next", "error", "complete"):
            errors = payload.get("errors") if isinstance(payload, dict) else payload
            self.ends.append((name, errors if kind != "complete" else "complete"))
            for error in errors if isinstance(errors, list) else []:
                code = (error.get("extensions") or {}).get("code")
                if code not in ERROR_CODES:
                    self.problems.append(f"subscription error without extensions.code: {error}")
                shown = json.dumps(error)
                self.problems.extend(
                    f"subscription error shows {leak!r}: {shown}" for leak in LEAKS if leak in shown
                )
            del self._live[str(message["id"])]
            await self._subscribe(ws, name)
            return
        self.problems.append(f"unexpected message: {message}")

    async def _churn(self, ws: ClientConnection, op_id: str, name: str) -> None:
        """Every ``churn_every`` events, end something on purpose: mostly one subscription
        (``complete``, then resubscribe from its cursor), every third time the whole socket
        (dropped without a close handshake)."""
        self._since_churn += 1
        if not self.churn_every or self._since_churn < self.churn_every:
            return
        self._since_churn = 0
        self.churns += 1
        if self.churns % 3 == 0:
            ws.transport.abort()
            return
        await ws.send(json.dumps({"id": op_id, "type": "complete"}))
        del self._live[op_id]
        await self._subscribe(ws, name)

    async def run(
        self, done: Callable[[], bool], seconds: float, max_connections: int = 30
    ) -> None:
        """Follow until ``done()`` (checked at least every 0.2 s), for at most ``seconds``."""
        async with asyncio.timeout(seconds):
            while not done():
                self.connections += 1
                assert self.connections <= max_connections, (self.closes, self.problems)
                try:
                    await self._connection(done)
                except ConnectionClosed as closed:
                    received = closed.rcvd
                    self.closes.append(
                        (received.code, received.reason) if received else (None, "no close frame")
                    )
                except (OSError, InvalidHandshake) as exc:
                    self.closes.append((None, type(exc).__name__))
                    await asyncio.sleep(0.1)

    async def _connection(self, done: Callable[[], bool]) -> None:
        async with websockets.connect(
            self.urls(),
            subprotocols=[Subprotocol(TRANSPORT_WS)],
            open_timeout=WAIT,
            close_timeout=2,
        ) as ws:
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}
            await ws.send(json.dumps(init))
            async with asyncio.timeout(WAIT):
                ack = json.loads(await ws.recv())
            assert ack.get("type") == "connection_ack", ack
            self._live.clear()
            for name in self.received:
                await self._subscribe(ws, name)
            while not done():
                try:
                    async with asyncio.timeout(0.2):
                        raw = await ws.recv()
                except TimeoutError:
                    continue
                await self._handle(ws, json.loads(raw))


def delivery_problems(
    received: list[FeedEvent], expected: dict[str, list[tuple[int, str]]]
) -> list[str]:
    """Did ``received`` hold every event of the expected cases exactly once, in version order?

    ``expected`` maps a case's global ID to its (version, event type) list from the log;
    events of other cases in ``received`` are ignored.
    """
    found: list[str] = []
    for case_id, want in expected.items():
        got = [(e.version, e.event_type) for e in received if e.case_id == case_id]
        if got != want:
            seen = [v for v, _ in got]
            dupes = sorted({v for v in seen if seen.count(v) > 1})
            missing = sorted({v for v, _ in want} - set(seen))
            found.append(
                f"case {case_id}: got versions {seen}, want 1..{len(want)} "
                f"(duplicates {dupes}, missing {missing})"
            )
    return found


# --- the log and the read models --------------------------------------------------------------


@dataclass
class CaseFacts:
    events: list[tuple[int, str, str | None]] = field(default_factory=list)  # version, type, key
    read_model_version: int | None = None
    timeline: list[tuple[int, str]] = field(default_factory=list)


async def log_facts(
    admin_engine: AsyncEngine, case_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, CaseFacts]:
    """Per return case: its events, read-model version and timeline, read as the owner.

    Without ``case_ids``: every return case in the database.
    """
    ids = None if case_ids is None else list(case_ids)
    only = "" if ids is None else " AND {col} = ANY(:ids)"
    params: dict[str, Any] = {} if ids is None else {"ids": ids}
    facts: dict[uuid.UUID, CaseFacts] = {}
    async with admin_engine.connect() as conn:
        events = await conn.execute(
            text(
                "SELECT stream_id, version, event_type, metadata->>'idempotency_key' FROM events "
                "WHERE stream_type = 'ReturnCase'"
                + only.format(col="stream_id")
                + " ORDER BY stream_id, version"
            ),
            params,
        )
        for stream_id, version, event_type, key in events:
            facts.setdefault(stream_id, CaseFacts()).events.append((version, event_type, key))
        models = await conn.execute(
            text(
                "SELECT case_id, version FROM return_cases WHERE true" + only.format(col="case_id")
            ),
            params,
        )
        for case_id, version in models:
            facts.setdefault(case_id, CaseFacts()).read_model_version = version
        timeline = await conn.execute(
            text(
                "SELECT case_id, version, event_type FROM case_timeline WHERE true"
                + only.format(col="case_id")
                + " ORDER BY case_id, version"
            ),
            params,
        )
        for case_id, version, event_type in timeline:
            facts.setdefault(case_id, CaseFacts()).timeline.append((version, event_type))
    return facts


def consistency_problems(facts: dict[uuid.UUID, CaseFacts]) -> list[str]:
    """Nothing half-applied: versions 1..n without holes, read model at n, n timeline entries."""
    found: list[str] = []
    for case_id, f in facts.items():
        versions = [v for v, _, _ in f.events]
        n = len(versions)
        if versions != list(range(1, n + 1)):
            found.append(f"case {case_id}: stream versions {versions}")
        if f.read_model_version != n:
            found.append(f"case {case_id}: read model at {f.read_model_version}, {n} events")
        if f.timeline != [(v, t) for v, t, _ in f.events]:
            found.append(f"case {case_id}: timeline {f.timeline} vs events {f.events}")
    return found


def ack_problems(acks: Iterable[Ack], facts: dict[uuid.UUID, CaseFacts]) -> list[str]:
    """Every acknowledged mutation is in the log at its version, with its key, exactly once."""
    found: list[str] = []
    for ack in acks:
        f = facts.get(case_uuid(ack.case_id))
        events = f.events if f is not None else []
        at = [e for e in events if e[0] == ack.version]
        if at != [(ack.version, ack.event_type, ack.idempotency_key)]:
            found.append(f"acknowledged {ack} but the log holds {at}")
        keyed = [e for e in events if e[2] == ack.idempotency_key]
        if len(keyed) != 1:
            found.append(f"acknowledged {ack}: its key is in the log {len(keyed)} times")
    return found


async def read_case(
    http: httpx.AsyncClient, token: str, case_id: str, attempts: int = 5
) -> tuple[dict[str, Any], list[Outcome]]:
    """A case's version and timeline through the API, retried as a client would; with every
    outcome, so that the caller can hold the failed ones to the error contract."""
    outcomes: list[Outcome] = []
    for _ in range(attempts):
        outcome = await post(http, token, READ_CASE, {"id": case_id}, f"read {case_id}")
        outcomes.append(outcome)
        if outcome.ok:
            assert outcome.body is not None
            view: dict[str, Any] = outcome.body["data"]["returnCase"]
            return view, outcomes
        await asyncio.sleep(0.1)
    raise AssertionError(f"could not read {case_id}: {outcomes}")


def case_uuid(global_id: str) -> uuid.UUID:
    return from_global_id("ReturnCase", global_id)


def expected_feed(facts: dict[uuid.UUID, CaseFacts], global_ids: Iterable[str]) -> dict[str, Any]:
    """Per case (global ID): the (version, event type) list the log holds."""
    return {
        gid: [(v, t) for v, t, _ in facts.get(case_uuid(gid), CaseFacts()).events]
        for gid in global_ids
    }


async def opening_cursor(http: httpx.AsyncClient, token: str, case_id: str) -> str:
    """The feed cursor of a case's first event, over HTTP.

    The feed shows an event once every older transaction of the cluster has ended (the
    visibility horizon), so a just-committed event may take a moment to appear.
    """
    for _ in range(100):
        outcome = await post(http, token, PAGE, {"first": 1, "caseId": case_id}, "page")
        assert outcome.ok, outcome
        assert outcome.body is not None
        edges = outcome.body["data"]["caseEvents"]["edges"]
        if edges:
            cursor: str = edges[0]["cursor"]
            return cursor
        await asyncio.sleep(0.1)
    raise AssertionError(f"the opening event of {case_id} never reached the feed")


# --- `safe-future serve` subprocesses ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServeProcess:
    proc: asyncio.subprocess.Process
    port: int
    log_path: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    async def wait_ready(self, seconds: float = 30.0) -> None:
        async with httpx.AsyncClient() as http:
            for _ in range(int(seconds / 0.1)):
                if self.proc.returncode is not None:
                    raise RuntimeError(f"serve exited {self.proc.returncode}: {self.log_tail()}")
                try:
                    if (await http.get(f"{self.http_url}/healthz", timeout=2)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"serve did not start in {seconds} s: {self.log_tail()}")

    async def wait_exit(self, seconds: float) -> int:
        return await asyncio.wait_for(self.proc.wait(), seconds)

    async def stop(self) -> None:
        """Terminate (then kill) a process still running; always reap it."""
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
        await asyncio.wait_for(self.proc.wait(), 20)


async def launch(settings: Settings, database: Database, log_path: Path) -> ServeProcess:
    """Start ``safe-future serve`` on a free loopback port against the test database (the
    session's data folder, so its keys); ``wait_ready`` before use, ``stop`` always."""
    load_signing_key(settings)  # made once here: processes started together must share it
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database.admin_url.render_as_string(hide_password=False),
        "SAFE_FUTURE_APP_DB_PASSWORD": APP_PASSWORD,
        "SAFE_FUTURE_DATA_DIR": str(settings.data_dir),
        "SAFE_FUTURE_HOST": "127.0.0.1",
        "SAFE_FUTURE_PORT": str(port),
    }
    with log_path.open("w") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service.cli", "serve", env=env, stdout=log, stderr=log
        )
    return ServeProcess(proc, port, log_path)


@asynccontextmanager
async def serve(
    settings: Settings, database: Database, log_path: Path
) -> AsyncIterator[ServeProcess]:
    """A ready ``safe-future serve`` process, stopped (and reaped) on exit."""
    process = await launch(settings, database, log_path)
    try:
        await process.wait_ready()
        yield process
    finally:
        await process.stop()
