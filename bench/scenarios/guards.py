"""Scenario 8, guards: the worst documents the guard chain has to look at, and how long the
event loop is held by each (``prepare``: parse + cost walk; then validation when the cost
walk lets it through). No database or server: the guard chain is the same for every transport.

    .venv/bin/python -m bench --guards      (or: make bench BENCH_ARGS=--guards)

Each candidate is built to be as expensive as the limits allow: many copies of a list field
under one response name (graphql-core's overlapping-fields check is quadratic in them), many
distinct aliases, fragments spread side by side, fragments doubling each other, deep nesting,
the largest document of tokens, and the standard introspection query.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from graphql import OperationType, get_introspection_query, specified_rules
from strawberry.schema.schema import validate_document

from service.schema import build_schema
from service.schema.cost import MAX_SAME_NAME
from service.schema.guards import (
    MAX_DOCUMENT_CHARS,
    MAX_TOKENS,
    RequestRefused,
    parse_document,
    prepare,
)
from service.schema.limits import document_limits

LIST = "returnCases { edges { node { id } } }"  # 10 tokens


@dataclass(frozen=True)
class Figure:
    name: str
    chars: int
    outcome: str
    milliseconds: float


def _documents() -> dict[str, str]:
    copies = (MAX_TOKENS - 10) // 10  # as many as the token limit lets through
    same = " ".join([LIST] * copies)
    aliased = " ".join(f"a{i}: {LIST}" for i in range((MAX_TOKENS - 10) // 12))
    inner = " ".join(["organisation { slug name kind }"] * 3)
    same_nested = f"me {{ {inner} }} "
    same_allowed = " ".join(["me { subject roles }"] * MAX_SAME_NAME)
    fragments = (
        "".join(f"fragment F{i} on Query {{ me {{ subject }} }} " for i in range(450))
        + "{ "
        + " ".join(f"...F{i}" for i in range(450))
        + " }"
    )
    distinct = " ".join(f"a{i}: me {{ subject }}" for i in range((MAX_TOKENS - 10) // 6))
    doubling = (
        "fragment F0 on Me { subject roles } "
        + "".join(f"fragment F{i} on Me {{ ...F{i - 1} ...F{i - 1} }} " for i in range(1, 40))
        + "{ me { ...F39 } }"
    )
    deep = "{ me " + "{ organisation " * 30 + "{ slug }" + " }" * 30 + " }"
    tokens = "{ me { " + "subject " * (MAX_TOKENS - 10) + "} }"
    long_comment = "# " + "x" * (MAX_DOCUMENT_CHARS - 100) + "\n{ me { subject } }"
    nested_fields = (
        "{ "
        + " ".join(
            f"f{i}: returnCases(first: 1) {{ edges {{ node {{ id }} }} }}" for i in range(30)
        )
        + " }"
    )
    return {
        f"{copies} copies of one list field": "{ " + same + " }",
        f"{(MAX_TOKENS - 10) // 6} distinct aliases": "{ " + distinct + " }",
        "3 copies, each with 3 inside": "{ " + same_nested * 3 + " }",
        f"{MAX_SAME_NAME} copies of a list with 100 fields": "{ "
        + " ".join(["returnCases { edges { node { " + "id phase " * 50 + "} } }"] * MAX_SAME_NAME)
        + " }",
        f"{(MAX_TOKENS - 10) // 12} aliased copies of a list field": "{ " + aliased + " }",
        f"{MAX_SAME_NAME} copies (the most allowed)": "{ " + same_allowed + " }",
        f"{MAX_TOKENS // 13} fragments side by side": fragments,
        "fragments doubling 40 times": doubling,
        "nesting 30 deep": deep,
        f"{MAX_TOKENS} tokens": tokens,
        f"{MAX_DOCUMENT_CHARS:,} characters of comment": long_comment,
        "30 aliased small lists": nested_fields,
        "standard introspection query": get_introspection_query(),
    }


def schema_rules() -> tuple[type, ...]:
    return (document_limits(),)


def _timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = action()
    return (time.perf_counter() - started) * 1000, value


def measure_all(repeat: int = 3) -> list[Figure]:
    schema = build_schema()
    graphql_schema = schema._schema
    rules = (*specified_rules, *schema_rules())
    figures: list[Figure] = []
    for name, query in _documents().items():
        best = float("inf")
        outcome = ""
        for _ in range(repeat):
            # A fresh parse every time: the cache would hide the work for short documents.
            from service.schema import guards

            guards._documents.entries.clear()
            guards._documents.used = 0

            def run(query: str = query) -> str:
                try:
                    prepared = prepare(
                        graphql_schema, query, None, None,
                        allowed=(OperationType.QUERY,), transport="post",
                    )  # fmt: skip
                except RequestRefused as refused:
                    rule = getattr(refused.errors[0].original_error, "rule", "?")
                    return f"refused ({rule})"
                errors = validate_document(graphql_schema, prepared.document, rules)
                return f"validated, {len(errors)} errors"

            elapsed, value = _timed(run)
            best = min(best, elapsed)
            outcome = str(value)
        figures.append(Figure(name, len(query), outcome, best))
    _ = parse_document
    return figures


def report(figures: list[Figure]) -> str:
    lines = [f"{'document':<40} {'chars':>8}  {'ms':>8}  outcome"]
    for f in figures:
        lines.append(f"{f.name:<40} {f.chars:>8}  {f.milliseconds:>8.1f}  {f.outcome}")
    worst = max(figures, key=lambda f: f.milliseconds)
    lines.append(f"worst: {worst.name}: {worst.milliseconds:.1f} ms on the event loop")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(measure_all()))
