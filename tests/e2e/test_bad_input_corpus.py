"""A corpus of hostile and malformed requests: none may crash the service, leak, or change it.

Item 6 of issue 7. Every request is one pytest parameter with a readable id; the corpus is built
from the tables below and a seeded random generator, so every run sends the same bytes.

Every answer must be (``problems_with``):

* not a 5xx, and quick (a request that takes seconds is a denial of service);
* a clear error: HTTP 4xx with a JSON or text body, or HTTP 200 with ``errors`` whose codes are
  all UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, BAD_USER_INPUT or CONFLICT (never INTERNAL), and
  no ``data``;
* free of the service's insides: no traceback, file path, driver name, SQL or PostgreSQL error;
* without effect: the events, read models, idempotency receipts and integrator clients are as
  they were before the request (checked after every request, and in full at the end).

Some reads may also be answered, because refusing them is not the only right answer (outcome
on each entry): a filter or lookup value that is merely unknown (``countriesOfOrigin``, an
organisation's country or language, an access-log actor, a referral mechanism's country) may
yield nothing at all, never something (an injected ``' OR 1=1 --`` that worked would return
every row); a cursor of another shelter may be refused or serve the caller's own cases, never
another shelter's; a free-text search and a dry-run import may answer, but never with an
internal error or a change.

Most requests carry a valid token of a Moviera case worker, so that they reach the resolvers,
and mutations aim at a real case of Moviera at its correct version, so that the hostile argument
is what gets refused. A hostile value that is valid text (an injection string is a fine note)
would simply be stored; such requests are spoiled in a way that is refused only after the text
was read (a stale ``expectedVersion``, an unknown language code, a scope without
``events:read``). Values the service must refuse by themselves (NUL, lone surrogates, oversized
text) are sent with everything else valid.

The core corpus needs only the return-case schema. Operations of other work join it when the
schema has them: ``reports``, the social map and the privacy operations have tables of their
own below (``OPTIONAL_OPERATIONS``), and ``extra_entries`` sends wrong types and injection
strings to every argument of any root field this file does not know at all.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import importlib.util
import itertools
import json
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
    is_composite_type,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.applications import Starlette

from service.auth import issue_token
from service.config import Settings
from service.schema import build_schema
from service.schema.ids import to_global_id
from tests.conftest import TokenFactory

SEED = 20260105
ROOT = str(Path(__file__).resolve().parents[2])

ALLOWED_CODES = frozenset(
    {"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT", "CONFLICT"}
)
LEAKS_ANY_CASE = (
    "traceback",
    'file "',
    "site-packages",
    ROOT.lower(),
    "sqlalchemy",
    "asyncpg",
    "psycopg",
    "syntax error at or near",
    "invalid input syntax",
    "violates ",
    "sqlstate",
    "unterminated quoted",
    "invalid byte sequence",
    "duplicate key value",
    'relation "',
    "current transaction is aborted",
    "pg_catalog",
)
LEAKS_EXACT = ("SELECT ", "INSERT ", "UPDATE ", "DELETE FROM", "ERROR:  ")
SLOW_SECONDS = 5.0
HANG_SECONDS = 30.0

REFUSED = "refused"
REFUSED_OR_EMPTY = "refused or an empty page"
REFUSED_OR_OWN = "refused or the caller's own cases only"
READ = "a read: refused, or answered without internal errors"

# --- values known only at run time ----------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """A value of the running world: the target case, its version, a cursor, a token."""

    name: str


@dataclass(frozen=True)
class Lazy:
    """A value computed from the running world when the request is built."""

    make: Callable[[World], Any]


@dataclass(frozen=True)
class Raw:
    """Bytes put as they are into a JSON string of the body (invalid UTF-8, overlong forms)."""

    data: bytes


CASE_ID, VERSION, STALE = Slot("case_id"), Slot("version"), Slot("stale")
FOREIGN_CASE_ID, FOREIGN_VERSION = Slot("foreign_case_id"), Slot("foreign_version")
OWN_FEED_CURSOR, FOREIGN_FEED_CURSOR = Slot("own_feed_cursor"), Slot("foreign_feed_cursor")
OWN_CASE_CURSOR, FOREIGN_CASE_CURSOR = Slot("own_case_cursor"), Slot("foreign_case_cursor")
SETUP_KEY = "corpus-setup-open"


@dataclass
class World:
    """What the corpus runs against; ``slots``, ``own_ids`` and ``fingerprint`` follow changes."""

    slots: dict[str, Any]
    tokens: dict[str, str]
    max_body: int
    own_ids: frozenset[str]
    snapshot: dict[str, Any]
    optional_tables: list[str]
    fingerprint: tuple[Any, ...]


def resolve(value: Any, world: World, raws: dict[str, bytes] | None = None) -> Any:
    if isinstance(value, Slot):
        return world.slots[value.name]
    if isinstance(value, Lazy):
        return resolve(value.make(world), world, raws)
    if isinstance(value, Raw):
        assert raws is not None, "raw bytes only go into JSON bodies"
        marker = f"@@raw-{len(raws)}@@"
        raws[marker] = value.data
        return marker
    if isinstance(value, dict):
        return {k: resolve(v, world, raws) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve(v, world, raws) for v in value]
    return value


def encode_json(payload: Any, world: World) -> bytes:
    """JSON as a sloppy client writes it: NaN allowed, lone surrogates as ``\\udXXX`` escapes."""
    raws: dict[str, bytes] = {}
    resolved = resolve(payload, world, raws)
    data = json.dumps(resolved, ensure_ascii=False, allow_nan=True).encode(
        "utf-8", "backslashreplace"
    )
    for marker, raw in raws.items():
        data = data.replace(marker.encode(), raw)
    return data


# --- one request of the corpus --------------------------------------------------------------------

NOTHING = object()
Body = bytes | Callable[[World], Any] | None


@dataclass(frozen=True)
class Entry:
    id: str
    payload: Any = NOTHING
    body: Body = None
    method: str = "POST"
    path: str = "/graphql"
    params: Any = None
    content_type: str | None = "application/json"
    token: str | None = "caseworker"
    headers: tuple[tuple[str, Any], ...] = ()
    status: frozenset[int] | None = None
    outcome: str = REFUSED


def gql(id_: str, query: str, variables: Any = NOTHING, **kw: Any) -> Entry:
    payload: dict[str, Any] = {"query": query}
    if variables is not NOTHING:
        payload["variables"] = variables
    return Entry(id_, payload=payload, **kw)


def statuses(*codes: int) -> frozenset[int]:
    return frozenset(codes)


# --- hostile values -------------------------------------------------------------------------------

INJECTIONS: dict[str, str] = {
    "or-1-eq-1": "' OR 1=1 --",
    "drop-table": "'); DROP TABLE events; --",
    "dollar-quotes": "$$",
    "escaped-nul": "\\x00",
    "percent": "%",
    "underscore": "_",
}
MORE_INJECTIONS: dict[str, str] = {
    "or-quoted-1": "' OR '1'='1",
    "stacked-sleep": "1; select pg_sleep(3) --",
    "double-quote-or": '" OR ""="',
    "backslash-quote": "\\'; --",
    "comment-splice": "/**/or/**/1=1",
}
UNICODE: dict[str, str] = {
    "nul": "a\x00b",
    "lone-high-surrogate": "a\ud800b",
    "lone-low-surrogate": "\udfffz",
    "reversed-surrogate-pair": "\udc00\ud800",
    "rtl-override": "\u202enimda\u202c",
    "zero-width-joiners": "a\u200db\u200dc\u200b",
    "emoji-zwj-family": "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "combining-marks": "e" + "\u0301" * 64,
    "c0-controls": "".join(chr(c) for c in range(1, 32)),
    "del-and-c1-controls": "\x7f\x85\x9b",
    "byte-order-mark": "\ufeffNG",
    "noncharacters": "\uffff\ufffe",
    "line-separators": "a\u2028b\u2029c",
    "ansi-escape": "\x1b[31mred\x1b[0m",
    "fullwidth": "\uff2e\uff27",
    "astral-tags": "\U000e0041\U000e007f",
    "private-use": "\ue000\U000f0000",
}
BAD_UTF8: dict[str, bytes] = {
    "invalid-ff-fe": b"\xff\xfe",
    "lone-continuation-byte": b"\x80",
    "truncated-sequence": b"\xe2\x82",
    "cesu-surrogate": b"\xed\xa0\x80",
    "beyond-u10ffff": b"\xf4\x90\x80\x80",
    "five-byte-form": b"\xf8\x88\x80\x80\x80",
    "overlong-slash": b"\xc0\xaf",
    "overlong-nul": b"\xc0\x80",
    "overlong-3-byte": b"\xe0\x80\xaf",
    "overlong-4-byte": b"\xf0\x80\x80\xaf",
}

# --- the operations and what their arguments are --------------------------------------------------
#
# Kinds: text!:N (required text of at most N), text:N (optional text), key (idempotency key),
# id, int, date, bool, enum, enums (list of enum), country, languages, slug, client-id, scopes,
# cursor, event-types, countries-filter, period. A trailing "?" marks an optional argument.

D = "2026-02-01"
ORG = to_global_id("Organisation", uuid.UUID(int=SEED))
REFERRAL = to_global_id("Referral", uuid.UUID(int=SEED + 1))
CASE_SELECTION = "version replayed case { id version }"
OPEN_VALUES: dict[str, Any] = {
    "intakeDate": "2026-01-05",
    "pseudonym": "Corpus client",
    "gender": "FEMALE",
    "birthYear": 1999,
    "nationality": "NG",
    "countryOfOrigin": "NG",
    "languages": ["en"],
    "exploitationForms": ["SEXUAL_EXPLOITATION"],
    "fullName": "Ada Corpus",
    "dateOfBirth": "1999-03-04",
    "notes": "met at intake",
}
PROFILE_ARGS = {
    "pseudonym": "text!:100",
    "gender": "enum",
    "birthYear": "int?",
    "nationality": "country",
    "countryOfOrigin": "country",
    "languages": "languages",
    "exploitationForms": "enums",
    "fullName": "text:200?",
    "dateOfBirth": "date?",
    "notes": "text:4000?",
}
CASE_ARGS = {"caseId": "id", "expectedVersion": "int", "idempotencyKey": "key?"}


@dataclass(frozen=True)
class Operation:
    name: str
    document: str
    variables: dict[str, Any]
    args: dict[str, str]
    token: str = "caseworker"
    spoil: dict[str, Any] = field(default_factory=dict)
    isolate: tuple[str, ...] = ()


def mutation_document(name: str, selection: str = CASE_SELECTION) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return f"mutation Corpus($input: {input_type}!) {{ {name}(input: $input) {{ {selection} }} }}"


def case_mutation(name: str, args: dict[str, str], values: dict[str, Any], **kw: Any) -> Operation:
    kw.setdefault("spoil", {"input.expectedVersion": STALE})
    return Operation(
        name,
        mutation_document(name),
        {"input": {"caseId": CASE_ID, "expectedVersion": VERSION, **values}},
        {f"input.{k}": v for k, v in {**CASE_ARGS, **args}.items()},
        **kw,
    )


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in [
        Operation(
            "openReturnCase",
            mutation_document("openReturnCase"),
            {"input": dict(OPEN_VALUES)},
            {
                "input.intakeDate": "date",
                **{f"input.{k}": v for k, v in PROFILE_ARGS.items()},
                "input.idempotencyKey": "key?",
            },
            spoil={"input.languages": ["zz"]},
        ),
        case_mutation(
            "updateClientProfile",
            PROFILE_ARGS,
            {k: v for k, v in OPEN_VALUES.items() if k != "intakeDate"},
            spoil={"input.languages": ["zz"]},
        ),
        case_mutation(
            "recordReturnConversation",
            {"heldOn": "date", "wish": "enum", "notes": "text:4000?"},
            {"heldOn": D, "wish": "UNDECIDED", "notes": "talked about return"},
        ),
        case_mutation(
            "recordLegalPosition",
            {
                "recordedOn": "date",
                "residenceStatus": "enum",
                "proceedingsStage": "enum",
                "departureDeadline": "date?",
            },
            {"recordedOn": D, "residenceStatus": "ASYLUM", "proceedingsStage": "REPORTED"},
        ),
        case_mutation(
            "assessRisk",
            {"assessedOn": "date", "level": "enum", "factors": "enums", "notes": "text:4000?"},
            {"assessedOn": D, "level": "MEDIUM", "factors": ["DEBTS"], "notes": "assessed"},
        ),
        case_mutation(
            "giveConsent",
            {
                "organisationId": "id",
                "organisationCountry": "country",
                "purpose": "enum",
                "givenOn": "date",
                "transferRisksExplained": "bool",
            },
            {
                "organisationId": ORG,
                "organisationCountry": "NG",
                "purpose": "REFERRAL",
                "givenOn": D,
                "transferRisksExplained": True,
            },
        ),
        case_mutation(
            "withdrawConsent",
            {"organisationId": "id", "purpose": "enum", "withdrawnOn": "date"},
            {"organisationId": ORG, "purpose": "REFERRAL", "withdrawnOn": D},
        ),
        case_mutation(
            "contactPartnerOrganisation",
            {
                "organisationId": "id",
                "organisationCountry": "country",
                "purpose": "enum",
                "contactedOn": "date",
                "sharesPersonalData": "bool",
                "notes": "text:4000?",
            },
            {
                "organisationId": ORG,
                "organisationCountry": "NG",
                "purpose": "REFERRAL",
                "contactedOn": D,
                "sharesPersonalData": False,
                "notes": "first contact",
            },
        ),
        case_mutation(
            "updateReferralStatus",
            {"referralId": "id", "status": "enum", "changedOn": "date", "reason": "text:500?"},
            {"referralId": REFERRAL, "status": "ACCEPTED", "changedOn": D, "reason": "accepted"},
        ),
        case_mutation(
            "arrangeReturnSupport",
            {"kind": "enum", "arrangedOn": "date"},
            {"kind": "IOM_BASIC", "arrangedOn": D},
        ),
        case_mutation(
            "recordTravelDocument",
            {"status": "enum", "recordedOn": "date", "originalIdentityDocument": "bool"},
            {"status": "REQUESTED", "recordedOn": D, "originalIdentityDocument": True},
        ),
        case_mutation(
            "agreeReintegrationPlan",
            {"agreedOn": "date", "partnerOrganisationId": "id", "notes": "text:4000?"},
            {
                "agreedOn": D,
                "partnerOrganisationId": ORG,
                "goals": [{"domain": "HEALTH", "targetDate": D, "description": "a goal"}],
                "notes": "plan agreed",
            },
        ),
        case_mutation(
            "planDeparture",
            {"plannedOn": "date", "destinationCountry": "country", "mode": "enum"},
            {"plannedOn": "2026-03-01", "destinationCountry": "NG", "mode": "ASSISTED"},
        ),
        case_mutation(
            "recordDeparture",
            {"departedOn": "date", "mode": "enum", "destinationCountry": "country"},
            {"departedOn": D, "mode": "INDEPENDENT", "destinationCountry": "NG"},
        ),
        case_mutation(
            "recordFollowUp",
            {"contactedOn": "date", "reached": "bool", "situation": "enum?", "notes": "text:4000?"},
            {"contactedOn": D, "reached": True, "situation": "STABLE", "notes": "reached"},
        ),
        case_mutation(
            "transferCase",
            {"toOrganisation": "slug", "transferredOn": "date"},
            {"toOrganisation": "het-kopland", "transferredOn": D},
        ),
        case_mutation(
            "closeReturnCase",
            {"reason": "enum", "closedOn": "date", "notes": "text:4000?"},
            {"reason": "WITHDREW", "closedOn": D, "notes": "closing"},
        ),
        case_mutation(
            "reopenReturnCase",
            {"reopenedOn": "date", "reason": "text!:500"},
            {"reopenedOn": D, "reason": "new facts"},
        ),
        Operation(
            "createIntegratorClient",
            mutation_document("createIntegratorClient", "clientSecret client { clientId }"),
            {"input": {"name": "Corpus integrator", "scopes": ["EVENTS_READ"]}},
            {"input.name": "text!:200", "input.scopes": "scopes"},
            token="admin",
            spoil={"input.scopes": ["PERSONAL_DATA_READ"]},
        ),
        Operation(
            "revokeIntegratorClient",
            mutation_document("revokeIntegratorClient", "client { clientId revokedAt }"),
            {"input": {"clientId": "moviera.no-such-client"}},
            {"input.clientId": "client-id"},
            token="admin",
        ),
        Operation(
            "returnCase",
            "query Corpus($id: ID!) { returnCase(id: $id) { id version } }",
            {"id": CASE_ID},
            {"id": "id"},
        ),
        Operation(
            "returnCases",
            "query Corpus($filter: ReturnCaseFilter, $first: Int!, $after: String) {"
            " returnCases(filter: $filter, first: $first, after: $after) {"
            " edges { cursor node { id } } pageInfo { hasNextPage } } }",
            {
                "filter": {
                    "phases": ["PREPARATION"],
                    "countriesOfOrigin": ["NG"],
                    "intakeFrom": "2026-01-01",
                    "intakeTo": "2026-12-31",
                },
                "first": 5,
                "after": None,
            },
            {
                "filter.phases": "enums",
                "filter.countriesOfOrigin": "countries-filter",
                "filter.intakeFrom": "date?",
                "filter.intakeTo": "date?",
                "first": "int",
                "after": "cursor?",
            },
        ),
        Operation(
            "caseEvents",
            "query Corpus($after: String, $first: Int!, $eventTypes: [String!], $caseId: ID) {"
            " caseEvents(after: $after, first: $first, eventTypes: $eventTypes, caseId: $caseId)"
            " { edges { cursor node { caseId version eventType } } pageInfo { hasNextPage } } }",
            {"after": None, "first": 5, "eventTypes": None, "caseId": CASE_ID},
            {"after": "cursor?", "first": "int", "eventTypes": "event-types?", "caseId": "id?"},
        ),
    ]
}

GRAPHQL_SCHEMA = build_schema()._schema
QUERY_FIELDS = set(GRAPHQL_SCHEMA.query_type.fields) if GRAPHQL_SCHEMA.query_type else set()
MUTATION_FIELDS = (
    set(GRAPHQL_SCHEMA.mutation_type.fields) if GRAPHQL_SCHEMA.mutation_type else set()
)
HAS_REPORTS = "reports" in QUERY_FIELDS
HAS_REPORT_ROUTES = importlib.util.find_spec("service.reports.http") is not None
PERIOD_ARGS = {
    "period.month": "period?",
    "period.quarter": "period?",
    "period.year": "int?",
    "period.fromMonth": "period?",
    "period.toMonth": "period?",
}
if HAS_REPORTS:
    OPERATIONS["reports.caseload"] = Operation(
        "reports.caseload",
        "query Corpus($period: ReportPeriodInput!, $groupBy: [ReportDimension!]!) {"
        " reports { caseload(period: $period, groupBy: $groupBy) { grandTotal { value } } } }",
        {"period": {"year": 2026}, "groupBy": ["SHELTER"]},
        {**PERIOD_ARGS, "groupBy": "enums"},
        token="analyst",
        isolate=("period",),
    )
    OPERATIONS["reports.safeFutureIndicators"] = Operation(
        "reports.safeFutureIndicators",
        "query Corpus($period: ReportPeriodInput!, $byShelter: Boolean!) {"
        " reports { safeFutureIndicators(period: $period, byShelter: $byShelter) {"
        " threshold } } }",
        {"period": {"quarter": "2026-Q1"}, "byShelter": False},
        {**PERIOD_ARGS, "byShelter": "bool"},
        token="analyst",
        isolate=("period",),
    )

# Operations of the social map and privacy work, when the schema has them.
ORG_ID, ORG_VERSION, ORG_STALE = Slot("org_id"), Slot("org_version"), Slot("org_stale")
CHANNEL = {"kind": "EMAIL", "value": "info@corpus.example", "label": "office"}
ORGANISATION_VALUES: dict[str, Any] = {
    "name": "Corpus Reintegration Centre",
    "kind": "NGO",
    "country": "NG",
    "city": "Lagos",
    "region": "Lagos State",
    "services": ["RETURN_COUNSELLING"],
    "targetGroups": ["WOMEN"],
    "languages": ["en"],
    "contactChannels": [CHANNEL],
    "referralNotes": "call first",
    "lastVerifiedOn": "2026-01-02",
    "source": "corpus",
}
ORGANISATION_ARGS = {
    "input.name": "text!:300",
    "input.kind": "enum",
    "input.country": "country",
    "input.city": "text:200?",
    "input.region": "text:200?",
    "input.services": "enums",
    "input.targetGroups": "enums",
    "input.languages": "languages",
    "input.contactChannels.0.kind": "enum",
    "input.contactChannels.0.value": "contact",
    "input.contactChannels.0.label": "text:500?",
    "input.referralNotes": "text:4000?",
    "input.lastVerifiedOn": "date?",
    "input.source": "text:500?",
    "input.returnSupport": "enum?",
    "input.idempotencyKey": "key?",
}
VALID_CSV = "name,kind,country\nCorpus Import Centre,NGO,NG\n"
OPTIONAL_OPERATIONS = [
    case_mutation(
        "eraseClientPersonalData",
        {"reason": "enum", "note": "text:4000?"},
        {"reason": "CLIENT_REQUEST", "note": "asked at the desk"},
        token="admin",
    ),
    Operation(
        "createOrganisation",
        mutation_document("createOrganisation", "version organisation { id }"),
        {"input": dict(ORGANISATION_VALUES)},
        ORGANISATION_ARGS,
        token="editor",
        spoil={"input.country": "XX"},
    ),
    Operation(
        "updateOrganisation",
        mutation_document("updateOrganisation", "version organisation { id }"),
        {
            "input": {
                "id": ORG_ID,
                "expectedVersion": ORG_VERSION,
                **{k: v for k, v in ORGANISATION_VALUES.items() if k != "kind"},
            }
        },
        {
            "input.id": "id",
            "input.expectedVersion": "int",
            **{k: v for k, v in ORGANISATION_ARGS.items() if k != "input.returnSupport"},
        },
        token="editor",
        spoil={"input.expectedVersion": ORG_STALE},
    ),
    Operation(
        "retireOrganisation",
        mutation_document("retireOrganisation", "version organisation { id }"),
        {"input": {"id": ORG_ID, "expectedVersion": ORG_VERSION, "reason": "closed down"}},
        {
            "input.id": "id",
            "input.expectedVersion": "int",
            "input.reason": "text!:500",
            "input.idempotencyKey": "key?",
        },
        token="editor",
        spoil={"input.expectedVersion": ORG_STALE},
    ),
    Operation(
        "importOrganisations",
        mutation_document("importOrganisations", "dryRun rows created updated"),
        {"input": {"format": "CSV", "content": VALID_CSV, "dryRun": True}},
        {"input.format": "enum", "input.content": "import", "input.dryRun": "bool"},
        token="editor",
    ),
    Operation(
        "organisation",
        "query Corpus($id: ID!) { organisation(id: $id) { id name } }",
        {"id": ORG_ID},
        {"id": "id"},
    ),
    Operation(
        "organisations",
        "query Corpus($filter: OrganisationFilter, $first: Int!, $after: String) {"
        " organisations(filter: $filter, first: $first, after: $after) {"
        " edges { cursor node { id } } pageInfo { hasNextPage } } }",
        {
            "filter": {
                "country": "NG",
                "services": ["RETURN_COUNSELLING"],
                "languages": ["en"],
                "kind": "NGO",
                "text": "centre",
                "includeRetired": False,
            },
            "first": 5,
            "after": None,
        },
        {
            "filter.country": "lookup?",
            "filter.services": "enums",
            "filter.languages": "languages-filter",
            "filter.kind": "enum?",
            "filter.text": "search?",
            "filter.includeRetired": "bool",
            "first": "int",
            "after": "cursor?",
        },
    ),
    Operation(
        "personalDataAccessLog",
        "query Corpus($caseId: ID, $actor: String, $first: Int!, $after: String) {"
        " personalDataAccessLog(caseId: $caseId, actor: $actor, first: $first, after: $after)"
        " { edges { cursor node { id caseId actor } } pageInfo { hasNextPage } } }",
        {"caseId": CASE_ID, "actor": None, "first": 5, "after": None},
        {"caseId": "id?", "actor": "lookup?", "first": "int", "after": "cursor?"},
        token="admin",
    ),
    Operation(
        "referralMechanism",
        "query Corpus($country: String!) { referralMechanism(country: $country) { country } }",
        {"country": "NL"},
        {"country": "lookup"},
    ),
    Operation(
        "returnSupportOrganisations",
        "query Corpus($kind: ReturnSupportLevel) {"
        " returnSupportOrganisations(kind: $kind) { id } }",
        {"kind": "HANDS_ON_GUIDANCE"},
        {"kind": "enum?"},
    ),
]
for _op in OPTIONAL_OPERATIONS:
    if _op.name in QUERY_FIELDS | MUTATION_FIELDS:
        OPERATIONS[_op.name] = _op
HAS_SOCIAL_MAP = "organisations" in OPERATIONS

LIST_KINDS = ("enums", "languages", "scopes", "event-types", "countries-filter", "languages-filter")
MAY_BE_EMPTY = ("countries-filter", "languages-filter", "lookup")
MAY_ANSWER = ("search", "import")
COERCED_KINDS = ("int", "date", "bool", "enum", "enums", "scopes")


def base_kind(kind: str) -> str:
    return kind.rstrip("?").split(":")[0]


def has_surrogate(value: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def refuses_itself(kind: str, value: Any) -> bool:
    """Whether a correct service refuses ``value`` for an argument of ``kind`` on its own."""
    name = base_kind(kind)
    if name not in ("text!", "text", "key") or not isinstance(value, str):
        return True
    if "\x00" in value or has_surrogate(value):
        return True
    if name == "key":
        return not 1 <= len(value) <= 200
    limit = int(kind.rstrip("?").split(":")[1])
    return len(value.strip()) > limit or (name == "text!" and not value.strip())


def set_path(variables: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dotted path; a number picks an item of a list."""
    parts = path.split(".")
    last = parts[-1]
    target: Any = variables
    for part, following in itertools.pairwise(parts):
        if part.isdigit():
            target = target[int(part)]
            continue
        if not isinstance(target.get(part), (dict, list)):
            target[part] = [{}] if following.isdigit() else {}
        target = target[part]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value


def hostile(op: Operation, path: str, value: Any, label: str, category: str) -> Entry:
    """``op`` with ``value`` at ``path``, spoiled when a correct service would accept it."""
    kind = op.args[path]
    variables = copy.deepcopy(op.variables)
    head = path.split(".")[0]
    if head in op.isolate:
        variables[head] = {}
    wrapped = [value] if base_kind(kind) in LIST_KINDS and not isinstance(value, list) else value
    set_path(variables, path, wrapped)
    if not refuses_itself(kind, value):
        for spoil_path, spoil_value in op.spoil.items():
            set_path(variables, spoil_path, spoil_value)
    outcome = REFUSED
    if base_kind(kind) in MAY_BE_EMPTY:
        outcome = REFUSED_OR_EMPTY
    elif base_kind(kind) in MAY_ANSWER:
        outcome = READ
    return gql(
        f"{category}/{op.name}.{path.removeprefix('input.')}/{label}",
        op.document,
        variables,
        token=op.token,
        outcome=outcome,
    )


# --- the corpus, part by part ---------------------------------------------------------------------

ME = "{ me { subject } }"
OPEN = OPERATIONS["openReturnCase"]
RRC = OPERATIONS["recordReturnConversation"]


def open_request(pseudonym: str = "Corpus client") -> dict[str, Any]:
    return {"query": OPEN.document, "variables": {"input": {**OPEN_VALUES, "pseudonym": pseudonym}}}


def open_inline(pseudonym: str = "Corpus client") -> str:
    return (
        'mutation { openReturnCase(input: {intakeDate: "2026-01-05", pseudonym: '
        f'{json.dumps(pseudonym)}, gender: FEMALE, nationality: "NG", countryOfOrigin: "NG"}})'
        " { version } }"
    )


def valid_body() -> bytes:
    return json.dumps(open_request("Corpus truncated")).encode()


def json_entries(rng: random.Random) -> Iterator[Entry]:
    bad = statuses(400)
    body = valid_body()
    for cut in sorted(rng.sample(range(1, len(body) - 1), 6)):
        yield Entry(f"json/truncated-at-byte-{cut}", body=body[:cut], status=bad)
    trailing = {
        "brace": b"}",
        "word": b"garbage",
        "comma": b",",
        "second-object": json.dumps({"query": ME}).encode(),
        "nul-byte": b"\x00",
        "multipart-boundary": b"\r\n--boundary--",
    }
    for name, tail in trailing.items():
        yield Entry(f"json/trailing-{name}", body=body + tail, status=bad)
    yield Entry("json/leading-xssi-prefix", body=b")]}',\n" + body, status=bad)
    yield Entry("json/single-quotes", body=body.replace(b'"', b"'"), status=bad)
    yield Entry("json/comment", body=b"/* hi */" + body, status=bad)
    yield Entry("json/empty-body", body=b"", status=bad)
    yield Entry("json/whitespace-only", body=b" \r\n\t ", status=bad)
    # NaN and Infinity are not JSON; Python's parser takes them, GraphQL must not.
    yield Entry("json/bare-nan", body=b"NaN", status=bad)
    yield Entry("json/query-is-infinity", body=b'{"query": Infinity}', status=bad)
    nan_cases = {
        "expected-version-nan": (RRC, "input.expectedVersion", float("nan")),
        "expected-version-infinity": (RRC, "input.expectedVersion", float("inf")),
        "birth-year-minus-infinity": (OPEN, "input.birthYear", float("-inf")),
        "first-nan": (OPERATIONS["returnCases"], "first", float("nan")),
    }
    for name, (op, path, value) in nan_cases.items():
        entry = hostile(op, path, value, name, "json-nan")
        yield dataclasses.replace(entry, id=f"json/{name}")
    # Duplicate keys: whichever the parser keeps, the request must be refused.
    yield Entry(
        "json/duplicate-query-last-not-a-string",
        body=b'{"query": "{ me { subject } }", "query": 42}',
        status=bad,
    )

    def duplicate_version(world: World) -> bytes:
        variables = resolve(RRC.variables, world)
        inner = json.dumps(variables["input"])
        stale = f', "expectedVersion": {world.slots["stale"]}}}'
        document = json.dumps(RRC.document)
        return f'{{"query": {document}, "variables": {{"input": {inner[:-1]}{stale}}}}}'.encode()

    yield Entry("json/duplicate-expected-version-valid-then-stale", body=duplicate_version)

    def duplicate_variables(world: World) -> bytes:
        good = json.dumps({"input": OPEN_VALUES})
        spoiled = json.dumps({"input": {**OPEN_VALUES, "languages": ["zz"]}})
        document = json.dumps(OPEN.document)
        return f'{{"query": {document}, "variables": {good}, "variables": {spoiled}}}'.encode()

    yield Entry("json/duplicate-variables-valid-then-spoiled", body=duplicate_variables)
    # Nesting: deep enough to exhaust a recursive parser.
    yield Entry("json/nested-arrays-100000", body=b"[" * 100_000 + b"]" * 100_000, status=bad)
    yield Entry(
        "json/nested-objects-20000", body=b'{"a":' * 20_000 + b"1" + b"}" * 20_000, status=bad
    )
    for depth in (500, 5_000, 100_000):
        languages = b"[" * depth + b'"en"' + b"]" * depth
        yield Entry(
            f"json/nested-arrays-in-variables-{depth}",
            body=b'{"query": '
            + json.dumps(OPEN.document).encode()
            + b', "variables": {"input": {"intakeDate": "2026-01-05", "pseudonym": "x", '
            b'"gender": "FEMALE", "nationality": "NG", "countryOfOrigin": "NG", "languages": '
            + languages
            + b"}}}",
        )
    # Not UTF-8: the view promises HTTP 400 for any other encoding.
    me_body = json.dumps({"query": ME})
    for codec in ("utf-16", "utf-16-be", "utf-32"):
        yield Entry(f"json/body-in-{codec}", body=me_body.encode(codec), status=bad)
    fields = [
        ("openReturnCase", "input.pseudonym"),
        ("openReturnCase", "input.notes"),
        ("recordReturnConversation", "input.notes"),
        ("recordReturnConversation", "input.idempotencyKey"),
        ("returnCase", "id"),
        ("caseEvents", "after"),
    ]
    for name, raw in BAD_UTF8.items():
        op_name, path = rng.choice(fields)
        op = OPERATIONS[op_name]
        variables = copy.deepcopy(op.variables)
        set_path(variables, path, Raw(b"x" + raw + b"y"))
        yield Entry(
            f"utf8/{name}/{op_name}.{path.removeprefix('input.')}",
            payload={"query": op.document, "variables": variables},
            token=op.token,
            status=bad,
        )
    yield Entry(
        "utf8/overlong-in-query-document",
        body=b'{"query": "{ me { subject } }\xc0\xaf"}',
        status=bad,
    )


def shape_entries() -> Iterator[Entry]:
    bad = statuses(400)
    batch = [open_request(f"Corpus batch {i}") for i in range(100)]
    yield Entry("shape/batch-of-100-mutations", payload=batch, status=bad)
    yield Entry("shape/batch-of-2-queries", payload=[{"query": ME}, {"query": ME}], status=bad)
    yield Entry("shape/batch-of-1", payload=[open_request("Corpus batch one")], status=bad)
    yield Entry("shape/empty-array", payload=[], status=bad)
    yield Entry("shape/nested-batch", payload=[[{"query": ME}]], status=bad)
    for name, value in {
        "string": "mutation { openReturnCase }",
        "number": 42,
        "float": 4.2,
        "null": None,
        "true": True,
        "false": False,
    }.items():
        yield Entry(f"shape/top-level-{name}", payload=value, status=bad)
    yield Entry("shape/empty-object", payload={}, status=bad)
    for name, value in {
        "null": None,
        "number": 42,
        "list": [ME],
        "object-pretending-ast": {"kind": "Document", "definitions": []},
        "true": True,
        "empty-string": "",
    }.items():
        yield Entry(f"shape/query-{name}", payload={"query": value}, status=bad)
    yield Entry("shape/query-key-capitalised", payload={"Query": ME}, status=bad)
    yield Entry("shape/variables-without-query", payload={"variables": {"id": "x"}}, status=bad)
    for name, value in {
        "list": [1],
        "string": "x",
        "json-in-a-string": json.dumps({"input": OPEN_VALUES}),
        "number": 42,
        "true": True,
    }.items():
        yield Entry(
            f"shape/variables-{name}",
            payload={"query": OPEN.document, "variables": value},
            status=bad,
        )
    for name, value in {
        "number": 42,
        "list": ["Corpus"],
        "object": {"a": 1},
        "unknown": "Nope",
    }.items():
        yield Entry(
            f"shape/operation-name-{name}",
            payload={"query": "query Corpus { me { subject } }", "operationName": value},
            status=bad,
        )
    yield Entry(
        "shape/operation-name-megabyte",
        payload={"query": "query Corpus { me { subject } }", "operationName": "N" * 2**20},
        status=bad,
    )
    yield Entry(
        "shape/extensions-string",
        payload={"query": ME, "extensions": "x"},
        status=bad,
    )
    yield Entry(
        "shape/persisted-query-without-query",
        payload={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}},
        status=bad,
    )
    yield gql("shape/two-operations-without-operation-name", "query A { me { subject } } " + ME)


MULTIPART_BOUNDARY = "corpusboundary"


def multipart_body() -> bytes:
    operations = json.dumps(open_request("Corpus multipart"))
    parts = [
        f'--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        f"{operations}\r\n",
        f'--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{}}\r\n',
        f"--{MULTIPART_BOUNDARY}--\r\n",
    ]
    return "".join(parts).encode()


def transport_entries() -> Iterator[Entry]:
    bad = statuses(400, 415)
    body = json.dumps(open_request("Corpus content type")).encode()
    for name, content_type in {
        "text-plain": "text/plain",
        "text-plain-utf8": "text/plain;charset=UTF-8",
        "text-html": "text/html",
        "application-xml": "application/xml",
        "missing": None,
        "empty": "",
        "octet-stream": "application/octet-stream",
    }.items():
        yield Entry(f"content-type/{name}", body=body, content_type=content_type, status=bad)
    yield Entry(
        "content-type/form-urlencoded",
        body=urlencode({"query": open_inline("Corpus form")}).encode(),
        content_type="application/x-www-form-urlencoded",
        status=bad,
    )
    yield Entry(
        "content-type/multipart-form-data",
        body=multipart_body(),
        content_type=f"multipart/form-data; boundary={MULTIPART_BOUNDARY}",
        status=bad,
    )
    yield Entry(
        "content-type/application-graphql",
        body=open_inline("Corpus graphql").encode(),
        content_type="application/graphql",
        status=bad,
    )
    get_refused = statuses(400, 405)
    yield Entry(
        "get/mutation-in-query-string",
        method="GET",
        params={"query": open_inline("Corpus get")},
        content_type=None,
        status=get_refused,
    )
    yield Entry(
        "get/mutation-chosen-by-operation-name",
        method="GET",
        params={
            "query": "query Q { me { subject } } "
            + open_inline("Corpus get named").replace("mutation {", "mutation M {"),
            "operationName": "M",
        },
        content_type=None,
        status=get_refused,
    )
    yield Entry(
        "get/mutation-with-variables",
        method="GET",
        params={"query": OPEN.document, "variables": json.dumps({"input": OPEN_VALUES})},
        content_type=None,
        status=get_refused,
    )
    yield Entry(
        "get/mutation-asking-for-html",
        method="GET",
        params={"query": open_inline("Corpus get html")},
        headers=(("Accept", "text/html"),),
        content_type=None,
        status=get_refused,
    )
    yield Entry(
        "get/two-query-parameters-query-then-mutation",
        method="GET",
        params=[("query", ME), ("query", open_inline("Corpus get twice"))],
        content_type=None,
        status=get_refused,
    )
    # Parameter pollution: the service may answer the query, as long as the mutation never runs.
    yield Entry(
        "get/two-query-parameters-mutation-then-query",
        method="GET",
        params=[("query", open_inline("Corpus get twice")), ("query", ME)],
        content_type=None,
        outcome=READ,
    )
    yield Entry(
        "get/variables-not-json",
        method="GET",
        params={"query": "query($id: ID!) { returnCase(id: $id) { id } }", "variables": "{id:"},
        content_type=None,
        status=statuses(400),
    )
    subscription = "subscription { caseEvents { cursor } }"
    yield gql("subscription/over-http-post", subscription)
    yield Entry(
        "subscription/over-http-get",
        method="GET",
        params={"query": subscription},
        content_type=None,
    )
    for method in ("PUT", "DELETE", "PATCH", "TRACE", "PROPFIND", "OPTIONS"):
        yield Entry(
            f"method/{method.lower()}-with-a-mutation",
            method=method,
            payload=open_request(f"Corpus {method}"),
            status=statuses(405),
        )
    yield Entry(
        "method/head-with-a-mutation",
        method="HEAD",
        params={"query": open_inline("Corpus head")},
        content_type=None,
        status=statuses(405),
    )
    yield Entry(
        "method/cors-preflight-from-a-foreign-origin",
        method="OPTIONS",
        headers=(
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "authorization,content-type"),
        ),
        content_type=None,
        token=None,
        status=statuses(400, 403, 405),
    )


async def chunked_oversize(world: World) -> AsyncIterator[bytes]:
    chunk = b" " * 65536
    yield b'{"query": "{ me { subject } }", "pad": "'
    for _ in range(world.max_body // len(chunk) + 2):
        yield chunk
    yield b'"}'


def limit_entries() -> Iterator[Entry]:
    too_large = statuses(413)
    yield Entry(
        "oversize/padded-body-one-byte-over-the-limit",
        body=lambda w: b'{"query": "{ me { subject } }", "pad": "' + b" " * w.max_body + b'"}',
        status=too_large,
    )
    yield Entry(
        "oversize/pseudonym-4-mib",
        payload=Lazy(lambda w: open_request("x" * (w.max_body + 2**20))),
        status=too_large,
    )
    yield Entry(
        "oversize/chunked-body-without-length",
        body=lambda w: chunked_oversize(w),
        status=too_large,
    )
    yield Entry(
        "oversize/oauth-token-body",
        path="/oauth/token",
        body=lambda w: b"grant_type=client_credentials&pad=" + b"x" * (w.max_body + 1),
        content_type="application/x-www-form-urlencoded",
        token=None,
        status=too_large,
    )
    for name, declared in {
        "huge": Lazy(lambda w: str(w.max_body * 1000)),
        "negative": "-1",
        "not-a-number": "abc",
        "exponent": "1e9",
        "hex": "0x10",
        "superscript-two": b"\xb2",
    }.items():
        yield Entry(
            f"content-length/{name}",
            payload={"query": ME},
            headers=(("Content-Length", declared),),
            status=statuses(400, 411, 413),
        )
    megabyte = "x" * 2**20
    huge_strings = [
        ("openReturnCase", "input.pseudonym"),
        ("openReturnCase", "input.fullName"),
        ("openReturnCase", "input.notes"),
        ("openReturnCase", "input.idempotencyKey"),
        ("openReturnCase", "input.nationality"),
        ("recordReturnConversation", "input.notes"),
        ("recordReturnConversation", "input.caseId"),
        ("reopenReturnCase", "input.reason"),
        ("updateReferralStatus", "input.reason"),
        ("createIntegratorClient", "input.name"),
        ("revokeIntegratorClient", "input.clientId"),
        ("returnCase", "id"),
        ("returnCases", "after"),
        ("caseEvents", "after"),
        ("caseEvents", "eventTypes"),
    ]
    for op_name, path in huge_strings:
        yield hostile(OPERATIONS[op_name], path, megabyte, "one-mib-string", "huge")
    yield gql("huge/one-mib-string-literal-in-the-document", open_inline(megabyte))
    rng = random.Random(SEED + 7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    huge_lists: list[tuple[str, str, list[Any], str]] = [
        ("openReturnCase", "input.languages", ["en"] * 10_000, "10000-same-languages"),
        (
            "openReturnCase",
            "input.languages",
            ["".join(rng.choices(letters, k=2)) for _ in range(10_000)],
            "10000-random-languages",
        ),
        (
            "openReturnCase",
            "input.exploitationForms",
            ["FORCED_LABOUR"] * 10_000,
            "10000-exploitation-forms",
        ),
        ("updateClientProfile", "input.languages", ["nl", "en"] * 5_000, "10000-languages"),
        ("assessRisk", "input.factors", ["DEBTS"] * 10_000, "10000-risk-factors"),
        ("returnCases", "filter.phases", ["LIMBO"] * 10_000, "10000-unknown-phases"),
        ("caseEvents", "eventTypes", [f"Event{i}" for i in range(10_000)], "10000-event-types"),
        (
            "returnCases",
            "filter.countriesOfOrigin",
            ["' OR 1=1 --"] * 10_000,
            "10000-injected-countries",
        ),
    ]
    for op_name, path, values, label in huge_lists:
        yield hostile(OPERATIONS[op_name], path, values, label, "huge")
    create = OPERATIONS["createIntegratorClient"]
    yield gql(
        "huge/createIntegratorClient.scopes/10000-scopes-with-a-blank-name",
        create.document,
        {"input": {"name": "   ", "scopes": ["EVENTS_READ"] * 10_000}},
        token="admin",
    )
    numbers: list[tuple[str, str, Any, str]] = [
        ("openReturnCase", "input.birthYear", 10**30, "ten-to-the-30"),
        ("openReturnCase", "input.birthYear", 2**31, "two-to-the-31"),
        ("openReturnCase", "input.birthYear", -(2**31), "minus-two-to-the-31"),
        ("openReturnCase", "input.birthYear", 1e308, "1e308"),
        ("returnCases", "first", -1, "minus-one"),
        ("returnCases", "first", 0, "zero"),
        ("returnCases", "first", 2**31, "two-to-the-31"),
        ("returnCases", "first", 2**31 - 1, "int-max"),
        ("caseEvents", "first", -1, "minus-one"),
        ("caseEvents", "first", 10**100, "googol"),
        ("recordReturnConversation", "input.expectedVersion", 10**30, "ten-to-the-30"),
        ("recordReturnConversation", "input.expectedVersion", -1, "minus-one"),
        ("recordReturnConversation", "input.expectedVersion", 2**31 - 1, "int-max"),
        ("closeReturnCase", "input.expectedVersion", -(2**31), "int-min"),
    ]
    if HAS_REPORTS:
        numbers.append(("reports.caseload", "period.year", 10**30, "ten-to-the-30"))
        numbers.append(("reports.caseload", "period.year", 99_999, "five-digits"))
    for op_name, path, value, label in numbers:
        yield hostile(OPERATIONS[op_name], path, value, label, "number")
    yield gql(
        "number/literal-first-beyond-64-bits",
        "{ returnCases(first: 99999999999999999999) { pageInfo { hasNextPage } } }",
    )
    yield gql(
        "number/literal-birth-year-float",
        open_inline("Corpus float").replace(
            'countryOfOrigin: "NG"', 'countryOfOrigin: "NG", birthYear: 1999.5'
        ),
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def handmade_token(header: Any, claims: Any, signature: bytes = b"") -> str:
    parts = [json.dumps(header).encode(), json.dumps(claims).encode(), signature]
    return ".".join(b64url(p) for p in parts)


def forged_tokens(settings: Settings, valid: str) -> dict[str, str]:
    """Tokens that must never be trusted, each named for the trick it tries."""
    private = settings.jwt_private_key_file.read_bytes()
    public = settings.jwt_public_key_file.read_bytes()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "corpus-forger",
        "org": "moviera",
        "roles": ["caseworker", "tenant-admin"],
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    }
    hs_header = b64url(b'{"alg":"HS256","typ":"JWT"}')
    hs_payload = b64url(json.dumps(claims).encode())
    signing_input = f"{hs_header}.{hs_payload}".encode()
    hs_signature = hmac.new(public, signing_input, hashlib.sha256).digest()
    header, payload, signature = valid.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    kw: dict[str, Any] = {
        "issuer": settings.jwt_issuer,
        "audience": settings.jwt_audience,
        "subject": "forger",
    }
    rng = random.Random(SEED + 3)

    def signed(payload: dict[str, Any]) -> str:
        """Signed with the right key, claims as given (PyJWT's encoder would check them)."""
        return jwt.PyJWS().encode(json.dumps(payload).encode(), private, algorithm="RS256")

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return {
        "alg-none": handmade_token({"alg": "none", "typ": "JWT"}, claims),
        "alg-none-capitalised": handmade_token({"alg": "None", "typ": "JWT"}, claims),
        "hs256-keyed-with-the-public-key": f"{hs_header}.{hs_payload}.{b64url(hs_signature)}",
        "expired": issue_token(
            private,
            **kw,
            organisation="moviera",
            roles=["caseworker"],
            now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=3),
            lifetime=dt.timedelta(hours=1),
        ),
        "not-yet-valid": issue_token(
            private,
            **kw,
            organisation="moviera",
            roles=["caseworker"],
            now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2),
        ),
        "signed-by-another-key": issue_token(
            other, **kw, organisation="moviera", roles=["caseworker"]
        ),
        "kid-and-jku-pointing-elsewhere": jwt.encode(
            claims,
            other,
            algorithm="RS256",
            headers={"kid": "../../dev/null' OR 1=1 --", "jku": "https://evil.example/jwks"},
        ),
        "payload-swapped-to-another-shelter": ".".join(
            [header, b64url(json.dumps({**tampered, "org": "het-kopland"}).encode()), signature]
        ),
        "payload-swapped-to-tenant-admin": ".".join(
            [
                header,
                b64url(json.dumps({**tampered, "roles": ["tenant-admin"]}).encode()),
                signature,
            ]
        ),
        "signature-stripped": f"{header}.{payload}.",
        "unknown-issuer": issue_token(
            private,
            issuer="https://evil.example",
            audience=settings.jwt_audience,
            subject="forger",
            organisation="moviera",
            roles=["caseworker"],
        ),
        "issuer-as-a-list": signed({**claims, "iss": [settings.jwt_issuer]}),
        "expiry-as-a-string": signed({**claims, "exp": "never"}),
        "payload-is-a-list": handmade_token({"alg": "RS256"}, [claims]),
        "header-not-json": f"{b64url(b'not json')}.{payload}.{signature}",
        "deeply-nested-header": ".".join(
            [b64url(b"[" * 50_000 + b"]" * 50_000), payload, signature]
        ),
        "deeply-nested-payload": ".".join(
            [header, b64url(b'{"a":' * 50_000 + b"1" + b"}" * 50_000), signature]
        ),
        "garbage": ".".join("".join(rng.choices(alphabet, k=n)) for n in (36, 180, 342)),
        "huge-padding-200-kib": jwt.encode(
            {**claims, "pad": "x" * 200_000}, other, algorithm="RS256"
        ),
        "two-segments": f"{header}.{payload}",
        "four-segments": f"{valid}.{signature}",
    }


def bearer(token: str, world: World) -> str:
    return f"Bearer {world.tokens[token]}"


def token_entries() -> Iterator[Entry]:
    denied = statuses(401)
    names = [
        "alg-none",
        "alg-none-capitalised",
        "hs256-keyed-with-the-public-key",
        "expired",
        "not-yet-valid",
        "signed-by-another-key",
        "kid-and-jku-pointing-elsewhere",
        "payload-swapped-to-another-shelter",
        "payload-swapped-to-tenant-admin",
        "signature-stripped",
        "unknown-issuer",
        "issuer-as-a-list",
        "expiry-as-a-string",
        "payload-is-a-list",
        "header-not-json",
        "deeply-nested-header",
        "deeply-nested-payload",
        "garbage",
        "huge-padding-200-kib",
        "two-segments",
        "four-segments",
    ]
    for name in names:
        yield Entry(
            f"token/{name}",
            payload=open_request(f"Corpus {name}"),
            token=f"forged:{name}",
            status=denied,
        )
    for name, value in {
        "empty": "",
        "scheme-only": "Bearer",
        "empty-bearer": "Bearer ",
        "blank-bearer": "Bearer \t ",
        "basic-credentials": "Basic " + base64.b64encode(b"moviera:secret").decode(),
        "token-scheme": Lazy(lambda w: f"Token {w.tokens['caseworker']}"),
        "tab-after-scheme": Lazy(lambda w: f"Bearer\t{w.tokens['caseworker']}"),
        "two-tokens-in-one-header": Lazy(
            lambda w: f"Bearer {w.tokens['caseworker']} {w.tokens['caseworker']}"
        ),
        "token-then-garbage": Lazy(lambda w: f"Bearer {w.tokens['caseworker']}.x"),
    }.items():
        yield Entry(
            f"authorization/{name}",
            payload=open_request(f"Corpus auth {name}"),
            token=None,
            headers=(("Authorization", value),),
            status=denied,
        )
    for order, first, second in (
        ("valid-then-garbage", "caseworker", "forged:garbage"),
        ("garbage-then-valid", "forged:garbage", "caseworker"),
    ):
        yield Entry(
            f"authorization/two-headers-{order}",
            payload={"query": ME},
            token=None,
            headers=(
                ("Authorization", Lazy(functools.partial(bearer, first))),
                ("Authorization", Lazy(functools.partial(bearer, second))),
            ),
            status=statuses(400, 401),
        )
    for token in ("coordination-caseworker", "analyst", "integrator", "editor", "no-known-role"):
        yield Entry(
            f"role/{token}-opens-a-case", payload=open_request(f"Corpus {token}"), token=token
        )
    create = OPERATIONS["createIntegratorClient"]
    yield gql(
        "role/caseworker-creates-an-integrator-client",
        create.document,
        create.variables,
    )
    yield gql("role/caseworker-lists-integrator-clients", "{ integratorClients { clientId } }")
    yield gql(
        "role/analyst-lists-cases",
        "{ returnCases(first: 5) { edges { node { id } } } }",
        token="analyst",
    )
    yield gql(
        "role/integrator-reads-a-case",
        "query($id: ID!) { returnCase(id: $id) { id pseudonym } }",
        {"id": CASE_ID},
        token="integrator",
    )
    if HAS_REPORTS:
        yield gql(
            "role/caseworker-runs-a-report",
            "{ reports { caseload(period: {year: 2026}, groupBy: [SHELTER]) {"
            " grandTotal { value } } } }",
        )


def nest(depth: int, opening: str, middle: str, closing: str) -> str:
    return opening * depth + middle + closing * depth


def fan_out(levels: int) -> str:
    """Fragment F0 spreads F1 twice, F1 spreads F2 twice...: 2**levels fields once expanded."""
    fragments = " ".join(
        f"fragment F{i} on Me {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"{{ me {{ ...F0 }} }} {fragments} fragment F{levels} on Me {{ subject }}"


def fibonacci(levels: int) -> str:
    """F(i) spreads F(i+1) and F(i+2): a Fibonacci number of fields once expanded."""
    fragments = " ".join(
        f"fragment F{i} on Me {{ ...F{i + 1} ...F{i + 2} }}" for i in range(levels)
    )
    leaves = f"fragment F{levels} on Me {{ subject }} fragment F{levels + 1} on Me {{ subject }}"
    return f"{{ me {{ ...F0 }} }} {fragments} {leaves}"


def document_entries() -> Iterator[Entry]:
    documents: dict[str, str] = {
        # syntax
        "syntax/unclosed-mutation": "mutation { openReturnCase(input: { ",
        "syntax/unclosed-selection": "{ me { subject }",
        "syntax/stray-brace": "{ me { subject } } }",
        "syntax/only-a-brace": "}",
        "syntax/keywords-only": "query query query",
        "syntax/nul-character": "{ me\x00 { subject } }",
        "syntax/unterminated-string": '{ returnCase(id: "abc) { id } }',
        "syntax/invalid-escape": '{ returnCase(id: "\\uZZZZ") { id } }',
        "syntax/lone-surrogate-escape": '{ returnCase(id: "\\ud800") { id } }',
        "syntax/unterminated-block-string": '{ returnCase(id: """abc) { id } }',
        "syntax/fragment-without-operation": "fragment F on Me { subject }",
        "syntax/empty-document": "   ",
        "syntax/comment-only": "# nothing here",
        "syntax/sql-as-document": "SELECT * FROM events; --",
        "syntax/json-as-document": '{"query": "{ me { subject } }"}',
        # variables
        "variables/duplicate-definition": "query($a: Int, $a: Int) { me { subject } }",
        "variables/unused": "query($a: Int) { me { subject } }",
        "variables/undefined": "query { returnCase(id: $nope) { id } }",
        "variables/wrong-type-for-argument": "query($id: Int!) { returnCase(id: $id) { id } }",
        "variables/default-of-wrong-type": (
            'query($first: Int = "ten") { returnCases(first: $first) { pageInfo { hasNextPage } } }'
        ),
        "variables/input-type-on-output-field": "query($m: Me) { me { subject } }",
        # unknown fields and arguments
        "unknown/field": "{ me { password } }",
        "unknown/root-field": "{ events { streamId } }",
        "unknown/root-field-tenants": "{ tenants { id slug } }",
        "unknown/mutation": 'mutation { dropTable(name: "events") }',
        "unknown/argument": '{ me(tenant: "het-kopland") { subject } }',
        "unknown/argument-order-by": (
            '{ returnCases(first: 5, orderBy: "id; DROP TABLE events") {'
            " pageInfo { hasNextPage } } }"
        ),
        "unknown/input-field-inline": open_inline("Corpus unknown").replace(
            'countryOfOrigin: "NG"', 'countryOfOrigin: "NG", tenantId: "het-kopland"'
        ),
        "unknown/selection-on-scalar": "{ me { subject { length } } }",
        "unknown/missing-selection": "{ me }",
        "unknown/missing-required-argument": "{ returnCase { id } }",
        "unknown/mutation-without-input": "mutation { openReturnCase { version } }",
        "unknown/typename-with-selection": "{ __typename { name } }",
        # nesting
        "nesting/depth-15": "{ me " + nest(13, "{ organisation ", "{ slug }", " }") + " }",
        "nesting/depth-100": "{ me " + nest(98, "{ organisation ", "{ slug }", " }") + " }",
        "nesting/depth-1000": "{ me " + nest(998, "{ organisation ", "{ slug }", " }") + " }",
        "nesting/depth-3000-over-the-token-limit": "{ me "
        + nest(2998, "{ organisation ", "{ slug }", " }")
        + " }",
        "nesting/inline-fragments-1000": "{ "
        + nest(1000, "... on Query { ", "me { subject }", " }")
        + " }",
        "nesting/list-literal-1000": "{ returnCases(first: 1, filter: {phases: "
        + nest(1000, "[", "INTAKE", "]")
        + "}) { pageInfo { hasNextPage } } }",
        "nesting/list-literal-100": "{ returnCases(first: 1, filter: {phases: "
        + nest(100, "[", "INTAKE", "]")
        + "}) { pageInfo { hasNextPage } } }",
        "nesting/object-literal-1000": "{ returnCases(first: 1, filter: "
        + nest(1000, "{intakeFrom: ", "1", "}")
        + ") { pageInfo { hasNextPage } } }",
        "nesting/referrals-20-deep": "{ a: returnCases(first: 50) { edges { node { "
        + nest(20, "referrals { ", "id", " }")
        + " } } } }",
        # aliases
        "alias/31-aliases-of-me": "{ "
        + " ".join(f"a{i}: me {{ subject }}" for i in range(31))
        + " }",
        "alias/1000-aliases-of-typename": "{ "
        + " ".join(f"a{i}: __typename" for i in range(1000))
        + " }",
        "alias/100-aliased-full-page-lists": "{ "
        + " ".join(
            f"a{i}: returnCases(first: 50) {{ edges {{ node {{ id referrals {{ id }} }} }} }}"
            for i in range(100)
        )
        + " }",
        "alias/40-aliased-open-case-mutations": "mutation { "
        + " ".join(
            f"a{i}: " + open_inline(f"Corpus alias {i}").removeprefix("mutation { ")[:-2]
            for i in range(40)
        )
        + " }",
        "alias/50-aliases-hidden-in-5-fragments": "{ me { ...G0 ...G1 ...G2 ...G3 ...G4 } } "
        + " ".join(
            f"fragment G{f} on Me {{ " + " ".join(f"a{f}x{i}: subject" for i in range(10)) + " }"
            for f in range(5)
        ),
        "alias/conflicting-aliases": '{ a: returnCase(id: "x") { id } a: me { subject } }',
        "alias/same-field-repeated-1300-times": "{ " + " me { subject }" * 1300 + " }",
        # fragments
        "fragment/fan-out-2-to-the-14": fan_out(14),
        "fragment/fibonacci-20": fibonacci(20),
        "fragment/cycle-self": "{ me { ...A } } fragment A on Me { subject ...A }",
        "fragment/cycle-of-two": (
            "{ me { ...A } } fragment A on Me { ...B } fragment B on Me { subject ...A }"
        ),
        "fragment/cycle-of-three": (
            "{ me { ...A } } fragment A on Me { ...B } fragment B on Me { ...C } "
            "fragment C on Me { subject ...A }"
        ),
        "fragment/cycle-through-inline-fragment": (
            "{ me { ...A } } fragment A on Me { ... on Me { ...A } subject }"
        ),
        "fragment/unknown-spread": "{ me { ...Nope } }",
        "fragment/on-the-wrong-type": "{ me { ...R } } fragment R on ReturnCase { id }",
        "fragment/on-a-scalar": "{ me { ...S } } fragment S on String { length }",
        "fragment/duplicate-name": (
            "{ me { ...A } } fragment A on Me { subject } fragment A on Me { roles }"
        ),
        "fragment/unused": ME + " fragment U on Me { subject }",
        "fragment/linear-chain-of-300": "{ me { ...F0 } } "
        + " ".join(f"fragment F{i} on Me {{ ...F{i + 1} }}" for i in range(300))
        + " fragment F300 on Me { subject }",
        # directives
        "directive/include-without-if": "{ me @include { subject } }",
        "directive/skip-with-a-string": '{ me @skip(if: "yes") { subject } }',
        "directive/include-with-a-number": "{ me @include(if: 1) { subject } }",
        "directive/include-with-undefined-variable": "{ me @include(if: $x) { subject } }",
        "directive/unknown": "{ me @cached(ttl: 999999) { subject } }",
        "directive/deprecated-on-a-field": "{ me @deprecated { subject } }",
        "directive/specified-by-on-a-field": '{ me @specifiedBy(url: "x") { subject } }',
        "directive/skip-twice": "{ me @skip(if: false) @skip(if: false) { subject } }",
        "directive/include-argument-twice": "{ me @include(if: true, if: false) { subject } }",
        "directive/on-the-operation": "query @skip(if: false) { me { subject } }",
        "directive/on-a-fragment-definition": (
            "{ me { ...A } } fragment A on Me @include(if: true) { subject }"
        ),
        "directive/500-unknown-directives": "{ me "
        + " ".join(f"@d{i}" for i in range(500))
        + " { subject } }",
        # introspection
        "introspection/of-type-60-deep": '{ __type(name: "ReturnCase") { fields { type { '
        + nest(60, "ofType { ", "name", " }")
        + " } } } }",
        "introspection/fields-type-fields-5-deep": "{ __schema { types { "
        + nest(5, "fields { type { ", "name", " } }")
        + " } } }",
        "introspection/type-of-type-fields-4-deep": '{ __type(name: "Query") { '
        + nest(4, "fields { type { ofType { ", "name", " } } }")
        + " } }",
        "introspection/40-aliased-schemas": "{ "
        + " ".join(f"s{i}: __schema {{ types {{ name }} }}" for i in range(40))
        + " }",
        "introspection/type-without-name": "{ __type { name } }",
        "introspection/type-name-not-a-string": "{ __type(name: 42) { name } }",
        "introspection/include-deprecated-as-string": (
            '{ __schema { queryType { fields(includeDeprecated: "yes") { name } } } }'
        ),
    }
    for name, document in documents.items():
        yield gql(f"document/{name}", document)
    yield gql(
        "document/variables/unused-input-variable",
        "query($i: OpenReturnCaseInput!) { me { subject } }",
        {"i": OPEN_VALUES},
    )


def inline_literal(value: Any) -> str:
    """A GraphQL literal: JSON strings are valid GraphQL strings; bare names stay enums."""
    if isinstance(value, EnumName):
        return value.name
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float, str)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(inline_literal(v) for v in value) + "]"
    return "{" + ", ".join(f"{k}: {inline_literal(v)}" for k, v in value.items()) + "}"


@dataclass(frozen=True)
class EnumName:
    name: str


def with_enum_names(op: Operation, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the enum-typed ones as bare names, as a GraphQL document writes them."""
    out = dict(values)
    for path, kind in op.args.items():
        key = path.removeprefix("input.")
        if base_kind(kind) == "enum" and isinstance(out.get(key), str):
            out[key] = EnumName(out[key])
        if base_kind(kind) in ("enums", "scopes") and isinstance(out.get(key), list):
            out[key] = [EnumName(v) for v in out[key]]
    return out


def inline_payload(op: Operation, values: dict[str, Any], world: World) -> dict[str, Any]:
    selection = op.document.split(f"{op.name}(input: $input)")[1]
    literal = inline_literal(resolve(values, world))
    return {"query": f"mutation {{ {op.name}(input: {literal}){selection}"}


def inline_entries(rng: random.Random) -> Iterator[Entry]:
    """Whole inputs written into the document: enums sent as strings, injections as literals."""
    for op in OPERATIONS.values():
        if not op.document.startswith("mutation"):
            continue
        base = op.variables["input"]
        top = {
            p: k
            for p, k in op.args.items()
            if p.count(".") == 1 and p.removeprefix("input.") in base
        }
        enum_paths = [p for p, k in top.items() if base_kind(k) in ("enum", "enums")]
        id_paths = [p for p, k in top.items() if base_kind(k) in ("id", "country", "slug")]
        if enum_paths:
            key = rng.choice(enum_paths).removeprefix("input.")
            variants = {
                f"enum-{key}-sent-as-a-string": base[key],
                f"injection-in-enum-{key}": "' OR 1=1 --",
            }
        elif id_paths:
            key = rng.choice(id_paths).removeprefix("input.")
            variants = {f"injection-in-{key}": "'); DROP TABLE events; --"}
        else:
            continue
        label, value = rng.choice(sorted(variants.items()))
        values = {**with_enum_names(op, base), key: value}
        yield Entry(
            f"inline/{op.name}/{label}",
            payload=Lazy(functools.partial(inline_payload, op, values)),
            token=op.token,
        )


def injection_entries(rng: random.Random) -> Iterator[Entry]:
    """SQL-injection strings in every argument of every query and mutation.

    Arguments whose value reaches SQL as text (filters, cursors, keys, identifiers) get every
    string; the others one each, in a seeded rotation over all of them.
    """
    everything = {**INJECTIONS, **MORE_INJECTIONS}
    names = list(everything)
    rotation = itertools.cycle(rng.sample(names, len(names)))
    sql_reaching = {
        ("openReturnCase", "input.idempotencyKey"),
        ("recordReturnConversation", "input.idempotencyKey"),
        ("recordReturnConversation", "input.caseId"),
        ("revokeIntegratorClient", "input.clientId"),
        ("returnCase", "id"),
        ("returnCases", "filter.countriesOfOrigin"),
        ("returnCases", "after"),
        ("caseEvents", "after"),
        ("caseEvents", "eventTypes"),
        ("organisations", "filter.country"),
        ("organisations", "filter.text"),
        ("personalDataAccessLog", "actor"),
    }
    for op in OPERATIONS.values():
        for path in op.args:
            chosen = list(INJECTIONS) if (op.name, path) in sql_reaching else [next(rotation)]
            for name in chosen:
                yield hostile(op, path, everything[name], name, "inject")


UNICODE_TARGETS = [
    ("openReturnCase", "input.pseudonym"),
    ("openReturnCase", "input.nationality"),
    ("openReturnCase", "input.countryOfOrigin"),
    ("openReturnCase", "input.languages"),
    ("openReturnCase", "input.fullName"),
    ("openReturnCase", "input.notes"),
    ("openReturnCase", "input.idempotencyKey"),
    ("updateClientProfile", "input.pseudonym"),
    ("recordReturnConversation", "input.caseId"),
    ("recordReturnConversation", "input.notes"),
    ("recordReturnConversation", "input.idempotencyKey"),
    ("giveConsent", "input.organisationId"),
    ("giveConsent", "input.organisationCountry"),
    ("contactPartnerOrganisation", "input.notes"),
    ("transferCase", "input.toOrganisation"),
    ("closeReturnCase", "input.notes"),
    ("reopenReturnCase", "input.reason"),
    ("createIntegratorClient", "input.name"),
    ("revokeIntegratorClient", "input.clientId"),
    ("returnCase", "id"),
    ("returnCases", "filter.countriesOfOrigin"),
    ("returnCases", "after"),
    ("caseEvents", "after"),
    ("caseEvents", "eventTypes"),
    ("caseEvents", "caseId"),
    ("eraseClientPersonalData", "input.note"),
    ("createOrganisation", "input.name"),
    ("createOrganisation", "input.referralNotes"),
    ("createOrganisation", "input.contactChannels.0.value"),
    ("updateOrganisation", "input.city"),
    ("retireOrganisation", "input.reason"),
    ("importOrganisations", "input.content"),
    ("organisation", "id"),
    ("organisations", "filter.text"),
    ("organisations", "filter.country"),
    ("personalDataAccessLog", "actor"),
    ("referralMechanism", "country"),
]
UNICODE_SHOWCASE = {("openReturnCase", "input.pseudonym")}


def unicode_entries(rng: random.Random) -> Iterator[Entry]:
    """Control characters and odd Unicode in every string argument of several operations."""
    others = [n for n in UNICODE if n not in ("nul", "lone-high-surrogate")]
    rotation = itertools.cycle(rng.sample(others, len(others)))
    for op_name, path in UNICODE_TARGETS:
        if op_name not in OPERATIONS:
            continue
        if (op_name, path) in UNICODE_SHOWCASE:
            chosen = list(UNICODE)
        elif base_kind(OPERATIONS[op_name].args[path]) in ("text!", "text", "key", "search"):
            chosen = ["nul", "lone-high-surrogate", next(rotation)]
        else:
            chosen = ["nul", "lone-high-surrogate"]
        for name in chosen:
            yield hostile(OPERATIONS[op_name], path, UNICODE[name], name, "unicode")


WRONG_VALUES: dict[str, dict[str, Any]] = {
    "int": {
        "numeric-string": "1",
        "word": "one",
        "fraction": 1.5,
        "boolean": True,
        "list": [1],
        "object": {"n": 1},
        "null": None,
        "two-to-the-31": 2**31,
        "below-int-min": -(2**31) - 1,
    },
    "text": {
        "number": 42,
        "fraction": 4.2,
        "boolean": True,
        "list": ["a", "b"],
        "object": {"s": "a"},
        "null": None,
    },
    "id": {
        "integer": 42,
        "boolean": True,
        "fraction": 4.2,
        "list": [CASE_ID],
        "object": {"id": CASE_ID},
        "null": None,
    },
    "bool": {
        "string-true": "true",
        "one": 1,
        "zero": 0,
        "yes": "yes",
        "list": [True],
        "null": None,
    },
    "date": {
        "number": 20260201,
        "february-30": "2026-02-30",
        "month-13": "2026-13-01",
        "empty": "",
        "word": "yesterday",
        "with-a-time": "2026-02-01T10:00:00",
        "year-10000": "10000-01-01",
        "signed-year": "+2026-02-01",
        "arabic-indic-digits": "\u0662\u0660\u0662\u0666-\u0660\u0662-\u0660\u0661",
        "list": [D],
        "object": {"d": D},
        "null": None,
    },
    "enum": {
        "lower-case": "undecided",
        "leading-space": " UNDECIDED",
        "trailing-zero-width-space": "UNDECIDED\u200b",
        "fullwidth": "\uff35\uff2e\uff24\uff25\uff23\uff29\uff24\uff25\uff24",
        "number": 0,
        "boolean": True,
        "list": ["UNDECIDED"],
        "null": None,
    },
    "list": {"null-item": [None], "nested-list": [["en"]], "object": {"0": "en"}, "null": None},
    "input": {
        "string": "input",
        "list-of-inputs": Slot("list-of-inputs"),
        "number": 42,
        "null": None,
        "empty-object": {},
        "unknown-field": Slot("unknown-field"),
    },
}
WRONG_TARGETS: dict[str, list[tuple[str, str]]] = {
    "int": [
        ("recordReturnConversation", "input.expectedVersion"),
        ("returnCases", "first"),
        ("closeReturnCase", "input.expectedVersion"),
    ],
    "text": [
        ("openReturnCase", "input.pseudonym"),
        ("reopenReturnCase", "input.reason"),
        ("recordReturnConversation", "input.idempotencyKey"),
    ],
    "id": [
        ("recordReturnConversation", "input.caseId"),
        ("returnCase", "id"),
        ("giveConsent", "input.organisationId"),
    ],
    "bool": [
        ("contactPartnerOrganisation", "input.sharesPersonalData"),
        ("giveConsent", "input.transferRisksExplained"),
        ("recordTravelDocument", "input.originalIdentityDocument"),
    ],
    "date": [
        ("recordReturnConversation", "input.heldOn"),
        ("openReturnCase", "input.intakeDate"),
        ("closeReturnCase", "input.closedOn"),
    ],
    "enum": [("recordReturnConversation", "input.wish")],
    "list": [
        ("openReturnCase", "input.languages"),
        ("openReturnCase", "input.exploitationForms"),
        ("assessRisk", "input.factors"),
    ],
    "input": [
        ("recordReturnConversation", "input"),
        ("openReturnCase", "input"),
        ("closeReturnCase", "input"),
    ],
}


def wrong_type_entries(rng: random.Random) -> Iterator[Entry]:
    """Values of the wrong type for every kind of scalar, list and input object."""
    for kind, values in WRONG_VALUES.items():
        targets = WRONG_TARGETS[kind]
        for label, value in values.items():
            op_name, path = rng.choice(targets)
            op = OPERATIONS[op_name]
            if label == "null" and op.args.get(path, "input").endswith("?"):
                op_name, path = targets[0]
                op = OPERATIONS[op_name]
            variables = copy.deepcopy(op.variables)
            if value == Slot("list-of-inputs"):
                value = [variables[path]]
            elif value == Slot("unknown-field"):
                value = {**variables[path], "tenantId": "het-kopland"}
            set_path(variables, path, value)
            yield gql(
                f"wrong-type/{kind}/{op_name}.{path.removeprefix('input.')}/{label}",
                op.document,
                variables,
                token=op.token,
            )


def cursor_and_id_entries() -> Iterator[Entry]:
    rc = OPERATIONS["returnCases"]
    ev = OPERATIONS["caseEvents"]
    rcid = OPERATIONS["returnCase"]

    def with_vars(op: Operation, **changes: Any) -> dict[str, Any]:
        return {**copy.deepcopy(op.variables), **changes}

    yield gql(
        "cursor/case-cursor-of-another-shelter",
        rc.document,
        with_vars(rc, filter=None, after=FOREIGN_CASE_CURSOR),
        outcome=REFUSED_OR_OWN,
    )
    yield gql(
        "cursor/feed-cursor-of-another-shelter",
        ev.document,
        with_vars(ev, caseId=None, after=FOREIGN_FEED_CURSOR),
        outcome=REFUSED_OR_OWN,
    )
    yield gql(
        "cursor/feed-cursor-as-case-cursor",
        rc.document,
        with_vars(rc, filter=None, after=OWN_FEED_CURSOR),
    )
    yield gql(
        "cursor/case-cursor-as-feed-cursor",
        ev.document,
        with_vars(ev, caseId=None, after=OWN_CASE_CURSOR),
    )
    for index in range(3):

        def flipped(world: World, index: int = index) -> str:
            cursor = str(world.slots["own_feed_cursor"])
            # Not the last character: some of its bits are base64 padding, ignored on decoding.
            position = random.Random(SEED + 11 + index).randrange(len(cursor) - 1)
            swap = "A" if cursor[position] != "A" else "B"
            return cursor[:position] + swap + cursor[position + 1 :]

        yield gql(
            f"cursor/own-feed-cursor-with-one-character-changed-{index}",
            ev.document,
            with_vars(ev, caseId=None, after=Lazy(flipped)),
        )
    yield gql(
        "cursor/own-feed-cursor-truncated",
        ev.document,
        with_vars(ev, caseId=None, after=Lazy(lambda w: w.slots["own_feed_cursor"][:-4])),
    )
    yield gql(
        "cursor/own-feed-cursor-extended",
        ev.document,
        with_vars(ev, caseId=None, after=Lazy(lambda w: w.slots["own_feed_cursor"] + "AAAA")),
    )
    forged_case_cursor = base64.urlsafe_b64encode(b"c:2026-01-05:' OR 1=1 --").decode()
    yield gql(
        "cursor/case-cursor-carrying-an-injection",
        rc.document,
        with_vars(rc, filter=None, after=forged_case_cursor),
    )
    yield gql(
        "id/case-of-another-shelter",
        rcid.document,
        {"id": FOREIGN_CASE_ID},
    )
    yield gql(
        "id/case-of-another-shelter-in-the-feed-filter",
        ev.document,
        with_vars(ev, caseId=FOREIGN_CASE_ID),
        outcome=REFUSED_OR_EMPTY,
    )
    for name in ("recordReturnConversation", "closeReturnCase", "transferCase", "assessRisk"):
        op = OPERATIONS[name]
        variables = copy.deepcopy(op.variables)
        variables["input"]["caseId"] = FOREIGN_CASE_ID
        variables["input"]["expectedVersion"] = FOREIGN_VERSION
        yield gql(f"id/{name}-on-a-case-of-another-shelter", op.document, variables)
    forged_ids = {
        "injection-after-type": b"ReturnCase:' OR 1=1 --",
        "injection-after-uuid": b"ReturnCase:" + str(uuid.UUID(int=1)).encode() + b"' OR 1=1 --",
        "nil-uuid": b"ReturnCase:00000000-0000-0000-0000-000000000000",
        "type-with-sql-comment": b"ReturnCase--:" + str(uuid.UUID(int=2)).encode(),
        "nul-in-payload": b"ReturnCase:\x00" + str(uuid.UUID(int=3)).encode(),
    }
    for name, raw in forged_ids.items():
        variables = copy.deepcopy(RRC.variables)
        variables["input"]["caseId"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        yield gql(f"id/forged-global-id-{name}", RRC.document, variables)
    variables = copy.deepcopy(RRC.variables)
    variables["input"]["caseId"] = Lazy(lambda w: str(w.slots["case_uuid"]))
    yield gql("id/raw-uuid-of-the-own-case", RRC.document, variables)
    variables = copy.deepcopy(RRC.variables)
    variables["input"]["caseId"] = Lazy(
        lambda w: to_global_id("Organisation", w.slots["case_uuid"])
    )
    yield gql("id/own-case-as-an-organisation-id", RRC.document, variables)
    # Idempotency keys.
    for label, key in {
        "empty": "",
        "201-characters": "k" * 201,
        "10000-characters": "k" * 10_000,
    }.items():
        yield hostile(RRC, "input.idempotencyKey", key, label, "idempotency")
        yield hostile(OPEN, "input.idempotencyKey", key, label, "idempotency")
    yield gql(
        "idempotency/openReturnCase.idempotencyKey/reused-for-another-request",
        OPEN.document,
        {"input": {**OPEN_VALUES, "pseudonym": "Someone else", "idempotencyKey": SETUP_KEY}},
    )


def social_map_entries() -> Iterator[Entry]:
    """Bulk imports (always dry runs: answering with counts is allowed) and roles."""
    if "importOrganisations" in OPERATIONS:
        op = OPERATIONS["importOrganisations"]
        header = "name,kind,country,city,referral_notes,email\n"
        contents: dict[str, tuple[str, str]] = {
            "csv-injection-in-every-cell": (
                "CSV",
                header + "' OR 1=1 --,NGO,NG,'); DROP TABLE organisations; --,$$,a@b.nl\n",
            ),
            "csv-formula-injection": ("CSV", header + '=HYPERLINK("http://evil"),NGO,NG,,,\n'),
            "csv-unbalanced-quote": ("CSV", header + '"Corpus,NGO,NG,,,\n'),
            "csv-nul": ("CSV", header + "Corpus\x00,NGO,NG,,,\n"),
            "csv-lone-surrogate": ("CSV", header + "Corpus\ud800,NGO,NG,,,\n"),
            "csv-one-mib-cell": ("CSV", header + "x" * 2**20 + ",NGO,NG,,,\n"),
            "csv-5001-rows": ("CSV", header + "".join(f"C{i},NGO,NG,,,\n" for i in range(5001))),
            "csv-header-only-unknown-columns": ("CSV", "' OR 1=1 --,$$\n"),
            "csv-10000-columns": ("CSV", ",".join(f"c{i}" for i in range(10_000)) + "\n"),
            "json-nested-arrays-100000": ("JSON", "[" * 100_000 + "]" * 100_000),
            "json-nested-objects-in-a-row": (
                "JSON",
                '[{"name": ' + '{"a": ' * 5_000 + "1" + "}" * 5_000 + ', "kind": "NGO"}]',
            ),
            "json-not-an-array": ("JSON", '{"name": "Corpus", "kind": "NGO", "country": "NG"}'),
            "json-10000-nulls": ("JSON", "[" + ",".join(["null"] * 10_000) + "]"),
            "json-nan": ("JSON", '[{"name": NaN, "kind": "NGO", "country": "NG"}]'),
            "json-truncated": ("JSON", '[{"name": "Corpus", "kind": "NG'),
            "json-injection-everywhere": (
                "JSON",
                json.dumps(
                    [
                        {
                            "name": "' OR 1=1 --",
                            "kind": "NGO",
                            "country": "NG",
                            "languages": ["'); DROP TABLE organisations; --"],
                            "services": "%;_",
                        }
                    ]
                ),
            ),
            "format-mismatch-csv-as-json": ("JSON", VALID_CSV),
        }
        for name, (fmt, content) in contents.items():
            variables = {"input": {"format": fmt, "content": content, "dryRun": True}}
            yield gql(f"import/{name}", op.document, variables, token="editor", outcome=READ)
    if HAS_SOCIAL_MAP:
        yield gql(
            "role/caseworker-creates-an-organisation",
            OPERATIONS["createOrganisation"].document,
            OPERATIONS["createOrganisation"].variables,
        )
        yield gql(
            "role/analyst-retires-an-organisation",
            OPERATIONS["retireOrganisation"].document,
            OPERATIONS["retireOrganisation"].variables,
            token="analyst",
        )
    if "personalDataAccessLog" in OPERATIONS:
        op = OPERATIONS["personalDataAccessLog"]
        yield gql("role/caseworker-reads-the-access-log", op.document, op.variables)
        yield gql("role/editor-reads-the-access-log", op.document, op.variables, token="editor")
    if "eraseClientPersonalData" in OPERATIONS:
        op = OPERATIONS["eraseClientPersonalData"]
        yield gql("role/editor-erases-personal-data", op.document, op.variables, token="editor")
        yield gql("role/caseworker-erases-personal-data", op.document, op.variables)
        yield gql(
            "role/integrator-erases-personal-data", op.document, op.variables, token="integrator"
        )


def oauth(id_: str, body: bytes, **kw: Any) -> Entry:
    kw.setdefault("content_type", "application/x-www-form-urlencoded")
    kw.setdefault("status", statuses(400, 401))
    return Entry(f"oauth/{id_}", path="/oauth/token", body=body, token=None, **kw)


def form(**fields: str) -> bytes:
    return urlencode(fields, quote_via=quote).encode()


def oauth_entries() -> Iterator[Entry]:
    grant = {"grant_type": "client_credentials"}
    yield oauth(
        "json-body",
        json.dumps({**grant, "client_id": "moviera.x", "client_secret": "s"}).encode(),
        content_type="application/json",
    )
    yield oauth("no-content-type", form(**grant), content_type=None)
    yield oauth("multipart", multipart_body(), content_type="multipart/form-data; boundary=x")
    yield oauth("missing-grant-type", form(client_id="moviera.x", client_secret="s"))
    yield oauth("password-grant", form(grant_type="password", username="admin", password="x"))
    yield oauth(
        "grant-type-repeated", b"grant_type=client_credentials&grant_type=client_credentials"
    )
    yield oauth(
        "client-id-repeated",
        b"grant_type=client_credentials&client_id=moviera.a&client_id=moviera.b&client_secret=s",
    )
    hostile_ids = {
        "client-id-or-1-eq-1": "moviera.' OR 1=1 --",
        "client-id-drop-table": "moviera.'); DROP TABLE integrator_clients; --",
        "client-id-without-shelter": "' OR 1=1 --",
        "client-id-percent": "moviera.%",
        "client-id-underscore": "moviera._",
        "client-id-dollar-quotes": "moviera.$$",
        "client-id-escaped-nul": "moviera.\\x00",
        "client-id-nul": "moviera.\x00",
        "client-id-lone-surrogate-as-utf8": "moviera.\ud800",
        "client-id-one-mib": "moviera." + "x" * 2**20,
    }
    for name, client_id in hostile_ids.items():
        data = urlencode(
            {**grant, "client_id": client_id, "client_secret": "s"},
            quote_via=quote,
            encoding="utf-8",
            errors="surrogatepass",
        ).encode()
        # A body over 4 KiB is refused as too large (413, in OAuth's format).
        yield oauth(name, data, status=statuses(413) if len(data) > 4096 else statuses(400, 401))
    yield oauth(
        "secret-or-1-eq-1", form(**grant, client_id="moviera.x", client_secret="' OR '1'='1")
    )
    yield oauth("secret-nul", form(**grant, client_id="moviera.x", client_secret="\x00"))
    yield oauth(
        "scope-injection",
        form(**grant, client_id="moviera.x", client_secret="s", scope="events:read' OR 1=1 --"),
    )
    yield oauth("overlong-utf8", b"grant_type=client_credentials&client_id=moviera.%C0%AF")
    yield oauth("raw-invalid-utf8", b"grant_type=client_credentials&client_id=moviera.\xff\xfe")
    yield oauth("body-over-4-kib", form(**grant, pad="x" * 5000), status=statuses(413))
    basic = {
        "basic-garbage": "Basic !!!",
        "basic-without-colon": "Basic " + base64.b64encode(b"moviera.x").decode(),
        "basic-injection": "Basic " + base64.b64encode(b"moviera.' OR 1=1 --:x").decode(),
        "basic-nul": "Basic " + base64.b64encode(b"moviera.\x00:x").decode(),
        "basic-not-utf8": "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    }
    for name, value in basic.items():
        yield oauth(name, form(**grant), headers=(("Authorization", value),))
    yield oauth(
        "user-bearer-token-instead-of-credentials",
        form(**grant),
        headers=(("Authorization", Lazy(lambda w: f"Bearer {w.tokens['caseworker']}")),),
    )
    yield oauth("get", b"", method="GET", content_type=None, status=statuses(405))
    yield oauth("put", form(**grant), method="PUT", status=statuses(405))


def report_route_entries() -> Iterator[Entry]:
    if not HAS_REPORT_ROUTES:
        return
    cases: dict[str, tuple[str, dict[str, Any], str | None]] = {
        "year-superscript-digits": (
            "caseload.json",
            {"year": "\u00b2\u2070\u00b2\u2076"},
            "analyst",
        ),
        "year-injection": ("caseload.json", {"year": "' OR 1=1 --"}, "analyst"),
        "year-twenty-digits": ("caseload.csv", {"year": "9" * 20}, "analyst"),
        "month-injection": ("caseload.csv", {"month": "2026-01' OR 1=1 --"}, "analyst"),
        "month-nul": ("indicators.json", {"month": "2026-01\x00"}, "analyst"),
        "quarter-percent": ("indicators.json", {"quarter": "%"}, "analyst"),
        "range-backwards": (
            "indicators.json",
            {"fromMonth": "2026-06", "toMonth": "2026-01"},
            "analyst",
        ),
        "group-by-injection": (
            "caseload.json",
            {"year": "2026", "groupBy": "SHELTER'); DROP TABLE events; --"},
            "analyst",
        ),
        "group-by-1000-dimensions": (
            "caseload.json",
            {"year": "2026", "groupBy": ",".join(["SHELTER"] * 1000)},
            "analyst",
        ),
        "by-shelter-maybe": ("indicators.csv", {"year": "2026", "byShelter": "maybe"}, "analyst"),
        "format-xml": ("caseload.xml", {"year": "2026"}, "analyst"),
        "caseworker-token": ("caseload.json", {"year": "2026"}, "caseworker"),
        "no-token": ("caseload.json", {"year": "2026"}, None),
        "forged-alg-none-token": ("caseload.json", {"year": "2026"}, "forged:alg-none"),
    }
    for name, (route, params, token) in cases.items():
        yield Entry(
            f"report-http/{name}",
            method="GET",
            path=f"/reports/{route}",
            params=params,
            content_type=None,
            token=token,
        )


# --- operations this file does not know (added by other work) -------------------------------------

KNOWN_FIELDS = {
    "me",
    "returnCase",
    "returnCases",
    "caseEvents",
    "integratorClients",
    "reports",
    "countries",
}


def sample_value(graphql_type: GraphQLInputType, name: str) -> Any:
    if isinstance(graphql_type, GraphQLNonNull):
        return sample_value(graphql_type.of_type, name)
    if isinstance(graphql_type, GraphQLList):
        return [sample_value(graphql_type.of_type, name)]
    if isinstance(graphql_type, GraphQLInputObjectType):
        return {
            key: sample_value(f.type, key)
            for key, f in graphql_type.fields.items()
            if isinstance(f.type, GraphQLNonNull) or key in ("caseId", "expectedVersion")
        }
    if isinstance(graphql_type, GraphQLEnumType):
        return next(iter(graphql_type.values))
    scalar = graphql_type.name if isinstance(graphql_type, GraphQLScalarType) else ""
    samples: dict[str, Any] = {
        "ID": CASE_ID if name == "caseId" else ORG,
        "Int": STALE if name == "expectedVersion" else 1,
        "Float": 1.0,
        "Boolean": False,
        "Date": D,
        "DateTime": "2026-02-01T00:00:00+00:00",
        "JSON": {},
        "String": "NL" if "country" in name.lower() else "corpus",
    }
    return samples.get(scalar, "corpus")


def leaves(
    graphql_type: GraphQLInputType, path: str, depth: int = 0
) -> Iterator[tuple[str, GraphQLInputType]]:
    """Every scalar or enum argument inside ``graphql_type``, by dotted path (lists: item 0)."""
    inner = graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type
    named = get_named_type(graphql_type)
    if isinstance(named, GraphQLInputObjectType) and depth < 2:
        if isinstance(inner, GraphQLList):
            yield from leaves(inner.of_type, f"{path}.0", depth)
            return
        for key, f in named.fields.items():
            yield from leaves(f.type, f"{path}.{key}", depth + 1)
    else:
        yield path, graphql_type


def wrong_value(graphql_type: GraphQLInputType) -> Any:
    named = get_named_type(graphql_type)
    if isinstance(named, GraphQLScalarType) and named.name in ("String", "ID"):
        return 12.5
    return "' OR 1=1 --"


def extra_entries(known: set[str] | None = None) -> Iterator[Entry]:
    """Wrong types and injection strings for every argument of root fields added elsewhere."""
    known = KNOWN_FIELDS | set(OPERATIONS) if known is None else known
    roots = [(GRAPHQL_SCHEMA.query_type, "query"), (GRAPHQL_SCHEMA.mutation_type, "mutation")]
    for root, kind in roots:
        if root is None:
            continue
        for name, definition in root.fields.items():
            if name in known or not definition.args:
                continue
            declared = ", ".join(f"${a}: {arg.type}" for a, arg in definition.args.items())
            passed = ", ".join(f"{a}: ${a}" for a in definition.args)
            composite = is_composite_type(get_named_type(definition.type))
            selection = " { __typename }" if composite else ""
            document = f"{kind} Corpus({declared}) {{ {name}({passed}){selection} }}"
            base = {a: sample_value(arg.type, a) for a, arg in definition.args.items()}
            outcome = READ if kind == "query" else REFUSED
            for arg_name, arg in definition.args.items():
                for path, leaf in leaves(arg.type, arg_name):
                    named = get_named_type(leaf)
                    if isinstance(named, GraphQLScalarType) and named.name == "JSON":
                        continue
                    values = {"wrong-type": wrong_value(leaf)}
                    if isinstance(named, GraphQLScalarType) and named.name in ("String", "ID"):
                        values.update(
                            {
                                "or-1-eq-1": "' OR 1=1 --",
                                "nul": UNICODE["nul"],
                                "lone-high-surrogate": UNICODE["lone-high-surrogate"],
                            }
                        )
                    for label, value in values.items():
                        variables = copy.deepcopy(base)
                        inner = leaf.of_type if isinstance(leaf, GraphQLNonNull) else leaf
                        wrapped = [value] if isinstance(inner, GraphQLList) else value
                        set_path(variables, path, wrapped)
                        yield gql(
                            f"extra/{name}.{path}/{label}", document, variables, outcome=outcome
                        )


# --- the corpus -----------------------------------------------------------------------------------


def build_corpus() -> list[Entry]:
    rng = random.Random(SEED)
    parts: list[Iterator[Entry]] = [
        json_entries(rng),
        shape_entries(),
        transport_entries(),
        limit_entries(),
        token_entries(),
        document_entries(),
        inline_entries(rng),
        injection_entries(rng),
        unicode_entries(rng),
        wrong_type_entries(rng),
        cursor_and_id_entries(),
        oauth_entries(),
        report_route_entries(),
        social_map_entries(),
        extra_entries(),
    ]
    return [entry for part in parts for entry in part]


CORPUS = build_corpus()


# --- the world the corpus runs against ------------------------------------------------------------

FINGERPRINT = """
    SELECT (SELECT count(*) FROM events),
           (SELECT coalesce(max(global_position), 0) FROM events),
           (SELECT count(*) FROM return_cases),
           (SELECT coalesce(sum(version), 0) FROM return_cases),
           (SELECT max(updated_at) FROM return_cases),
           (SELECT count(*) FROM case_timeline),
           (SELECT count(*) FROM command_receipts),
           (SELECT count(*) FROM integrator_clients),
           (SELECT count(revoked_at) FROM integrator_clients)
"""
# Tables of other work: the social map, the personal-data access log and the client data keys.
OPTIONAL_TABLES = (
    "organisations",
    "organisation_changes",
    "personal_data_access_log",
    "data_keys",
    "destroyed_data_keys",
)
SNAPSHOT_TABLES = {
    "return_cases": "tenant_id, case_id",
    "case_timeline": "tenant_id, case_id, version",
    "command_receipts": "tenant_id, idempotency_key",
    "integrator_clients": "tenant_id, client_id",
}


async def fingerprint(engine: AsyncEngine, optional: list[str]) -> tuple[Any, ...]:
    """A cheap summary of everything a refused request must leave alone, in one statement."""
    counts = "".join(f", (SELECT count(*) FROM {table})" for table in optional)
    async with engine.connect() as conn:
        return tuple((await conn.execute(text(FINGERPRINT + counts))).one())


async def snapshot(engine: AsyncEngine) -> dict[str, Any]:
    """Everything a refused request must leave alone, read as the owner (RLS does not apply)."""
    async with engine.connect() as conn:
        state: dict[str, Any] = {
            "events": tuple(
                (
                    await conn.execute(
                        text("SELECT count(*), coalesce(max(global_position), 0) FROM events")
                    )
                ).one()
            )
        }
        for table, order in SNAPSHOT_TABLES.items():
            rows = await conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))
            state[table] = [tuple(row) for row in rows]
        for table in await present(conn, OPTIONAL_TABLES):
            rows = await conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))
            state[table] = [tuple(row) for row in rows]
    return state


async def present(conn: AsyncConnection, tables: tuple[str, ...]) -> list[str]:
    found = await conn.execute(
        text(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_name = ANY(:names) ORDER BY table_name"
        ),
        {"names": list(tables)},
    )
    return list(found.scalars())


@pytest.fixture(scope="module")
async def corpus_http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that reports a crash of the app as the 500 a real server would send."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def post_json(
    http: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def world(
    corpus_http: httpx.AsyncClient,
    app: Starlette,
    settings: Settings,
    make_token: TokenFactory,
    admin_engine: AsyncEngine,
) -> World:
    """A case of Moviera in preparation (version 2) and one of Het Kopland; then the snapshot."""
    tokens = {
        "caseworker": make_token("moviera"),
        "admin": make_token("moviera", "tenant-admin"),
        "analyst": make_token("comensha", "comensha-analyst"),
        "editor": make_token("comensha", "social-map-editor"),
        "coordination-caseworker": make_token("comensha", "caseworker"),
        "no-known-role": make_token("moviera", "superuser"),
        "foreign": make_token("het-kopland"),
        "integrator": issue_token(
            app.state.signing_key,
            issuer=settings.service_issuer,
            audience=settings.jwt_audience,
            subject="moviera.corpus-integrator",
            organisation="moviera",
            roles=["integrator"],
            scopes=["events:read", "personal-data:read"],
            client_id="moviera.corpus-integrator",
        ),
    }
    for name, token in forged_tokens(settings, tokens["caseworker"]).items():
        tokens[f"forged:{name}"] = token
    own = tokens["caseworker"]
    opened = await post_json(
        corpus_http,
        own,
        OPEN.document,
        {"input": {**OPEN_VALUES, "idempotencyKey": SETUP_KEY}},
    )
    case = opened["openReturnCase"]["case"]
    talked = await post_json(
        corpus_http,
        own,
        RRC.document,
        {
            "input": {
                "caseId": case["id"],
                "expectedVersion": case["version"],
                "heldOn": "2026-01-10",
                "wish": "WANTS_TO_RETURN",
            }
        },
    )
    version = talked["recordReturnConversation"]["version"]
    foreign = await post_json(
        corpus_http,
        tokens["foreign"],
        OPEN.document,
        {"input": {**OPEN_VALUES, "pseudonym": "Corpus client elsewhere"}},
    )
    foreign_case = foreign["openReturnCase"]["case"]
    page = "query($a: String) { returnCases(first: 1, after: $a) { edges { cursor node { id } } } }"
    feed = "{ caseEvents(first: 1) { edges { cursor } } }"
    own_page = await post_json(corpus_http, own, page, {})
    foreign_page = await post_json(corpus_http, tokens["foreign"], page, {})
    own_feed = await post_json(corpus_http, own, feed, {})
    foreign_feed = await post_json(corpus_http, tokens["foreign"], feed, {})
    org_slots: dict[str, Any] = {}
    if HAS_SOCIAL_MAP:
        orgs = await post_json(
            corpus_http, own, "{ organisations(first: 1) { edges { node { id version } } } }", {}
        )
        org = orgs["organisations"]["edges"][0]["node"]
        org_slots = {"org_id": org["id"], "org_version": org["version"]}
        org_slots["org_stale"] = org["version"] + 7
    case_uuid = uuid.UUID(
        base64.urlsafe_b64decode(case["id"] + "=" * (-len(case["id"]) % 4)).decode().split(":")[1]
    )
    async with admin_engine.connect() as conn:
        optional_tables = await present(conn, OPTIONAL_TABLES)
        rows = await conn.execute(
            text(
                "SELECT c.case_id, t.slug FROM return_cases c JOIN tenants t ON t.id = c.tenant_id"
            )
        )
        ids = [(to_global_id("ReturnCase", r.case_id), r.slug) for r in rows]
    slots = {
        "case_id": case["id"],
        "case_uuid": case_uuid,
        "version": version,
        "stale": version + 7,
        "foreign_case_id": foreign_case["id"],
        "foreign_version": foreign_case["version"],
        "own_case_cursor": own_page["returnCases"]["edges"][0]["cursor"],
        "foreign_case_cursor": foreign_page["returnCases"]["edges"][0]["cursor"],
        "own_feed_cursor": own_feed["caseEvents"]["edges"][0]["cursor"],
        "foreign_feed_cursor": foreign_feed["caseEvents"]["edges"][0]["cursor"],
        **org_slots,
    }
    return World(
        slots=slots,
        tokens=tokens,
        max_body=settings.max_body_bytes,
        own_ids=frozenset(i for i, org in ids if org == "moviera"),
        snapshot=await snapshot(admin_engine),
        optional_tables=optional_tables,
        fingerprint=await fingerprint(admin_engine, optional_tables),
    )


async def refresh(world: World, engine: AsyncEngine) -> None:
    """After a request changed something (a bug), aim the rest of the corpus at the new state."""
    async with engine.connect() as conn:
        version = await conn.scalar(
            text("SELECT version FROM return_cases WHERE case_id = :c"),
            {"c": world.slots["case_uuid"]},
        )
        world.slots["version"], world.slots["stale"] = version, version + 7
        rows = await conn.execute(
            text(
                "SELECT c.case_id FROM return_cases c JOIN tenants t ON t.id = c.tenant_id "
                "WHERE t.slug = 'moviera'"
            )
        )
        world.own_ids = frozenset(to_global_id("ReturnCase", r.case_id) for r in rows)
        if "org_id" in world.slots:
            org_id = world.slots["org_id"]
            org_uuid = base64.urlsafe_b64decode(org_id + "=" * (-len(org_id) % 4)).decode()
            version = await conn.scalar(
                text("SELECT version FROM organisations WHERE id = :o"),
                {"o": uuid.UUID(org_uuid.split(":")[1])},
            )
            world.slots["org_version"], world.slots["org_stale"] = version, version + 7


# --- sending and judging --------------------------------------------------------------------------


def build_request(http: httpx.AsyncClient, entry: Entry, world: World) -> httpx.Request:
    headers: list[tuple[bytes, bytes]] = []
    if entry.token is not None:
        headers.append((b"Authorization", f"Bearer {world.tokens[entry.token]}".encode()))
    if entry.content_type is not None:
        headers.append((b"Content-Type", entry.content_type.encode()))
    for name, value in entry.headers:
        resolved = resolve(value, world)
        raw = resolved if isinstance(resolved, bytes) else str(resolved).encode("latin-1")
        headers.append((name.encode(), raw))
    content: Any = None
    if entry.payload is not NOTHING:
        content = encode_json(entry.payload, world)
    elif callable(entry.body):
        content = entry.body(world)
    elif entry.body is not None:
        content = entry.body
    params = resolve(entry.params, world) if entry.params is not None else None
    return http.build_request(
        entry.method, entry.path, content=content, headers=headers, params=params
    )


def walk(value: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    yield key, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v, key)


def judge_graphql(entry: Entry, body: Any, world: World) -> list[str]:
    if not isinstance(body, dict):
        return [f"a 200 answer that is not a JSON object: {body!r:.200}"]
    errors = body.get("errors") or []
    data = body.get("data")
    problems = []
    codes = [
        (e.get("extensions") or {}).get("code") if isinstance(e, dict) else None for e in errors
    ]
    bad_codes = [c for c in codes if c not in ALLOWED_CODES]
    if bad_codes:
        problems.append(f"error codes {bad_codes} (allowed: {sorted(ALLOWED_CODES)})")
    if errors and isinstance(data, dict) and any(v is not None for v in data.values()):
        problems.append("data alongside errors")
    if errors or entry.outcome == READ:
        return problems
    if entry.outcome == REFUSED:
        problems.append("answered with data instead of an error")
    elif entry.outcome == REFUSED_OR_EMPTY:
        root = next(iter(data.values()), None) if isinstance(data, dict) else data
        edges = root.get("edges") if isinstance(root, dict) else None
        if root not in (None, []) and edges != []:
            problems.append(f"answered with something instead of nothing: {root!r:.200}")
    elif entry.outcome == REFUSED_OR_OWN:
        ids = {v for k, v in walk(data) if k in ("id", "caseId") and isinstance(v, str)}
        if ids - world.own_ids:
            problems.append(
                f"answered with cases of another shelter: {sorted(ids - world.own_ids)}"
            )
    return problems


def problems_with(entry: Entry, response: httpx.Response, world: World) -> list[str]:
    problems = []
    status = response.status_code
    body = response.content.decode("utf-8", "replace")
    if status >= 500:
        problems.append(f"HTTP {status}")
    leaks = [m for m in LEAKS_ANY_CASE if m in body.lower()] + [m for m in LEAKS_EXACT if m in body]
    if leaks:
        problems.append(f"the answer shows internals: {leaks}")
    if entry.status is not None and status not in entry.status:
        problems.append(f"HTTP {status}, expected one of {sorted(entry.status)}")
    gated = entry.path == "/graphql" and entry.method != "OPTIONS"
    if gated and "x-request-id" not in response.headers:
        problems.append("no X-Request-ID header")
    content_type = response.headers.get("content-type", "")
    if status == 200 and entry.path == "/graphql":
        try:
            problems += judge_graphql(entry, response.json(), world)
        except ValueError:
            problems.append(f"a 200 answer that is not JSON ({content_type})")
    elif 200 <= status < 300:
        problems.append(f"HTTP {status}: the request was not refused")
    elif 400 <= status < 500 and entry.method != "HEAD":
        if not body.strip():
            problems.append("an error without a body")
        elif "json" in content_type:
            try:
                parsed = response.json()
            except ValueError:
                problems.append("an error body that claims JSON but is not")
            else:
                errors = parsed.get("errors", []) if isinstance(parsed, dict) else []
                codes = [(e.get("extensions") or {}).get("code") for e in errors]
                if any(c not in ALLOWED_CODES for c in codes):
                    problems.append(f"error codes {codes}")
        elif not content_type.startswith("text/"):
            problems.append(f"an error body of type {content_type!r}")
    elif status < 400:
        problems.append(f"HTTP {status}")
    return problems


def test_the_corpus_is_large_deterministic_and_well_named() -> None:
    ids = [entry.id for entry in CORPUS]
    assert len(ids) >= 200, len(ids)
    assert len(set(ids)) == len(ids), sorted({i for i in ids if ids.count(i) > 1})
    assert all(i.isascii() and " " not in i for i in ids)
    assert [e.id for e in build_corpus()] == ids
    categories = {i.split("/")[0] for i in ids}
    assert {"json", "shape", "content-type", "get", "method", "oversize", "huge", "token"} <= (
        categories
    )
    assert {"document", "inject", "unicode", "wrong-type", "cursor", "idempotency", "oauth"} <= (
        categories
    )


@pytest.mark.parametrize("entry", CORPUS, ids=[entry.id for entry in CORPUS])
async def test_hostile_request_is_refused_cleanly(
    entry: Entry, world: World, corpus_http: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    request = build_request(corpus_http, entry, world)
    started = time.perf_counter()
    async with asyncio.timeout(HANG_SECONDS):
        response = await corpus_http.send(request)
    elapsed = time.perf_counter() - started
    after = await fingerprint(admin_engine, world.optional_tables)
    before, world.fingerprint = world.fingerprint, after

    problems = problems_with(entry, response, world)
    if elapsed > SLOW_SECONDS:
        problems.append(f"took {elapsed:.1f} s")
    if after != before:
        problems.append(f"state changed: {before} -> {after}")
        await refresh(world, admin_engine)
    assert not problems, (
        f"{entry.id}: {'; '.join(problems)}\n"
        f"HTTP {response.status_code} in {elapsed:.3f} s: {response.text[:600]}"
    )


async def test_zz_nothing_changed_after_the_whole_corpus(
    world: World, admin_engine: AsyncEngine
) -> None:
    """The events and read models are exactly as they were before the first hostile request."""
    now = await snapshot(admin_engine)
    changed = {
        table: f"{len(world.snapshot[table])} -> {len(now[table])} rows, or rows changed"
        if isinstance(now[table], list)
        else f"{world.snapshot[table]} -> {now[table]}"
        for table in world.snapshot
        if world.snapshot[table] != now.get(table)
    }
    assert not changed, changed
