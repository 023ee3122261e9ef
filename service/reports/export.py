"""Reports as CSV (for a spreadsheet) and JSON: the same published figures as GraphQL.

A suppressed figure is written as ``suppressed``, never as a number or a bound such as "<11"
(a cell hidden by secondary suppression may hold any count, an empty cell is suppressed too).
A total over a dimension shows ``ALL`` in that dimension's column. Percentiles are in days,
rounded to whole weeks.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from service.reports.caseload import CaseloadReport
from service.reports.disclosure import Key, Published
from service.reports.indicators import IndicatorsReport, Share, ShelterIndicators
from service.reports.periods import Period

__all__ = ["SUPPRESSED", "caseload_csv", "caseload_json", "indicators_csv", "indicators_json"]

SUPPRESSED = "suppressed"
ALL = "ALL"


def _csv_value(value: Published) -> str:
    return SUPPRESSED if value is None else str(value)


def _period_json(period: Period) -> dict[str, Any]:
    return {
        "kind": period.kind.value,
        "label": period.label,
        "fromMonth": period.first.strftime("%Y-%m"),
        "toMonth": period.last.strftime("%Y-%m"),
        "parts": [p.label for p in period.pieces],
    }


def _count_json(value: Published) -> dict[str, Any]:
    return {"value": value, "suppressed": value is None}


def caseload_csv(report: CaseloadReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    unit = "case_form_pairs" if report.unit == "CASE_FORM_PAIRS" else "cases"
    writer.writerow(["period", *(d.value.lower() for d in report.group_by), unit])
    for key, value in [*report.cells, *report.totals]:
        values = [ALL if v is None else v for v in key]
        writer.writerow([report.period.label, *values, _csv_value(value)])
    return out.getvalue()


def caseload_json(report: CaseloadReport) -> dict[str, Any]:
    def cells(entries: list[tuple[Key, Published]]) -> list[dict[str, Any]]:
        return [{"values": list(k), "count": v, "suppressed": v is None} for k, v in entries]

    return {
        "period": _period_json(report.period),
        "groupBy": [d.value for d in report.group_by],
        "unit": report.unit,
        "threshold": report.k,
        "roundingBase": report.k,
        "cells": cells(report.cells),
        "totals": cells(report.totals),
        "grandTotal": _count_json(report.grand_total),
    }


def _share_json(share: Share) -> dict[str, Any]:
    return {
        "count": _count_json(share.count.value),
        "population": _count_json(share.population.value),
        "share": share.value,
        "suppressed": share.suppressed,
    }


def _shelter_json(s: ShelterIndicators) -> dict[str, Any]:
    d = s.days_intake_to_departure
    return {
        "shelter": s.shelter,
        "intakeCases": _count_json(s.intake_cases.value),
        "returnDiscussedWithin14Days": _share_json(s.return_discussed_within_14_days),
        "casesWithPartnerContact": _count_json(s.cases_with_partner_contact.value),
        "consentBeforePartnerContact": _share_json(s.consent_before_partner_contact),
        "departures": _count_json(s.departures.value),
        "departuresByMode": {m: _count_json(f.value) for m, f in s.departures_by_mode.items()},
        "partnerContactedBeforeDeparture": _share_json(s.partner_contacted_before_departure),
        **{
            f"followUpReachedAt{m}Months": _share_json(share)
            for m, share in s.follow_up_reached.items()
        },
        "daysIntakeToDeparture": {
            "population": _count_json(d.population.value),
            "median": d.median,
            "p90": d.p90,
            "suppressed": d.suppressed,
        },
    }


def indicators_json(report: IndicatorsReport) -> dict[str, Any]:
    return {
        "period": _period_json(report.period),
        "threshold": report.k,
        "roundingBase": report.k,
        "percentileMinimumGroup": report.min_group,
        "overall": _shelter_json(report.overall),
        "shelters": [_shelter_json(s) for s in report.shelters],
    }


def _share_columns(name: str, share: Share) -> dict[str, str]:
    ratio = "" if share.value is None and not share.suppressed else share.value
    return {
        name: _csv_value(share.count.value),
        f"{name}_share": SUPPRESSED if share.suppressed else str(ratio),
    }


def _shelter_row(period: Period, s: ShelterIndicators) -> dict[str, str]:
    d = s.days_intake_to_departure

    def days(value: int | None) -> str:
        return SUPPRESSED if d.suppressed else ("" if value is None else str(value))

    return {
        "period": period.label,
        "shelter": s.shelter or ALL,
        "intake_cases": _csv_value(s.intake_cases.value),
        **_share_columns("return_discussed_within_14_days", s.return_discussed_within_14_days),
        "cases_with_partner_contact": _csv_value(s.cases_with_partner_contact.value),
        **_share_columns("consent_before_partner_contact", s.consent_before_partner_contact),
        "departures": _csv_value(s.departures.value),
        **{f"departures_{m.lower()}": _csv_value(f.value) for m, f in s.departures_by_mode.items()},
        **_share_columns(
            "partner_contacted_before_departure", s.partner_contacted_before_departure
        ),
        **{
            k: v
            for m, share in s.follow_up_reached.items()
            for k, v in _share_columns(f"follow_up_reached_at_{m}_months", share).items()
        },
        "median_days_intake_to_departure": days(d.median),
        "p90_days_intake_to_departure": days(d.p90),
    }


def indicators_csv(report: IndicatorsReport) -> str:
    rows = [_shelter_row(report.period, s) for s in (*report.shelters, report.overall)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
