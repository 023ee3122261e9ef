"""Validation, canonical form and diffs of organisations; the seed data obeys the same rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from service.socialmap import flowchart, model, seed
from service.socialmap.model import ContactChannel, OrganisationData
from service.socialmap.vocabulary import (
    ContactChannelKind,
    OrganisationKind,
    ReturnSupportLevel,
    Service,
    TargetGroup,
)

TODAY = dt.date(2026, 11, 29)
VALID: dict[str, Any] = {"name": "Lagos Aid", "kind": "NGO", "country": "NG"}


def problems(**fields: Any) -> list[tuple[str, str]]:
    data, found = model.validate({**VALID, **fields}, TODAY)
    assert (data is None) == bool(found)
    return [(p.field, p.rule) for p in found]


def test_valid_input_becomes_canonical_data() -> None:
    data, found = model.validate(
        {
            "name": "  Lagos Aid  ",
            "kind": "ngo",
            "country": "ng",
            "city": "  ",
            "services": ["SHELTER", Service.RETURN_COUNSELLING, "shelter"],
            "target_groups": "women; minors",
            "languages": ["YO", "en", "en"],
            "contact_channels": [
                {"kind": "EMAIL", "value": " info@lagos.example.org ", "label": "intake"},
                ContactChannel(ContactChannelKind.PHONE, "+234 1 000 0000"),
                {"kind": "email", "value": "info@lagos.example.org", "label": "intake"},
            ],
            "last_verified_on": "2026-11-29",
        },
        TODAY,
    )
    assert found == []
    assert data == OrganisationData(
        name="Lagos Aid",
        kind=OrganisationKind.NGO,
        country="NG",
        city=None,
        services=(Service.RETURN_COUNSELLING, Service.SHELTER),
        target_groups=(TargetGroup.WOMEN, TargetGroup.MINORS),
        languages=("en", "yo"),
        contact_channels=(
            ContactChannel(ContactChannelKind.EMAIL, "info@lagos.example.org", "intake"),
            ContactChannel(ContactChannelKind.PHONE, "+234 1 000 0000"),
        ),
        last_verified_on=dt.date(2026, 11, 29),
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": None}, [("name", "REQUIRED")]),
        ({"name": " "}, [("name", "REQUIRED")]),
        ({"name": "x" * 301}, [("name", "TOO_LONG")]),
        ({"name": 7}, [("name", "INVALID_VALUE")]),
        ({"name": "-- ? --"}, [("name", "INVALID_NAME")]),
        ({"kind": ""}, [("kind", "REQUIRED")]),
        ({"kind": "CHARITY"}, [("kind", "UNKNOWN_KIND")]),
        ({"country": "XX"}, [("country", "INVALID_COUNTRY_CODE")]),
        ({"country": "NLD"}, [("country", "TOO_LONG")]),
        ({"country": None}, [("country", "REQUIRED")]),
        ({"services": ["TELEPATHY"]}, [("services", "UNKNOWN_SERVICE")]),
        ({"services": 5}, [("services", "INVALID_VALUE")]),
        ({"services": ["SHELTER"] * 51}, [("services", "TOO_LONG")]),
        ({"target_groups": ["ALIENS"]}, [("target_groups", "UNKNOWN_TARGET_GROUP")]),
        ({"languages": ["eng"]}, [("languages", "INVALID_LANGUAGE_CODE")]),
        ({"languages": [3]}, [("languages", "INVALID_LANGUAGE_CODE")]),
        ({"city": "a\x00b"}, [("city", "NUL_CHARACTER")]),
        ({"city": "a\ud800b"}, [("city", "INVALID_CHARACTER")]),
        ({"last_verified_on": "2026-11-30"}, [("last_verified_on", "DATE_IN_FUTURE")]),
        ({"last_verified_on": "29-11-2026"}, [("last_verified_on", "INVALID_DATE")]),
        ({"return_support": "SOMETIMES"}, [("return_support", "UNKNOWN_RETURN_SUPPORT")]),
        (
            {"return_support": "HANDS_ON_GUIDANCE"},
            [("return_support", "RETURN_SUPPORT_OUTSIDE_NL")],
        ),
        (
            {"country": "XX", "kind": "?", "languages": ["??"]},
            [
                ("kind", "UNKNOWN_KIND"),
                ("country", "INVALID_COUNTRY_CODE"),
                ("languages", "INVALID_LANGUAGE_CODE"),
            ],
        ),
    ],
)
def test_every_problem_is_named_by_field_and_rule(
    fields: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert problems(**fields) == expected


@pytest.mark.parametrize(
    ("kind", "value", "rule"),
    [
        ("EMAIL", "plain", "INVALID_EMAIL"),
        ("EMAIL", "a@b", "INVALID_EMAIL"),
        ("EMAIL", "a b@c.org", "INVALID_EMAIL"),
        ("EMAIL", "a@@c.org", "INVALID_EMAIL"),
        ("WEBSITE", "www.example.org", "INVALID_URL"),
        ("WEBSITE", "ftp://example.org", "INVALID_URL"),
        ("WEBSITE", "https://", "INVALID_URL"),
        ("WEBSITE", "javascript:alert(1)", "INVALID_URL"),
        ("WEBSITE", "http://[::1", "INVALID_URL"),
        ("WEBSITE", "http://example.org:port", "INVALID_URL"),
        ("PHONE", "call me", "INVALID_PHONE"),
        ("PHONE", "12", "INVALID_PHONE"),
        ("ADDRESS", "  ", "REQUIRED"),
        ("FAX", "123", "INVALID_CONTACT_KIND"),
    ],
)
def test_contact_channels_need_the_shape_of_their_kind(kind: str, value: str, rule: str) -> None:
    assert problems(contact_channels=[{"kind": kind, "value": value}]) == [
        ("contact_channels", rule)
    ]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("EMAIL", "first.last+tag@sub.example.org"),
        ("WEBSITE", "https://example.org/path?q=1"),
        ("WEBSITE", "http://example.org"),
        ("PHONE", "+31 (0)20 123-4567"),
        ("ADDRESS", "Main Street 1, 1000 AA Town"),
    ],
)
def test_well_formed_contact_channels_pass(kind: str, value: str) -> None:
    assert problems(contact_channels=[{"kind": kind, "value": value}]) == []


def test_return_support_is_for_dutch_organisations() -> None:
    assert problems(country="NL", return_support="GENERAL_INFORMATION") == []
    data, _ = model.validate({**VALID, "country": "NL", "return_support": "  "}, TODAY)
    assert data is not None
    assert data.return_support is None


def test_diff_names_only_what_changed_as_json() -> None:
    before, _ = model.validate({**VALID, "services": ["SHELTER"], "city": "Lagos"}, TODAY)
    after, _ = model.validate(
        {
            **VALID,
            "services": ["SHELTER", "LEGAL_AID"],
            "city": "Lagos",
            "last_verified_on": dt.date(2026, 1, 2),
        },
        TODAY,
    )
    assert before is not None
    assert after is not None
    assert model.diff(before, after) == {
        "services": {"from": ["SHELTER"], "to": ["SHELTER", "LEGAL_AID"]},
        "last_verified_on": {"from": None, "to": "2026-01-02"},
    }
    assert model.diff(after, after) == {}
    created = model.diff(None, after)
    assert set(created) == set(model.FIELDS)
    assert all(change["from"] is None for change in created.values())


def test_stored_json_round_trips() -> None:
    data, _ = model.validate(
        {
            **VALID,
            "services": ["SHELTER"],
            "target_groups": ["ALL"],
            "languages": ["en"],
            "contact_channels": [{"kind": "WEBSITE", "value": "https://x.example.org"}],
            "last_verified_on": "2026-01-02",
            "source": "visit",
        },
        TODAY,
    )
    assert data is not None
    assert model.from_json(model.to_json(data)) == data


def test_merged_applies_changes_over_current_data() -> None:
    current, _ = model.validate({**VALID, "city": "Lagos", "languages": ["en"]}, TODAY)
    assert current is not None
    merged = model.merged(current, {"city": None, "region": "Lagos State", "bogus": 1})
    data, found = model.validate(merged, TODAY)
    assert found == []
    assert data == dataclasses.replace(current, city=None, region="Lagos State")


SEEDS = {**seed.REAL_ORGANISATIONS, **seed.DEMO_ORGANISATIONS}


@pytest.mark.parametrize("key", SEEDS)
def test_seed_data_passes_validation_unchanged(key: str) -> None:
    data = SEEDS[key]
    raw = {name: getattr(data, name) for name in model.FIELDS}
    assert model.validate(raw, TODAY) == (data, [])


def test_real_seed_holds_no_invented_contact_details() -> None:
    for data in seed.REAL_ORGANISATIONS.values():
        assert data.contact_channels == ()
        assert data.source == seed.PUBLIC_SOURCE
    returns = {k: d.return_support for k, d in seed.REAL_ORGANISATIONS.items() if d.return_support}
    assert returns == {
        "dtv": ReturnSupportLevel.HANDS_ON_GUIDANCE,
        "iom-nl": ReturnSupportLevel.HANDS_ON_GUIDANCE,
    }


def test_demo_data_is_labelled_and_loaded_only_on_request() -> None:
    for data in seed.DEMO_ORGANISATIONS.values():
        assert data.name.endswith("(demo)")
        assert all(
            c.value.split("@")[-1].rstrip("/").endswith("example.org")
            for c in data.contact_channels
        )
    without = list(seed.statements(demo=False))
    with_demo = list(seed.statements(demo=True))
    assert all(not p.get("demo") for _, _, p in without)
    demo_rows = [p for kind, _, p in with_demo if kind == "demo"]
    assert len(demo_rows) == len(seed.DEMO_ORGANISATIONS)
    assert all(p["demo"] is True for p in demo_rows)
    assert {d.country for d in seed.DEMO_ORGANISATIONS.values()} >= {
        "NG",
        "RO",
        "BG",
        "UA",
        "VN",
        "BR",
        "ST",
        "UG",
    }


def test_seed_ids_are_stable_and_names_unique_per_country() -> None:
    assert seed.organisation_id("comensha") == seed.organisation_id("comensha")
    keys = [(d.country, model.name_key(d.name)) for d in SEEDS.values()]
    assert len(keys) == len(set(keys))


def test_seed_mechanisms_are_valid_flowcharts_whose_steps_name_their_sources() -> None:
    assert set(seed.REFERRAL_MECHANISMS) == {"NL", "BE", "HU", "LU"}
    for mechanism in seed.REFERRAL_MECHANISMS.values():
        graph, problems = flowchart.validate(
            flowchart.to_json(mechanism.graph), dt.date(2026, 12, 4)
        )
        assert problems == []
        assert graph == mechanism.graph
        for step in mechanism.graph.steps:
            assert step.title_en
            assert step.title_nl
            assert step.responsible_body
            assert step.description_en
            assert step.description_nl
            assert step.source.document
        linked = {s.responsible_organisation_id for s in mechanism.graph.steps} - {None}
        assert linked <= set(map(seed.organisation_id, seed.REAL_ORGANISATIONS))
