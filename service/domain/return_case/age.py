"""A client's age on a date, from the date of birth or, when only that is known, the birth year.

The case's state holds the birth year but never the date of birth (personal data, encrypted per
client), so decisions use ``possibly_minor_on``: with only the year known, a client counts as a
minor on a day when some date of birth in that year would make them younger than 18 on it. For
a vulnerable client this errs on the side of the protection a minor gets.
"""

from __future__ import annotations

from datetime import date

__all__ = ["ADULT_AGE", "age_on", "age_range_on", "possibly_minor_on"]

ADULT_AGE = 18


def age_on(date_of_birth: date, day: date) -> int:
    """Completed years on ``day`` (someone born on 29 February turns a year older on 1 March)."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - (1 if before_birthday else 0)


def age_range_on(birth_year: int, day: date) -> tuple[int, int]:
    """The youngest and the oldest age on ``day`` of someone born in ``birth_year``."""
    youngest = age_on(date(birth_year, 12, 31), day)
    oldest = age_on(date(birth_year, 1, 1), day)
    return youngest, oldest


def possibly_minor_on(birth_year: int, day: date) -> bool:
    """Whether someone born in ``birth_year`` may be under 18 on ``day``."""
    return age_range_on(birth_year, day)[0] < ADULT_AGE
