"""A case state copied by ``replacer`` is the state ``dataclasses.replace`` makes."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain.records import fills_slots, replacer
from service.domain.return_case import ReturnCase
from service.domain.return_case.state import Consent
from service.domain.vocabulary import ConsentPurpose
from tests.unit.test_return_case_properties import histories, run

FIELDS = [f.name for f in dataclasses.fields(ReturnCase)]
replace_case = replacer(ReturnCase)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60)
@given(histories, histories, st.sets(st.sampled_from(FIELDS)))
def test_a_replaced_state_equals_what_dataclasses_replace_makes(
    first: list[Any], second: list[Any], changed: set[str]
) -> None:
    old, other = run(first).state, run(second).state
    if old is None or other is None:
        return
    changes = {name: getattr(other, name) for name in changed}
    fast = replace_case(old, **changes)
    slow = dataclasses.replace(old, **changes)
    assert type(fast) is ReturnCase
    assert fast == slow
    assert hash(fast) == hash(slow)
    for name in FIELDS:
        assert getattr(fast, name) is getattr(slow, name), name
    assert fast is not old
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.version = 0  # type: ignore[misc]


def test_an_unknown_field_or_another_class_is_refused() -> None:
    state = ReturnCase(case_id=uuid.uuid4(), intake_date=date(2026, 1, 1), version=1)
    with pytest.raises(TypeError):
        replace_case(state, no_such_field=1)
    consent = Consent(
        organisation_id=uuid.uuid4(), organisation_country="NG",
        purpose=ConsentPurpose.REINTEGRATION_SUPPORT, given_on=date(2026, 1, 2), outside_eea=True,
    )  # fmt: skip
    with pytest.raises(TypeError):
        replace_case(consent, version=2)


def test_a_class_that_checks_itself_is_copied_through_its_init() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        low: int
        high: int

        def __post_init__(self) -> None:
            if self.low > self.high:
                raise ValueError("low above high")

    replace_checked = replacer(Checked)
    assert replace_checked(Checked(1, 5), low=3) == Checked(3, 5)
    with pytest.raises(ValueError, match="low above high"):
        replace_checked(Checked(1, 5), low=9)


def test_a_class_with_an_init_of_its_own_is_copied_through_it() -> None:
    @dataclasses.dataclass(frozen=True, slots=True, init=False)
    class Normalised:
        value: int

        def __init__(self, value: int) -> None:
            object.__setattr__(self, "value", abs(value))

    assert replacer(Normalised)(Normalised(1), value=-3).value == 3


def test_case_states_are_copied_slot_by_slot() -> None:
    assert fills_slots(ReturnCase)
