"""ISO code sets used to validate countries and languages."""

from __future__ import annotations

import pytest

from service.domain.codes import (
    COUNTRY_CODES,
    EU_EEA_COUNTRIES,
    EU_MEMBER_STATES,
    EU_TERRITORIES_WITH_OWN_CODE,
    LANGUAGE_CODES,
    is_country,
    is_language,
)


def test_country_codes_are_the_assigned_iso_3166_alpha_2_codes() -> None:
    assert len(COUNTRY_CODES) == 249
    assert all(len(code) == 2 and code.isupper() for code in COUNTRY_CODES)


def test_language_codes_are_the_iso_639_1_codes() -> None:
    assert 183 <= len(LANGUAGE_CODES) <= 184
    assert all(len(code) == 2 and code.islower() for code in LANGUAGE_CODES)


def test_eu_eea_is_the_eu_territory_plus_iceland_liechtenstein_norway() -> None:
    assert len(EU_MEMBER_STATES) == 27
    assert EU_MEMBER_STATES <= EU_EEA_COUNTRIES
    non_member_codes = EU_EEA_COUNTRIES - EU_MEMBER_STATES
    assert non_member_codes == {"IS", "LI", "NO"} | EU_TERRITORIES_WITH_OWN_CODE
    assert EU_EEA_COUNTRIES <= COUNTRY_CODES
    assert {"GB", "CH", "UA", "NG"}.isdisjoint(EU_EEA_COUNTRIES)


@pytest.mark.parametrize("code", ["RE", "GF", "GP", "MQ", "YT", "MF", "AX"])
def test_outermost_regions_and_aland_are_inside_the_eea(code: str) -> None:
    assert code in EU_EEA_COUNTRIES


@pytest.mark.parametrize("code", ["GL", "NC", "PF", "AW", "CW", "SX", "BL", "PM", "FO", "SJ", "GI"])
def test_overseas_countries_and_territories_are_outside_the_eea(code: str) -> None:
    assert code not in EU_EEA_COUNTRIES


@pytest.mark.parametrize(
    ("code", "expected"),
    [("NL", True), ("NG", True), ("SS", True), ("nl", False), ("XK", False), ("NLD", False)],
)
def test_is_country(code: str, expected: bool) -> None:
    assert is_country(code) is expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [("nl", True), ("ti", True), ("yo", True), ("NL", False), ("eng", False), ("", False)],
)
def test_is_language(code: str, expected: bool) -> None:
    assert is_language(code) is expected
