"""Event envelope, the registry of event types and their schema versions, and upcasters.

Events are stored under a stable ``event_type`` string with a ``schema_version``; never a
Python import path. A payload has two parts: ``payload`` (facts anyone allowed to see the case
may read) and ``personal`` (the event's personal fields: names, dates of birth, free text).
When a stored event's schema version is older than its class's, registered upcasters turn the
old payload into the current shape as it is read; stored events are never rewritten.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Protocol

from service.domain.records import fills_slots

JsonObject = dict[str, Any]
_T = typing.TypeVar("_T")
Upcaster = Callable[[JsonObject, JsonObject | None], tuple[JsonObject, JsonObject | None]]


@cache
def _field_names(cls: Any) -> tuple[str, ...]:
    """An event class's field names, in order (worked out once per class)."""
    return tuple(f.name for f in dataclasses.fields(cls))


class UnknownEventType(Exception):
    """The log holds an event type this code does not know."""


@dataclass(frozen=True, slots=True)
class Metadata:
    """Who did what, in which request: stored with every event, never personal data."""

    actor: str
    organisation: str
    role: str
    request_id: str
    correlation_id: str
    causation_id: str | None = None
    idempotency_key: str | None = None

    def to_json(self) -> JsonObject:
        # Plain strings only: read each field (``dataclasses.asdict`` copies deeply, per event).
        out: JsonObject = {}
        for name in METADATA_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Metadata:
        try:
            # Straight into the slots (``slot_filler``), with ``__init__``'s own signature.
            return _fill_metadata(**raw) if cls is Metadata else cls(**raw)
        except TypeError:  # a key this code does not know (written by a later version)
            return cls(**{k: v for k, v in raw.items() if k in _METADATA_NAMES})


# Worked out once: every stored event's metadata is written through ``to_json`` (in field
# order) and read through ``from_json``, or field by field in this order by a bulk reader
# (``service.events.bulk_read``), of which the first ``METADATA_REQUIRED`` are never absent.
METADATA_FIELDS = tuple(f.name for f in dataclasses.fields(Metadata))
METADATA_REQUIRED = sum(f.default is dataclasses.MISSING for f in dataclasses.fields(Metadata))
_METADATA_NAMES = frozenset(METADATA_FIELDS)


@dataclass(frozen=True, slots=True)
class SealedPersonal:
    """An event's personal part as stored, still encrypted, with the payload it came with."""

    payload: JsonObject
    envelope: JsonObject


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as the log holds it: the domain event plus its envelope.

    ``sealed`` is set while the event's personal part is still encrypted: its personal fields
    then read as ``None`` until ``EventStore.open`` (or ``service.privacy.decrypt_personal``)
    decrypts them.
    """

    global_position: int
    tenant_id: uuid.UUID
    stream_id: uuid.UUID
    stream_type: str
    version: int
    event_type: str
    schema_version: int
    event: Any
    metadata: Metadata
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    transaction_id: int
    sealed: SealedPersonal | None = dataclasses.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event and its place in the log, without its envelope's metadata and times and
    without its personal part: what a reader that counts cases and never shows a person
    reads (the report projection; ``service.events.bulk_read.logged``). Its personal fields
    read as ``None``, as a sealed event's do."""

    global_position: int
    tenant_id: uuid.UUID
    stream_id: uuid.UUID
    stream_type: str
    version: int
    event_type: str
    event: Any
    transaction_id: int


class InLog(Protocol):
    """What ``RecordedEvent`` and ``LoggedEvent`` both say: the event and its place in the log."""

    @property
    def global_position(self) -> int: ...
    @property
    def tenant_id(self) -> uuid.UUID: ...
    @property
    def stream_id(self) -> uuid.UUID: ...
    @property
    def stream_type(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def event_type(self) -> str: ...
    @property
    def event(self) -> Any: ...
    @property
    def transaction_id(self) -> int: ...


def _encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date | uuid.UUID):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _identity(raw: Any) -> Any:
    return raw


@cache
def _converter(tp: Any) -> Callable[[Any], Any]:
    """How to turn a stored JSON value into a field of type ``tp`` (worked out once per type:
    a log replay decodes millions of fields)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        convert = _converter(inner)
        return lambda raw: None if raw is None else convert(raw)
    if origin is tuple:
        item = _converter(typing.get_args(tp)[0])
        if item is _identity:
            return tuple
        return lambda raw: tuple(map(item, raw))
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return _enum_converter(tp)
        if tp is dt.date:
            return dt.date.fromisoformat
        if tp is uuid.UUID:
            return _uuid
    return _identity


def _enum_converter(tp: type[enum.Enum]) -> Callable[[Any], Any]:
    """A member by its value: a dictionary lookup, the enum's own call for anything else."""
    members = tp._value2member_map_

    def convert(raw: Any) -> Any:
        try:
            return members[raw]
        except (KeyError, TypeError):
            return tp(raw)

    return convert


@lru_cache(maxsize=8192)
def _uuid(raw: str) -> uuid.UUID:
    """A UUID from its text; the same ids (a case's, its partners') recur in every event of a
    stream, and a UUID is immutable, so parsed ones are shared."""
    return uuid.UUID(raw)


@cache
def _field_converters(cls: type) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """Each field's name and converter, in the order of the class's ``__init__`` (``None``
    where the stored value is the field's value)."""
    hints = _hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        convert = _converter(hints[f.name])
        out.append((f.name, None if convert is _identity else convert))
    return tuple(out)


@cache
def _builder(cls: type) -> Callable[[Callable[[str], Any]], Any]:
    """A function that builds ``cls`` from a stored payload's ``get``: each field read and
    converted in the order of ``__init__`` and handed to ``slot_filler(cls)`` (every event
    class is filled slot by slot), written out once per class (as ``dataclasses`` writes
    ``__init__``), so that decoding an event runs no loop and builds no argument list. The
    generated text holds only the class's field names (identifiers) as string literals.
    """
    namespace: dict[str, Any] = {"make": slot_filler(cls)}
    args = []
    for i, (name, convert) in enumerate(_field_converters(cls)):
        value = f"get({name!r})"
        if convert is not None:
            namespace[f"convert_{i}"] = convert
            value = f"convert_{i}({value})"
        args.append(value)
    exec(f"def build(get):\n    return make({', '.join(args)})\n", namespace)  # noqa: S102
    build: Callable[[Callable[[str], Any]], Any] = namespace["build"]
    return build


@cache
def slot_filler(cls: type[_T]) -> Callable[..., _T]:
    """A function with the signature of ``cls``'s ``__init__`` that returns the same instance
    ``cls(...)`` would: filled slot by slot where ``fills_slots(cls)`` (a frozen dataclass's
    ``__init__`` sets each field through ``object.__setattr__``), ``cls`` itself otherwise.
    For readers that build many envelopes at once. The generated text holds only the class's
    field names (identifiers)."""
    fields = dataclasses.fields(typing.cast(Any, cls))
    if not fills_slots(cls) or any(f.default_factory is not dataclasses.MISSING for f in fields):
        return cls
    namespace: dict[str, Any] = {"_sf_cls": cls, "_sf_new": object.__new__}
    params, body = [], []
    for i, f in enumerate(fields):
        namespace[f"_sf_set_{i}"] = cls.__dict__[f.name].__set__
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            namespace[f"_sf_default_{i}"] = f.default
            params.append(f"{f.name}=_sf_default_{i}")
        body.append(f"    _sf_set_{i}(_sf_self, {f.name})\n")
    text = (
        f"def fill({', '.join(params)}):\n    _sf_self = _sf_new(_sf_cls)\n"
        f"{''.join(body)}    return _sf_self\n"
    )
    exec(text, namespace)  # noqa: S102
    fill: Callable[..., _T] = namespace["fill"]
    return fill


_fill_metadata: Callable[..., Metadata] = slot_filler(Metadata)


class EventRegistry:
    """Maps stable event type names to classes, and holds the upcasters between versions."""

    def __init__(self, classes: Iterable[type] = ()) -> None:
        self._classes: dict[str, type] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for cls in classes:
            self.register(cls)

    def register(self, cls: type) -> None:
        """Register ``cls`` and the upcasters it declares (``upcasters``: from version -> fn)."""
        name: str = cls.event_type  # type: ignore[attr-defined]
        if name in self._classes:
            raise ValueError(f"event type {name} registered twice")
        self._classes[name] = cls
        # An event class may carry its own upcasters: ``{from_version: upcaster}``.
        for from_version, upcaster in getattr(cls, "upcasters", {}).items():
            self.add_upcaster(name, from_version, upcaster)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(self._classes)

    def add_upcaster(self, event_type: str, from_version: int, upcaster: Upcaster) -> None:
        """``upcaster`` turns a payload of ``from_version`` into ``from_version + 1``."""
        self._upcasters[(event_type, from_version)] = upcaster

    def encode(self, event: Any) -> tuple[str, int, JsonObject, JsonObject | None]:
        """Split an event into its type, schema version, public and personal parts."""
        cls: Any = type(event)
        personal_names: frozenset[str] = cls.personal_fields
        public: JsonObject = {}
        personal: JsonObject = {}
        for name in _field_names(cls):
            value = _encode(getattr(event, name))
            (personal if name in personal_names else public)[name] = value
        return cls.event_type, cls.schema_version, public, (personal or None)

    def decode(
        self,
        event_type: str,
        schema_version: int,
        payload: JsonObject,
        personal: JsonObject | None,
    ) -> Any:
        """Rebuild the current-version domain event from a stored one."""
        cls = self._classes.get(event_type)
        if cls is None:
            raise UnknownEventType(event_type)
        version = schema_version
        while version < cls.schema_version:  # type: ignore[attr-defined]
            upcaster = self._upcasters.get((event_type, version))
            if upcaster is None:
                # Upcasters the event class declares itself (``upcasters``: by from-version).
                upcaster = getattr(cls, "upcasters", {}).get(version)
            if upcaster is None:
                raise UnknownEventType(f"{event_type} v{version} has no upcaster")
            payload, personal = upcaster(payload, personal)
            version += 1
        merged = {**payload, **personal} if personal else payload
        # Personal fields are absent once erased: they read as None.
        return _builder(cls)(merged.get)
