"""GraphQL types of a safe return: readiness, safety plan, refused help, arrival, the
reintegration plan and the protection of minors, read from the case's folded state."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import strawberry
from strawberry.dataloader import DataLoader

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.errors import NotFound
from service.schema.context import Info
from service.schema.ids import to_global_id

__all__ = [
    "ArrivalArrangement",
    "MinorProtection",
    "PlanGoal",
    "Readiness",
    "ReadinessItem",
    "ReintegrationPlan",
    "ReturnHelpRefusal",
    "SafetyPlan",
    "load_state",
    "today",
]


@strawberry.type(description="Something a departure still needs, as a case worker would put it.")
class ReadinessItem:
    code: str = strawberry.field(description="A stable code, such as TRAVEL_DOCUMENT_MISSING.")
    message: str = strawberry.field(description="What is missing, in a sentence.")


@strawberry.type(
    description="Whether a departure of one kind is ready, and everything still missing. "
    "planDeparture and recordDeparture refuse a departure that is not ready (NOT_READY)."
)
class Readiness:
    ready: bool = strawberry.field(description="True when nothing is missing.")
    missing: list[ReadinessItem] = strawberry.field(
        description="Every missing item, in a fixed order; empty when ready."
    )

    @classmethod
    def of(cls, found: rc.Readiness) -> Readiness:
        return cls(
            ready=found.ready,
            missing=[ReadinessItem(code=i.code, message=i.message) for i in found.missing],
        )


@strawberry.type(description="The current safety plan; its measures are personal and not shown.")
class SafetyPlan:
    written_on: dt.date = strawberry.field(description="The day the plan was written.")
    risk_factors: list[v.RiskFactor] = strawberry.field(
        description="The risk factors the plan has measures for."
    )
    approved: bool = strawberry.field(
        description="Approved by a second person (a tenant admin or supervisor, not the author)."
    )
    approved_on: dt.date | None = strawberry.field(description="The day of approval, if approved.")


@strawberry.type(description="A refusal of return help by the client.")
class ReturnHelpRefusal:
    refused_on: dt.date = strawberry.field(description="The day the client refused.")
    help_offered: list[v.ReturnHelp] = strawberry.field(
        description="The help that was offered and refused."
    )


@strawberry.type(description="Where the client returns to and who receives them on arrival.")
class ArrivalArrangement:
    arranged_on: dt.date = strawberry.field(description="The day this was arranged.")
    destination_country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    destination_place: str = strawberry.field(description="City or region of destination.")
    receiver: v.ArrivalReceiver = strawberry.field(description="Who receives the client.")
    organisation_id: strawberry.ID | None = strawberry.field(
        description="The receiving partner organisation (social map), when one receives them."
    )


@strawberry.type(description="One goal of a reintegration plan; its description is personal.")
class PlanGoal:
    domain: v.PlanDomain = strawberry.field(description="The domain of life of the goal.")
    responsible_organisation_id: strawberry.ID | None = strawberry.field(
        description="The social-map organisation responsible; null: the client or family."
    )
    budget: int | None = strawberry.field(
        description="Support budget in whole euros (such as IOM reintegration support), if any."
    )
    target_date: dt.date = strawberry.field(description="When the goal should be reached.")


@strawberry.type(description="The current version of the client's reintegration plan.")
class ReintegrationPlan:
    agreed_on: dt.date = strawberry.field(description="The day the plan was first agreed.")
    revised_on: dt.date | None = strawberry.field(description="The day of the latest revision.")
    revision: int = strawberry.field(description="1 for the agreed plan, counting revisions up.")
    partner_organisation_id: strawberry.ID | None = strawberry.field(
        description="The partner organisation supporting the client after return (social map)."
    )
    goals: list[PlanGoal] = strawberry.field(description="The plan's goals.")


@strawberry.type(description="What a client who may be a minor needs before any departure.")
class MinorProtection:
    may_be_minor: bool = strawberry.field(
        description="Under 18 on the intake date or the planned departure date, judged from "
        "the birth year (a client counts as a minor while that is possible)."
    )
    guardian_appointed_on: dt.date | None = strawberry.field(
        description="Since when a guardian (such as Nidos) is recorded."
    )
    guardian_organisation: str | None = strawberry.field(
        description="The guardianship organisation recorded, such as Nidos."
    )
    best_interests_assessed_on: dt.date | None = strawberry.field(
        description="The day of the latest best-interests assessment."
    )
    return_in_best_interests: bool | None = strawberry.field(
        description="Whether that assessment found return in the child's best interests."
    )
    family_assessed_on: dt.date | None = strawberry.field(
        description="The day of the latest family assessment in the country of origin."
    )
    family_assessment: v.FamilyAssessmentOutcome | None = strawberry.field(
        description="Its outcome: family safe, unsafe, or not traced."
    )


def today(info: Info) -> dt.date:
    return info.context.deps.clock().date()


async def load_state(info: Info, case_id: uuid.UUID) -> rc.ReturnCase:
    """The case's state, folded once per request from its stream (the caller's shelter only);
    the streams of every case in a response are read in one statement."""
    loader = info.context.loaders.get("case_state")
    if loader is None:
        events = info.context.case_events_loader()

        async def load(ids: Sequence[uuid.UUID]) -> list[rc.ReturnCase | None]:
            streams = await events.load_many(ids)
            return [rc.fold(e.event for e in stream) for stream in streams]

        loader = DataLoader(load_fn=load)
        info.context.loaders["case_state"] = loader
    state = await loader.load(case_id)
    if state is None:
        raise NotFound("return case not found")
    assert isinstance(state, rc.ReturnCase)
    return state


def _org(organisation_id: uuid.UUID | None) -> strawberry.ID | None:
    if organisation_id is None:
        return None
    return strawberry.ID(to_global_id("Organisation", organisation_id))


def safety_plan(state: rc.ReturnCase) -> SafetyPlan | None:
    plan = state.safety_plan
    if plan is None:
        return None
    return SafetyPlan(
        written_on=plan.written_on,
        risk_factors=list(plan.risk_factors),
        approved=plan.approved_on is not None,
        approved_on=plan.approved_on,
    )


def help_refusals(state: rc.ReturnCase) -> list[ReturnHelpRefusal]:
    return [
        ReturnHelpRefusal(refused_on=on, help_offered=list(offered))
        for on, offered in state.help_refusals
    ]


def arrival(state: rc.ReturnCase) -> ArrivalArrangement | None:
    found = state.arrival
    if found is None:
        return None
    return ArrivalArrangement(
        arranged_on=found.arranged_on,
        destination_country=found.destination_country,
        destination_place=found.destination_place,
        receiver=found.receiver,
        organisation_id=_org(found.organisation_id),
    )


def reintegration_plan(state: rc.ReturnCase) -> ReintegrationPlan | None:
    plan = state.plan
    if plan is None:
        return None
    return ReintegrationPlan(
        agreed_on=plan.agreed_on,
        revised_on=plan.revised_on,
        revision=plan.revision,
        partner_organisation_id=_org(plan.partner_organisation_id),
        goals=[
            PlanGoal(
                domain=goal.domain,
                responsible_organisation_id=_org(goal.responsible_organisation_id),
                budget=goal.budget,
                target_date=goal.target_date,
            )
            for goal in plan.goals
        ],
    )


def minor_protection(state: rc.ReturnCase) -> MinorProtection:
    return MinorProtection(
        may_be_minor=rc.may_be_minor(state, state.planned_departure_on or state.intake_date),
        guardian_appointed_on=state.guardian_appointed_on,
        guardian_organisation=state.guardian_organisation,
        best_interests_assessed_on=state.best_interests_assessed_on,
        return_in_best_interests=state.return_in_best_interests,
        family_assessed_on=state.family_assessed_on,
        family_assessment=state.family_assessment,
    )
