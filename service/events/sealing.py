"""How the event store and the read models meet encryption of personal fields.

The store never knows keys. It takes an optional ``PersonalCipher`` (``service.privacy``
provides one) that seals the ``personal`` part of an event, or of a read-model row, into an
envelope and opens envelopes again. An envelope is a JSON object marked with ``$sealed``, a
key no event field can have, so plaintext and sealed parts never mix up.

Every envelope is bound to its tenant, stream and *purpose* (which event, or which read
model column): a ciphertext moved elsewhere no longer opens.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

JsonObject = dict[str, Any]

SEALED_MARK = "$sealed"
READ_MODEL_PURPOSE = "read-model:return_cases.personal"


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and SEALED_MARK in value


def event_purpose(event_type: str, version: int) -> str:
    """The purpose an event's personal part is sealed for: its type and place in the stream."""
    return f"event:{event_type}:{version}"


@dataclass(frozen=True, slots=True)
class SealedItem:
    tenant_id: uuid.UUID
    stream_id: uuid.UUID
    purpose: str
    envelope: JsonObject


class PersonalCipher(Protocol):
    """Per-client encryption of personal fields (see ``service.privacy.cipher``)."""

    def stream_key_column(self, stream: str) -> str:
        """A column expression for the statement that reads a stream: the key of the stream
        that the parameter ``stream`` (such as ``$1``) names, or NULL. The store hands the
        value to ``remember_key``, so opening the stream takes no query of its own."""
        ...

    def remember_key(self, conn: AsyncConnection, stream_id: uuid.UUID, value: Any) -> None:
        """Keep what ``stream_key_column`` read for ``stream_id`` (its key, or that it has
        none) for the rest of ``conn``'s transaction."""
        ...

    async def seal_many(
        self,
        conn: AsyncConnection,
        tenant_id: uuid.UUID,
        stream_id: uuid.UUID,
        parts: Sequence[tuple[str, JsonObject]],
        *,
        before_creating: Callable[[], Awaitable[object]] | None = None,
    ) -> list[JsonObject]:
        """Seal ``(purpose, plaintext)`` parts with the client's key, creating it if need be
        (after awaiting ``before_creating()``, when given: only when the key is created)."""
        ...

    async def seal_streams(
        self,
        conn: AsyncConnection,
        tenant_id: uuid.UUID,
        parts: Mapping[uuid.UUID, Sequence[tuple[str, JsonObject]]],
    ) -> dict[uuid.UUID, list[JsonObject]]:
        """``seal_many`` for many clients at once: their keys are read in one query."""
        ...

    async def open_many(
        self, conn: AsyncConnection, items: Sequence[SealedItem]
    ) -> list[JsonObject | None]:
        """The plaintexts; ``None`` where the client's key was destroyed (erasure).

        Raises ``TamperedCiphertext`` for an envelope that fails authentication.
        """
        ...

    async def client_secret(
        self,
        conn: AsyncConnection,
        tenant_id: uuid.UUID,
        stream_id: uuid.UUID,
        purpose: str,
        *,
        create: bool,
    ) -> bytes | None:
        """A secret derived from the client's key for ``purpose``; ``None`` once erased."""
        ...

    async def forget(
        self, conn: AsyncConnection, tenant_id: uuid.UUID, stream_id: uuid.UUID
    ) -> bool:
        """Destroy the client's key (crypto-shredding); ``True`` when there was one."""
        ...
