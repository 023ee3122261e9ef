"""Per-client encryption of personal fields (AES-256-GCM) and crypto-shredding.

Each case (one client) has one data key at a time: 32 random bytes, stored only wrapped by
the current key-encryption key (``service.privacy.kek``; the master key wraps that), in
``data_keys`` (tenant-owned, row-level security, the service role may
SELECT, INSERT and DELETE). From it three keys are derived with HKDF-SHA256: one encrypts,
one makes nonces, one keys the idempotency fingerprints of the client's commands.

An envelope is ``{"$sealed": "A256GCM.1", "kid": <data key id>, "ct": <base64 nonce||ct||tag>}``.
Its associated data binds it to the tenant, the case, the data key and the *purpose* (which
event at which version, or which read-model column), so a ciphertext that is altered, or moved
to another event or case, fails authentication: ``TamperedCiphertext``, never a wrong value.

Nonces are synthetic: an HMAC of the associated data and the plaintext under a key of their
own. Sealing the same value for the same purpose gives the same envelope (a rebuilt read
model equals the live one byte for byte), and two different plaintexts never share a nonce.

Erasure deletes the key row and records its id in ``destroyed_data_keys`` (no secret there).
Opening an envelope of a destroyed key then yields ``None``; an envelope naming a key this
case never had is tampering. A client who gives data again after erasure gets a new key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import driver, transaction_memo
from service.events.sealing import SEALED_MARK, JsonObject, SealedItem
from service.privacy.kek import (
    Kek,
    KekRing,
    KekUnavailable,
    current_kek_id,
    lock_for_key_creation,
    make_first_kek,
)
from service.privacy.keys import MasterKeyring, TamperedCiphertext

ALGORITHM = "A256GCM.1"
DATA_KEY_BYTES = 32
NONCE_BYTES = 12


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"safe-future " + purpose
    ).derive(secret)


@dataclass(frozen=True, slots=True)
class DataKey:
    """A client's unwrapped data key and the keys derived from it (kept in memory only)."""

    tenant_id: uuid.UUID
    case_id: uuid.UUID
    key_id: uuid.UUID
    encryption_key: bytes = field(repr=False)
    nonce_key: bytes = field(repr=False)
    secret_key: bytes = field(repr=False)

    @classmethod
    def of(
        cls, tenant_id: uuid.UUID, case_id: uuid.UUID, key_id: uuid.UUID, secret: bytes
    ) -> DataKey:
        return cls(
            tenant_id,
            case_id,
            key_id,
            _derive(secret, b"personal data encryption"),
            _derive(secret, b"personal data nonce"),
            _derive(secret, b"client secrets"),
        )

    def _aad(self, purpose: str) -> bytes:
        names = f"{self.tenant_id}|{self.case_id}|{self.key_id}|{purpose}"
        return f"safe-future personal v1|{names}".encode()

    def seal(self, purpose: str, plaintext: JsonObject) -> JsonObject:
        # Strict UTF-8, as PostgreSQL's own text: a lone surrogate is refused (UnicodeError),
        # never sealed into a value that could not be served again.
        data = json.dumps(
            plaintext, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        aad = self._aad(purpose)
        nonce = hmac.new(self.nonce_key, aad + b"\x00" + data, hashlib.sha256).digest()[
            :NONCE_BYTES
        ]
        sealed = nonce + AESGCM(self.encryption_key).encrypt(nonce, data, aad)
        return {
            SEALED_MARK: ALGORITHM,
            "kid": str(self.key_id),
            "ct": base64.b64encode(sealed).decode(),
        }

    def open(self, purpose: str, envelope: JsonObject) -> JsonObject:
        try:
            raw = base64.b64decode(str(envelope["ct"]), validate=True)
            data = AESGCM(self.encryption_key).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._aad(purpose)
            )
            value = json.loads(data)
        except (KeyError, binascii.Error, ValueError, InvalidTag):
            raise TamperedCiphertext("a personal-data ciphertext failed authentication") from None
        if not isinstance(value, dict):
            raise TamperedCiphertext("a personal-data ciphertext holds no object")
        return value

    def derived_secret(self, purpose: str) -> bytes:
        return hmac.new(self.secret_key, purpose.encode(), hashlib.sha256).digest()


def _envelope_key_id(envelope: JsonObject) -> uuid.UUID:
    if envelope.get(SEALED_MARK) != ALGORITHM:
        raise TamperedCiphertext("a personal-data envelope has an unknown format")
    try:
        return uuid.UUID(str(envelope.get("kid")))
    except ValueError:
        raise TamperedCiphertext("a personal-data envelope names no valid key") from None


_SELECT_KEYS = (
    "SELECT tenant_id, case_id, key_id, wrapped_key, master_key_id FROM data_keys "
    "WHERE case_id = ANY($1::uuid[])"
)
_MEMO_KEYS = "data_keys"
# Key rows read with a stream (``stream_key_column``), unwrapped when first used.
_MEMO_ROWS = "data_key_rows"
# Cases whose stream came without a key: a tenant transaction sees its own tenant's keys only,
# so the case id names the absence; creating the key in the transaction ends it.
_MEMO_ABSENT = "data_keys_absent"
_KEY_ROW = ("tenant_id", "case_id", "key_id", "wrapped_key", "master_key_id")
_INSERT_KEY = (
    "INSERT INTO data_keys (tenant_id, case_id, key_id, wrapped_key, master_key_id) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, case_id) DO NOTHING RETURNING key_id"
)
_INSERT_KEYS = text(
    "INSERT INTO data_keys (tenant_id, case_id, key_id, wrapped_key, master_key_id) "
    "SELECT :t, c, k, w, :m FROM unnest(CAST(:c AS uuid[]), CAST(:k AS uuid[]), "
    "CAST(:w AS bytea[])) AS u(c, k, w) "
    "ON CONFLICT (tenant_id, case_id) DO NOTHING RETURNING case_id"
)
_DESTROYED = text("SELECT case_id, key_id FROM destroyed_data_keys WHERE case_id = ANY(:ids)")
_FORGET = text(
    "WITH gone AS (DELETE FROM data_keys WHERE tenant_id = :t AND case_id = :c "
    "RETURNING tenant_id, case_id, key_id) "
    "INSERT INTO destroyed_data_keys (tenant_id, case_id, key_id) "
    "SELECT tenant_id, case_id, key_id FROM gone ON CONFLICT DO NOTHING RETURNING key_id"
)


class PersonalDataCipher:
    """``service.events.sealing.PersonalCipher`` over the ``data_keys`` table.

    Every method runs on the caller's connection, inside a tenant transaction: row-level
    security shows it the keys of that tenant only.
    """

    def __init__(self, keyring: MasterKeyring) -> None:
        if keyring.kek_dir is None:
            raise ValueError("the keyring names no directory for key-encryption keys")
        self.keyring = keyring
        self.keks = KekRing(keyring, keyring.kek_dir)

    def _unwrap(self, row: Any) -> DataKey:
        secret = self.keks.unwrap(
            bytes(row["wrapped_key"]),
            row["master_key_id"],
            tenant_id=row["tenant_id"],
            case_id=row["case_id"],
            key_id=row["key_id"],
        )
        return DataKey.of(row["tenant_id"], row["case_id"], row["key_id"], secret)

    async def keys(
        self,
        conn: AsyncConnection,
        case_ids: Sequence[uuid.UUID],
        tenant_id: uuid.UUID | None = None,
    ) -> dict[uuid.UUID, DataKey]:
        """The current data keys of ``case_ids`` (of the transaction's tenant), in one query.

        With ``tenant_id`` (the cases' tenant), keys read or made in a tenant transaction are
        remembered until it ends (a command opens the case's events and seals its read model
        with the same key): one query and one unwrap per case and transaction. ``forget``
        drops a key from that memory too.
        """
        if not case_ids:
            return {}
        memo = self._memo(conn) if tenant_id is not None else {}
        found = {c: memo[(tenant_id, c)] for c in case_ids if (tenant_id, c) in memo}
        rows = self._rows(conn) if tenant_id is not None else {}
        for c in case_ids:
            row = rows.pop((tenant_id, c), None)
            if row is not None and c not in found:
                with contextlib.suppress(KekUnavailable):  # read again below
                    found[c] = memo[(tenant_id, c)] = self._unwrap(row)
        absent = self._absent(conn) if tenant_id is not None else set()
        wanted = list({c for c in case_ids if c not in found and c not in absent})
        if not wanted:
            return found
        raw = await driver(conn)
        again: list[uuid.UUID] = []
        for row in await raw.fetch(_SELECT_KEYS, wanted):
            try:
                found[row["case_id"]] = self._unwrap(row)
            except KekUnavailable:
                again.append(row["case_id"])
        if again:
            # A rotation rewrapped these rows and destroyed their old KEK after we read them:
            # read them once more (a statement of its own sees the committed rewrap).
            for row in await raw.fetch(_SELECT_KEYS, again):
                found[row["case_id"]] = self._unwrap(row)
        for c in wanted:
            key = found.get(c)
            if tenant_id is not None and key is not None and key.tenant_id == tenant_id:
                memo[(tenant_id, c)] = key
        return found

    def stream_key_column(self, stream: str) -> str:
        return (
            f"(SELECT ROW({', '.join(f'k.{c}' for c in _KEY_ROW)}) "  # noqa: S608 (constants)
            f"FROM data_keys AS k WHERE k.case_id = {stream})"
        )

    def remember_key(self, conn: AsyncConnection, stream_id: uuid.UUID, value: Any) -> None:
        """Keep a key row that ``stream_key_column`` read (row-level security showed it to the
        transaction's tenant only) until ``keys`` first needs it; ``None``: that the stream
        has no key, so ``keys`` does not look for one (a new case's command)."""
        memo = transaction_memo(conn)
        if memo is None:
            return
        if value is None:
            memo.setdefault(_MEMO_ABSENT, set()).add(stream_id)
            return
        row = dict(zip(_KEY_ROW, value, strict=True))
        rows: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = memo.setdefault(_MEMO_ROWS, {})
        rows[(row["tenant_id"], row["case_id"])] = row

    @staticmethod
    def _rows(conn: AsyncConnection) -> dict[tuple[uuid.UUID | None, uuid.UUID], Any]:
        memo = transaction_memo(conn)
        if memo is None:
            return {}
        rows: dict[tuple[uuid.UUID | None, uuid.UUID], Any] = memo.get(_MEMO_ROWS, {})
        return rows

    @staticmethod
    def _absent(conn: AsyncConnection) -> set[uuid.UUID]:
        memo = transaction_memo(conn)
        if memo is None:
            return set()
        absent: set[uuid.UUID] = memo.get(_MEMO_ABSENT, set())
        return absent

    @staticmethod
    def _memo(conn: AsyncConnection) -> dict[tuple[uuid.UUID | None, uuid.UUID], DataKey]:
        """This transaction's remembered data keys by (tenant, case) (a throwaway dict
        outside a tenant transaction, which remembers nothing)."""
        memo = transaction_memo(conn)
        if memo is None:
            return {}
        keys: dict[tuple[uuid.UUID | None, uuid.UUID], DataKey] = memo.setdefault(_MEMO_KEYS, {})
        return keys

    async def _current_kek(self, conn: AsyncConnection) -> Kek:
        """The KEK to wrap a new data key under; call with the key-creation lock held."""
        kek_id = await current_kek_id(conn)
        if kek_id is None:  # a new database: make the first KEK in a transaction of its own
            async with conn.engine.begin() as other:
                await make_first_kek(other, self.keks)
            kek_id = await current_kek_id(conn)
            assert kek_id is not None
        kek = self.keks.get(kek_id)
        if kek is None:
            raise KekUnavailable("the current key-encryption key is not in the KEK directory")
        return kek

    async def key_for(
        self,
        conn: AsyncConnection,
        tenant_id: uuid.UUID,
        case_id: uuid.UUID,
        *,
        create: bool,
        before_creating: Callable[[], Awaitable[object]] | None = None,
    ) -> DataKey | None:
        """The client's data key; with ``create``, made when there is none (after awaiting
        ``before_creating()``, when given)."""
        key = (await self.keys(conn, [case_id], tenant_id)).get(case_id)
        if key is not None or not create:
            return key
        self._absent(conn).discard(case_id)  # made here, or found made by another
        if before_creating is not None:
            await before_creating()
        key_id = uuid.uuid4()
        secret = os.urandom(DATA_KEY_BYTES)
        # Held until commit: the KEK read here stays current until the key row is committed.
        await lock_for_key_creation(conn)
        kek = await self._current_kek(conn)
        wrapped = self.keks.wrap(secret, kek, tenant_id=tenant_id, case_id=case_id, key_id=key_id)
        inserted = await (await driver(conn)).fetchval(
            _INSERT_KEY, tenant_id, case_id, key_id, wrapped, kek.kek_id
        )
        if inserted is None:  # a concurrent transaction created the case's key first
            return (await self.keys(conn, [case_id]))[case_id]
        made = DataKey.of(tenant_id, case_id, key_id, secret)
        self._memo(conn)[(tenant_id, case_id)] = made
        return made

    async def seal_many(
        self,
        conn: AsyncConnection,
        tenant_id: uuid.UUID,
        stream_id: uuid.UUID,
        parts: Sequence[tuple[str, JsonObject]],
        *,
        before_creating: Callable[[], Awaitable[object]] | None = None,
    ) -> list[JsonObject]:
        if not parts:
            return []
        key = await self.key_for(
            conn, tenant_id, stream_id, create=True, before_creating=before_creating
        )
        assert key is not None
        return [key.seal(purpose, plaintext) for purpose, plaintext in parts]

    async def seal_streams(
        self,
        conn: AsyncConnection,
        tenant_id: uuid.UUID,
        parts: Mapping[uuid.UUID, Sequence[tuple[str, JsonObject]]],
    ) -> dict[uuid.UUID, list[JsonObject]]:
        wanted = [stream_id for stream_id, items in parts.items() if items]
        keys = await self.keys(conn, wanted)
        missing = [stream_id for stream_id in wanted if stream_id not in keys]
        if missing:
            keys.update(await self._create_keys(conn, tenant_id, missing))
        return {
            stream_id: [keys[stream_id].seal(purpose, plaintext) for purpose, plaintext in items]
            for stream_id, items in parts.items()
        }

    async def _create_keys(
        self, conn: AsyncConnection, tenant_id: uuid.UUID, case_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, DataKey]:
        """New data keys for ``case_ids`` in one statement (as ``key_for`` makes one)."""
        await lock_for_key_creation(conn)
        kek = await self._current_kek(conn)
        made = {}
        for case_id in case_ids:
            key_id, secret = uuid.uuid4(), os.urandom(DATA_KEY_BYTES)
            wrapped = self.keks.wrap(
                secret, kek, tenant_id=tenant_id, case_id=case_id, key_id=key_id
            )
            made[case_id] = (key_id, secret, wrapped)
        result = await conn.execute(
            _INSERT_KEYS,
            {
                "t": tenant_id,
                "c": list(made),
                "k": [key_id for key_id, _, _ in made.values()],
                "w": [wrapped for _, _, wrapped in made.values()],
                "m": kek.kek_id,
            },
        )
        inserted = {row[0] for row in result}
        keys = {
            case_id: DataKey.of(tenant_id, case_id, key_id, secret)
            for case_id, (key_id, secret, _) in made.items()
            if case_id in inserted
        }
        lost = [case_id for case_id in case_ids if case_id not in inserted]
        if lost:  # concurrent transactions created these keys first
            keys.update(await self.keys(conn, lost))
        return keys

    async def open_many(
        self, conn: AsyncConnection, items: Sequence[SealedItem]
    ) -> list[JsonObject | None]:
        if not items:
            return []
        tenants = {i.tenant_id for i in items}
        keys = await self.keys(
            conn, [i.stream_id for i in items], tenants.pop() if len(tenants) == 1 else None
        )
        wanted = [_envelope_key_id(i.envelope) for i in items]
        orphans = [
            i.stream_id
            for i, kid in zip(items, wanted, strict=True)
            if (k := keys.get(i.stream_id)) is None or k.key_id != kid
        ]
        destroyed: set[tuple[uuid.UUID, uuid.UUID]] = set()
        if orphans:
            destroyed = {
                (r.case_id, r.key_id)
                for r in await conn.execute(_DESTROYED, {"ids": list(set(orphans))})
            }
        out: list[JsonObject | None] = []
        for item, kid in zip(items, wanted, strict=True):
            key = keys.get(item.stream_id)
            if key is not None and key.key_id == kid and key.tenant_id == item.tenant_id:
                out.append(key.open(item.purpose, item.envelope))
            elif (item.stream_id, kid) in destroyed:
                out.append(None)  # erased: the key is gone, and so is the value
            else:
                raise TamperedCiphertext("a personal-data envelope names a key the case never had")
        return out

    async def client_secret(
        self,
        conn: AsyncConnection,
        tenant_id: uuid.UUID,
        stream_id: uuid.UUID,
        purpose: str,
        *,
        create: bool,
    ) -> bytes | None:
        key = await self.key_for(conn, tenant_id, stream_id, create=create)
        return None if key is None else key.derived_secret(purpose)

    async def forget(
        self, conn: AsyncConnection, tenant_id: uuid.UUID, stream_id: uuid.UUID
    ) -> bool:
        self._memo(conn).pop((tenant_id, stream_id), None)
        self._rows(conn).pop((tenant_id, stream_id), None)
        gone: Any = await conn.scalar(_FORGET, {"t": tenant_id, "c": stream_id})
        return gone is not None
