"""Per-client encryption: what is sealed opens only as itself, for its own case and purpose."""

from __future__ import annotations

import base64
import dataclasses
import os
import stat
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.config import ConfigError, load_settings
from service.events.sealing import SEALED_MARK, is_sealed
from service.privacy.cipher import DataKey
from service.privacy.keys import (
    MasterKeyring,
    TamperedCiphertext,
    UnknownMasterKey,
    generate_master_key,
    load_master_keyring,
    parse_master_key,
    read_key_file,
    write_key_file,
)

TENANT, CASE, OTHER_CASE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
PURPOSE = "event:ReturnCaseOpened:1"
PERSONAL = {"full_name": "Ilse Quarterwood", "date_of_birth": "1961-05-30", "notes": "met at 9"}


def key(case: uuid.UUID = CASE, tenant: uuid.UUID = TENANT, secret: bytes | None = None) -> DataKey:
    return DataKey.of(tenant, case, uuid.UUID(int=1), secret or b"k" * 32)


def test_a_sealed_part_opens_as_itself_and_holds_no_plaintext() -> None:
    envelope = key().seal(PURPOSE, PERSONAL)
    assert is_sealed(envelope)
    assert set(envelope) == {SEALED_MARK, "kid", "ct"}
    assert "Quarterwood" not in str(envelope)
    assert "1961-05-30" not in str(envelope)
    assert key().open(PURPOSE, envelope) == PERSONAL


def test_sealing_is_deterministic_so_a_rebuilt_row_equals_the_live_one() -> None:
    assert key().seal(PURPOSE, PERSONAL) == key().seal(PURPOSE, dict(reversed(PERSONAL.items())))
    assert key().seal(PURPOSE, PERSONAL) != key().seal(PURPOSE, {**PERSONAL, "notes": "x"})
    assert key().seal(PURPOSE, PERSONAL) != key().seal("event:ReturnCaseOpened:2", PERSONAL)


@pytest.mark.parametrize("position", [0, 5, 12, 20, -1])
def test_a_flipped_bit_anywhere_is_detected(position: int) -> None:
    envelope = key().seal(PURPOSE, PERSONAL)
    raw = bytearray(base64.b64decode(envelope["ct"]))
    raw[position] ^= 0x01
    tampered = {**envelope, "ct": base64.b64encode(bytes(raw)).decode()}
    with pytest.raises(TamperedCiphertext):
        key().open(PURPOSE, tampered)


@pytest.mark.parametrize(
    "opener",
    [
        pytest.param(lambda: key(case=OTHER_CASE), id="another case"),
        pytest.param(lambda: key(tenant=uuid.uuid4()), id="another tenant"),
        pytest.param(lambda: key(secret=b"x" * 32), id="another key"),
    ],
)
def test_a_ciphertext_does_not_open_for_another_case_tenant_or_key(opener: object) -> None:
    envelope = key().seal(PURPOSE, PERSONAL)
    with pytest.raises(TamperedCiphertext):
        opener().open(PURPOSE, envelope)  # type: ignore[operator]


def test_a_ciphertext_does_not_open_for_another_event() -> None:
    envelope = key().seal(PURPOSE, PERSONAL)
    with pytest.raises(TamperedCiphertext):
        key().open("event:ReturnConversationRecorded:2", envelope)


@pytest.mark.parametrize(
    "envelope",
    [{"ct": "!!!"}, {"ct": ""}, {}, {"ct": base64.b64encode(b"short").decode()}],
)
def test_malformed_envelopes_are_tampering_not_crashes(envelope: dict[str, str]) -> None:
    with pytest.raises(TamperedCiphertext):
        key().open(PURPOSE, {SEALED_MARK: "A256GCM.1", "kid": str(uuid.UUID(int=1)), **envelope})


@given(
    st.dictionaries(
        st.sampled_from(["full_name", "notes", "reason", "date_of_birth"]),
        st.text(max_size=200),
        min_size=1,
    )
)
def test_any_personal_part_round_trips(personal: dict[str, str]) -> None:
    assert key().open(PURPOSE, key().seal(PURPOSE, personal)) == personal


def test_a_wrapped_key_unwraps_only_for_its_own_row_and_master_key() -> None:
    ring = MasterKeyring(generate_master_key())
    kid = uuid.uuid4()
    wrapped, master_id = ring.wrap(b"d" * 32, tenant_id=TENANT, case_id=CASE, key_id=kid)
    assert master_id == ring.current.key_id
    assert ring.unwrap(wrapped, master_id, tenant_id=TENANT, case_id=CASE, key_id=kid) == b"d" * 32
    with pytest.raises(TamperedCiphertext):  # copied into another case's row
        ring.unwrap(wrapped, master_id, tenant_id=TENANT, case_id=OTHER_CASE, key_id=kid)
    with pytest.raises(UnknownMasterKey):
        MasterKeyring(generate_master_key()).unwrap(
            wrapped, master_id, tenant_id=TENANT, case_id=CASE, key_id=kid
        )
    rotated = MasterKeyring(generate_master_key(), [ring.current])
    assert rotated.unwrap(wrapped, master_id, tenant_id=TENANT, case_id=CASE, key_id=kid)


def test_a_master_key_id_reveals_nothing_of_the_key() -> None:
    master = generate_master_key()
    assert master.key_id not in master.encode()
    assert master.secret.hex()[:16] != master.key_id
    assert repr(master.secret) not in repr(master)


@pytest.mark.parametrize("value", ["not base64 ***", base64.b64encode(b"short").decode(), ""])
def test_a_malformed_master_key_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_master_key(value or "AAAA", "SAFE_FUTURE_MASTER_KEY")
    assert "SAFE_FUTURE_MASTER_KEY" in str(caught.value)
    if value:
        assert value not in str(caught.value)


def test_production_refuses_to_start_without_a_master_key(tmp_path: Path) -> None:
    production = {
        "SAFE_FUTURE_MODE": "production",
        "DATABASE_URL": "postgresql://owner@db/safe_future",
        "SAFE_FUTURE_APP_DB_PASSWORD": "x",
        "SAFE_FUTURE_DATA_DIR": str(tmp_path),
    }
    with pytest.raises(ConfigError, match="MASTER_KEY"):
        load_settings(production)
    key_text = generate_master_key().encode()
    settings = load_settings({**production, "SAFE_FUTURE_MASTER_KEY": key_text})
    assert load_master_keyring(settings).current.encode() == key_text
    assert key_text not in repr(settings)  # a logged Settings carries no key
    # Even with settings built some other way, no key is ever generated in production.
    bare = dataclasses.replace(settings, master_key=None, master_key_file=None)
    with pytest.raises(ConfigError, match="MASTER_KEY"):
        load_master_keyring(bare)
    assert not bare.generated_master_key_file.exists()


def test_development_generates_a_private_key_file_once(tmp_path: Path) -> None:
    settings = load_settings({"SAFE_FUTURE_DATA_DIR": str(tmp_path)})
    first = load_master_keyring(settings).current
    path = settings.generated_master_key_file
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_master_keyring(settings).current == first


def test_a_key_file_names_the_current_key_first_then_previous_ones(tmp_path: Path) -> None:
    new, old = generate_master_key(), generate_master_key()
    path = tmp_path / "master.key"
    write_key_file(path, [new, old])
    assert read_key_file(path) == [new, old]
    settings = load_settings({"SAFE_FUTURE_MASTER_KEY_FILE": str(path)})
    ring = load_master_keyring(settings)
    assert ring.current == new
    assert ring.key_ids == {new.key_id, old.key_id}
    env = load_settings(
        {"SAFE_FUTURE_MASTER_KEY": new.encode(), "SAFE_FUTURE_PREVIOUS_MASTER_KEYS": old.encode()}
    )
    assert load_master_keyring(env).key_ids == {new.key_id, old.key_id}


def test_a_lone_surrogate_is_refused_as_postgresql_would_not_sealed() -> None:
    with pytest.raises(UnicodeError):
        key().seal(PURPOSE, {"notes": "half a pair \ud800"})
