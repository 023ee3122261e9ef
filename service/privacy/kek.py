"""Key-encryption keys (KEKs): the rotating layer between the master key and the data keys.

A client's data key is stored wrapped under the *current* KEK. A KEK is 32 random bytes that
live only in a file of the KEK directory (``SAFE_FUTURE_KEK_DIR``, by default
``<data>/keys/kek``), themselves wrapped (AES-256-GCM) by the master key; never in the
database. The database knows KEKs by id and life cycle only (``key_encryption_keys``).

Rotation (``service.privacy.rotation``) makes a new KEK current, rewraps every live data key
under it, and then destroys the old KEK's file. A WAL segment, archive or backup made before
an erasure holds the erased client's data key wrapped under a KEK that no longer exists
anywhere once the next rotation has finished: that copy can no longer be opened, with or
without the master key.

Concurrency with key creation. A transaction that creates a data key holds a *shared*
transaction-level advisory lock while it reads which KEK is current and inserts the wrapped
key; the rotation switches the current KEK under the *exclusive* lock. So a key is wrapped
either before the switch (and then committed before the switch, and found by the rewrap that
follows) or after it (under the new KEK): none is left behind under a KEK about to be
destroyed.

The in-process cache of KEK secrets is pruned to the KEKs the database still lists as alive
(``KekRing.prune``), by the rotation itself and by every instance's rotation schedule.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import driver
from service.privacy.keys import (
    NONCE_BYTES,
    MasterKeyring,
    TamperedCiphertext,
    UnknownMasterKey,
)

KEK_BYTES = 32
KEK_PREFIX = "kek-"
KEK_SUFFIX = ".kek"
# Advisory lock keys (two 32-bit halves: "SFKK" for the project's key locks, then which one).
_LOCK_SPACE = 0x53464B4B
KEY_CREATION_LOCK = (_LOCK_SPACE, 1)  # shared: creating a data key; exclusive: the switch
ROTATION_LOCK = (_LOCK_SPACE, 2)  # session lock: one rotation at a time, across instances


class KekUnavailable(Exception):
    """A data key is wrapped under a KEK whose file this process cannot find."""


@dataclass(frozen=True, slots=True)
class Kek:
    kek_id: str
    secret: bytes = field(repr=False)


def new_kek_id() -> str:
    return KEK_PREFIX + uuid.uuid4().hex


def is_kek_id(wrapping_key_id: str) -> bool:
    return wrapping_key_id.startswith(KEK_PREFIX)


def _kek_aad(kek_id: str) -> bytes:
    return f"safe-future key-encryption key v1|{kek_id}".encode()


def _wrap_aad(tenant_id: uuid.UUID, case_id: uuid.UUID, key_id: uuid.UUID) -> bytes:
    return f"safe-future data key v2|{tenant_id}|{case_id}|{key_id}".encode()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class KekFiles:
    """The KEK directory: one file ``<kek id>.kek`` per KEK, mode 0600, holding the KEK wrapped
    by the master key that was current when it was made."""

    def __init__(self, directory: Path, masters: MasterKeyring) -> None:
        self.directory = directory
        self.masters = masters

    def path(self, kek_id: str) -> Path:
        if not is_kek_id(kek_id) or "/" in kek_id or "." in kek_id:
            raise ValueError("not a key-encryption key id")
        return self.directory / f"{kek_id}{KEK_SUFFIX}"

    def write(self, kek_id: str) -> Kek:
        """Make a new KEK with this id and write its file durably (file and directory)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        secret = secrets.token_bytes(KEK_BYTES)
        nonce = os.urandom(NONCE_BYTES)
        master = self.masters.current
        sealed = AESGCM(master.secret).encrypt(nonce, secret, _kek_aad(kek_id))
        body = json.dumps(
            {
                "kek_id": kek_id,
                "master_key_id": master.key_id,
                "wrapped": base64.b64encode(nonce + sealed).decode(),
            }
        )
        path = self.path(kek_id)
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(body + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _fsync_directory(self.directory)
        return Kek(kek_id, secret)

    def read(self, kek_id: str) -> Kek | None:
        """The KEK, or ``None`` when its file does not exist (destroyed, or never written)."""
        try:
            raw = json.loads(self.path(kek_id).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise KekUnavailable("a key-encryption key file cannot be read") from exc
        try:
            blob = base64.b64decode(str(raw["wrapped"]), validate=True)
            master_key_id = str(raw["master_key_id"])
        except (KeyError, TypeError, binascii.Error):
            raise KekUnavailable("a key-encryption key file is malformed") from None
        master = self.masters.by_id(master_key_id)
        if master is None:
            raise UnknownMasterKey(f"no configured master key has id {master_key_id}")
        try:
            secret = AESGCM(master.secret).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], _kek_aad(kek_id)
            )
        except (InvalidTag, ValueError):
            raise TamperedCiphertext("a key-encryption key failed authentication") from None
        return Kek(kek_id, secret)

    def destroy(self, kek_id: str) -> bool:
        """Overwrite the KEK's file, remove it and make the removal durable; ``False`` when
        there was no file. (Overwriting does not reach copies a copy-on-write file system or a
        file-system snapshot keeps: keep the KEK directory out of such snapshots.)"""
        path = self.path(kek_id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return False
        with open(path, "r+b") as handle:
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
        _fsync_directory(self.directory)
        return True

    def ids_on_disk(self) -> set[str]:
        if not self.directory.is_dir():
            return set()
        return {
            p.name[: -len(KEK_SUFFIX)]
            for p in self.directory.iterdir()
            if p.name.startswith(KEK_PREFIX) and p.name.endswith(KEK_SUFFIX)
        }


class KekRing:
    """KEK secrets in memory (loaded from the files on first use), and the wrapping of data
    keys: under a KEK, or, for rows from before KEKs existed, under a master key."""

    def __init__(self, masters: MasterKeyring, directory: Path) -> None:
        self.masters = masters
        self.files = KekFiles(directory, masters)
        self._cache: dict[str, Kek] = {}

    def get(self, kek_id: str) -> Kek | None:
        kek = self._cache.get(kek_id)
        if kek is None:
            kek = self.files.read(kek_id)
            if kek is not None:
                self._cache[kek_id] = kek
        return kek

    def remember(self, kek: Kek) -> None:
        self._cache[kek.kek_id] = kek

    def forget(self, kek_ids: Iterable[str]) -> None:
        for kek_id in kek_ids:
            self._cache.pop(kek_id, None)

    def prune(self, alive: Iterable[str]) -> None:
        """Drop every cached KEK the database no longer lists as alive."""
        keep = set(alive)
        self.forget([k for k in self._cache if k not in keep])

    @property
    def cached(self) -> frozenset[str]:
        return frozenset(self._cache)

    def wrap(
        self,
        data_key: bytes,
        kek: Kek,
        *,
        tenant_id: uuid.UUID,
        case_id: uuid.UUID,
        key_id: uuid.UUID,
    ) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(kek.secret).encrypt(nonce, data_key, _wrap_aad(tenant_id, case_id, key_id))
        return nonce + sealed

    def unwrap(
        self,
        wrapped: bytes,
        wrapping_key_id: str,
        *,
        tenant_id: uuid.UUID,
        case_id: uuid.UUID,
        key_id: uuid.UUID,
    ) -> bytes:
        """The data key. Raises ``KekUnavailable`` when its KEK's file is gone."""
        if not is_kek_id(wrapping_key_id):
            return self.masters.unwrap(
                wrapped, wrapping_key_id, tenant_id=tenant_id, case_id=case_id, key_id=key_id
            )
        kek = self.get(wrapping_key_id)
        if kek is None:
            raise KekUnavailable("a data key's key-encryption key is not in the KEK directory")
        try:
            return AESGCM(kek.secret).decrypt(
                wrapped[:NONCE_BYTES],
                wrapped[NONCE_BYTES:],
                _wrap_aad(tenant_id, case_id, key_id),
            )
        except (InvalidTag, ValueError):
            raise TamperedCiphertext("a wrapped data key failed authentication") from None


# --- the database side: which KEK is current ---------------------------------------------------

_CURRENT = "SELECT kek_id FROM key_encryption_keys WHERE state = 'current'"
_INSERT_CURRENT = text(
    "INSERT INTO key_encryption_keys (kek_id, state, activated_at) "
    "VALUES (:k, 'current', now()) "
    "ON CONFLICT (state) WHERE state = 'current' DO NOTHING RETURNING kek_id"
)


async def lock_for_key_creation(conn: AsyncConnection) -> None:
    """Hold off a KEK switch until this transaction ends (shared; key creators don't wait
    for one another)."""
    await (await driver(conn)).execute(
        "SELECT pg_advisory_xact_lock_shared($1, $2)", *KEY_CREATION_LOCK
    )


async def current_kek_id(conn: AsyncConnection) -> str | None:
    found = await (await driver(conn)).fetchval(_CURRENT)
    return None if found is None else str(found)


async def make_first_kek(conn: AsyncConnection, ring: KekRing) -> str:
    """Create the first KEK when none is current (a new database), on ``conn`` (which must
    not hold the key-creation lock's exclusive side). Returns the current KEK's id, ours or
    the one a concurrent instance made first (then our file, which nothing uses, is removed).
    """
    kek = ring.files.write(new_kek_id())
    inserted = await conn.scalar(_INSERT_CURRENT, {"k": kek.kek_id})
    if inserted is None:
        ring.files.destroy(kek.kek_id)
        current = await current_kek_id(conn)
        assert current is not None
        return current
    ring.remember(kek)
    return kek.kek_id
