"""Key-encryption key files: wrapped by the master key, bound to their id, destroyed for good."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import pytest

from service.privacy.kek import KekFiles, KekRing, KekUnavailable, new_kek_id
from service.privacy.keys import (
    MasterKeyring,
    TamperedCiphertext,
    UnknownMasterKey,
    generate_master_key,
)

NAMES = {"tenant_id": uuid.uuid4(), "case_id": uuid.uuid4(), "key_id": uuid.uuid4()}


def test_a_kek_file_is_private_holds_no_plain_key_and_reads_back(tmp_path: Path) -> None:
    files = KekFiles(tmp_path / "kek", MasterKeyring(generate_master_key()))
    kek = files.write(new_kek_id())
    path = files.path(kek.kek_id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert kek.secret not in path.read_bytes()
    assert kek.secret.hex().encode() not in path.read_bytes()
    assert files.read(kek.kek_id) == kek
    assert files.ids_on_disk() == {kek.kek_id}


def test_a_destroyed_kek_is_gone_and_what_it_wrapped_no_longer_opens(tmp_path: Path) -> None:
    ring = KekRing(MasterKeyring(generate_master_key()), tmp_path)
    kek = ring.files.write(new_kek_id())
    wrapped = ring.wrap(b"d" * 32, kek, **NAMES)
    assert ring.unwrap(wrapped, kek.kek_id, **NAMES) == b"d" * 32
    assert ring.files.destroy(kek.kek_id)
    ring.forget([kek.kek_id])
    assert ring.files.read(kek.kek_id) is None
    assert ring.files.ids_on_disk() == set()
    with pytest.raises(KekUnavailable):
        ring.unwrap(wrapped, kek.kek_id, **NAMES)
    assert not ring.files.destroy(kek.kek_id)  # a second time: nothing left to destroy


def test_a_kek_needs_the_master_key_that_wrapped_it(tmp_path: Path) -> None:
    old = generate_master_key()
    kek = KekFiles(tmp_path, MasterKeyring(old)).write(new_kek_id())
    with pytest.raises(UnknownMasterKey):
        KekFiles(tmp_path, MasterKeyring(generate_master_key())).read(kek.kek_id)
    rotated = MasterKeyring(generate_master_key(), [old])
    assert KekFiles(tmp_path, rotated).read(kek.kek_id) == kek


def test_a_kek_file_moved_to_another_id_or_altered_is_refused(tmp_path: Path) -> None:
    masters = MasterKeyring(generate_master_key())
    files = KekFiles(tmp_path, masters)
    kek = files.write(new_kek_id())
    other = new_kek_id()
    files.path(kek.kek_id).rename(files.path(other))
    with pytest.raises(TamperedCiphertext):
        files.read(other)
    body = json.loads(files.path(other).read_text())
    body["wrapped"] = "AAAA"
    files.path(other).write_text(json.dumps(body))
    with pytest.raises(TamperedCiphertext):
        files.read(other)


def test_a_data_key_unwraps_only_for_its_own_row(tmp_path: Path) -> None:
    ring = KekRing(MasterKeyring(generate_master_key()), tmp_path)
    kek = ring.files.write(new_kek_id())
    wrapped = ring.wrap(b"d" * 32, kek, **NAMES)
    with pytest.raises(TamperedCiphertext):
        ring.unwrap(wrapped, kek.kek_id, **{**NAMES, "case_id": uuid.uuid4()})


@pytest.mark.parametrize("kek_id", ["../master", "kek-../../x", "master.key"])
def test_only_kek_ids_name_files(tmp_path: Path, kek_id: str) -> None:
    with pytest.raises(ValueError, match="not a key-encryption key id"):
        KekFiles(tmp_path, MasterKeyring(generate_master_key())).path(kek_id)
