"""Inputs and the payload shared by the mutations of referral mechanisms."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from service.domain.vocabulary import ExploitationForm
from service.schema.ids import from_global_id
from service.schema.socialmap.mechanism_types import ReferralMechanism
from service.socialmap.mechanisms import Mechanism


@strawberry.input(description="Where a step's content comes from: a public document.")
class ReferralSourceInput:
    document: str = strawberry.field(description="The document's title and publisher.")
    published: str | None = strawberry.field(
        default=None, description="Its date: YYYY, YYYY-MM or YYYY-MM-DD; null when unstated."
    )
    consulted_on: dt.date = strawberry.field(description="When you read it (not in the future).")


@strawberry.input(description="One step of a flowchart.")
class ReferralStepInput:
    key: str = strawberry.field(
        description="A stable key, unique in the mechanism: 1-40 lower-case letters, digits, "
        "dashes."
    )
    title: str = strawberry.field(description="The title in English.")
    title_nl: str | None = strawberry.field(default=None, description="The title in Dutch.")
    description: str = strawberry.field(description="What happens, in English.")
    description_nl: str | None = strawberry.field(
        default=None, description="What happens, in Dutch."
    )
    responsible_body: str = strawberry.field(description="Who is responsible.")
    responsible_organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The responsible body as an active organisation of the map."
    )
    typical_duration: str | None = strawberry.field(
        default=None, description="How long it typically takes, only where a source says so."
    )
    legal_basis: str | None = strawberry.field(
        default=None, description="The legal basis, where known."
    )
    source: ReferralSourceInput = strawberry.field(description="Where the content comes from.")


@strawberry.input(description="Who an arrow applies to; leave a field out for anyone.")
class ReferralConditionInput:
    minor: bool | None = strawberry.field(default=None, description="Minors (true) or adults.")
    eu_citizen: bool | None = strawberry.field(
        default=None, description="EU citizens (true) or third-country nationals (false)."
    )
    exploitation_forms: list[ExploitationForm] | None = strawberry.field(
        default=None, description="Only these forms of exploitation."
    )
    cooperates_with_police: bool | None = strawberry.field(
        default=None, description="Only when the client cooperates with the police (or not)."
    )


@strawberry.input(description="An arrow from one step to another.")
class ReferralEdgeInput:
    source: str = strawberry.field(description="The key of the step it leaves.")
    target: str = strawberry.field(description="The key of the step it enters.")
    condition: ReferralConditionInput | None = strawberry.field(
        default=None, description="Who it applies to; none for anyone."
    )


def graph_raw(
    start: str, steps: list[ReferralStepInput], edges: list[ReferralEdgeInput]
) -> dict[str, Any]:
    """The flowchart as ``flowchart.validate`` reads it."""
    return {
        "start": start,
        "steps": [
            {
                "key": s.key,
                "title_en": s.title,
                "title_nl": s.title_nl,
                "description_en": s.description,
                "description_nl": s.description_nl,
                "responsible_body": s.responsible_body,
                "responsible_organisation_id": (
                    from_global_id("Organisation", s.responsible_organisation_id,
                                   "responsibleOrganisationId")
                    if s.responsible_organisation_id is not None
                    else None
                ),
                "typical_duration": s.typical_duration,
                "legal_basis": s.legal_basis,
                "source": {
                    "document": s.source.document,
                    "published": s.source.published,
                    "consulted_on": s.source.consulted_on,
                },
            }
            for s in steps
        ],
        "edges": [
            {
                "source": e.source,
                "target": e.target,
                "condition": {
                    "minor": e.condition.minor,
                    "eu_citizen": e.condition.eu_citizen,
                    "exploitation_forms": [f.value for f in e.condition.exploitation_forms or ()],
                    "cooperates_with_police": e.condition.cooperates_with_police,
                }
                if e.condition is not None
                else {},
            }
            for e in edges
        ],
    }  # fmt: skip


@strawberry.type(description="The result of a change of a referral mechanism.")
class ReferralMechanismPayload:
    mechanism: ReferralMechanism = strawberry.field(description="The mechanism after the change.")
    version: int = strawberry.field(description="Its version after the change.")

    @classmethod
    def of(cls, mechanism: Mechanism) -> ReferralMechanismPayload:
        return cls(mechanism=ReferralMechanism.of(mechanism), version=mechanism.version)
