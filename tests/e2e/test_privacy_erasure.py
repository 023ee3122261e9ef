"""A tenant admin erases a client: nothing readable of that person remains in the database,
while the case stays and still counts.

The database is searched for the client's known values the hard way: in a full ``pg_dump``
and in the raw files of the embedded server's data folder, after the owner has vacuumed the
key table and forced a CHECKPOINT.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import stat
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pgserver  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from service.privacy.erasure import vacuum_key_table
from service.schema.ids import from_global_id
from tests.conftest import ROOT, Database
from tests.e2e.conftest import GraphQLClient, codes

ORG = "het-kopland"
PERSONAL = "personal { fullName dateOfBirth notes }"
CASE_FIELDS = f"id version phase closingReason personalDataErased {PERSONAL}"


@dataclass(frozen=True)
class Person:
    """Values unique to this run, so a search finds them only if this run wrote them."""

    pseudonym: str
    full_name: str
    date_of_birth: str
    notes: tuple[str, ...]

    @classmethod
    def make(cls) -> Person:
        tag = uuid.uuid4().hex[:12]
        day = random.randint(0, 365 * 30)  # 1950-1979: no other test writes such dates
        dob = dt.date(1950, 1, 1) + dt.timedelta(days=day)
        return cls(
            pseudonym=f"PSEUDO-{tag}",
            full_name=f"Marisol Vantongeren-{tag}",
            date_of_birth=dob.isoformat(),
            notes=tuple(
                f"{what} {tag}"
                for what in (
                    "arrived with a cousin from Iasi",
                    "spoke of a debt to the recruiter",
                    "mother lives near the harbour",
                    "closed after she moved away",
                    "came back through the night shelter",
                    "new phone number kept in the paper file",
                    "asked for erasure by phone from abroad",
                )
            ),
        )

    @property
    def values(self) -> tuple[str, ...]:
        return (self.full_name, self.date_of_birth, *self.notes)


def document(name: str, fields: str = CASE_FIELDS) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return (
        f"mutation Run($input: {input_type}!) {{ {name}(input: $input) "
        f"{{ version replayed case {{ {fields} }} }} }}"
    )


async def mutate(
    client: GraphQLClient, name: str, fields: str = CASE_FIELDS, **values: Any
) -> dict[str, Any]:
    return await client.execute(document(name, fields), {"input": values})


async def step(client: GraphQLClient, name: str, case: dict[str, Any], **fields: Any) -> Any:
    body = await mutate(client, name, caseId=case["id"], expectedVersion=case["version"], **fields)
    assert "errors" not in body, body
    return body["data"][name]["case"]


async def open_personal_case(
    client: GraphQLClient, person: Person, fields: str = CASE_FIELDS
) -> dict[str, Any]:
    body = await mutate(
        client,
        "openReturnCase",
        fields,
        intakeDate="2026-01-05",
        pseudonym=person.pseudonym,
        gender="FEMALE",
        birthYear=int(person.date_of_birth[:4]),
        nationality="RO",
        countryOfOrigin="RO",
        languages=["ro"],
        exploitationForms=["SEXUAL_EXPLOITATION"],
        fullName=person.full_name,
        dateOfBirth=person.date_of_birth,
        notes=person.notes[0],
    )
    assert "errors" not in body, body
    return body["data"]["openReturnCase"]["case"]  # type: ignore[no-any-return]


async def walk_with_personal_data(client: GraphQLClient, person: Person) -> dict[str, Any]:
    """A case whose personal values sit in many events: profile, notes, reasons."""
    n = person.notes
    case = await open_personal_case(client, person)
    case = await step(client, "recordReturnConversation", case, heldOn="2026-01-06",
                      wish="WANTS_TO_RETURN", notes=n[1])  # fmt: skip
    case = await step(client, "assessRisk", case, assessedOn="2026-01-07", level="MEDIUM",
                      factors=["FAMILY_OR_NETWORK_INVOLVEMENT"], notes=n[2])  # fmt: skip
    case = await step(client, "closeReturnCase", case, reason="WITHDREW", closedOn="2026-01-08",
                      notes=n[3])  # fmt: skip
    case = await step(client, "reopenReturnCase", case, reopenedOn="2026-01-09", reason=n[4])
    case = await step(client, "updateClientProfile", case, pseudonym=person.pseudonym,
                      gender="FEMALE", nationality="RO", countryOfOrigin="RO", languages=["ro"],
                      exploitationForms=["SEXUAL_EXPLOITATION"], fullName=person.full_name,
                      dateOfBirth=person.date_of_birth, notes=n[5])  # fmt: skip
    assert case["personal"] == {
        "fullName": person.full_name,
        "dateOfBirth": person.date_of_birth,
        "notes": n[5],
    }
    return case


async def erase(
    client: GraphQLClient, case: dict[str, Any], version: int | None = None, **extra: Any
) -> dict[str, Any]:
    return await mutate(
        client,
        "eraseClientPersonalData",
        caseId=case["id"],
        expectedVersion=case["version"] if version is None else version,
        reason="CLIENT_REQUEST",
        **extra,
    )


async def count(admin: AsyncEngine, sql: str, **params: Any) -> int:
    async with admin.connect() as conn:
        return int(await conn.scalar(text(sql), params) or 0)


async def case_rows(admin: AsyncEngine, case_id: uuid.UUID) -> dict[str, int]:
    tables = {
        "events": "stream_id",
        "case_timeline": "case_id",
        "command_receipts": "stream_id",
        "data_keys": "case_id",
        "destroyed_data_keys": "case_id",
    }
    return {
        table: await count(admin, f"SELECT count(*) FROM {table} WHERE {column} = :c", c=case_id)
        for table, column in tables.items()
    }


@pytest.fixture(scope="module")
def admin_of(as_org: Any) -> GraphQLClient:
    client: GraphQLClient = as_org(ORG, "tenant-admin")
    return client


# --- who may erase ------------------------------------------------------------------------------


async def test_a_caseworker_may_not_erase(as_org: Any, admin_engine: AsyncEngine) -> None:
    worker = as_org(ORG)
    case = await open_personal_case(worker, Person.make())
    case_id = from_global_id("ReturnCase", case["id"])
    before = await case_rows(admin_engine, case_id)
    body = await erase(worker, case)
    assert codes(body) == ["FORBIDDEN"]
    assert body["data"] is None
    assert await case_rows(admin_engine, case_id) == before


@pytest.mark.parametrize(
    "principal",
    [("comensha", "comensha-analyst"), (ORG, "integrator"), (ORG, "social-map-editor"),
     ("comensha", "tenant-admin")],
    ids=lambda p: " ".join(p),
)  # fmt: skip
async def test_principals_without_the_right_get_forbidden(
    as_org: Any, admin_engine: AsyncEngine, principal: tuple[str, str]
) -> None:
    case = await open_personal_case(as_org(ORG), Person.make())
    events = await count(admin_engine, "SELECT count(*) FROM events")
    body = await erase(as_org(*principal), case)
    assert codes(body) == ["FORBIDDEN"]
    assert await count(admin_engine, "SELECT count(*) FROM events") == events


async def test_another_shelters_admin_finds_no_such_case(
    as_org: Any, admin_engine: AsyncEngine
) -> None:
    case = await open_personal_case(as_org(ORG), Person.make())
    case_id = from_global_id("ReturnCase", case["id"])
    before = await case_rows(admin_engine, case_id)
    elsewhere = await erase(as_org("moviera", "tenant-admin"), case)
    nowhere = await erase(
        as_org("moviera", "tenant-admin"),
        {"id": case["id"].replace(case["id"][-4:], "AAAA"), "version": 1},
    )
    assert codes(elsewhere) == ["NOT_FOUND"]
    assert codes(nowhere) in (["NOT_FOUND"], ["BAD_USER_INPUT"])
    assert await case_rows(admin_engine, case_id) == before


# --- what erasure does --------------------------------------------------------------------------


async def test_erasure_shreds_the_personal_data_and_keeps_the_case(
    as_org: Any, admin_of: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    person = Person.make()
    case = await walk_with_personal_data(as_org(ORG), person)
    case_id = from_global_id("ReturnCase", case["id"])
    before = await case_rows(admin_engine, case_id)
    assert (before["data_keys"], before["destroyed_data_keys"]) == (1, 0)

    body = await erase(admin_of, case)

    assert "errors" not in body, body
    payload = body["data"]["eraseClientPersonalData"]
    erased = payload["case"]
    assert (payload["version"], payload["replayed"]) == (case["version"] + 1, False)
    assert (erased["personal"], erased["personalDataErased"]) == (None, True)
    assert (erased["phase"], erased["version"]) == (case["phase"], case["version"] + 1)
    after = await case_rows(admin_engine, case_id)
    assert after == {**before, "events": before["events"] + 1,
                     "case_timeline": before["case_timeline"] + 1,
                     "data_keys": 0, "destroyed_data_keys": 1}  # fmt: skip

    # Reading it afterwards: null personal fields, never an error; the case is still listed.
    read = await as_org(ORG).execute(
        "query($id: ID!) { returnCase(id: $id) { personalDataErased "
        f"{PERSONAL} timeline {{ eventType summary }} }} }}",
        {"id": case["id"]},
    )
    assert "errors" not in read, read
    assert read["data"]["returnCase"]["personal"] is None
    assert read["data"]["returnCase"]["timeline"][-1] == {
        "eventType": "ClientPersonalDataErased",
        "summary": "Client personal data erased",
    }
    listed = await as_org(ORG).execute(
        "{ returnCases(first: 50) { edges { node { id personalDataErased } } } }"
    )
    assert {"id": case["id"], "personalDataErased": True} in [
        e["node"] for e in listed["data"]["returnCases"]["edges"]
    ]


async def test_a_second_erasure_is_a_no_op(
    as_org: Any, admin_of: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    case = await open_personal_case(as_org(ORG), Person.make())
    first = (await erase(admin_of, case))["data"]["eraseClientPersonalData"]
    case_id = from_global_id("ReturnCase", case["id"])
    before = await case_rows(admin_engine, case_id)

    again = await erase(admin_of, first["case"])

    assert "errors" not in again, again
    payload = again["data"]["eraseClientPersonalData"]
    assert (payload["version"], payload["replayed"]) == (first["version"], False)
    assert await case_rows(admin_engine, case_id) == before
    stale = await erase(admin_of, case)  # still at the version before the first erasure
    assert codes(stale) == ["CONFLICT"]


async def test_an_erasure_repeated_with_its_idempotency_key_answers_as_the_first(
    as_org: Any, admin_of: GraphQLClient
) -> None:
    case = await open_personal_case(as_org(ORG), Person.make())
    key = f"erase-{uuid.uuid4()}"
    first = await erase(admin_of, case, idempotencyKey=key)
    again = await erase(admin_of, case, idempotencyKey=key)
    assert again["data"]["eraseClientPersonalData"]["replayed"] is True
    assert (
        again["data"]["eraseClientPersonalData"]["version"]
        == first["data"]["eraseClientPersonalData"]["version"]
    )


async def test_the_erased_case_still_counts_in_the_reports(
    as_org: Any, admin_of: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    case = await open_personal_case(as_org(ORG), Person.make())
    assert "errors" not in await erase(admin_of, case)
    case_id = from_global_id("ReturnCase", case["id"])
    rows = 0
    for _ in range(100):  # the report projection follows the log in the background
        rows = await count(admin_engine, "SELECT count(*) FROM report_cases WHERE case_id = :c",
                           c=case_id)  # fmt: skip
        if rows:
            break
        await asyncio.sleep(0.1)
    assert rows == 1


# --- nothing readable remains -------------------------------------------------------------------

PG_BIN = Path(pgserver.__file__).resolve().parent / "pginstall" / "bin"
DATA_FOLDER = ROOT / ".data" / "test-pg"
embedded_only = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="needs the embedded server's data folder"
)


def pg_dump(url: URL) -> bytes:
    """A full plain-text dump of the test database, taken as the owner over the unix socket."""
    host = url.query["host"]
    assert isinstance(host, str)
    command = [str(PG_BIN / "pg_dump"), "-h", host, "-U", str(url.username), "--no-password",
               str(url.database)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=True, timeout=120)  # noqa: S603
    return done.stdout


def files_under(folder: Path) -> dict[Path, bytes]:
    found: dict[Path, bytes] = {}
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(dirpath) / name
            try:
                if stat.S_ISREG(path.lstat().st_mode):
                    found[path] = path.read_bytes()
            except (FileNotFoundError, PermissionError):
                continue  # a WAL segment recycled or a temporary file gone while walking
    return found


def holding(files: dict[Path, bytes], needle: bytes) -> list[Path]:
    return [path for path, data in files.items() if needle in data]


async def owner_maintenance(admin: AsyncEngine) -> None:
    """What the owner does after erasures (``safe-future retention run``), then a CHECKPOINT
    so every page reaches the data files."""
    assert await vacuum_key_table(admin)  # True: no destroyed key row was kept
    async with admin.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("CHECKPOINT"))


@embedded_only
async def test_after_erasure_no_plaintext_remains_in_a_dump_or_the_data_files(
    as_org: Any, admin_of: GraphQLClient, admin_engine: AsyncEngine, database: Database
) -> None:
    person = Person.make()
    case = await walk_with_personal_data(as_org(ORG), person)
    case_id = from_global_id("ReturnCase", case["id"])
    async with admin_engine.connect() as conn:
        wrapped = bytes(
            await conn.scalar(
                text("SELECT wrapped_key FROM data_keys WHERE case_id = :c"), {"c": case_id}
            )
        )
        database_oid = await conn.scalar(
            text("SELECT oid FROM pg_database WHERE datname = current_database()")
        )
    await owner_maintenance(admin_engine)
    table_files = DATA_FOLDER / "base" / str(database_oid)
    # The searches work: the pseudonym (not personal) and the live wrapped key are found.
    assert person.pseudonym.encode() in pg_dump(database.admin_url)
    assert holding(files_under(table_files), wrapped)

    # The erasure's note is personal: sealed with the client's key and erased with the rest.
    assert "errors" not in await erase(admin_of, case, note=person.notes[6])
    await owner_maintenance(admin_engine)

    dump = pg_dump(database.admin_url)
    assert person.pseudonym.encode() in dump
    for value in person.values:
        assert value.encode() not in dump, value
    assert wrapped.hex().encode() not in dump
    everything = files_under(DATA_FOLDER)  # tables, WAL, server log, everything
    assert holding(everything, person.pseudonym.encode())
    for value in person.values:
        assert holding(everything, value.encode()) == [], value
    # The destroyed key's wrapped bytes are gone from the database's files too (the WAL keeps
    # them until its segments are recycled: see docs/privacy.md).
    assert holding(files_under(table_files), wrapped) == []
