"""A generated population of return cases, and an independent reading of its raw events.

``write_population`` sends every command through the real command path (``handle``, with real
principals of the six shelters), cases concurrently. ``expected_cases`` reads the events table
as the owner and derives each case's report facts from the stored JSON payloads alone, with
its own rules written here, apart from the service's fold and projection.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import itertools
import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.auth import Principal
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.handlers.return_case import Dependencies, handle
from service.reports.model import Dimension
from tests.preparation import ready_commands

SHELTERS = (
    "hvo-querido", "humanitas-pmw", "jade-zorggroep", "moviera", "het-kopland", "blijf-groep",
)  # fmt: skip
COUNTRIES = ("RO", "NG", "BG", "VN", "UA", "HU", "PL", "MN", "SR", "NL")
FORMS = tuple(v.ExploitationForm)


def _months_later(day: dt.date, months: int, jitter: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    target = dt.date(index // 12, index % 12 + 1, min(day.day, 28))
    return max(day, target + dt.timedelta(days=jitter))


MINOR_STEPS = (rc.RecordGuardian, rc.RecordBestInterestsAssessment, rc.RecordFamilyAssessment)


def case_commands(r: random.Random, year: int, partners: Mapping[str, uuid.UUID]) -> list[Any]:
    """One plausible history, every command valid in order (partners: by country)."""
    c = uuid.uuid4()
    intake = dt.date(year, 1, 1) + dt.timedelta(days=r.randrange(365))
    country = r.choice(COUNTRIES)
    forms = tuple(r.sample(FORMS, r.choice((0, 1, 1, 1, 2, 3))))
    birth_year = r.choice((None, *range(year - 45, year - 14)))
    gender = r.choice(tuple(v.Gender))
    out: list[Any] = [
        rc.OpenReturnCase(c, intake, f"P-{c.hex[:6]}", gender, birth_year,
                          country if r.random() < 0.9 else r.choice(COUNTRIES), country, ("en",),
                          forms, full_name="Pop Ulation" if r.random() < 0.3 else None,
                          notes="private note" if r.random() < 0.2 else None)
    ]  # fmt: skip
    if r.random() < 0.05:
        out.append(rc.UpdateClientProfile(c, f"P-{c.hex[:6]}", gender, birth_year, country,
                                          r.choice(COUNTRIES), ("en",), forms[:1]))  # fmt: skip
    roll = r.random()
    if roll < 0.1:
        return out  # intake only
    if roll < 0.15:
        out.append(rc.TransferCase(c, r.choice(SHELTERS), intake + dt.timedelta(days=3)))
        return out
    talk = intake + dt.timedelta(days=r.randrange(31))
    if roll < 0.3:
        out.append(rc.RecordReturnConversation(c, talk, r.choice(
            (v.ReturnWish.UNDECIDED, v.ReturnWish.DOES_NOT_WANT_TO_RETURN))))  # fmt: skip
        if r.random() < 0.4:
            reason = r.choice((v.ClosingReason.STAYED_IN_NETHERLANDS, v.ClosingReason.WITHDREW,
                               v.ClosingReason.LOST_CONTACT))  # fmt: skip
            out.append(rc.CloseReturnCase(c, reason, talk + dt.timedelta(days=20)))
            if r.random() < 0.3:
                out.append(rc.ReopenReturnCase(c, talk + dt.timedelta(days=40), "came back"))
        return out
    forced = roll < 0.42
    if forced:
        out.append(rc.RecordLegalPosition(c, talk, v.ResidenceStatus.NONE,
                                          v.ProceedingsStage.NOT_REPORTED))  # fmt: skip
    else:
        out.append(rc.RecordReturnConversation(c, talk, v.ReturnWish.WANTS_TO_RETURN))
    day = talk
    partner = partners.get(country)
    if partner is None and partners and r.random() < 0.3:
        partner = partners[r.choice(sorted(partners))]
    if partner is not None and r.random() < 0.45:
        consent_first = r.random() < 0.75
        consent = rc.GiveConsent(
            c,
            partner,
            country,
            v.ConsentPurpose.REFERRAL,
            day + dt.timedelta(days=1),
            transfer_risks_explained=True,
        )
        contact = rc.ContactPartnerOrganisation(
            c,
            uuid.uuid4(),
            partner,
            country,
            v.ConsentPurpose.REFERRAL,
            day + dt.timedelta(days=2),
            consent_first,
        )
        out += [consent, contact] if consent_first else [contact, consent]  # fmt: skip
        day += dt.timedelta(days=2)
    if r.random() < 0.3:
        return out  # still preparing
    departed = day + dt.timedelta(days=r.randrange(5, 240))
    if forced:
        mode = v.DepartureMode.FORCED
    elif r.random() < 0.6:
        out.append(rc.ArrangeReturnSupport(c, v.ReturnSupportKind.IOM_BASIC, day))
        mode = v.DepartureMode.ASSISTED
    else:
        mode = v.DepartureMode.INDEPENDENT
    if partner is not None and r.random() < 0.1:
        out.append(rc.ContactPartnerOrganisation(
            c, uuid.uuid4(), partner, country, v.ConsentPurpose.FOLLOW_UP_MONITORING,
            departed + dt.timedelta(days=3), False))  # fmt: skip
    if birth_year is None and mode != v.DepartureMode.FORCED:
        birth_year = year - 30  # the age is known before a voluntary return
        out.append(rc.UpdateClientProfile(c, f"P-{c.hex[:6]}", gender, birth_year, country,
                                          country, ("en",), forms))  # fmt: skip
    before = departed - dt.timedelta(days=1)
    if mode != v.DepartureMode.FORCED and r.random() < 0.1:
        # An emergency: an admin records the departure before it is ready (never skipping
        # what a minor needs).
        out += [p for p in ready_commands(c, before, country, mode, birth_year=birth_year,
                                          intake=intake) if isinstance(p, MINOR_STEPS)]  # fmt: skip
        out.append(rc.RecordDeparture(c, departed, mode, country, "danger", True))
    else:
        out += ready_commands(c, before, country, mode, birth_year=birth_year, intake=intake)
        out.append(rc.RecordDeparture(c, departed, mode, country))
    if partners and r.random() < 0.5:
        agreed = departed + dt.timedelta(days=r.randrange(0, 70))
        plan_partner = partners[r.choice(sorted(partners))]
        out.append(rc.AgreeReintegrationPlan(c, agreed, plan_partner, (v.PlanDomain.HOUSING,),
                                             (None,), (None,), (agreed,), ("a room",)))  # fmt: skip
    for months in (3, 6, 12):
        if r.random() < 0.3:
            reached = r.random() < 0.7
            on = _months_later(departed, months, r.randrange(-20, 40))
            situation = v.ClientSituation.STABLE if reached else None
            out.append(rc.RecordFollowUp(c, on, reached, situation))
    if r.random() < 0.35:
        out.append(rc.CloseReturnCase(c, v.ClosingReason.RETURNED,
                                      departed + dt.timedelta(days=400)))  # fmt: skip
    return out


async def partner_organisations(engine: AsyncEngine) -> dict[str, uuid.UUID]:
    """One active organisation of the social map per country (outside the Netherlands)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT DISTINCT ON (country) country, id FROM organisations "
                "WHERE retired_at IS NULL AND country <> 'NL' ORDER BY country, id"
            )
        )
        return {row[0]: row[1] for row in rows}


@dataclass(frozen=True)
class Population:
    case_ids: frozenset[uuid.UUID]
    commands: int
    events: int  # an emergency departure records two events


async def write_population(
    deps: Dependencies, count: int, year: int, seed: int, concurrency: int = 24
) -> Population:
    r = random.Random(seed)
    partners = await partner_organisations(deps.engine)
    histories = [(r.choice(SHELTERS), case_commands(r, year, partners)) for _ in range(count)]
    principals = {
        slug: Principal(
            "population-writer", deps.tenants[slug], frozenset({"caseworker", "tenant-admin"})
        )
        for slug in SHELTERS
    }
    gate = asyncio.Semaphore(concurrency)

    async def run(slug: str, commands: Sequence[Any]) -> None:
        async with gate:
            version = 0
            for command in commands:
                if isinstance(command, rc.TransferCase) and command.to_organisation == slug:
                    other = "moviera" if slug != "moviera" else "blijf-groep"
                    command = rc.TransferCase(command.case_id, other, command.transferred_on)
                result = await handle(deps, principals[slug], command, expected_version=version,
                                      idempotency_key=None, request_id="population")  # fmt: skip
                version = result.version

    await asyncio.gather(*(run(slug, commands) for slug, commands in histories))
    emergencies = sum(
        isinstance(x, rc.RecordDeparture) and x.emergency_reason is not None
        for _, commands in histories
        for x in commands
    )
    total = sum(len(c) for _, c in histories)
    return Population(
        frozenset(commands[0].case_id for _, commands in histories), total, total + emergencies
    )


@dataclass
class Expected:
    """A case's report facts, derived from stored payloads by rules written here."""

    shelter: str
    intake: dt.date
    gender: str
    birth_year: int | None
    nationality: str
    country: str
    forms: list[str]
    phase: str
    departure_mode: str
    closing_reason: str
    departed_on: dt.date | None
    first_talk: dt.date | None
    contacts: int
    consented_contacts: int
    contact_before_departure: bool
    reached_on: list[dt.date]  # days of follow-up contacts that reached someone
    emergency: bool
    plan_agreed_on: dt.date | None

    def plan_in_time(self) -> bool:
        """Agreed at the latest on the same day of the month after departure (clamped)."""
        if self.departed_on is None or self.plan_agreed_on is None:
            return False
        year, month = divmod(self.departed_on.month, 12)
        year, month = self.departed_on.year + year, month + 1
        last = calendar.monthrange(year, month)[1]
        due = dt.date(year, month, min(self.departed_on.day, last))
        return self.plan_agreed_on <= due

    def age_group(self) -> str:
        if self.birth_year is None:
            return "UNKNOWN"
        age = self.intake.year - self.birth_year
        return "MINOR" if age < 18 else "18-22" if age <= 22 else "23+"

    def values(self, dimension: str) -> list[str]:
        return {
            "SHELTER": [self.shelter],
            "PHASE": [self.phase],
            "COUNTRY_OF_ORIGIN": [self.country],
            "NATIONALITY": [self.nationality],
            "EXPLOITATION_FORM": self.forms or ["NONE_RECORDED"],
            "GENDER": [self.gender],
            "AGE_GROUP": [self.age_group()],
            "DEPARTURE_MODE": [self.departure_mode],
            "CLOSING_REASON": [self.closing_reason],
        }[dimension]


def _expected(shelter: str, events: Sequence[tuple[str, dict[str, Any]]]) -> Expected:
    date = dt.date.fromisoformat
    profile: dict[str, Any] = {}
    intake = dt.date.min
    talks: list[tuple[dt.date, str]] = []
    obligation = False
    departed: dict[str, Any] | None = None
    follow_ups = 0
    closing: str | None = None
    consents: dict[tuple[str, str], dt.date] = {}
    contacts: list[tuple[dt.date, bool]] = []
    reached: list[dt.date] = []
    emergency = False
    plan_agreed_on: dt.date | None = None
    for kind, p in events:
        if kind == "ReturnCaseOpened":
            intake, profile = date(p["intake_date"]), p
        elif kind == "ClientProfileUpdated":
            profile = p
        elif kind == "ReturnConversationRecorded":
            talks.append((date(p["held_on"]), p["wish"]))
        elif kind == "LegalPositionRecorded":
            obligation = p["departure_obligation"]
        elif kind == "ConsentGiven":
            consents[(p["organisation_id"], p["purpose"])] = date(p["given_on"])
        elif kind == "ConsentWithdrawn":
            consents.pop((p["organisation_id"], p["purpose"]), None)
        elif kind == "PartnerOrganisationContacted":
            on = date(p["contacted_on"])
            ok = any(o == p["organisation_id"] and g <= on for (o, _), g in consents.items())
            contacts.append((on, ok))
        elif kind == "DepartureRecorded":
            departed = p
        elif kind == "FollowUpRecorded":
            follow_ups += 1
            if p["reached"]:
                reached.append(date(p["contacted_on"]))
        elif kind == "ReturnCaseClosed":
            closing = p["reason"]
        elif kind == "ReturnCaseTransferred":
            closing = "TRANSFERRED"
        elif kind == "ReturnCaseReopened":
            closing = None
        elif kind == "EmergencyDepartureRecorded":
            emergency = True
        elif kind == "ReintegrationPlanAgreed":
            plan_agreed_on = date(p["agreed_on"])
    wish = talks[-1][1] if talks else None
    if closing:
        phase = "CLOSED"
    elif follow_ups:
        phase = "FOLLOW_UP"
    elif departed:
        phase = "DEPARTED"
    elif wish == "WANTS_TO_RETURN" or obligation:
        phase = "PREPARATION"
    else:
        phase = "ORIENTATION" if talks else "INTAKE"
    departed_on = date(departed["departed_on"]) if departed else None
    return Expected(
        shelter=shelter,
        intake=intake,
        gender=profile["gender"],
        birth_year=profile["birth_year"],
        nationality=profile["nationality"],
        country=profile["country_of_origin"],
        forms=sorted(profile["exploitation_forms"]),
        phase=phase,
        departure_mode=departed["mode"] if departed else "NOT_DEPARTED",
        closing_reason=closing or "NOT_CLOSED",
        departed_on=departed_on,
        first_talk=min(d for d, _ in talks) if talks else None,
        contacts=len(contacts),
        consented_contacts=sum(ok for _, ok in contacts),
        contact_before_departure=departed_on is not None
        and any(on <= departed_on for on, _ in contacts),
        reached_on=reached,
        emergency=emergency,
        plan_agreed_on=plan_agreed_on,
    )


async def expected_cases(admin: AsyncEngine, case_ids: Iterable[uuid.UUID]) -> list[Expected]:
    """Every case of ``case_ids`` as the raw events say, read as the owner."""
    async with admin.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT t.slug, e.stream_id, e.event_type, e.payload FROM events e "
                    "JOIN tenants t ON t.id = e.tenant_id WHERE e.stream_type = 'ReturnCase' "
                    "AND e.stream_id = ANY(:ids) ORDER BY e.stream_id, e.version"
                ),
                {"ids": list(case_ids)},
            )
        ).all()
    out = []
    for (_stream, slug), group in itertools.groupby(rows, key=lambda r: (r[1], r[0])):
        out.append(_expected(slug, [(r[2], r[3]) for r in group]))
    return out


def count(
    cases: Iterable[Expected], dimensions: Sequence[str], first: dt.date, last: dt.date
) -> dict[tuple[str, ...], int]:
    """True counts by ``dimensions`` of the cases with intake in the months first..last."""
    counts: dict[tuple[str, ...], int] = {}
    for case in cases:
        if first <= case.intake.replace(day=1) <= last:
            for key in itertools.product(*(case.values(d) for d in dimensions)):
                counts[key] = counts.get(key, 0) + 1
    return counts


_CASELOAD = text(
    "SELECT v1, v2, v3, n FROM report_caseload_counts(CAST(:dims AS text[]), :first, :last)"
)


async def caseload_counts(
    conn: AsyncConnection, dims: Sequence[Dimension], first: dt.date, last: dt.date
) -> dict[tuple[str, ...], int]:
    """The report role's true counts of the months ``first``..``last``, keyed by the values of
    ``dims``, straight from the aggregate function (in a ``report_transaction``)."""
    result = await conn.execute(
        _CASELOAD, {"dims": [d.value for d in dims], "first": first, "last": last}
    )
    return {tuple(row[: len(dims)]): int(row[3]) for row in result}
