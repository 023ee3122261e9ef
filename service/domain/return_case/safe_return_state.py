"""Parts of a return case's state that a safe return adds: the safety plan, the arrival
arrangement and the reintegration plan with its goals (no personal values, as in ``state``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from service.domain.vocabulary import ArrivalReceiver, PlanDomain, RiskFactor

__all__ = ["Arrival", "PlanGoal", "ReintegrationPlan", "SafetyPlan"]


@dataclass(frozen=True, slots=True)
class SafetyPlan:
    """The current safety plan: the risk factors it has measures for, and its approval."""

    written_on: date
    written_by: str
    risk_factors: tuple[RiskFactor, ...]
    approved_on: date | None = None
    approved_by: str | None = None


@dataclass(frozen=True, slots=True)
class Arrival:
    destination_country: str
    destination_place: str
    receiver: ArrivalReceiver
    organisation_id: UUID | None
    arranged_on: date


@dataclass(frozen=True, slots=True)
class PlanGoal:
    """One goal of a reintegration plan; no responsible organisation: the client or family."""

    domain: PlanDomain
    responsible_organisation_id: UUID | None
    budget: int | None
    target_date: date


@dataclass(frozen=True, slots=True)
class ReintegrationPlan:
    """The current version of the plan; ``agreed_on`` is the date of the first agreement."""

    agreed_on: date
    revised_on: date | None
    revision: int
    partner_organisation_id: UUID | None
    goals: tuple[PlanGoal, ...]
