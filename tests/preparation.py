"""Commands that make a departure ready, for tests that generate whole case histories.

What ``readiness`` asks of an independent or assisted return of an adult (a recent LOW risk
assessment, the client's own valid travel document, the destination with family receiving the
client) and, for a client who may be a minor, the guardian and both assessments. A forced
return needs refused help here (its departure obligation is the history's own business).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from service.domain import return_case as rc
from service.domain import vocabulary as v


def minor_protection(case_id: uuid.UUID, on: dt.date) -> list[Any]:
    return [
        rc.RecordGuardian(case_id, on, "Nidos"),
        rc.RecordBestInterestsAssessment(case_id, on, True),
        rc.RecordFamilyAssessment(case_id, on, v.FamilyAssessmentOutcome.SAFE),
    ]


def ready_commands(
    case_id: uuid.UUID,
    on: dt.date,
    country: str,
    mode: v.DepartureMode,
    *,
    birth_year: int | None,
    intake: dt.date,
) -> list[Any]:
    """What a departure of ``mode`` on ``on`` still needs (dated ``on``)."""
    out: list[Any] = []
    if mode == v.DepartureMode.FORCED:
        out.append(rc.RecordReturnHelpRefused(case_id, on, (v.ReturnHelp.DTV,)))
    else:
        out += [
            rc.AssessRisk(case_id, on, v.RiskLevel.LOW),
            rc.RecordTravelDocument(case_id, v.TravelDocumentStatus.OWN_VALID, on, False),
            rc.RecordArrivalArrangement(
                case_id, on, country, "Capital region", v.ArrivalReceiver.FAMILY
            ),
        ]
    if birth_year is not None and any(
        rc.possibly_minor_on(birth_year, day) for day in (intake, on)
    ):
        out += minor_protection(case_id, on)
    return out
