"""Accent- and case-insensitive text search without database extensions.

The embedded PostgreSQL has no ``unaccent`` or ``pg_trgm``, so text is normalised here, in
Python, both when an organisation is written (into its ``search_text`` column) and when a query
arrives. The database then only compares plain words: ``to_tsvector('simple', search_text)``
against a prefix ``tsquery`` built from the normalised query words.

Normalising: letters that Unicode does not decompose are folded by hand (ø -> o, æ -> ae,
ł -> l, đ -> d, ß -> ss, ...), then NFKD splits the rest into base letter and combining marks
(ë -> e + diaeresis), the marks are dropped, the text is case-folded, and everything that is not
a letter or digit separates words. So "São Tomé" and "Sao Tome" are both ``sao tome`` and
"Roemenië" is ``roemenie``. Letters of other scripts (Cyrillic, Arabic, ...) stay as they are.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from service.socialmap.countries import names_of

__all__ = ["MAX_QUERY_LENGTH", "normalise", "prefix_query", "search_text"]

MAX_QUERY_LENGTH = 200

_FOLD = str.maketrans(
    {
        "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ł": "l", "Ł": "L",
        "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ı": "i", "ß": "ss",
        "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T",
    }
)  # fmt: skip
_WORD = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    """``text`` as lower-case words without accents, separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_WORD.findall(bare.casefold()))


def search_text(
    name: str, city: str | None, region: str | None, country: str, extra: Iterable[str] = ()
) -> str:
    """What a text search looks in: the names of the organisation, its place and its country.

    The country's English and Dutch names (and common aliases) are included, so searching for a
    country's name finds the organisations in it.
    """
    parts = [name, city or "", region or "", *extra]
    names = names_of(country)
    if names is not None:
        parts.extend(names.all())
    return normalise(" ".join(parts))


def prefix_query(query: str) -> str | None:
    """A ``tsquery`` in which every word of ``query`` must start a word of the text.

    Words are letters and digits only, so the result never holds tsquery operators from the
    caller. ``None`` when the query has no words at all.
    """
    words = normalise(query).split()
    if not words:
        return None
    return " & ".join(f"{w}:*" for w in dict.fromkeys(words))
