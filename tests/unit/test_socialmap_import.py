"""Reading and checking import files: every bad row by the line it starts on."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.errors import BadUserInput
from service.socialmap import importer
from service.socialmap.vocabulary import ImportFormat

TODAY = dt.date(2026, 11, 29)
CSV, JSON = ImportFormat.CSV, ImportFormat.JSON


def errors_of(fmt: ImportFormat, content: str) -> list[tuple[int, str | None, str]]:
    rows, errors = importer.parse(fmt, content)
    _, row_errors = importer.check(rows, TODAY)
    return [
        (e.line, e.column, e.rule) for e in sorted([*errors, *row_errors], key=lambda e: e.line)
    ]


def test_csv_rows_keep_the_line_they_start_on() -> None:
    content = (
        "\ufeffName, Kind ,COUNTRY,city\n"  # header names are trimmed and case-insensitive
        "A,NGO,NG,Lagos\n"
        "\n"  # a blank line is skipped but counted
        '"B\nspanning\nlines",NGO,NG,\n'
        "C,NGO,NG,Abuja\n"
    )
    rows, errors = importer.parse(CSV, content)
    assert errors == []
    assert [(r.line, r.values["name"]) for r in rows] == [
        (2, "A"),
        (4, "B\nspanning\nlines"),
        (7, "C"),
    ]
    valid, problems = importer.check(rows, TODAY)
    assert problems == []
    assert [v.data.city for v in valid] == ["Lagos", None, "Abuja"]


def test_every_bad_csv_row_is_reported_not_only_the_first() -> None:
    content = (
        "name,kind,country,languages,email,phone,website,last_verified_on\n"
        "Good,NGO,NG,en,a@b.example.org,+234 1 234 5678,https://b.example.org,2026-01-01\n"
        "Bad country,NGO,XX,,,,,\n"
        "Bad language,NGO,NG,english,,,,\n"
        "Bad contacts,NGO,NG,,a@,12,example.org,\n"
        "Future,NGO,NG,,,,,2027-01-01\n"
        ",,,,,,,\n"  # blank: skipped
        "too,many,cells,,,,,,,\n"
    )
    assert errors_of(CSV, content) == [
        (3, "country", "INVALID_COUNTRY_CODE"),
        (4, "languages", "INVALID_LANGUAGE_CODE"),
        (5, "email", "INVALID_EMAIL"),
        (5, "phone", "INVALID_PHONE"),
        (5, "website", "INVALID_URL"),
        (6, "last_verified_on", "DATE_IN_FUTURE"),
        (8, None, "TOO_MANY_CELLS"),
    ]


def test_several_values_in_a_cell_are_separated_by_semicolons() -> None:
    content = (
        "name,kind,country,services,email\n"
        "A,NGO,NG,shelter; legal_aid,a@x.example.org;b@x.example.org\n"
    )
    rows, _ = importer.parse(CSV, content)
    valid, problems = importer.check(rows, TODAY)
    assert problems == []
    data = valid[0].data
    assert [s.value for s in data.services] == ["SHELTER", "LEGAL_AID"]
    assert [c.value for c in data.contact_channels] == ["a@x.example.org", "b@x.example.org"]


def test_header_problems_are_reported_on_line_one() -> None:
    assert errors_of(CSV, "name,colour,name\nA,red,A\n") == [
        (1, None, "UNKNOWN_COLUMN"),
        (1, "country", "MISSING_COLUMN"),
        (1, "kind", "MISSING_COLUMN"),
        (1, "name", "DUPLICATE_COLUMN"),
        (2, "kind", "REQUIRED"),
        (2, "country", "REQUIRED"),
    ]


def test_duplicates_within_the_file_match_on_normalised_name_and_country() -> None:
    content = (
        "name,kind,country\n"
        "São Tomé Aid,NGO,ST\n"
        "SAO TOME AID,SHELTER,ST\n"
        "Sao Tome Aid,NGO,PT\n"  # another country: another organisation
    )
    assert errors_of(CSV, content) == [(3, "name", "DUPLICATE_ROW")]


def test_json_rows_keep_the_line_they_start_on() -> None:
    rows = [
        {"name": "A", "kind": "NGO", "country": "NG", "services": ["SHELTER"]},
        {"name": "B", "kind": "NGO", "country": "NG", "languages": "en;fr"},
    ]
    content = json.dumps(rows, indent=2)
    parsed, errors = importer.parse(JSON, content)
    assert errors == []
    starts = [i + 1 for i, line in enumerate(content.splitlines()) if line.strip() == "{"]
    assert [r.line for r in parsed] == starts
    valid, problems = importer.check(parsed, TODAY)
    assert problems == []
    assert valid[1].data.languages == ("en", "fr")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"name": "A"}', [(1, None, "MALFORMED_JSON")]),
        (
            '[\n{"name": "A", "kind": "NGO", "country": "NG"}\n{"name": "B"}]',
            [(3, None, "MALFORMED_JSON")],
        ),
        ("[1, []]", [(1, None, "NOT_AN_OBJECT"), (1, None, "NOT_AN_OBJECT")]),
        ('[{"name": "A", "kind": "NGO", "country": "NG"}] trailing', [(1, None, "MALFORMED_JSON")]),
        (
            '[{"name": "A", "kind": "NGO", "country": "NG", "services": {"a": 1}}]',
            [(1, "services", "INVALID_VALUE")],
        ),
        (
            '[{"name": "A", "kind": "NGO", "country": "NG", "email": 5}]',
            [(1, "email", "INVALID_VALUE")],
        ),
        ('[\n  {"name": ["A"], "kind": "NGO", "country": "NG"}\n]', [(2, "name", "INVALID_VALUE")]),
    ],
)
def test_malformed_json_is_reported_by_line(
    content: str, expected: list[tuple[int, str | None, str]]
) -> None:
    assert errors_of(JSON, content) == expected


def test_unknown_columns_are_one_problem_however_many() -> None:
    header = ",".join(f"c{i}" for i in range(10_000))
    _, errors = importer.parse(CSV, header + "\n")
    unknown = [e for e in errors if e.rule == "UNKNOWN_COLUMN"]
    assert len(unknown) == 1
    assert "and 9990 more" in unknown[0].reason
    assert len(unknown[0].reason) < 1000


def test_hostile_json_is_refused_without_crashing() -> None:
    assert errors_of(JSON, "[" * 100_000 + "]" * 100_000) == [(1, None, "MALFORMED_JSON")]
    deep = '[{"name": ' + '{"a": ' * 5_000 + "1" + "}" * 5_000 + ', "kind": "NGO"}]'
    assert errors_of(JSON, deep) == [(1, None, "MALFORMED_JSON")]
    assert errors_of(JSON, '[{"name": NaN, "kind": "NGO", "country": "NG"}]') == [
        (1, "name", "INVALID_VALUE")
    ]
    assert errors_of(JSON, '[{"name": "a\\ud800b", "kind": "NGO", "country": "NG"}]') == [
        (1, "name", "INVALID_CHARACTER")
    ]


def test_every_entry_counts_towards_the_row_limit() -> None:
    with pytest.raises(BadUserInput) as nulls:
        importer.parse(JSON, "[" + ",".join(["null"] * (importer.MAX_ROWS + 1)) + "]")
    assert nulls.value.rule == "IMPORT_TOO_MANY_ROWS"
    cells = "".join("a,b,c,d\n" for _ in range(importer.MAX_ROWS + 1))
    with pytest.raises(BadUserInput) as wide:
        importer.parse(CSV, "name,kind,country\n" + cells)
    assert wide.value.rule == "IMPORT_TOO_MANY_ROWS"


def test_limits_of_size_rows_and_nul() -> None:
    with pytest.raises(BadUserInput) as too_large:
        importer.parse(CSV, "é" * (importer.MAX_BYTES // 2 + 1))
    assert too_large.value.rule == "IMPORT_TOO_LARGE"
    rows = "".join(f"O{i},NGO,NG\n" for i in range(importer.MAX_ROWS + 1))
    with pytest.raises(BadUserInput) as too_many:
        importer.parse(CSV, "name,kind,country\n" + rows)
    assert too_many.value.rule == "IMPORT_TOO_MANY_ROWS"
    with pytest.raises(BadUserInput) as nul:
        importer.parse(JSON, '[{"name": "A\u0000"}]')
    assert nul.value.rule == "NUL_CHARACTER"
    with pytest.raises(BadUserInput) as surrogate:
        importer.parse(CSV, "name,kind,country\nA\ud800,NGO,NG\n")
    assert surrogate.value.rule == "INVALID_CHARACTER"


def test_row_errors_never_repeat_the_values_of_the_file() -> None:
    content = "name,kind,country,email,phone\nSecret Name,NGO,NG,secret-mail,secret-phone\n"
    rows, _ = importer.parse(CSV, content)
    _, problems = importer.check(rows, TODAY)
    assert problems
    assert all("secret" not in str(p).lower() for p in problems)


@given(
    st.lists(st.booleans(), min_size=1, max_size=30),
    st.lists(st.integers(min_value=0, max_value=2), min_size=30, max_size=30),
)
def test_each_bad_row_is_reported_at_its_own_line(bad: list[bool], blanks: list[int]) -> None:
    """Whatever mix of good rows, bad rows and blank lines, the lines reported are exact."""
    lines = ["name,kind,country"]
    expected = []
    for i, is_bad in enumerate(bad):
        lines += [""] * blanks[i]
        lines.append(f"Org {i},NGO,{'XX' if is_bad else 'NG'}")
        if is_bad:
            expected.append((len(lines), "country", "INVALID_COUNTRY_CODE"))
    assert errors_of(CSV, "\n".join(lines) + "\n") == expected
