"""Master keys: where they come from, and how they wrap the per-client data keys.

A master key is 32 random bytes (AES-256), written as base64. It comes from configuration:
``SAFE_FUTURE_MASTER_KEY`` (an environment variable) or ``SAFE_FUTURE_MASTER_KEY_FILE`` (a
mounted file). Production refuses to start without one; development generates one under the
data folder (``<data>/keys/master.key``, mode 0600).

A key file holds one key per line: the first is *current* (it wraps new data keys), the others
are *previous* keys that still unwrap data keys wrapped before a rotation.
``SAFE_FUTURE_PREVIOUS_MASTER_KEYS`` adds previous keys when the current one comes from the
environment.

Data keys are wrapped under rotating key-encryption keys (``service.privacy.kek``), which the
master key wraps in turn. Before those existed, each data key was wrapped with AES-256-GCM
under the current master key (rows not yet rewrapped by a rotation still are); the wrap's associated
data names the tenant, case and key id, so a wrapped key copied into another row does not
unwrap. Each wrapped key records the id of the master key that wrapped it (a digest, never the
key), so rotation knows what to rewrap and unwrapping knows which key to use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from service.config import ConfigError, Settings

MASTER_KEY_BYTES = 32
NONCE_BYTES = 12


class TamperedCiphertext(Exception):
    """A ciphertext or a wrapped key failed authentication: it was altered or moved."""


class UnknownMasterKey(Exception):
    """A data key was wrapped with a master key this process was not given."""


@dataclass(frozen=True, slots=True)
class MasterKey:
    secret: bytes = field(repr=False)

    @property
    def key_id(self) -> str:
        """A public name of the key: a keyed digest, from which the key cannot be found."""
        return hmac.new(self.secret, b"safe-future master key id v1", hashlib.sha256).hexdigest()[
            :16
        ]

    def encode(self) -> str:
        return base64.b64encode(self.secret).decode()


def generate_master_key() -> MasterKey:
    return MasterKey(secrets.token_bytes(MASTER_KEY_BYTES))


def parse_master_key(text: str, source: str) -> MasterKey:
    """A key from its base64 text; the error names ``source``, never the text."""
    raw = text.strip()
    try:
        secret = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=False)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{source} is not base64") from None
    if len(secret) != MASTER_KEY_BYTES:
        raise ConfigError(f"{source} must be {MASTER_KEY_BYTES} bytes, base64-encoded")
    return MasterKey(secret)


def _wrap_aad(tenant_id: uuid.UUID, case_id: uuid.UUID, key_id: uuid.UUID) -> bytes:
    return f"safe-future data key v1|{tenant_id}|{case_id}|{key_id}".encode()


class MasterKeyring:
    """The current master key and the previous ones still accepted for unwrapping, and where
    the key-encryption keys they wrap are kept (``kek_dir``; see ``service.privacy.kek``)."""

    def __init__(
        self,
        current: MasterKey,
        previous: Iterable[MasterKey] = (),
        *,
        kek_dir: Path | None = None,
    ) -> None:
        self.current = current
        self.previous = tuple(k for k in previous if k.key_id != current.key_id)
        self._by_id = {k.key_id: k for k in (*self.previous, current)}
        self.kek_dir = kek_dir

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._by_id)

    def by_id(self, key_id: str) -> MasterKey | None:
        return self._by_id.get(key_id)

    def wrap(
        self, data_key: bytes, *, tenant_id: uuid.UUID, case_id: uuid.UUID, key_id: uuid.UUID
    ) -> tuple[bytes, str]:
        """``(nonce || ciphertext || tag, master key id)`` of ``data_key``."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.current.secret).encrypt(
            nonce, data_key, _wrap_aad(tenant_id, case_id, key_id)
        )
        return nonce + sealed, self.current.key_id

    def unwrap(
        self,
        wrapped: bytes,
        master_key_id: str,
        *,
        tenant_id: uuid.UUID,
        case_id: uuid.UUID,
        key_id: uuid.UUID,
    ) -> bytes:
        master = self._by_id.get(master_key_id)
        if master is None:
            raise UnknownMasterKey(f"no configured master key has id {master_key_id}")
        try:
            return AESGCM(master.secret).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(tenant_id, case_id, key_id)
            )
        except (InvalidTag, ValueError):
            raise TamperedCiphertext("a wrapped data key failed authentication") from None


def read_key_file(path: Path) -> list[MasterKey]:
    try:
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise ConfigError(f"the master key file {path} cannot be read") from exc
    if not lines:
        raise ConfigError(f"the master key file {path} holds no key")
    return [parse_master_key(line, f"line {i} of {path}") for i, line in enumerate(lines, 1)]


def write_key_file(path: Path, keys: Sequence[MasterKey]) -> None:
    """Write ``keys`` (current first) to ``path`` atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(k.encode() + "\n" for k in keys))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def uses_generated_key(settings: Settings) -> bool:
    """True when the master key is the one development generates in the data folder."""
    return settings.master_key is None and settings.master_key_file is None


def load_master_keyring(settings: Settings) -> MasterKeyring:
    """The configured keyring; in development a key is generated on first use."""
    previous = [
        parse_master_key(text, f"SAFE_FUTURE_PREVIOUS_MASTER_KEYS[{i}]")
        for i, text in enumerate(settings.previous_master_keys)
    ]
    kek_dir = settings.kek_dir
    if settings.master_key is not None:
        return MasterKeyring(
            parse_master_key(settings.master_key, "SAFE_FUTURE_MASTER_KEY"),
            previous,
            kek_dir=kek_dir,
        )
    if settings.master_key_file is not None:
        keys = read_key_file(settings.master_key_file)
        return MasterKeyring(keys[0], [*keys[1:], *previous], kek_dir=kek_dir)
    if settings.production:
        raise ConfigError(
            "production mode needs SAFE_FUTURE_MASTER_KEY or SAFE_FUTURE_MASTER_KEY_FILE"
        )
    path = settings.generated_master_key_file
    if not path.exists():
        write_key_file(path, [generate_master_key()])
    keys = read_key_file(path)
    return MasterKeyring(keys[0], [*keys[1:], *previous], kek_dir=kek_dir)
