"""Text that PostgreSQL cannot store, refused at the edges as bad input."""

from __future__ import annotations

import re
from typing import Any

# A UTF-16 surrogate on its own: not a character, and refused by PostgreSQL's UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable(text: str) -> bool:
    """Text PostgreSQL cannot store: NUL, or UTF-16 surrogates that are not characters."""
    return unstorable_rule(text) is not None


def unstorable_rule(text: str) -> str | None:
    """``NUL_CHARACTER`` or ``INVALID_CHARACTER`` when ``text`` cannot be stored."""
    if "\x00" in text:
        return "NUL_CHARACTER"
    if not text.isascii() and _SURROGATE.search(text) is not None:
        return "INVALID_CHARACTER"
    return None


def find_unstorable(value: Any) -> tuple[str, str | None] | None:
    """The rule broken by the first unstorable string in a decoded JSON value, and the name
    of the field holding it (``None`` at the top level or inside a bare list)."""
    stack: list[tuple[Any, str | None]] = [(value, None)]
    while stack:
        item, field = stack.pop()
        if isinstance(item, str):
            rule = unstorable_rule(item)
            if rule is not None:
                return rule, field
        elif isinstance(item, dict):
            for key, inner in item.items():
                stack.append((key, field))
                stack.append((inner, key if isinstance(key, str) else field))
        elif isinstance(item, list):
            stack.extend((inner, field) for inner in item)
    return None
