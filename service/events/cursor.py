"""Feed cursors: an event's place in the feed order, sealed so that it is opaque.

A feed position is the pair (writing transaction id, global position). Both numbers are
cluster-wide, so a plain encoding would let one tenant's integrator gauge the activity of all
tenants; the cursor is therefore sealed with AES-GCM under a key derived from the service's
signing key. The tenant is bound into the seal (as associated data): one shelter's cursor
does not open for another, so it cannot reveal where that shelter's event sits in the order.
A cursor that does not open, or holds a number outside PostgreSQL's ``bigint``, is refused,
never guessed at.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_AAD = b"safe-future feed cursor v1"
_BIGINT_MAX = 2**63 - 1


class InvalidCursor(ValueError):
    """The cursor was not made by this deployment, or was altered."""


@dataclass(frozen=True, slots=True, order=True)
class FeedPosition:
    transaction_id: int
    global_position: int


START = FeedPosition(0, 0)


class CursorSealer:
    def __init__(self, secret: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_AAD).derive(secret)
        self._aead = AESGCM(key)

    def seal(self, position: FeedPosition, tenant_id: uuid.UUID) -> str:
        nonce = os.urandom(12)
        plain = struct.pack(">QQ", position.transaction_id, position.global_position)
        sealed = nonce + self._aead.encrypt(nonce, plain, _AAD + tenant_id.bytes)
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def open(self, cursor: str, tenant_id: uuid.UUID) -> FeedPosition:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            plain = self._aead.decrypt(raw[:12], raw[12:], _AAD + tenant_id.bytes)
            tx, pos = struct.unpack(">QQ", plain)
        except (binascii.Error, ValueError, InvalidTag, struct.error) as exc:
            raise InvalidCursor("not a cursor of this feed") from exc
        if tx > _BIGINT_MAX or pos > _BIGINT_MAX:
            raise InvalidCursor("not a cursor of this feed")
        return FeedPosition(tx, pos)
