"""Error messages of GraphQL itself, without the values the caller sent.

graphql-core explains a malformed request by quoting it: "Variable '$input' has invalid value
at .dateOfBirth: Value cannot represent a Date: 'Ana Popescu'", "Expected value of type
'OpenReturnCaseInput!', found {'fullName': ...}". Those values can be personal data (a name
typed into the wrong field), and error messages end up in frontends' logs and bug reports.
So a message is cut where a value would start; what stays names the variable, the path, the
expected type, and fields that are missing or unknown, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from graphql import GraphQLEnumType, GraphQLSchema

# Where graphql-core (and the scalars' parsers) start to quote what the caller sent.
_VALUE_STARTS = re.compile(
    r"(got invalid value |,? (?i:found):? |cannot represent|\bValue |Invalid |Unexpected )"
)
# Parts after a value that name only the schema: worth keeping.
_VALUE_FREE = re.compile(
    r"Field '\w+' of required type '[\w!\[\]]+' was not provided\.|"
    r"Field '\w+' is not defined by type '\w+'\.|"
    r"Expected type '[\w!\[\]]+' to be an? (?:object|mapping|list)\.|"
    r"Did you mean (?:the enum value )?(?:'\w+'(?:, | or |, or )?)+\?"
)
HIDDEN = "(the value sent is not repeated)"


def without_values(message: str) -> str:
    """``message`` cut before the first quoted value, keeping what names only the schema."""
    start = _VALUE_STARTS.search(message)
    if start is None:
        return message
    kept = message[: start.start()].rstrip(" ,;")
    if start.group(1).strip() == "cannot represent":
        kept += " cannot represent the value sent."
    else:
        kept = f"{kept} {HIDDEN}".strip()
    notes = _VALUE_FREE.findall(message[start.start() :])
    return " ".join([kept, *notes])


# What may stand between quotes in a public message: a name of the schema or of a variable,
# a type reference, a dotted path, or graphql-core's "field { ... }" hint.
_NAME = re.compile(
    r"\$?[_A-Za-z]\w*(?:\.[_A-Za-z]\w*)*|\[*[_A-Za-z]\w*!?\]*!?\]*!?|[_A-Za-z]\w* \{ \.\.\. \}"
)
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _names_only(match: re.Match[str]) -> str:
    inner = match.group(1)
    if inner is not None and _NAME.fullmatch(inner):
        return match.group(0)
    return "'…'"


# graphql-core's two ways of refusing an enum input: a name that is not a value, or not a name.
_ENUM_REFUSED = re.compile(r"does not exist in '(\w+)' enum|Enum '(\w+)' cannot represent")
# An enum's values are listed in full up to this many (every enum of the schema is shorter).
MAX_LISTED_VALUES = 60


def enum_value_names(schema: GraphQLSchema) -> dict[str, tuple[str, ...]]:
    """Every enum type's value names, in the schema's order: what a development error lists."""
    return {
        name: tuple(kind.values)
        for name, kind in schema.type_map.items()
        if isinstance(kind, GraphQLEnumType) and not name.startswith("__")
    }


def _enum_note(
    message: str, kept: str, enum_values: Mapping[str, Sequence[str]], *, list_values: bool
) -> str:
    """What an enum refusal adds to the ``kept`` part of its ``message``: the enum's name
    unless kept already says it, and with ``list_values`` (development) its values; never the
    value sent. Only a name of the schema's enums counts (the value sent could imitate one)."""
    known = [
        name
        for found in _ENUM_REFUSED.finditer(message)
        if (name := found.group(1) or found.group(2)) in enum_values
    ]
    if not known:
        return ""
    name = known[-1]
    note = "" if f"'{name}'" in kept else f"It is not a value of enum '{name}'."
    values = enum_values[name]
    if list_values and values:
        listed = ", ".join(values[:MAX_LISTED_VALUES])
        more = ", …" if len(values) > MAX_LISTED_VALUES else ""
        note = f"{note} Valid values: {listed}{more}.".strip()
    return note


def public_message(
    message: str,
    *,
    suggestions: bool = True,
    enum_values: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """A graphql-core message as a caller may see it.

    Values are cut (``without_values``); then, whatever the message's shape, anything quoted
    that is not a name survives only as ``'…'``, and the message ends before any brace or
    double quote left, so a shape no pattern above knows still cannot carry a value out.
    ``suggestions=False`` (production) drops "Did you mean ...?", which would spell out the
    schema that disabled introspection hides. With ``enum_values`` (``enum_value_names`` of
    the schema) an enum refusal names the enum and, when suggestions are on (development),
    lists its valid values.
    """
    text = _QUOTED.sub(_names_only, without_values(message))
    for stop in ("{", '"', "[{"):
        cut = text.find(stop)
        if cut >= 0:
            text = f"{text[:cut].rstrip(' ,;:')} {HIDDEN}"
    hints = [hint.strip() for hint in _SUGGESTION.findall(text)] if suggestions else []
    text = _SUGGESTION.sub("", text).strip()
    if enum_values is not None:
        hints.insert(0, _enum_note(message, text, enum_values, list_values=suggestions))
    return " ".join([text, *filter(None, hints)])
