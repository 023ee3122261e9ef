"""Properties of departures over random preparations (hypothesis).

A strategy prepares one case with a random history of the facts readiness looks at (wish,
legal position, risk, safety plan and approvals, refused help, travel documents, support,
arrival, consent, plan, guardian and assessments, a planned date, closing), keeping only accepted
events, for a client whose birth year makes them an adult, a minor, or unknown. A departure
is then decided, and:

- ``readiness`` and the command agree for every state: a departure (of any kind) without an
  emergency is accepted exactly when ``readiness`` is ready;
- no independent or assisted departure is accepted unless it is ready, or is an emergency by
  an admin or supervisor;
- a forced departure is accepted only with a departure obligation and refused help or a passed
  departure deadline;
- a client who may be a minor never departs without a guardian, a best-interests assessment
  and a family assessment, emergency or not;
- planning agrees with readiness on the planned day.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.domain.errors import RuleViolation

CASE = UUID(int=7)
PARTNER = UUID(int=8)
INTAKE = date(2026, 1, 1)
POLICY = rc.ReadinessPolicy(risk_assessment_max_age_days=90)

days = st.integers(min_value=0, max_value=200).map(lambda n: INTAKE + timedelta(days=n))
factors = st.lists(st.sampled_from(v.RiskFactor), unique=True, max_size=3).map(tuple)

preparation = st.one_of(
    st.builds(
        rc.RecordReturnConversation, case_id=st.just(CASE), held_on=days,
        wish=st.sampled_from(v.ReturnWish),
    ),
    st.builds(
        rc.RecordLegalPosition, case_id=st.just(CASE), recorded_on=days,
        residence_status=st.sampled_from(v.ResidenceStatus),
        proceedings_stage=st.sampled_from(v.ProceedingsStage),
        departure_deadline=st.none() | days,
    ),
    st.builds(
        rc.AssessRisk, case_id=st.just(CASE), assessed_on=days,
        level=st.sampled_from(v.RiskLevel), factors=factors,
    ),
    factors.flatmap(
        lambda fs: st.builds(
            rc.RecordSafetyPlan, case_id=st.just(CASE), written_on=days, risk_factors=st.just(fs),
            measures=st.just(tuple("measure" for _ in fs)), written_by=st.just("author"),
        )
    ),
    st.builds(
        rc.ApproveSafetyPlan, case_id=st.just(CASE), approved_on=days,
        approved_by=st.sampled_from(["author", "second"]),
    ),
    st.builds(
        rc.RecordReturnHelpRefused, case_id=st.just(CASE), refused_on=days,
        help_offered=st.just((v.ReturnHelp.IOM_BASIC,)),
    ),
    st.builds(
        rc.RecordTravelDocument, case_id=st.just(CASE),
        status=st.sampled_from(v.TravelDocumentStatus), recorded_on=days,
        original_identity_document=st.booleans(),
    ),
    st.builds(
        rc.ArrangeReturnSupport, case_id=st.just(CASE),
        kind=st.sampled_from(v.ReturnSupportKind), arranged_on=days,
    ),
    st.sampled_from(v.ArrivalReceiver).flatmap(
        lambda receiver: st.builds(
            rc.RecordArrivalArrangement, case_id=st.just(CASE), arranged_on=days,
            destination_country=st.just("NG"), destination_place=st.just("Lagos"),
            receiver=st.just(receiver),
            organisation_id=st.just(
                PARTNER if receiver == v.ArrivalReceiver.PARTNER_ORGANISATION else None
            ),
            organisation_country=st.just("NG"),
            reason=st.just("no one" if receiver == v.ArrivalReceiver.NOBODY else None),
        )
    ),
    st.builds(
        rc.GiveConsent, case_id=st.just(CASE), organisation_id=st.just(PARTNER),
        organisation_country=st.just("NG"),
        purpose=st.just(v.ConsentPurpose.REINTEGRATION_SUPPORT), given_on=days,
        transfer_risks_explained=st.just(True),
    ),
    days.map(
        lambda day: rc.AgreeReintegrationPlan(
            CASE, day, PARTNER, (v.PlanDomain.HOUSING,), (None,), (None,), (day,), ("a room",)
        )
    ),
    st.builds(
        rc.RecordGuardian, case_id=st.just(CASE), appointed_on=days,
        guardian_organisation=st.just("Nidos"),
    ),
    st.builds(
        rc.RecordBestInterestsAssessment, case_id=st.just(CASE), assessed_on=days,
        return_in_best_interests=st.booleans(),
    ),
    st.builds(
        rc.RecordFamilyAssessment, case_id=st.just(CASE), assessed_on=days,
        outcome=st.sampled_from(v.FamilyAssessmentOutcome),
    ),
    st.builds(
        rc.CloseReturnCase, case_id=st.just(CASE), reason=st.sampled_from(v.ClosingReason),
        closed_on=days,
    ),
    st.builds(
        rc.PlanDeparture, case_id=st.just(CASE), planned_on=days, destination_country=st.just("NG"),
        mode=st.sampled_from([v.DepartureMode.INDEPENDENT, v.DepartureMode.ASSISTED]),
    ),
)  # fmt: skip


usually = st.sampled_from([True, True, True, True, True, False])


@st.composite
def kit(draw: st.DrawFn) -> list[rc.Command]:
    """Most of what a ready departure needs, each part often present, on nearby days."""
    base = INTAKE + timedelta(days=draw(st.integers(min_value=0, max_value=100)))

    def near() -> date:
        return base + timedelta(days=draw(st.integers(min_value=0, max_value=10)))

    level = draw(st.sampled_from(v.RiskLevel))
    risk_factors = draw(factors) if level != v.RiskLevel.LOW else ()
    receiver = draw(st.sampled_from(v.ArrivalReceiver))
    parts: list[list[rc.Command]] = [
        [rc.RecordReturnConversation(CASE, near(), v.ReturnWish.WANTS_TO_RETURN)],
        [rc.AssessRisk(CASE, base, level, risk_factors)],
        [
            rc.RecordSafetyPlan(
                CASE, near(), risk_factors, tuple("m" for _ in risk_factors), "author"
            ),
            rc.ApproveSafetyPlan(
                CASE, base + timedelta(days=11), draw(st.sampled_from(["second", "author"]))
            ),
        ],
        [rc.RecordTravelDocument(CASE, v.TravelDocumentStatus.OWN_VALID, near(), False)],
        [
            rc.RecordArrivalArrangement(
                CASE, near(), "NG", "Lagos", receiver,
                PARTNER if receiver == v.ArrivalReceiver.PARTNER_ORGANISATION else None, "NG",
                "no one" if receiver == v.ArrivalReceiver.NOBODY else None,
            )
        ],
        [rc.ArrangeReturnSupport(CASE, draw(st.sampled_from(v.ReturnSupportKind)), near())],
        [
            rc.GiveConsent(
                CASE, PARTNER, "NG", v.ConsentPurpose.REINTEGRATION_SUPPORT, base, True
            ),
            rc.AgreeReintegrationPlan(
                CASE, base, PARTNER, (v.PlanDomain.HOUSING,), (None,), (None,), (base,), ("r",)
            ),
        ],
        [rc.RecordGuardian(CASE, near(), "Nidos")],
        [rc.RecordBestInterestsAssessment(CASE, near(), draw(usually))],
        [
            rc.RecordFamilyAssessment(
                CASE, near(), draw(st.sampled_from([*[v.FamilyAssessmentOutcome.SAFE] * 3,
                                                    *v.FamilyAssessmentOutcome]))
            )
        ],
        [
            rc.RecordLegalPosition(
                CASE, near(), v.ResidenceStatus.NONE, v.ProceedingsStage.NOT_REPORTED,
                draw(st.none() | days),
            ),
            rc.RecordReturnHelpRefused(CASE, near(), (v.ReturnHelp.DTV,)),
        ],
    ]  # fmt: skip
    return [command for part in parts if draw(usually) for command in part]


@st.composite
def prepared_cases(draw: st.DrawFn) -> rc.ReturnCase:
    birth_year = draw(st.sampled_from([None, 1970, 1995, 2007, 2008, 2010, 2014]))
    opening = rc.OpenReturnCase(
        CASE, INTAKE, "Client", v.Gender.FEMALE, birth_year, "NG", "NG", ("en",), ()
    )
    state = rc.fold(rc.decide(None, opening))
    assert state is not None
    commands = draw(kit()) + draw(st.lists(preparation, max_size=5))
    for command in draw(st.permutations(commands)) if draw(st.booleans()) else commands:
        try:
            events = rc.decide(state, command, POLICY)
        except RuleViolation:
            continue
        for event in events:
            state = rc.evolve(state, event)
    return state


def accepted(state: rc.ReturnCase, command: rc.Command) -> list[rc.Event] | None:
    try:
        return rc.decide(state, command, POLICY)
    except RuleViolation:
        return None


def departure(
    mode: v.DepartureMode, on: date, reason: str | None = None, authorised: bool = False
) -> rc.RecordDeparture:
    return rc.RecordDeparture(CASE, on, mode, "NG", reason, authorised)


def minor_protected(state: rc.ReturnCase) -> bool:
    return (
        state.guardian_appointed_on is not None
        and state.best_interests_assessed_on is not None
        and state.family_assessment is not None
    )


PROPERTY = settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)


@PROPERTY
@given(prepared_cases(), st.sampled_from(v.DepartureMode), days)
def test_readiness_and_the_departure_command_agree(
    state: rc.ReturnCase, mode: v.DepartureMode, on: date
) -> None:
    ready = rc.readiness(state, mode, on, POLICY).ready
    assert (accepted(state, departure(mode, on)) is not None) == ready


@PROPERTY
@given(
    prepared_cases(),
    st.sampled_from([v.DepartureMode.INDEPENDENT, v.DepartureMode.ASSISTED]),
    days,
    st.none() | st.just("Urgent."),
    st.booleans(),
)
def test_no_voluntary_departure_unless_ready_or_an_emergency_by_an_admin(
    state: rc.ReturnCase, mode: v.DepartureMode, on: date, reason: str | None, admin: bool
) -> None:
    events = accepted(state, departure(mode, on, reason, admin))
    if events is None:
        return
    emergency = [e for e in events if isinstance(e, rc.EmergencyDepartureRecorded)]
    if rc.readiness(state, mode, on, POLICY).ready:
        assert not emergency
    else:
        assert admin
        assert reason is not None
        assert len(emergency) == 1
        assert emergency[0].missing == rc.readiness(state, mode, on, POLICY).codes


@PROPERTY
@given(prepared_cases(), days, st.none() | st.just("Urgent."), st.booleans())
def test_forced_departure_needs_obligation_and_refused_help_or_passed_deadline(
    state: rc.ReturnCase, on: date, reason: str | None, admin: bool
) -> None:
    if accepted(state, departure(v.DepartureMode.FORCED, on, reason, admin)) is None:
        return
    assert reason is None
    assert state.departure_obligation
    deadline_passed = state.departure_deadline is not None and state.departure_deadline < on
    assert deadline_passed or any(refused_on <= on for refused_on, _ in state.help_refusals)


@PROPERTY
@given(
    prepared_cases(),
    st.sampled_from(v.DepartureMode),
    days,
    st.none() | st.just("Urgent."),
    st.booleans(),
)
def test_a_minor_never_departs_without_guardian_and_assessments(
    state: rc.ReturnCase, mode: v.DepartureMode, on: date, reason: str | None, admin: bool
) -> None:
    if accepted(state, departure(mode, on, reason, admin)) is None:
        return
    if rc.may_be_minor(state, on):
        assert minor_protected(state)


@PROPERTY
@given(
    prepared_cases(),
    st.sampled_from([v.DepartureMode.INDEPENDENT, v.DepartureMode.ASSISTED]),
    days,
)
def test_planning_agrees_with_readiness_on_the_planned_day(
    state: rc.ReturnCase, mode: v.DepartureMode, on: date
) -> None:
    ready = rc.readiness(state, mode, on, POLICY).ready
    assert (accepted(state, rc.PlanDeparture(CASE, on, "NG", mode)) is not None) == ready


@given(st.integers(min_value=1900, max_value=2100), days)
def test_age_from_the_birth_year_errs_towards_minor(birth_year: int, on: date) -> None:
    youngest, oldest = rc.age_range_on(birth_year, on)
    assert oldest - youngest in (0, 1)
    born_late = date(birth_year, 12, 31)
    assert rc.possibly_minor_on(birth_year, on) == (rc.age_on(born_late, on) < 18)
    assert all(rc.age_on(date(birth_year, month, 1), on) >= youngest for month in range(1, 13))
