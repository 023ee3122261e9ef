"""Reports count a follow-up milestone when its contact was done on time, by anyone reached."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events.types import Metadata, RecordedEvent
from service.reports.model import report_row

TENANT = uuid.uuid4()
META = Metadata(
    actor="u", organisation="moviera", role="caseworker", request_id="r", correlation_id="r"
)
NOW = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
DEPARTED = dt.date(2031, 2, 1)
CASE = uuid.uuid4()


def follow_up(on: dt.date, parties: tuple[v.ReachedParty, ...]) -> rc.FollowUpRecorded:
    return rc.FollowUpRecorded(
        case_id=CASE,
        contacted_on=on,
        reached=bool(parties),
        situation=v.ClientSituation.STABLE if parties else None,
        notes=None,
        months_after_departure=0,
        reached_parties=parties,
        domains_stable=(),
        domains_vulnerable=(),
        domains_at_risk=(),
        danger_signs=(),
        escalation_needed=False,
    )


def row_after(*follow_ups: rc.FollowUpRecorded) -> dict[str, object]:
    events: list[rc.Event] = [
        rc.ReturnCaseOpened(
            case_id=CASE,
            intake_date=dt.date(2031, 1, 5),
            pseudonym="P",
            gender=v.Gender.MALE,
            birth_year=1990,
            nationality="AL",
            country_of_origin="AL",
            languages=("sq",),
            exploitation_forms=(),
            full_name=None,
            date_of_birth=None,
            notes=None,
        ),
        rc.DepartureRecorded(
            case_id=CASE,
            departed_on=DEPARTED,
            mode=v.DepartureMode.FORCED,
            destination_country="AL",
        ),
        *follow_ups,
    ]
    recorded = [
        RecordedEvent(
            n, TENANT, CASE, "ReturnCase", n, e.event_type, e.schema_version, e, META, NOW, NOW, 1
        )
        for n, e in enumerate(events, start=1)
    ]
    row = report_row(recorded)
    return {m: row[f"follow_up_{m}_months"] for m in (3, 6, 12)}


def test_a_contact_reaching_family_within_the_window_counts_as_on_time() -> None:
    assert row_after(follow_up(dt.date(2031, 5, 20), (v.ReachedParty.FAMILY,))) == {
        3: True,
        6: False,
        12: False,
    }


@pytest.mark.parametrize(
    ("on", "parties"),
    [
        (dt.date(2031, 5, 2), ()),  # nobody reached
        (dt.date(2031, 6, 2), (v.ReachedParty.CLIENT,)),  # 32 days after the due date
        (dt.date(2031, 3, 30), (v.ReachedParty.CLIENT,)),  # before the window opened
    ],
)
def test_a_contact_not_reaching_anyone_or_outside_the_window_does_not_count(
    on: dt.date, parties: tuple[v.ReachedParty, ...]
) -> None:
    assert row_after(follow_up(on, parties))[3] is False


def test_a_forced_return_counts_its_milestones_like_any_other() -> None:
    reached = (v.ReachedParty.PARTNER_ORGANISATION,)

    assert row_after(
        follow_up(dt.date(2031, 5, 1), reached),
        follow_up(dt.date(2031, 8, 15), reached),
        follow_up(dt.date(2032, 2, 20), reached),
    ) == {3: True, 6: True, 12: True}
