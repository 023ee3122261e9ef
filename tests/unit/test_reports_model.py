"""The report row of a case: the figures reports need, and no personal data."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events.types import Metadata, RecordedEvent
from service.reports.model import AgeGroup, age_group, report_row
from service.reports.periods import InvalidPeriod, parse_period

TENANT = uuid.uuid4()
META = Metadata(actor="u", organisation="moviera", role="caseworker", request_id="r",
                correlation_id="r")  # fmt: skip
NOW = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)


def stream(commands: list[Any]) -> list[RecordedEvent]:
    state = None
    out: list[RecordedEvent] = []
    for command in commands:
        for event in rc.decide(state, command):
            state = rc.evolve(state, event)
            n = len(out) + 1
            out.append(RecordedEvent(n, TENANT, command.case_id, "ReturnCase", n,
                                     event.event_type, 1, event, META, NOW, NOW, 1))  # fmt: skip
    return out


def test_a_returned_case_has_its_indicators_and_no_personal_data() -> None:
    c = uuid.uuid4()
    org, day = uuid.uuid4(), dt.date
    events = stream([
        rc.OpenReturnCase(c, day(2031, 3, 10), "Secret Pseudonym", v.Gender.FEMALE, 2014, "RO",
                          "RO", ("ro",), (v.ExploitationForm.SERVITUDE,
                                          v.ExploitationForm.FORCED_BEGGING),
                          full_name="Secret Name", date_of_birth=day(2014, 5, 1),
                          notes="secret notes"),
        rc.RecordReturnConversation(c, day(2031, 3, 20), v.ReturnWish.WANTS_TO_RETURN,
                                    notes="secret"),
        rc.GiveConsent(c, org, "RO", v.ConsentPurpose.REFERRAL, day(2031, 3, 21)),
        rc.ContactPartnerOrganisation(c, uuid.uuid4(), org, "RO", v.ConsentPurpose.REFERRAL,
                                      day(2031, 3, 22), True, notes="secret"),
        rc.ArrangeReturnSupport(c, v.ReturnSupportKind.IOM_BASIC, day(2031, 3, 25)),
        rc.AssessRisk(c, day(2031, 3, 23), v.RiskLevel.LOW),
        rc.RecordTravelDocument(c, v.TravelDocumentStatus.OWN_VALID, day(2031, 3, 24), False),
        rc.RecordArrivalArrangement(c, day(2031, 3, 24), "RO", "Iasi", v.ArrivalReceiver.FAMILY),
        rc.RecordGuardian(c, day(2031, 3, 11), "Nidos"),
        rc.RecordBestInterestsAssessment(c, day(2031, 3, 26), True),
        rc.RecordFamilyAssessment(c, day(2031, 3, 26), v.FamilyAssessmentOutcome.SAFE),
        rc.RecordDeparture(c, day(2031, 4, 9), v.DepartureMode.ASSISTED, "RO"),
        rc.AgreeReintegrationPlan(c, day(2031, 4, 20), org, (v.PlanDomain.HOUSING,), (None,),
                                  (None,), (day(2031, 6, 1),), ("secret goal",)),
        rc.RecordFollowUp(c, day(2031, 7, 12), True, v.ClientSituation.STABLE),
        rc.RecordFollowUp(c, day(2031, 10, 1), False),
        rc.CloseReturnCase(c, v.ClosingReason.RETURNED, day(2032, 4, 20)),
    ])  # fmt: skip
    row = report_row(events)
    assert row == {
        "tenant_id": TENANT,
        "case_id": c,
        "intake_month": day(2031, 3, 1),
        "phase": "CLOSED",
        "gender": "FEMALE",
        "age_group": "MINOR",
        "nationality": "RO",
        "country_of_origin": "RO",
        "exploitation_forms": ["FORCED_BEGGING", "SERVITUDE"],
        "departure_mode": "ASSISTED",
        "closing_reason": "RETURNED",
        "departure_month": day(2031, 4, 1),
        "days_to_first_conversation": 10,
        "days_to_departure": 30,
        "has_partner_contact": True,
        "consent_before_partner_contact": True,
        "partner_contacted_before_departure": True,
        "follow_up_3_months": True,
        "follow_up_6_months": False,
        "follow_up_12_months": False,
        "emergency_departure": False,
        "plan_agreed_within_month": True,
    }
    text = repr(row)
    assert "ecret" not in text
    assert "2014" not in text


def test_an_open_case_without_forms_or_contacts() -> None:
    c = uuid.uuid4()
    row = report_row(stream([
        rc.OpenReturnCase(c, dt.date(2031, 1, 31), "P", v.Gender.MALE, None, "NG", "NG", ("en",),
                          ()),
        rc.UpdateClientProfile(c, "P", v.Gender.MALE, 2008, "NG", "GH", ("en",), ()),
    ]))  # fmt: skip
    assert row["exploitation_forms"] == ["NONE_RECORDED"]
    assert (row["phase"], row["age_group"], row["country_of_origin"]) == ("INTAKE", "23+", "GH")
    assert (row["departure_mode"], row["closing_reason"]) == ("NOT_DEPARTED", "NOT_CLOSED")
    assert (row["has_partner_contact"], row["consent_before_partner_contact"]) == (False, False)
    assert (row["days_to_first_conversation"], row["departure_month"]) == (None, None)


def test_age_groups_follow_the_birth_year_at_intake() -> None:
    intake = dt.date(2031, 6, 1)
    assert [age_group(y, intake) for y in (2014, 2013, 2009, 2008, 2007, 1990, None)] == [
        AgeGroup.MINOR, AgeGroup.AGE_18_22, AgeGroup.AGE_18_22, AgeGroup.AGE_23_AND_OVER,
        AgeGroup.AGE_23_AND_OVER, AgeGroup.AGE_23_AND_OVER, AgeGroup.UNKNOWN,
    ]  # fmt: skip


def test_periods_are_fixed_calendar_periods_or_ranges_of_them() -> None:
    assert parse_period(year=2031).label == "2031"
    assert parse_period(quarter="2031-Q3").pieces[0].first == dt.date(2031, 7, 1)
    assert parse_period(from_month="2031-01", to_month="2031-12").label == "2031"
    assert parse_period(from_month="2031-02", to_month="2031-05").label == "2031-02..2031-05"
    for bad in ({}, {"year": 2031, "month": "2031-01"}, {"month": "2031-13"},
                {"quarter": "2031-Q5"}, {"from_month": "2031-05"},
                {"from_month": "2031-05", "to_month": "2031-04"}):  # fmt: skip
        try:
            parse_period(**bad)  # type: ignore[arg-type]
        except InvalidPeriod:
            continue
        raise AssertionError(bad)
