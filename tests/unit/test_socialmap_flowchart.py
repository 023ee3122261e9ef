"""Referral mechanisms as flowcharts: validation and the route that applies to a client."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from service.domain.vocabulary import ExploitationForm
from service.socialmap import flowchart, model, seed
from service.socialmap.flowchart import ClientFacts

TODAY = dt.date(2026, 12, 4)
SOURCE = {"document": "A public handbook", "published": "2016", "consulted_on": "2026-11-29"}


def step(key: str, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "title_en": f"Step {key}",
        "description_en": "What happens.",
        "responsible_body": "Somebody",
        "source": SOURCE,
        **extra,
    }


def graph(steps: list[str], edges: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    return {
        "start": steps[0],
        "steps": [step(k) for k in steps],
        "edges": [{"source": a, "target": b, "condition": c} for a, b, c in edges],
    }


def rules(raw: dict[str, Any]) -> list[str]:
    _, problems = flowchart.validate(raw, TODAY)
    return [p.rule for p in problems]


def keys(route: list[flowchart.Step]) -> list[str]:
    return [s.key for s in route]


NL = seed.REFERRAL_MECHANISMS["NL"].graph


def test_a_minor_in_the_netherlands_follows_the_guardianship_route() -> None:
    route = keys(flowchart.route(NL, ClientFacts(minor=True, eu_citizen=False)))
    assert route == ["signal", "registration", "minor-guardianship", "minor-return"]


def test_a_minor_who_cooperates_gets_the_permit_and_still_the_minors_return() -> None:
    facts = ClientFacts(minor=True, eu_citizen=False, cooperates_with_police=True)
    route = keys(flowchart.route(NL, facts))
    assert route == [
        "signal", "registration", "minor-guardianship", "residence-permit", "minor-return",
    ]  # fmt: skip


def test_an_adult_third_country_national_gets_the_reflection_period() -> None:
    route = keys(flowchart.route(NL, ClientFacts(minor=False, eu_citizen=False)))
    assert route == ["signal", "registration", "reflection-period", "shelter-and-care", "return"]


def test_an_adult_eu_citizen_skips_the_reflection_period() -> None:
    route = keys(flowchart.route(NL, ClientFacts(minor=False, eu_citizen=True)))
    assert route == ["signal", "registration", "shelter-and-care", "return"]


def test_a_route_never_assumes_a_fact_that_was_not_given() -> None:
    assert keys(flowchart.route(NL, ClientFacts())) == ["signal", "registration"]


def test_the_most_specific_matching_edge_wins() -> None:
    raw = graph(
        ["a", "any", "labour"],
        [
            ("a", "any", {}),
            ("a", "labour", {"exploitation_forms": ["FORCED_LABOUR"]}),
        ],
    )
    parsed, problems = flowchart.validate(raw, TODAY)
    assert problems == []
    assert parsed is not None
    labour = ClientFacts(exploitation_form=ExploitationForm.FORCED_LABOUR)
    assert keys(flowchart.route(parsed, labour)) == ["a", "labour"]
    sexual = ClientFacts(exploitation_form=ExploitationForm.SEXUAL_EXPLOITATION)
    assert keys(flowchart.route(parsed, sexual)) == ["a", "any"]


def test_a_flowchart_that_loops_is_refused() -> None:
    loop = [("a", "b", {}), ("b", "c", {}), ("c", "b", {})]
    assert "CYCLE" in rules(graph(["a", "b", "c"], loop))


def test_an_edge_to_an_unknown_step_is_refused() -> None:
    assert rules(graph(["a", "b"], [("a", "b", {}), ("b", "x", {})])) == ["UNKNOWN_STEP"]


def test_a_step_nobody_reaches_is_refused() -> None:
    assert rules(graph(["a", "b", "c"], [("a", "b", {})])) == ["UNREACHABLE_STEP"]


def test_duplicate_step_keys_are_refused() -> None:
    assert "DUPLICATE_STEP_KEY" in rules(graph(["a", "a"], []))


def test_every_step_names_its_source_and_every_problem_is_listed() -> None:
    raw = graph(["a", "b"], [("a", "b", {"minor": "yes"})])
    del raw["steps"][0]["source"]
    raw["steps"][1]["source"] = {**SOURCE, "consulted_on": "2027-01-01"}
    assert rules(raw) == ["REQUIRED", "DATE_IN_FUTURE", "INVALID_VALUE"]


def test_a_stored_flowchart_reads_back_equal() -> None:
    for mechanism in seed.REFERRAL_MECHANISMS.values():
        assert flowchart.from_json(flowchart.to_json(mechanism.graph)) == mechanism.graph


optional_bool = st.none() | st.booleans()
facts = st.builds(
    ClientFacts,
    minor=optional_bool,
    eu_citizen=optional_bool,
    exploitation_form=st.none() | st.sampled_from(list(ExploitationForm)),
    cooperates_with_police=optional_bool,
)


@given(facts=facts, country=st.sampled_from(sorted(seed.REFERRAL_MECHANISMS)))
def test_every_route_walks_arrows_that_hold_and_stops_where_none_does(
    facts: ClientFacts, country: str
) -> None:
    chart = seed.REFERRAL_MECHANISMS[country].graph
    route = keys(flowchart.route(chart, facts))
    assert route[0] == chart.start
    assert len(route) == len(set(route))  # never visits a step twice
    for here, there in itertools.pairwise(route):
        assert any(e.source == here and e.target == there for e in chart.edges)
    last = route[-1]
    assert not [e for e in chart.edges if e.source == last and flowchart._holds(e.condition, facts)]


def test_coordinates_come_both_or_neither_and_within_range() -> None:
    base = {"name": "Somewhere", "kind": "NGO", "country": "NG"}
    _, problems = model.validate({**base, "latitude": 6.5}, TODAY)
    assert [p.rule for p in problems] == ["INCOMPLETE_COORDINATES"]
    _, problems = model.validate({**base, "latitude": 91, "longitude": 3.4}, TODAY)
    assert [p.rule for p in problems] == ["COORDINATE_OUT_OF_RANGE"]
    _, problems = model.validate({**base, "latitude": "nan", "longitude": 3.4}, TODAY)
    assert [p.rule for p in problems] == ["COORDINATE_OUT_OF_RANGE"]
    data, problems = model.validate({**base, "latitude": "6.4550001", "longitude": 3.39}, TODAY)
    assert problems == []
    assert data is not None
    assert (data.latitude, data.longitude) == (6.455, 3.39)


def test_an_entry_is_stale_when_not_verified_within_the_months() -> None:
    assert model.is_stale(None, TODAY, 12)
    assert model.is_stale(dt.date(2025, 12, 3), TODAY, 12)
    assert not model.is_stale(dt.date(2025, 12, 4), TODAY, 12)
    assert model.stale_cutoff(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
