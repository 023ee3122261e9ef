"""Opaque global IDs and cursors: base64url, naming the type, never a sequence number."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid

from service.errors import BadUserInput


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(value: str) -> str:
    try:
        padded = value + "=" * (-len(value) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return ""


def reject_nul(value: str, field: str) -> None:
    """PostgreSQL stores no NUL character in text: refuse it as input, by name."""
    if "\x00" in value:
        camel = field.split("_")[0] + "".join(p.capitalize() for p in field.split("_")[1:])
        raise BadUserInput(f"{camel} must not contain NUL characters", field=camel)


def to_global_id(type_name: str, local_id: uuid.UUID) -> str:
    return _b64(f"{type_name}:{local_id}")


def from_global_id(type_name: str, global_id: str, field: str = "id") -> uuid.UUID:
    kind, _, raw = _unb64(global_id).partition(":")
    try:
        if kind != type_name:
            raise ValueError(kind)
        return uuid.UUID(raw)
    except ValueError:
        raise BadUserInput(f"{field} is not a valid {type_name} ID", field=field) from None


def case_cursor(intake_date: dt.date, case_id: uuid.UUID) -> str:
    return _b64(f"c:{intake_date.isoformat()}:{case_id}")


def parse_case_cursor(cursor: str) -> tuple[dt.date, uuid.UUID]:
    parts = _unb64(cursor).split(":")
    try:
        if len(parts) != 3 or parts[0] != "c":
            raise ValueError(cursor)
        return dt.date.fromisoformat(parts[1]), uuid.UUID(parts[2])
    except ValueError:
        raise BadUserInput("after is not a valid cursor", field="after") from None
