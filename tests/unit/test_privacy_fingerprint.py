"""Idempotency fingerprints cannot confirm a guessed personal value once the key is gone."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.handlers.return_case import PERSONAL_FIELDS, fingerprint

CASE = uuid.uuid4()


def opening(name: str | None = "Orla Fenwhistle", notes: str | None = None) -> rc.OpenReturnCase:
    return rc.OpenReturnCase(
        CASE, dt.date(2026, 1, 5), "P-1", v.Gender.FEMALE, 1990, "RO", "RO", ("ro",),
        (v.ExploitationForm.FORCED_LABOUR,), name, dt.date(1990, 4, 1), notes,
    )  # fmt: skip


def test_personal_fields_are_the_events_personal_fields() -> None:
    assert {
        "full_name",
        "date_of_birth",
        "notes",
        "reason",
        "note",
        "measures",
        "goal_descriptions",
        "emergency_reason",
    } == PERSONAL_FIELDS


def test_a_command_without_personal_values_has_a_plain_digest() -> None:
    command = rc.RecordReturnConversation(CASE, dt.date(2026, 1, 6), v.ReturnWish.UNDECIDED)
    assert "." not in fingerprint(command, b"s" * 32)
    assert fingerprint(command, b"s" * 32) == fingerprint(command, b"t" * 32)


def test_personal_values_are_keyed_with_the_clients_secret() -> None:
    with_a, with_b = fingerprint(opening(), b"a" * 32), fingerprint(opening(), b"b" * 32)
    public_a, _, personal_a = with_a.partition(".")
    public_b, _, personal_b = with_b.partition(".")
    assert public_a == public_b
    assert personal_a != personal_b
    assert fingerprint(opening(), b"a" * 32) == with_a
    assert fingerprint(opening("Orla Fenwhistlf"), b"a" * 32) != with_a


def test_no_unkeyed_digest_of_a_guessed_name_matches_the_fingerprint() -> None:
    """Whoever holds the database but not the client's key cannot test guesses."""
    stored = fingerprint(opening(), b"a" * 32)
    for guess in ("Orla Fenwhistle", "Orla Fenwhistle".lower()):
        personal = {"date_of_birth": dt.date(1990, 4, 1), "full_name": guess}
        canonical = json.dumps(["OpenReturnCase", personal], default=str, sort_keys=True)
        assert hashlib.sha256(canonical.encode()).hexdigest() not in stored
        assert hashlib.sha256(guess.encode()).hexdigest() not in stored


def test_the_erasure_reason_and_date_are_not_personal_nor_server_filled_input() -> None:
    reason = v.ErasureReason.CLIENT_REQUEST
    first = rc.EraseClientPersonalData(CASE, dt.date(2026, 1, 7), reason)
    next_day = rc.EraseClientPersonalData(CASE, dt.date(2026, 1, 8), reason)
    assert "." not in fingerprint(first)
    assert fingerprint(first) == fingerprint(next_day)  # a retry tomorrow is the same request
    other = rc.EraseClientPersonalData(CASE, dt.date(2026, 1, 7), v.ErasureReason.OTHER)
    assert fingerprint(other) != fingerprint(first)


def test_no_digest_of_the_erasure_note_outlives_the_key_it_is_erased_with() -> None:
    reason = v.ErasureReason.OTHER
    noted = rc.EraseClientPersonalData(CASE, dt.date(2026, 1, 7), reason, "Asked by phone.")
    assert fingerprint(noted) == fingerprint(
        rc.EraseClientPersonalData(CASE, dt.date(2026, 1, 7), reason)
    )
    assert "." not in fingerprint(noted, b"s" * 32)
