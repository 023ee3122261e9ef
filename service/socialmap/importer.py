"""Bulk import of organisations from CSV or JSON, all or nothing.

Both formats carry the same columns (``COLUMNS``); ``name``, ``kind`` and ``country`` are
required. The HTCDS formats carry the standard's organisation fields instead (``htcds``), which
are translated into these columns before the same validation. In CSV the first line names the
columns and list cells (services, target groups, languages, e-mail, phone, website) separate
their items with semicolons; in JSON the file is an array of objects whose list fields may be
arrays or such text.

Every row is validated (``model.validate``, plus the shape of each contact value), rows that
name the same organisation twice (normalised name and country) are refused, and every bad row
is reported with the line it starts on and the reason. When any row is bad nothing is written.

A row matches an existing organisation by normalised name and country: an equal one is left
alone (no new version, no history), a different one is updated in full, an unknown one is
created. A row that matches a retired organisation is skipped: an import never brings an
organisation back silently. So importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.errors import BadUserInput, ServiceError
from service.socialmap import htcds, model, repository
from service.socialmap.history import Actor
from service.socialmap.model import InvalidValue, Organisation, OrganisationData
from service.socialmap.vocabulary import ContactChannelKind, ImportFormat

__all__ = [
    "COLUMNS",
    "MAX_BYTES",
    "MAX_ROWS",
    "ImportRefused",
    "ImportResult",
    "RowError",
    "check",
    "parse",
    "run_import",
]

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000

_CHANNEL_COLUMNS = {
    "email": ContactChannelKind.EMAIL,
    "phone": ContactChannelKind.PHONE,
    "website": ContactChannelKind.WEBSITE,
    "address": ContactChannelKind.ADDRESS,
}
_DATA_COLUMNS = tuple(f for f in model.FIELDS if f != "contact_channels")
COLUMNS: tuple[str, ...] = (*_DATA_COLUMNS, *_CHANNEL_COLUMNS)


@dataclass(frozen=True, slots=True)
class RowError:
    """Why a line of the file was refused (``column`` is None for the row as a whole)."""

    line: int
    column: str | None
    rule: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "rule": self.rule, "reason": self.reason}

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


class ImportRefused(BadUserInput):
    """The file was refused; ``errors`` lists every bad row (also in ``extensions.rowErrors``)."""

    def __init__(self, message: str, rule: str, errors: list[RowError]) -> None:
        ServiceError.__init__(
            self, message, rule=rule, field="content", rowErrors=[e.as_json() for e in errors]
        )
        self.rule = rule
        self.errors = errors


@dataclass(frozen=True, slots=True)
class RawRow:
    line: int
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ValidRow:
    line: int
    data: OrganisationData
    # The fields the row states, when it states only some (an HTCDS row): a matching
    # organisation keeps the rest. ``None``: the row states every field.
    given: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    skipped_retired: int


@dataclass(frozen=True, slots=True)
class _Layout:
    """The columns a format allows and requires, and how a header cell names one."""

    columns: tuple[str, ...]
    required: tuple[str, ...]
    htcds: bool

    def name(self, header: str) -> str:
        if self.htcds:
            return htcds.canonical(header) or header.strip()
        return header.strip().lower()


_OWN = _Layout(COLUMNS, tuple(sorted(model.REQUIRED)), htcds=False)
_HTCDS = _Layout(tuple(htcds.COLUMNS), htcds.REQUIRED, htcds=True)


def _layout(fmt: ImportFormat) -> _Layout:
    return _HTCDS if fmt in (ImportFormat.HTCDS_CSV, ImportFormat.HTCDS_JSON) else _OWN


def _header_errors(columns: list[str], line: int, layout: _Layout) -> list[RowError]:
    COLUMNS = layout.columns
    unknown = [c for c in dict.fromkeys(columns) if c not in COLUMNS]
    errors = []
    if unknown:
        shown = ", ".join(repr(c[:40]) for c in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        errors.append(
            RowError(
                line,
                None,
                "UNKNOWN_COLUMN",
                f"unknown column(s) {shown}{more}; the columns are {', '.join(COLUMNS)}",
            )
        )
    errors += [
        RowError(line, c, "MISSING_COLUMN", "required column is missing")
        for c in layout.required
        if c not in columns
    ]
    errors += [
        RowError(line, c, "DUPLICATE_COLUMN", "column appears twice")
        for c in dict.fromkeys(columns)
        if c in COLUMNS and columns.count(c) > 1
    ]
    return errors


class _TooManyRows(Exception):
    pass


class _Entries:
    """Collects the rows of a file and the entries refused while reading it."""

    def __init__(self) -> None:
        self.rows: list[RawRow] = []
        self.errors: list[RowError] = []
        self.count = 0

    def counted(self) -> None:
        self.count += 1
        if self.count > MAX_ROWS:
            raise _TooManyRows

    def row(self, line: int, values: dict[str, Any]) -> None:
        self.counted()
        self.rows.append(RawRow(line, values))

    def refused(self, error: RowError) -> None:
        self.counted()
        self.errors.append(error)


def _parse_csv(content: str, out: _Entries, layout: _Layout) -> None:
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return
        columns = [layout.name(h) for h in header]
        out.errors += _header_errors(columns, 1, layout)
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue  # a blank line
            if len(cells) > len(columns):
                out.refused(
                    RowError(line, None, "TOO_MANY_CELLS", "the row has more cells than columns")
                )
                continue
            out.row(line, {c: v or None for c, v in zip(columns, cells, strict=False)})
    except csv.Error:
        out.errors.append(
            RowError(reader.line_num or 1, None, "MALFORMED_CSV", "the CSV cannot be read here")
        )


class _Lines:
    """Line numbers of positions in a text, counted forward only (linear in the text)."""

    def __init__(self, content: str) -> None:
        self.content = content
        self.index = 0
        self.line = 1

    def at(self, index: int) -> int:
        self.line += self.content.count("\n", self.index, index)
        self.index = index
        return self.line


def _skip_space(content: str, index: int) -> int:
    while index < len(content) and content[index] in " \t\r\n":
        index += 1
    return index


def _parse_json(content: str, out: _Entries, layout: _Layout) -> None:
    """An array of objects, each with the line it starts on."""
    decoder = json.JSONDecoder()
    lines = _Lines(content)
    index = _skip_space(content, 0)
    if index >= len(content) or content[index] != "[":
        out.errors.append(
            RowError(lines.at(index), None, "MALFORMED_JSON", "the file must be a JSON array")
        )
        return
    index = _skip_space(content, index + 1)
    if index < len(content) and content[index] == "]":
        return
    while True:
        line = lines.at(index)
        try:
            value, index = decoder.raw_decode(content, index)
        except json.JSONDecodeError as exc:
            out.errors.append(RowError(exc.lineno, None, "MALFORMED_JSON", exc.msg))
            return
        except RecursionError:
            out.errors.append(RowError(line, None, "MALFORMED_JSON", "nested too deeply"))
            return
        if not isinstance(value, dict):
            out.refused(RowError(line, None, "NOT_AN_OBJECT", "each entry must be an object"))
        else:
            keys = [layout.name(str(k)) for k in value]
            out.errors += [
                e for e in _header_errors(keys, line, layout) if e.rule != "MISSING_COLUMN"
            ]
            out.row(line, {layout.name(str(k)): v for k, v in value.items()})
        index = _skip_space(content, index)
        if index < len(content) and content[index] == ",":
            index = _skip_space(content, index + 1)
            continue
        if index < len(content) and content[index] == "]":
            rest = _skip_space(content, index + 1)
            if rest < len(content):
                out.errors.append(
                    RowError(lines.at(rest), None, "MALFORMED_JSON", "text after the array")
                )
            return
        out.errors.append(RowError(lines.at(index), None, "MALFORMED_JSON", "expected , or ]"))
        return


def parse(fmt: ImportFormat, content: str) -> tuple[list[RawRow], list[RowError]]:
    """The rows of the file, or the errors that make it unreadable; size limits enforced."""
    if len(content.encode("utf-8", errors="surrogatepass")) > MAX_BYTES:
        raise BadUserInput(
            f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB: split it",
            rule="IMPORT_TOO_LARGE",
            field="content",
        )
    if "\x00" in content:
        raise BadUserInput(
            "the file must not contain NUL characters", rule="NUL_CHARACTER", field="content"
        )
    if model.has_surrogate(content):
        raise BadUserInput(
            "the file must be valid Unicode text", rule="INVALID_CHARACTER", field="content"
        )
    content = content.removeprefix("\ufeff")
    out = _Entries()
    layout = _layout(fmt)
    csv_like = fmt in (ImportFormat.CSV, ImportFormat.HTCDS_CSV)
    try:
        (_parse_csv if csv_like else _parse_json)(content, out, layout)
    except _TooManyRows:
        raise BadUserInput(
            f"the file has more than {MAX_ROWS} rows: split it",
            rule="IMPORT_TOO_MANY_ROWS",
            field="content",
        ) from None
    if not layout.htcds:
        return out.rows, out.errors
    rows: list[RawRow] = []
    for row in out.rows:
        values, problems = htcds.translate(row.values)
        out.errors += [RowError(row.line, p.column, p.rule, p.reason) for p in problems]
        rows.append(RawRow(row.line, values))
    return rows, out.errors


def _raw_data(row: RawRow) -> tuple[dict[str, Any], list[RowError]]:
    """The row as ``model.validate`` input; contact values checked per column."""
    raw = {c: row.values.get(c) for c in _DATA_COLUMNS}
    channels: list[dict[str, Any]] = []
    errors: list[RowError] = []
    for column, kind in _CHANNEL_COLUMNS.items():
        value = row.values.get(column)
        try:
            values = [value] if kind is ContactChannelKind.ADDRESS else model.items(value, column)
            for item in values:
                if item is not None:
                    channels.append({"kind": kind, "value": model.check_channel(kind, item)})
        except InvalidValue as exc:
            errors.append(RowError(row.line, column, exc.rule, exc.reason))
    raw["contact_channels"] = channels
    return raw, errors


def _column_order(error: RowError) -> int:
    return COLUMNS.index(error.column) if error.column in COLUMNS else len(COLUMNS)


def check(
    rows: list[RawRow], today: dt.date, fmt: ImportFormat = ImportFormat.CSV
) -> tuple[list[ValidRow], list[RowError]]:
    """Validate every row and find rows naming the same organisation twice.

    Problems of an HTCDS file are reported under the HTCDS column they came from.
    """
    valid, errors = _check(rows, today)
    if _layout(fmt).htcds:
        errors = [
            dataclasses.replace(e, column=htcds.FIELD_COLUMN.get(e.column, e.column))
            if e.column is not None
            else e
            for e in errors
        ]
    return valid, errors


def _given(row: RawRow) -> frozenset[str] | None:
    if htcds.PARTIAL not in row.values:
        return None
    defaulted = set(row.values[htcds.PARTIAL])
    fields = {
        c
        for c, v in row.values.items()
        if c in _DATA_COLUMNS and v not in (None, "") and c not in defaulted
    }
    if any(row.values.get(c) for c in _CHANNEL_COLUMNS):
        fields.add("contact_channels")
    return frozenset(fields)


def _update_of(current: OrganisationData, row: ValidRow, today: dt.date) -> OrganisationData:
    """What a row makes of a matching organisation: the row, or the row's fields over it."""
    if row.given is None:
        return row.data
    changes = {f: getattr(row.data, f) for f in row.given}
    if "services" in changes:  # a type adds a service; it takes none away
        changes["services"] = (*current.services, *row.data.services)
    if "contact_channels" in changes:
        changes["contact_channels"] = (*current.contact_channels, *row.data.contact_channels)
    data, _ = model.validate(model.merged(current, changes), today)
    return data if data is not None else row.data


def merged(read: list[RowError], checked: list[RowError]) -> list[RowError]:
    """Every problem by line; a cell refused while reading is not reported again."""
    seen = {(e.line, e.column) for e in read if e.column is not None}
    rest = [e for e in checked if (e.line, e.column) not in seen]
    return sorted([*read, *rest], key=lambda e: e.line)


def _check(rows: list[RawRow], today: dt.date) -> tuple[list[ValidRow], list[RowError]]:
    valid: list[ValidRow] = []
    errors: list[RowError] = []
    first_line: dict[tuple[str, str], int] = {}
    for row in rows:
        raw, channel_errors = _raw_data(row)
        data, problems = model.validate(raw, today)
        found = [
            *channel_errors,
            *(RowError(row.line, p.field, p.rule, p.reason) for p in problems),
        ]
        errors += sorted(found, key=_column_order)
        if data is None or channel_errors:
            continue
        key = (data.country, model.name_key(data.name))
        if key in first_line:
            errors.append(
                RowError(
                    row.line,
                    "name",
                    "DUPLICATE_ROW",
                    f"same name and country as line {first_line[key]}",
                )
            )
            continue
        first_line[key] = row.line
        valid.append(ValidRow(row.line, data, _given(row)))
    return valid, errors


async def _apply(
    conn: AsyncConnection, rows: list[ValidRow], actor: Actor, dry_run: bool, today: dt.date
) -> ImportResult:
    keys = [(r.data.country, model.name_key(r.data.name)) for r in rows]
    existing: Mapping[tuple[str, str], Organisation] = await repository.find_by_keys(
        conn, keys, for_update=not dry_run
    )
    created = updated = unchanged = skipped = 0
    for key, row in zip(keys, rows, strict=True):
        current = existing.get(key)
        if current is None:
            created += 1
            if not dry_run:
                params = repository.create_params(uuid.uuid4(), row.data, actor)
                await repository.create(conn, params)
        elif not current.active:
            skipped += 1
        elif not (changes := model.diff(current.data, new := _update_of(current.data, row, today))):
            unchanged += 1
        else:
            updated += 1
            if not dry_run:
                await repository.update(conn, current.id, current.version, new, changes, actor)
    return ImportResult(dry_run, len(rows), created, updated, unchanged, skipped)


async def run_import(
    engine: AsyncEngine,
    actor: Actor,
    fmt: ImportFormat,
    content: str,
    *,
    dry_run: bool,
    today: dt.date,
) -> ImportResult:
    """Validate the whole file, then (unless ``dry_run``) write it in one transaction."""
    rows, errors = parse(fmt, content)
    valid, row_errors = check(rows, today, fmt)
    errors = merged(errors, row_errors)
    if errors:
        raise ImportRefused(
            f"{len({e.line for e in errors})} line(s) of the file are invalid; nothing was "
            "imported",
            rule="INVALID_ROWS",
            errors=errors,
        )
    if not valid:
        raise BadUserInput("the file holds no organisations", rule="EMPTY_IMPORT", field="content")
    try:
        async with engine.begin() as conn:
            return await _apply(conn, valid, actor, dry_run, today)
    except IntegrityError:
        # A concurrent change created one of these organisations meanwhile: plan again, once.
        async with engine.begin() as conn:
            return await _apply(conn, valid, actor, dry_run, today)
