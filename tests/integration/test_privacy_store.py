"""Personal fields reach the database only sealed, open only with the client's key, and stop
opening when the key is destroyed; tampering is detected, never silently decrypted."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.app import load_tenants
from service.auth import Principal
from service.db import tenant_transaction
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.errors import BadUserInput
from service.events.projections.inline import project_case
from service.events.sealing import READ_MODEL_PURPOSE, SealedItem, is_sealed
from service.events.store import COLUMNS, EventStore
from service.events.types import EventRegistry
from service.handlers.return_case import Dependencies, handle
from service.privacy import TamperedCiphertext, decrypt_personal, open_read_model_personal
from service.privacy.cipher import PersonalDataCipher
from service.privacy.erasure import erase_client_personal_data

SLUG = "jade-zorggroep"


@pytest.fixture(scope="module")
async def deps(app_engine: AsyncEngine, cipher: PersonalDataCipher) -> Dependencies:
    store = EventStore(EventRegistry(rc.EVENT_TYPES), cipher=cipher)
    return Dependencies(app_engine, store, await load_tenants(app_engine))


def worker(deps: Dependencies, *roles: str) -> Principal:
    return Principal("privacy-tester", deps.tenants[SLUG], frozenset(roles or {"caseworker"}))


def secrets_of(tag: str) -> dict[str, str]:
    return {
        "name": f"Wendeline Ostrava-{tag}",
        "opening_notes": f"arrived by night bus {tag}",
        "talk_notes": f"talked about her brother {tag}",
        "risk_notes": f"the trafficker knows her village {tag}",
    }


async def walk(
    deps: Dependencies, key: str | None = None, tag: str | None = None
) -> tuple[uuid.UUID, dict[str, str]]:
    tag = tag or uuid.uuid4().hex[:12]
    s = secrets_of(tag)
    case_id = uuid.uuid4()
    commands: list[Any] = [
        rc.OpenReturnCase(case_id, dt.date(2026, 2, 1), f"P-{tag}", v.Gender.FEMALE, 1970, "BG",
                          "BG", ("bg",), (v.ExploitationForm.FORCED_BEGGING,), s["name"],
                          dt.date(1970, 7, 14), s["opening_notes"]),
        rc.RecordReturnConversation(case_id, dt.date(2026, 2, 3), v.ReturnWish.UNDECIDED,
                                    s["talk_notes"]),
        rc.AssessRisk(case_id, dt.date(2026, 2, 4), v.RiskLevel.HIGH, (v.RiskFactor.DEBTS,),
                      s["risk_notes"]),
    ]  # fmt: skip
    for version, command in enumerate(commands):
        await handle(
            deps, worker(deps), command, expected_version=version,
            idempotency_key=f"{key}-{version}" if key else None, request_id="privacy-test",
        )  # fmt: skip
    return case_id, s


async def rows_as_text(admin: AsyncEngine, case_id: uuid.UUID) -> str:
    """Every row that mentions the case, in every table that keys on it, as text."""
    out: list[str] = []
    async with admin.connect() as conn:
        for table, column in (
            ("events", "stream_id"), ("return_cases", "case_id"), ("case_timeline", "case_id"),
            ("command_receipts", "stream_id"), ("data_keys", "case_id"),
            ("destroyed_data_keys", "case_id"), ("personal_data_access_log", "case_id"),
        ):  # fmt: skip
            result = await conn.execute(
                text(f"SELECT t::text FROM {table} t WHERE {column} = :c"), {"c": case_id}
            )
            out.extend(r[0] for r in result)
    return "\n".join(out)


async def events_personal(admin: AsyncEngine, case_id: uuid.UUID) -> list[Any]:
    """The ``personal`` column of the case's events, oldest first, as stored."""
    async with admin.connect() as conn:
        result = await conn.execute(
            text("SELECT personal FROM events WHERE stream_id = :c ORDER BY version"),
            {"c": case_id},
        )
        return [r[0] for r in result]


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_no_plaintext_personal_value_is_written_anywhere(
    deps: Dependencies, admin_engine: AsyncEngine
) -> None:
    case_id, s = await walk(deps, key=f"k-{uuid.uuid4()}")
    stored = await rows_as_text(admin_engine, case_id)
    assert "P-" in stored  # the pseudonym is not personal: it shows the search works
    for value in (*s.values(), "1970-07-14"):
        assert value not in stored
    personal = await events_personal(admin_engine, case_id)
    async with admin_engine.connect() as conn:
        model = await conn.scalar(
            text("SELECT personal FROM return_cases WHERE case_id = :c"), {"c": case_id}
        )
    assert len(personal) == 3
    assert all(is_sealed(p) for p in personal)
    assert is_sealed(model)


async def test_the_service_reads_the_personal_fields_with_the_clients_key(
    deps: Dependencies,
) -> None:
    case_id, s = await walk(deps)
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        stream = await deps.store.read_stream(conn, case_id)
        row = await conn.execute(
            text("SELECT personal FROM return_cases WHERE case_id = :c"), {"c": case_id}
        )
        (model,) = await open_read_model_personal(
            conn, deps.store, deps.tenants[SLUG].id, [(case_id, row.scalar_one())]
        )
    assert stream[0].event.full_name == s["name"]
    assert stream[0].event.date_of_birth == dt.date(1970, 7, 14)
    assert [r.event.notes for r in stream] == [
        s["opening_notes"],
        s["talk_notes"],
        s["risk_notes"],
    ]
    assert model == {
        "full_name": s["name"],
        "date_of_birth": "1970-07-14",
        "notes": s["opening_notes"],
    }


async def test_a_stream_is_read_with_its_key_in_one_statement(deps: Dependencies) -> None:
    case_id, s = await walk(deps)
    tenant = deps.tenants[SLUG].id
    async with tenant_transaction(deps.engine, tenant) as conn:
        with statements(deps.engine) as seen:
            stream = await deps.store.read_stream(conn, case_id)
            secret = await deps.store.cipher.client_secret(  # type: ignore[union-attr]
                conn, tenant, case_id, "a purpose", create=False
            )
    assert len(seen) == 1  # the events and the key; opening and deriving ask nothing more
    assert [r.event.notes for r in stream] == [
        s["opening_notes"], s["talk_notes"], s["risk_notes"],
    ]  # fmt: skip
    assert secret is not None

    # A command: its receipt, the stream and the key in one statement, then the append.
    command = rc.AssessRisk(case_id, dt.date(2026, 2, 5), v.RiskLevel.LOW, (), "calmer now")
    with statements(deps.engine) as seen:
        await handle(
            deps, worker(deps), command, expected_version=3,
            idempotency_key=f"key-{uuid.uuid4()}", request_id="privacy-test",
        )  # fmt: skip
    assert not [sql for sql in seen if "FROM data_keys WHERE" in sql]


async def test_a_command_saves_its_receipt_and_read_models_with_its_events_in_three_statements(
    deps: Dependencies,
) -> None:
    case_id, _ = await walk(deps)
    key = f"key-{uuid.uuid4()}"
    command = rc.AssessRisk(case_id, dt.date(2026, 2, 5), v.RiskLevel.LOW, (), "calmer now")
    with statements(deps.engine) as seen:
        result = await handle(
            deps, worker(deps), command, expected_version=3,
            idempotency_key=key, request_id="privacy-test",
        )  # fmt: skip
    # BEGIN with the tenant; receipt, stream and key; the append with the receipt, the
    # read-model row and its timeline entry (COMMIT follows).
    assert len(seen) == 3
    for table in ("command_receipts", "return_cases", "case_timeline"):
        assert f"INSERT INTO {table}" in seen[2]
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        receipt = await deps.store.find_receipt(conn, key)
    assert receipt is not None
    assert (receipt.stream_id, receipt.command_type, receipt.result_version) == (
        case_id, "AssessRisk", 4,
    )  # fmt: skip
    again = await handle(
        deps, worker(deps), command, expected_version=3,
        idempotency_key=key, request_id="privacy-test",
    )  # fmt: skip
    assert (again.version, again.replayed) == (result.version, True)


async def test_opening_a_case_looks_for_no_key_its_read_showed_absent(deps: Dependencies) -> None:
    s = secrets_of(uuid.uuid4().hex[:12])
    case_id, key = uuid.uuid4(), f"key-{uuid.uuid4()}"
    command = rc.OpenReturnCase(
        case_id, dt.date(2026, 2, 1), "P-open", v.Gender.FEMALE, 1970, "BG", "BG", ("bg",),
        (v.ExploitationForm.FORCED_BEGGING,), s["name"], dt.date(1970, 7, 14), s["opening_notes"],
    )  # fmt: skip
    with statements(deps.engine) as seen:
        await handle(
            deps, worker(deps), command, expected_version=0,
            idempotency_key=key, request_id="privacy-test",
        )  # fmt: skip
    assert not [sql for sql in seen if "FROM data_keys WHERE" in sql]  # the stream said: none
    assert [sql for sql in seen if "INSERT INTO data_keys" in sql]  # made once, then used
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        receipt = await deps.store.find_receipt(conn, key)
        (opened,) = await deps.store.read_stream(conn, case_id)
    assert receipt is not None
    assert receipt.result_version == 1
    assert opened.event.full_name == s["name"]


async def test_another_shelters_stream_brings_no_key_along(deps: Dependencies) -> None:
    case_id, _ = await walk(deps)
    other = next(t for slug, t in deps.tenants.items() if slug != SLUG and t.kind == "shelter")
    async with tenant_transaction(deps.engine, other.id) as conn:
        assert await deps.store.read_stream(conn, case_id) == []
        receipt, stream = await deps.store.read_stream_after_receipt(conn, case_id, "any-key")
        assert (receipt, stream) == (None, [])
        with statements(deps.engine) as seen:
            secret = await deps.store.cipher.client_secret(  # type: ignore[union-attr]
                conn, other.id, case_id, "a purpose", create=False
            )
    assert secret is None
    # Row-level security hid the key from the read, which remembered that the stream has
    # none (for this transaction): nothing more is asked, and nothing is found.
    assert seen == []
    async with tenant_transaction(deps.engine, other.id) as conn:
        with statements(deps.engine) as seen:
            secret = await deps.store.cipher.client_secret(  # type: ignore[union-attr]
                conn, other.id, case_id, "a purpose", create=False
            )
    assert secret is None
    assert len(seen) == 1  # without a read first, the key is looked up, and not found


async def test_a_personal_part_without_a_value_is_left_out_and_reads_back_the_same(
    deps: Dependencies, admin_engine: AsyncEngine
) -> None:
    case_id = uuid.uuid4()
    commands: list[Any] = [
        rc.OpenReturnCase(case_id, dt.date(2026, 2, 1), "P-none", v.Gender.MALE, 1980, "VN",
                          "VN", ("vi",), (v.ExploitationForm.FORCED_LABOUR,), None, None, None),
        rc.RecordReturnConversation(case_id, dt.date(2026, 2, 3), v.ReturnWish.UNDECIDED, None),
        rc.RecordReturnConversation(case_id, dt.date(2026, 2, 4), v.ReturnWish.UNDECIDED,
                                    "asked about her mother"),
    ]  # fmt: skip
    for version, command in enumerate(commands):
        await handle(
            deps, worker(deps), command, expected_version=version, idempotency_key=None,
            request_id="privacy-test",
        )  # fmt: skip
    stored = await events_personal(admin_engine, case_id)
    async with admin_engine.connect() as conn:
        keys = await conn.scalar(
            text("SELECT count(*) FROM data_keys WHERE case_id = :c"), {"c": case_id}
        )
    # Nothing to seal in the first two: no envelope, and no key until a value comes.
    assert stored[:2] == [None, None]
    assert is_sealed(stored[2])
    assert keys == 1  # made for the third event only
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        read = await deps.store.read_stream(conn, case_id)
    opened, first, second = (e.event for e in read)
    assert (opened.pseudonym, opened.full_name, opened.date_of_birth, opened.notes) == (
        "P-none", None, None, None,
    )  # fmt: skip
    assert (first.held_on, first.notes) == (dt.date(2026, 2, 3), None)
    assert second.notes == "asked about her mother"
    assert all(e.sealed is None for e in read)


@contextmanager
def openings(cipher: PersonalDataCipher, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The number of sealed parts each ``open_many`` call of ``cipher`` was asked to open."""
    asked: list[int] = []
    real = cipher.open_many

    async def counted(conn: Any, items: Any) -> Any:
        asked.append(len(items))
        return await real(conn, items)

    with monkeypatch.context() as patched:
        patched.setattr(cipher, "open_many", counted)
        yield asked


async def test_a_command_leaves_the_earlier_events_sealed_and_keeps_the_personal_row(
    deps: Dependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id, s = await walk(deps, key=f"k-{uuid.uuid4()}")
    assert deps.store.cipher is not None
    talk = rc.RecordReturnConversation(
        case_id, dt.date(2026, 2, 5), v.ReturnWish.WANTS_TO_RETURN, "a new note"
    )
    with openings(deps.store.cipher, monkeypatch) as asked:
        result = await handle(
            deps, worker(deps), talk, expected_version=3, idempotency_key=f"t-{case_id}",
            request_id="privacy-test",
        )  # fmt: skip
    assert asked == []  # neither the fold nor the row needed the earlier events' values
    assert result.row is not None
    assert result.row["version"] == 4
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        (model,) = await open_read_model_personal(
            conn, deps.store, deps.tenants[SLUG].id, [(case_id, result.row["personal"])]
        )
        stored = await conn.scalar(
            text("SELECT personal FROM return_cases WHERE case_id = :c"), {"c": case_id}
        )
        stream = await deps.store.read_stream(conn, case_id)
    assert model is not None
    assert model["full_name"] == s["name"]
    assert stored == result.row["personal"]
    assert stream[-1].event.notes == "a new note"


async def test_a_profile_update_replaces_the_personal_row_without_opening_the_stream(
    deps: Dependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id, _ = await walk(deps)
    assert deps.store.cipher is not None
    update = rc.UpdateClientProfile(
        case_id, f"P-{case_id.hex[:8]}", v.Gender.FEMALE, 1970, "BG", "BG", ("bg",),
        (v.ExploitationForm.FORCED_BEGGING,), "Wendeline Renamed", dt.date(1970, 7, 14), None,
    )  # fmt: skip
    with openings(deps.store.cipher, monkeypatch) as asked:
        result = await handle(
            deps, worker(deps), update, expected_version=3, idempotency_key=None,
            request_id="privacy-test",
        )  # fmt: skip
    assert asked == []
    assert result.row is not None
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        (model,) = await open_read_model_personal(
            conn, deps.store, deps.tenants[SLUG].id, [(case_id, result.row["personal"])]
        )
    assert model == {"full_name": "Wendeline Renamed", "date_of_birth": "1970-07-14"}


async def test_after_an_erasure_a_command_opens_the_stream_and_new_notes_count_again(
    deps: Dependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id, _ = await walk(deps)
    admin = worker(deps, "tenant-admin")
    assert deps.store.cipher is not None
    await erase_client_personal_data(
        deps, admin, case_id, expected_version=3, reason=v.ErasureReason.CLIENT_REQUEST,
        idempotency_key=None, request_id="privacy-test",
    )  # fmt: skip
    talk = rc.RecordReturnConversation(
        case_id, dt.date(2026, 2, 6), v.ReturnWish.UNDECIDED, "told us more after the erasure"
    )
    await handle(
        deps, worker(deps), talk, expected_version=4, idempotency_key=None,
        request_id="privacy-test",
    )  # fmt: skip
    with openings(deps.store.cipher, monkeypatch) as asked:
        second = await erase_client_personal_data(
            deps, admin, case_id, expected_version=5, reason=v.ErasureReason.CLIENT_REQUEST,
            idempotency_key=None, request_id="privacy-test",
        )  # fmt: skip
    # The stream held an erasure: its events were opened, so the fold saw the new note and
    # the second erasure is recorded, not taken for a repeat.
    assert asked
    assert asked[0] >= 1
    assert second.version == 6


async def test_decrypt_personal_opens_a_batch_of_many_streams_with_one_key_query(
    deps: Dependencies,
) -> None:
    cases = [await walk(deps) for _ in range(3)]
    erased_id = cases[2][0]
    await erase_client_personal_data(
        deps, worker(deps, "tenant-admin"), erased_id, expected_version=3,
        reason=v.ErasureReason.CLIENT_REQUEST, idempotency_key=None, request_id="privacy-test",
    )  # fmt: skip
    ids = [c for c, _ in cases]
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        rows = await conn.execute(
            text(f"SELECT {COLUMNS} FROM events WHERE stream_id = ANY(:ids) "
                 "ORDER BY global_position"),
            {"ids": ids},
        )  # fmt: skip
        sealed = [deps.store.recorded(r) for r in rows]
        assert all(
            e.event.notes is None for e in sealed if e.event_type != "ClientPersonalDataErased"
        )
        with statements(deps.engine) as seen:
            opened = await decrypt_personal(conn, deps.store, sealed)
    assert len(seen) == 2  # the keys of all streams, then the destroyed ones of the erased
    assert [e.global_position for e in opened] == [e.global_position for e in sealed]
    notes = {(e.stream_id, e.version): e.event.notes for e in opened if e.version <= 3}
    for case_id, s in cases[:2]:
        assert notes[(case_id, 2)] == s["talk_notes"]
    assert {notes[(erased_id, n)] for n in (1, 2, 3)} == {None}
    assert all(e.sealed is None for e in opened)


async def test_a_tampered_event_in_the_log_is_detected_not_decrypted(
    deps: Dependencies, admin_engine: AsyncEngine
) -> None:
    """The log refuses every UPDATE, so the test tampers as superuser with triggers off, in a
    transaction it rolls back."""
    case_id, _ = await walk(deps)
    other_id, _ = await walk(deps)
    async with admin_engine.connect() as conn:
        if not await conn.scalar(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        ):
            pytest.skip("tampering with the append-only log needs a superuser")
        tenant = deps.tenants[SLUG].id
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
        envelope = await conn.scalar(
            text("SELECT personal FROM events WHERE stream_id = :c AND version = 2"),
            {"c": case_id},
        )
        raw = bytearray(base64.b64decode(envelope["ct"]))
        raw[-3] ^= 0x40
        flipped = {**envelope, "ct": base64.b64encode(bytes(raw)).decode()}
        await conn.execute(
            text("UPDATE events SET personal = CAST(:p AS jsonb) "
                 "WHERE stream_id = :c AND version = 2"),
            {"p": json.dumps(flipped), "c": case_id},
        )  # fmt: skip
        with pytest.raises(TamperedCiphertext):
            await deps.store.read_stream(conn, case_id)
        # A sealed part moved from one case to another does not open there either.
        await conn.execute(
            text(
                "UPDATE events SET personal = (SELECT personal FROM events "
                "WHERE stream_id = :from AND version = 2) WHERE stream_id = :to AND version = 2"
            ),
            {"from": case_id, "to": other_id},
        )
        with pytest.raises(TamperedCiphertext):
            await deps.store.read_stream(conn, other_id)
        await conn.rollback()
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        assert len(await deps.store.read_stream(conn, case_id)) == 3  # the log is intact


async def test_a_read_model_envelope_moved_to_another_case_does_not_open(
    deps: Dependencies,
) -> None:
    first, _ = await walk(deps)
    second, _ = await walk(deps)
    tenant = deps.tenants[SLUG].id
    async with tenant_transaction(deps.engine, tenant) as conn:
        envelope = await conn.scalar(
            text("SELECT personal FROM return_cases WHERE case_id = :c"), {"c": first}
        )
        assert deps.store.cipher is not None
        with pytest.raises(TamperedCiphertext):
            await deps.store.cipher.open_many(
                conn, [SealedItem(tenant, second, READ_MODEL_PURPOSE, envelope)]
            )
        with pytest.raises(TamperedCiphertext):  # nor as another purpose of its own case
            await deps.store.cipher.open_many(
                conn, [SealedItem(tenant, first, "event:ReturnCaseOpened:1", envelope)]
            )


async def test_erasure_destroys_the_key_and_a_second_erasure_is_a_no_op(
    deps: Dependencies, admin_engine: AsyncEngine
) -> None:
    case_id, s = await walk(deps)
    admin = worker(deps, "tenant-admin")
    tenant = deps.tenants[SLUG].id
    erase = {"reason": v.ErasureReason.CLIENT_REQUEST, "idempotency_key": None, "request_id": "t"}
    first = await erase_client_personal_data(deps, admin, case_id, expected_version=3, **erase)
    second = await erase_client_personal_data(deps, admin, case_id, expected_version=4, **erase)
    assert (first.version, second.version) == (4, 4)
    async with tenant_transaction(deps.engine, tenant) as conn:
        stream = await deps.store.read_stream(conn, case_id)
        keys = await conn.scalar(
            text("SELECT count(*) FROM data_keys WHERE case_id = :c"), {"c": case_id}
        )
        tombstones = await conn.scalar(
            text("SELECT count(*) FROM destroyed_data_keys WHERE case_id = :c"), {"c": case_id}
        )
        row = (
            await conn.execute(
                text("SELECT personal, personal_data_erased, phase, version FROM return_cases "
                     "WHERE case_id = :c"),
                {"c": case_id},
            )
        ).one()  # fmt: skip
    assert [r.event_type for r in stream][-1] == "ClientPersonalDataErased"
    assert len(stream) == 4  # the log stays complete: nothing was deleted from it
    assert stream[0].event.full_name is None
    assert stream[1].event.notes is None
    assert (keys, tombstones) == (0, 1)
    assert tuple(row) == (None, True, "ORIENTATION", 4)  # the case stays, and still counts
    stored = await rows_as_text(admin_engine, case_id)
    for value in s.values():
        assert value not in stored

    # The client may give their data again: a new key, readable; the old stays unreadable.
    update = rc.UpdateClientProfile(
        case_id, "P-again", v.Gender.FEMALE, 1970, "BG", "BG", ("bg",), (), "Wendeline again"
    )
    await handle(deps, admin, update, expected_version=4, idempotency_key=None, request_id="t")
    async with tenant_transaction(deps.engine, tenant) as conn:
        stream = await deps.store.read_stream(conn, case_id)
    assert stream[-1].event.full_name == "Wendeline again"
    assert stream[0].event.full_name is None
    third = await erase_client_personal_data(deps, admin, case_id, expected_version=5, **erase)
    assert third.version == 6  # not a no-op: there was personal data again


async def test_a_repeat_after_erasure_is_still_recognised_by_its_idempotency_key(
    deps: Dependencies,
) -> None:
    key, tag = f"open-{uuid.uuid4()}", uuid.uuid4().hex[:12]
    case_id, s = await walk(deps, key=key, tag=tag)
    admin = worker(deps, "tenant-admin")
    await erase_client_personal_data(
        deps, admin, case_id, expected_version=3, reason=v.ErasureReason.CLIENT_REQUEST,
        idempotency_key=None, request_id="t",
    )  # fmt: skip
    repeat = rc.OpenReturnCase(
        uuid.uuid4(), dt.date(2026, 2, 1), f"P-{tag}", v.Gender.FEMALE, 1970, "BG", "BG",
        ("bg",), (v.ExploitationForm.FORCED_BEGGING,), s["name"], dt.date(1970, 7, 14),
        s["opening_notes"],
    )  # fmt: skip
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        receipt = await deps.store.find_receipt(conn, f"{key}-0")
    assert receipt is not None
    assert "." in receipt.fingerprint
    again = {"expected_version": 0, "idempotency_key": f"{key}-0", "request_id": "t"}
    result = await handle(deps, worker(deps), repeat, **again)  # type: ignore[arg-type]
    assert (result.case_id, result.version, result.replayed) == (case_id, 1, True)
    # The personal values can no longer be compared, the rest still is.
    other = dataclasses.replace(repeat, pseudonym="P-someone-else")
    with pytest.raises(BadUserInput, match="idempotencyKey"):
        await handle(deps, worker(deps), other, **again)  # type: ignore[arg-type]


async def test_the_erasure_reason_is_a_readable_code_and_its_note_is_sealed_and_erased(
    deps: Dependencies, admin_engine: AsyncEngine
) -> None:
    case_id, _ = await walk(deps)
    note = f"asked at the desk {uuid.uuid4().hex}"
    await erase_client_personal_data(
        deps, worker(deps, "tenant-admin"), case_id, expected_version=3,
        reason=v.ErasureReason.LEGAL_OBLIGATION, note=note, idempotency_key=None,
        request_id="privacy-test",
    )  # fmt: skip
    async with admin_engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT schema_version, payload, personal FROM events "
                    "WHERE stream_id = :c AND event_type = 'ClientPersonalDataErased'"
                ),
                {"c": case_id},
            )
        ).one()
    assert row.schema_version == 2
    assert row.payload["reason"] == "LEGAL_OBLIGATION"
    assert "$sealed" in row.personal
    assert note not in str(row.payload) + str(row.personal)
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        stream = await deps.store.read_stream(conn, case_id)
    erased = stream[-1].event
    assert (erased.reason, erased.note) == (v.ErasureReason.LEGAL_OBLIGATION, None)


async def test_an_erasure_recorded_with_free_text_before_reason_codes_serves_no_text(
    deps: Dependencies, app_engine: AsyncEngine
) -> None:
    case_id, _ = await walk(deps)
    tenant = deps.tenants[SLUG].id
    text_given = f"Ms Fenwhistle rang us {uuid.uuid4().hex}"
    payload = {"case_id": str(case_id), "erased_on": "2026-02-05", "reason": text_given}
    metadata = {"actor": "old-admin", "organisation": SLUG, "role": "tenant-admin",
                "request_id": "r-old", "correlation_id": "r-old"}  # fmt: skip
    async with tenant_transaction(app_engine, tenant) as conn:
        await conn.execute(text("SELECT events_writer_begin()"))  # as every event writer does
        await conn.execute(
            text(
                "INSERT INTO events (tenant_id, stream_id, stream_type, version, event_type, "
                "schema_version, payload, metadata, occurred_at) VALUES (:t, :s, 'ReturnCase', "
                "4, 'ClientPersonalDataErased', 1, CAST(:p AS jsonb), CAST(:m AS jsonb), now())"
            ),
            {"t": tenant, "s": case_id, "p": json.dumps(payload), "m": json.dumps(metadata)},
        )
        stream = await deps.store.read_stream(conn, case_id)
        # As the handler would have: project it and destroy the key (the log stays coherent
        # with its read models for the tests that rebuild them).
        await project_case(conn, stream, stream[-1:], deps.store.cipher)
        assert deps.store.cipher is not None
        await deps.store.cipher.forget(conn, tenant, case_id)
    erased = stream[-1]
    assert erased.event.reason == v.ErasureReason.OTHER
    assert erased.event.note is None
    served = deps.store.registry.encode(erased.event)
    assert served[1] == 2
    assert text_given not in json.dumps([served[2], served[3]])


async def test_sealing_many_clients_at_once_makes_each_a_key_once_and_opens_again(
    app_engine: AsyncEngine, cipher: PersonalDataCipher
) -> None:
    tenant = (await load_tenants(app_engine))["jade-zorggroep"].id
    known, new_ones = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]
    async with tenant_transaction(app_engine, tenant) as conn:
        await cipher.seal_many(conn, tenant, known, [(READ_MODEL_PURPOSE, {"n": 0})])
    parts = {
        case_id: [(READ_MODEL_PURPOSE, {"n": i})] for i, case_id in enumerate([known, *new_ones])
    }

    async with tenant_transaction(app_engine, tenant) as conn:
        sealed = await cipher.seal_streams(conn, tenant, parts)
    async with tenant_transaction(app_engine, tenant) as conn:
        again = await cipher.seal_streams(conn, tenant, parts)
        opened = await cipher.open_many(
            conn,
            [
                SealedItem(tenant, case_id, READ_MODEL_PURPOSE, envelope)
                for case_id, envelopes in [*sealed.items(), *again.items()]
                for envelope in envelopes
            ],
        )
        keys = await conn.scalar(
            text("SELECT count(*) FROM data_keys WHERE case_id = ANY(:ids)"),
            {"ids": [known, *new_ones]},
        )

    assert opened == [{"n": 0}, {"n": 1}, {"n": 2}] * 2
    assert keys == 3
    assert all(is_sealed(e) for envelopes in sealed.values() for e in envelopes)
