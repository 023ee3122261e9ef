"""Organisations of the social map: their validated shape, validation, and what changed.

Pure code: no I/O. ``validate`` turns raw input (from GraphQL, a CSV or a JSON import) into an
``OrganisationData`` or a list of ``Problem``s, so every entry point applies the same rules.
Problems never repeat the offending value: an import line may hold contact details, and
messages end up in logs.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

from service.domain.codes import is_country, is_language
from service.socialmap.search import normalise
from service.socialmap.vocabulary import (
    ContactChannelKind,
    OrganisationKind,
    ReturnSupportLevel,
    Service,
    TargetGroup,
)

__all__ = [
    "FIELDS",
    "REQUIRED",
    "ContactChannel",
    "InvalidValue",
    "Organisation",
    "OrganisationData",
    "Problem",
    "check_channel",
    "diff",
    "from_json",
    "has_surrogate",
    "is_stale",
    "items",
    "merged",
    "name_key",
    "stale_cutoff",
    "text_value",
    "to_json",
    "to_json_value",
    "validate",
]

MAX_NAME = 300
MAX_PLACE = 200
MAX_NOTES = 4000
MAX_SOURCE = 500
MAX_CHANNEL = 500
MAX_LIST = 50


@dataclass(frozen=True, slots=True)
class ContactChannel:
    kind: ContactChannelKind
    value: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class OrganisationData:
    """Everything an editor states about an organisation, validated and in canonical form.

    Lists are de-duplicated; services and target groups follow the vocabulary's order and
    languages are sorted, so the same facts given in another order compare equal.
    """

    name: str
    kind: OrganisationKind
    country: str
    city: str | None = None
    region: str | None = None
    services: tuple[Service, ...] = ()
    target_groups: tuple[TargetGroup, ...] = ()
    languages: tuple[str, ...] = ()
    contact_channels: tuple[ContactChannel, ...] = ()
    referral_notes: str | None = None
    last_verified_on: dt.date | None = None
    source: str | None = None
    return_support: ReturnSupportLevel | None = None
    name_nl: str | None = None
    local_name: str | None = None  # the organisation's own-language name, where it has one
    description_en: str | None = None
    description_nl: str | None = None
    latitude: float | None = None  # WGS 84 degrees, both or neither
    longitude: float | None = None


FIELDS: tuple[str, ...] = tuple(f.name for f in fields(OrganisationData))
REQUIRED = frozenset({"name", "kind", "country"})


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation as stored: its data plus identity, version and life cycle."""

    id: uuid.UUID
    version: int
    data: OrganisationData
    demo: bool
    retired_at: dt.datetime | None
    retired_reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    name_key: str  # as stored: the key of keyset pagination and of matching on import

    @property
    def active(self) -> bool:
        return self.retired_at is None


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason why input is refused: the field, a stable rule code and a sentence."""

    field: str
    rule: str
    reason: str


def name_key(name: str) -> str:
    """The normalised name that identifies an organisation within its country."""
    return normalise(name)


class InvalidValue(Exception):
    """One field of the input is refused: a rule code and a sentence (no values)."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


def has_surrogate(value: str) -> bool:
    """Whether ``value`` holds a lone surrogate: not text that UTF-8 (or PostgreSQL) can hold."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def text_value(value: Any, limit: int, label: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValue("INVALID_VALUE", f"{label} must be text")
    if "\x00" in value:
        raise InvalidValue("NUL_CHARACTER", f"{label} must not contain NUL characters")
    if has_surrogate(value):
        raise InvalidValue("INVALID_CHARACTER", f"{label} must be valid Unicode text")
    stripped: str = value.strip()
    if not stripped:
        return None
    if len(stripped) > limit:
        raise InvalidValue("TOO_LONG", f"{label} must be at most {limit} characters")
    return stripped


def items(value: Any, label: str) -> list[Any]:
    """A list from a list, or from text separated by semicolons (as a CSV cell holds it)."""
    if value is None:
        return []
    if isinstance(value, str):
        found: list[Any] = [p.strip() for p in value.split(";") if p.strip()]
    elif isinstance(value, list | tuple):
        found = list(value)
    else:
        raise InvalidValue("INVALID_VALUE", f"{label} must be a list")
    if len(found) > MAX_LIST:
        raise InvalidValue("TOO_LONG", f"{label} may hold at most {MAX_LIST} items")
    return found


E = TypeVar("E", bound=StrEnum)


def _member(vocabulary: type[E], value: Any, rule: str, label: str) -> E:
    if isinstance(value, vocabulary):
        return value
    if isinstance(value, str):
        try:
            return vocabulary(value.strip().upper())
        except ValueError:
            pass
    allowed = ", ".join(m.value for m in vocabulary)
    raise InvalidValue(rule, f"{label} must be one of {allowed}")


def _members(vocabulary: type[E], value: Any, rule: str, label: str) -> tuple[E, ...]:
    chosen = {_member(vocabulary, v, rule, label) for v in items(value, label)}
    return tuple(m for m in vocabulary if m in chosen)


def _country(value: Any) -> str:
    code = text_value(value, 2, "country")
    if code is None:
        raise InvalidValue("REQUIRED", "country is required")
    if not is_country(code.upper()):
        raise InvalidValue(
            "INVALID_COUNTRY_CODE", "country must be an ISO 3166-1 alpha-2 code such as NL"
        )
    return code.upper()


def _languages(value: Any) -> tuple[str, ...]:
    codes = set()
    for item in items(value, "languages"):
        if not isinstance(item, str) or not is_language(item.strip().lower()):
            raise InvalidValue(
                "INVALID_LANGUAGE_CODE", "languages must be ISO 639-1 codes such as nl or en"
            )
        codes.add(item.strip().lower())
    return tuple(sorted(codes))


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{4,30}$")


def _is_web_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        return (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and not any(c.isspace() for c in value)
            and (parts.port is None or parts.port > 0)
        )
    except ValueError:  # a malformed host or port
        return False


def check_channel(kind: ContactChannelKind, raw: Any) -> str:
    """A contact channel's value, checked for the shape its kind needs."""
    label = kind.value.lower()
    value = text_value(raw, MAX_CHANNEL, label)
    if value is None:
        raise InvalidValue("REQUIRED", f"a contact channel of kind {kind.value} needs a value")
    if kind is ContactChannelKind.EMAIL and (len(value) > 254 or not _EMAIL.match(value)):
        raise InvalidValue("INVALID_EMAIL", "email must look like name@example.org")
    if kind is ContactChannelKind.WEBSITE and not _is_web_url(value):
        raise InvalidValue("INVALID_URL", "website must be an http or https URL")
    if kind is ContactChannelKind.PHONE and not _PHONE.match(value):
        raise InvalidValue(
            "INVALID_PHONE", "phone must be digits, optionally with +, spaces, dashes or brackets"
        )
    return value


def _channels(value: Any) -> tuple[ContactChannel, ...]:
    out: list[ContactChannel] = []
    for item in items(value, "contact channels"):
        raw: Any
        label: Any
        if isinstance(item, ContactChannel):
            kind, raw, label = item.kind, item.value, item.label
        elif isinstance(item, Mapping):
            kind = _member(
                ContactChannelKind, item.get("kind"), "INVALID_CONTACT_KIND", "contact kind"
            )
            raw, label = item.get("value"), item.get("label")
        else:
            raise InvalidValue("INVALID_VALUE", "a contact channel needs a kind and a value")
        channel = ContactChannel(kind, check_channel(kind, raw), text_value(label, 100, "label"))
        if channel not in out:
            out.append(channel)
    return tuple(out)


def _date(value: Any, today: dt.date) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        raise InvalidValue("INVALID_DATE", "last verified must be a date (YYYY-MM-DD)")
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidValue(
                "INVALID_DATE", "last verified must be a date (YYYY-MM-DD)"
            ) from None
    else:
        raise InvalidValue("INVALID_DATE", "last verified must be a date (YYYY-MM-DD)")
    if day > today:
        raise InvalidValue("DATE_IN_FUTURE", "last verified cannot be in the future")
    return day


def _required_text(value: Any, limit: int, label: str) -> str:
    text = text_value(value, limit, label)
    if text is None:
        raise InvalidValue("REQUIRED", f"{label} is required")
    return text


def _name(value: Any) -> str:
    name = _required_text(value, MAX_NAME, "name")
    if not name_key(name):  # nothing to search or match on
        raise InvalidValue("INVALID_NAME", "name must contain letters or digits")
    return name


def _kind(value: Any) -> OrganisationKind:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidValue("REQUIRED", "kind is required")
    return _member(OrganisationKind, value, "UNKNOWN_KIND", "kind")


def _return_support(value: Any) -> ReturnSupportLevel | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _member(ReturnSupportLevel, value, "UNKNOWN_RETURN_SUPPORT", "return support")


def _coordinate(value: Any, limit: float, label: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidValue("INVALID_COORDINATE", f"{label} must be a number")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidValue("INVALID_COORDINATE", f"{label} must be a number") from None
    if not -limit <= number <= limit:  # also refuses NaN
        raise InvalidValue(
            "COORDINATE_OUT_OF_RANGE", f"{label} must be between -{limit:g} and {limit:g}"
        )
    return round(number, 6)  # about 0.1 m: more only pretends to precision


_CHECKS: dict[str, Callable[[Any, dt.date], Any]] = {
    "name": lambda v, _: _name(v),
    "kind": lambda v, _: _kind(v),
    "country": lambda v, _: _country(v),
    "city": lambda v, _: text_value(v, MAX_PLACE, "city"),
    "region": lambda v, _: text_value(v, MAX_PLACE, "region"),
    "services": lambda v, _: _members(Service, v, "UNKNOWN_SERVICE", "services"),
    "target_groups": lambda v, _: _members(TargetGroup, v, "UNKNOWN_TARGET_GROUP", "target groups"),
    "languages": lambda v, _: _languages(v),
    "contact_channels": lambda v, _: _channels(v),
    "referral_notes": lambda v, _: text_value(v, MAX_NOTES, "referral notes"),
    "last_verified_on": _date,
    "source": lambda v, _: text_value(v, MAX_SOURCE, "source"),
    "return_support": lambda v, _: _return_support(v),
    "name_nl": lambda v, _: text_value(v, MAX_NAME, "Dutch name"),
    "local_name": lambda v, _: text_value(v, MAX_NAME, "own-language name"),
    "description_en": lambda v, _: text_value(v, MAX_NOTES, "description"),
    "description_nl": lambda v, _: text_value(v, MAX_NOTES, "Dutch description"),
    "latitude": lambda v, _: _coordinate(v, 90.0, "latitude"),
    "longitude": lambda v, _: _coordinate(v, 180.0, "longitude"),
}


def validate(
    raw: Mapping[str, Any], today: dt.date
) -> tuple[OrganisationData | None, list[Problem]]:
    """Check every field of ``raw`` (keys as in ``FIELDS``); the data, or every problem found."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in FIELDS:
        try:
            values[name] = _CHECKS[name](raw.get(name), today)
        except InvalidValue as exc:
            problems.append(Problem(name, exc.rule, exc.reason))
    if (
        not problems
        and values["return_support"] is not None
        and values["country"] != "NL"  # the split is about Dutch organisations only
    ):
        problems.append(
            Problem(
                "return_support",
                "RETURN_SUPPORT_OUTSIDE_NL",
                "return support (general information or hands-on guidance) is recorded for "
                "organisations in the Netherlands only",
            )
        )
    if not problems and (values["latitude"] is None) != (values["longitude"] is None):
        problems.append(
            Problem(
                "latitude" if values["latitude"] is None else "longitude",
                "INCOMPLETE_COORDINATES",
                "give both latitude and longitude, or neither",
            )
        )
    if problems:
        return None, problems
    return OrganisationData(**values), []


def to_json_value(value: Any) -> Any:
    """A field's value as JSON (enums by name, dates in ISO form, tuples as lists)."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, ContactChannel):
        out = {"kind": value.kind.value, "value": value.value}
        if value.label is not None:
            out["label"] = value.label
        return out
    if isinstance(value, tuple | list):
        return [to_json_value(v) for v in value]
    return value


def to_json(data: OrganisationData) -> dict[str, Any]:
    """Every field of ``data`` as JSON values (enums by name, dates in ISO form)."""
    return {name: to_json_value(getattr(data, name)) for name in FIELDS}


def diff(before: OrganisationData | None, after: OrganisationData) -> dict[str, Any]:
    """What changed, field by field: ``{field: {"from": old, "to": new}}`` (JSON values)."""
    old = to_json(before) if before is not None else {}
    new = to_json(after)
    return {
        name: {"from": old.get(name), "to": new[name]}
        for name in FIELDS
        if before is None or old[name] != new[name]
    }


def _stored_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def from_json(raw: Mapping[str, Any]) -> OrganisationData:
    """Rebuild stored data (written by ``to_json``); the stored form is trusted."""
    return OrganisationData(
        name=raw["name"],
        kind=OrganisationKind(raw["kind"]),
        country=raw["country"],
        city=raw.get("city"),
        region=raw.get("region"),
        services=tuple(Service(s) for s in raw.get("services") or ()),
        target_groups=tuple(TargetGroup(t) for t in raw.get("target_groups") or ()),
        languages=tuple(raw.get("languages") or ()),
        contact_channels=tuple(
            ContactChannel(ContactChannelKind(c["kind"]), c["value"], c.get("label"))
            for c in raw.get("contact_channels") or ()
        ),
        referral_notes=raw.get("referral_notes"),
        last_verified_on=_stored_date(raw.get("last_verified_on")),
        source=raw.get("source"),
        return_support=(
            ReturnSupportLevel(raw["return_support"]) if raw.get("return_support") else None
        ),
        name_nl=raw.get("name_nl"),
        local_name=raw.get("local_name"),
        description_en=raw.get("description_en"),
        description_nl=raw.get("description_nl"),
        latitude=raw.get("latitude"),
        longitude=raw.get("longitude"),
    )


def merged(current: OrganisationData, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The raw fields of ``current`` with ``changes`` applied, ready for ``validate``."""
    raw: dict[str, Any] = {name: getattr(current, name) for name in FIELDS}
    raw.update({k: v for k, v in changes.items() if k in FIELDS})
    return raw


def is_stale(last_verified_on: dt.date | None, today: dt.date, months: int) -> bool:
    """Whether an entry was not verified within ``months`` months before ``today``."""
    if last_verified_on is None:
        return True
    return last_verified_on < stale_cutoff(today, months)


def stale_cutoff(today: dt.date, months: int) -> dt.date:
    """The earliest verification date that is still fresh on ``today``."""
    total = today.year * 12 + today.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    last_day = [31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return dt.date(year, month, min(today.day, last_day))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
