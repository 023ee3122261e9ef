"""Data generator: realistic return cases of the six shelters, bulk-loaded into the log.

    .venv/bin/python -m bench.populate --cases 5000     # into a fresh database, then dropped

Every case is a plausible sequence of commands (intake, risk, legal position, conversations
about return, consent and referral to a partner organisation of the social map in the
country of origin, return support, travel documents, departure, follow-up at 3, 6 and 12
months, closing), decided and folded by the pure domain (``decide`` / ``evolve``): whatever
the domain refuses is left out, so every stream is one the service itself could have
written. Events are encoded with the ``EventRegistry`` and loaded into ``events`` with
asyncpg's ``copy_records_to_table`` as the owner, one transaction per batch of cases (so the
log has many writing transactions, as the feed expects), by two worker processes. The read
models are not written here: ``rebuild_cases`` builds them from the log (scenario 5).

Generated cases carry no personal fields (name, date of birth, notes are left empty; only a
reintegration plan's goal has a fixed synthetic description, stored unsealed as legacy data
is): sealing them needs a data key per client, which only the service's command path makes;
that path is measured with personal data in scenario 2.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import asyncpg

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.domain.errors import DomainError
from service.events.types import EventRegistry

FIRST_YEAR, LAST_YEAR = 2020, 2025
# Shares of the cases per shelter (the COSM shelters carry most of them).
SHELTER_SHARES = {
    "hvo-querido": 0.24,
    "humanitas-pmw": 0.20,
    "jade-zorggroep": 0.14,
    "moviera": 0.16,
    "het-kopland": 0.11,
    "blijf-groep": 0.15,
}
# Countries of origin with weights, and the languages clients of each speak.
COUNTRIES: dict[str, tuple[int, tuple[str, ...]]] = {
    "NG": (18, ("en", "yo")),
    "RO": (14, ("ro",)),
    "BG": (9, ("bg",)),
    "UA": (8, ("uk", "ru")),
    "VN": (7, ("vi",)),
    "UG": (6, ("en",)),
    "HU": (6, ("hu",)),
    "PL": (5, ("pl",)),
    "BR": (4, ("pt",)),
    "SR": (4, ("nl",)),
    "CN": (4, ("zh",)),
    "MN": (3, ("mn",)),
    "ER": (3, ("ti",)),
    "MA": (3, ("ar", "fr")),
    "IN": (3, ("hi", "en")),
    "ST": (3, ("pt",)),
}
COPY_COLUMNS = (
    "tenant_id",
    "stream_id",
    "stream_type",
    "version",
    "event_type",
    "schema_version",
    "payload",
    "personal",
    "metadata",
    "occurred_at",
)
STREAM_TYPE = "ReturnCase"
BATCH_CASES = 1000
_INSERT = (
    f"INSERT INTO events ({', '.join(COPY_COLUMNS)}) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9::jsonb, $10)"
)


@dataclass(frozen=True, slots=True)
class Partner:
    id: uuid.UUID
    country: str


@dataclass(frozen=True, slots=True)
class Task:
    dsn: str
    tenant_id: uuid.UUID
    slug: str
    cases: int
    seed: int
    partners: dict[str, tuple[Partner, ...]]


def _pick(r: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return r.choices([x for x, _ in weighted], [w for _, w in weighted])[0]


_ORIGINS = [(c, float(w)) for c, (w, _) in COUNTRIES.items()]
_GENDERS = [(v.Gender.FEMALE, 70), (v.Gender.MALE, 26), (v.Gender.OTHER, 2), (v.Gender.UNKNOWN, 2)]
_FORMS = [
    (v.ExploitationForm.SEXUAL_EXPLOITATION, 50),
    (v.ExploitationForm.FORCED_LABOUR, 25),
    (v.ExploitationForm.FORCED_CRIMINAL_ACTIVITY, 10),
    (v.ExploitationForm.FORCED_BEGGING, 4),
    (v.ExploitationForm.SERVITUDE, 5),
    (v.ExploitationForm.FORCED_MARRIAGE, 4),
    (v.ExploitationForm.OTHER, 2),
]
_WISHES = [
    (v.ReturnWish.WANTS_TO_RETURN, 50),
    (v.ReturnWish.UNDECIDED, 30),
    (v.ReturnWish.DOES_NOT_WANT_TO_RETURN, 20),
]
_SUPPORT = [
    (v.ReturnSupportKind.IOM_BASIC, 30),
    (v.ReturnSupportKind.IOM_REINTEGRATION, 40),
    (v.ReturnSupportKind.DTV, 15),
    (v.ReturnSupportKind.SELF_ORGANISED, 15),
]
_ASSISTING = {
    v.ReturnSupportKind.IOM_BASIC,
    v.ReturnSupportKind.IOM_REINTEGRATION,
    v.ReturnSupportKind.DTV,
}


def case_commands(
    r: random.Random, case_id: uuid.UUID, partners: dict[str, tuple[Partner, ...]]
) -> list[tuple[dt.date, Any]]:
    """A plausible history of one case as (date, command) pairs, oldest first."""
    span = (dt.date(LAST_YEAR, 12, 31) - dt.date(FIRST_YEAR, 1, 1)).days
    intake = dt.date(FIRST_YEAR, 1, 1) + dt.timedelta(days=r.randrange(span))
    day = intake

    def later(lo: int, hi: int) -> dt.date:
        nonlocal day
        day = day + dt.timedelta(days=r.randint(lo, hi))
        return day

    country = _pick(r, _ORIGINS)
    languages = COUNTRIES[country][1]
    forms = {_pick(r, _FORMS) for _ in range(1 if r.random() < 0.8 else 2)}
    out: list[tuple[dt.date, Any]] = [
        (
            intake,
            rc.OpenReturnCase(
                case_id,
                intake,
                f"C-{case_id.hex[:8]}",
                _pick(r, _GENDERS),
                intake.year - r.randint(19, 55),
                country if r.random() < 0.95 else "NL",
                country,
                languages + (("en",) if r.random() < 0.4 and "en" not in languages else ()),
                tuple(sorted(forms)),
            ),
        ),
    ]

    def assess() -> None:
        level = _pick(r, [(v.RiskLevel.LOW, 40), (v.RiskLevel.MEDIUM, 40), (v.RiskLevel.HIGH, 20)])
        low = 0 if level == v.RiskLevel.LOW else 1
        factors = tuple(sorted(r.sample(tuple(v.RiskFactor), r.randint(low, 3))))
        out.append((later(0, 7), rc.AssessRisk(case_id, day, level, factors)))

    def legal_position() -> None:
        status = r.choice(tuple(v.ResidenceStatus))
        stage = r.choice(tuple(v.ProceedingsStage))
        out.append((later(0, 14), rc.RecordLegalPosition(case_id, day, status, stage)))

    if r.random() < 0.9:
        assess()
    if r.random() < 0.85:
        legal_position()
    if r.random() < 0.06:
        return out  # just arrived
    wish = _pick(r, _WISHES)
    out.append((later(1, 21), rc.RecordReturnConversation(case_id, day, wish)))
    if wish == v.ReturnWish.UNDECIDED and r.random() < 0.6:
        wish = r.choice((v.ReturnWish.WANTS_TO_RETURN, v.ReturnWish.DOES_NOT_WANT_TO_RETURN))
        out.append((later(14, 60), rc.RecordReturnConversation(case_id, day, wish)))
    if r.random() < 0.4:
        legal_position()  # the criminal proceedings move on
    if r.random() < 0.1:
        opened = out[0][1]
        out.append(
            (
                later(1, 30),
                rc.UpdateClientProfile(
                    case_id,
                    opened.pseudonym,
                    opened.gender,
                    opened.birth_year,
                    opened.nationality,
                    country,
                    opened.languages,
                    opened.exploitation_forms,
                ),
            )
        )
    if wish != v.ReturnWish.WANTS_TO_RETURN:
        if r.random() < 0.04:
            to = r.choice(tuple(SHELTER_SHARES))
            out.append((later(5, 90), rc.TransferCase(case_id, to, day)))
        elif r.random() < 0.55:
            reason = r.choice(
                (
                    v.ClosingReason.STAYED_IN_NETHERLANDS,
                    v.ClosingReason.WITHDREW,
                    v.ClosingReason.LOST_CONTACT,
                    v.ClosingReason.LEFT_FOR_THIRD_COUNTRY,
                )
            )
            out.append((later(30, 300), rc.CloseReturnCase(case_id, reason, day)))
        return out
    accepted: uuid.UUID | None = None
    for partner in r.sample(partners.get(country, ()), min(2, len(partners.get(country, ())))):
        if r.random() < 0.2:
            continue
        shares = r.random() < 0.6
        if shares:
            out.append(
                (
                    later(1, 10),
                    rc.GiveConsent(
                        case_id, partner.id, partner.country, v.ConsentPurpose.REFERRAL, day, True
                    ),
                )
            )
        referral = uuid.UUID(int=r.getrandbits(128), version=4)
        out.append(
            (
                later(0, 5),
                rc.ContactPartnerOrganisation(
                    case_id,
                    referral,
                    partner.id,
                    partner.country,
                    v.ConsentPurpose.REFERRAL,
                    day,
                    shares,
                ),
            )
        )
        if r.random() < 0.8:
            out.append(
                (
                    later(2, 20),
                    rc.UpdateReferralStatus(case_id, referral, v.ReferralStatus.ACCEPTED, day),
                )
            )
            accepted = referral
            break
        out.append(
            (
                later(2, 20),
                rc.UpdateReferralStatus(
                    case_id, referral, v.ReferralStatus.REJECTED, day, "no capacity"
                ),
            )
        )
    if r.random() < 0.4:  # the preparation is talked through again
        out.append((later(7, 30), rc.RecordReturnConversation(case_id, day, wish)))
    support = _pick(r, _SUPPORT)
    out.append((later(1, 20), rc.ArrangeReturnSupport(case_id, support, day)))
    if r.random() < 0.6:
        out.append(
            (
                later(1, 10),
                rc.RecordTravelDocument(case_id, v.TravelDocumentStatus.REQUESTED, day, True),
            )
        )
        out.append(
            (
                later(10, 60),
                rc.RecordTravelDocument(case_id, v.TravelDocumentStatus.ISSUED, day, True),
            )
        )
    if r.random() < 0.15:
        return out  # still preparing
    if r.random() < 0.6:
        assess()  # risks on return, looked at again before departure
    plan_partner = next(iter(partners.get(country, ())), None)
    if plan_partner is not None:
        later(1, 15)
        goal = (day + dt.timedelta(days=180),)
        out += [
            (day, rc.GiveConsent(case_id, plan_partner.id, plan_partner.country,
                                 v.ConsentPurpose.REINTEGRATION_SUPPORT, day, True)),
            (day, rc.AgreeReintegrationPlan(case_id, day, plan_partner.id,
                                            (v.PlanDomain.INCOME_AND_WORK,), (None,), (None,),
                                            goal, ("synthetic goal",))),
        ]  # fmt: skip
    planned = day + dt.timedelta(days=r.randint(14, 60))
    mode = v.DepartureMode.ASSISTED if support in _ASSISTING else v.DepartureMode.INDEPENDENT
    if r.random() < 0.03:
        mode = v.DepartureMode.FORCED
    if mode != v.DepartureMode.FORCED:
        # What readiness asks on the day before departure (bench cases are adults).
        ready_on = planned - dt.timedelta(days=1)
        out += [
            (ready_on, rc.AssessRisk(case_id, ready_on, v.RiskLevel.LOW)),
            (ready_on, rc.RecordTravelDocument(case_id, v.TravelDocumentStatus.OWN_VALID,
                                               ready_on, False)),
            (ready_on, rc.RecordArrivalArrangement(case_id, ready_on, country, "capital",
                                                   v.ArrivalReceiver.FAMILY)),
            (ready_on, rc.PlanDeparture(case_id, planned, country, mode)),
        ]  # fmt: skip
    day = planned
    out.append((day, rc.RecordDeparture(case_id, planned, mode, country)))
    departed = planned
    for months in (3, 6, 12):
        if r.random() < 0.2:
            break
        contact = departed + dt.timedelta(days=30 * months + r.randint(0, 10))
        reached = r.random() < 0.8
        situation = (
            _pick(
                r,
                [
                    (v.ClientSituation.STABLE, 60),
                    (v.ClientSituation.VULNERABLE, 30),
                    (v.ClientSituation.AT_RISK, 10),
                ],
            )
            if reached
            else None
        )
        day = contact
        out.append((day, rc.RecordFollowUp(case_id, contact, reached, situation)))
    if accepted is not None and r.random() < 0.5:
        out.append(
            (
                later(1, 30),
                rc.UpdateReferralStatus(case_id, accepted, v.ReferralStatus.COMPLETED, day),
            )
        )
    if r.random() < 0.7:
        out.append((later(1, 60), rc.CloseReturnCase(case_id, v.ClosingReason.RETURNED, day)))
    return out


def case_events(
    r: random.Random,
    case_id: uuid.UUID,
    partners: dict[str, tuple[Partner, ...]],
    refused: Counter[str] | None = None,
) -> Iterator[tuple[dt.date, Any]]:
    """The events of one generated case, decided and folded by the domain."""
    state = None
    for day, command in case_commands(r, case_id, partners):
        try:
            events = rc.decide(state, command)
        except DomainError as exc:
            if refused is not None:
                refused[f"{type(command).__name__}: {type(exc).__name__} {exc}"[:120]] += 1
            continue
        for event in events:
            state = rc.evolve(state, event)
            yield day, event


def _rows(
    task: Task, r: random.Random, count: int, registry: EventRegistry
) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for _ in range(count):
        case_id = uuid.UUID(int=r.getrandbits(128), version=4)
        worker = f"bench-{task.slug}-{r.randrange(25):02d}"
        request = uuid.UUID(int=r.getrandbits(128), version=4).hex
        meta = json.dumps(
            {
                "actor": worker,
                "organisation": task.slug,
                "role": "caseworker",
                "request_id": request,
                "correlation_id": request,
            }
        )
        events = case_events(r, case_id, task.partners)
        for version, (day, event) in enumerate(events, start=1):
            kind, schema, payload, personal = registry.encode(event)
            at = dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC) + dt.timedelta(
                minutes=r.randrange(480)
            )
            rows.append(
                (
                    task.tenant_id,
                    case_id,
                    STREAM_TYPE,
                    version,
                    kind,
                    schema,
                    json.dumps(payload),
                    None if personal is None else json.dumps(personal),
                    meta,
                    at,
                )
            )
    return rows


async def _load(task: Task) -> tuple[int, int, float]:
    """Generate and load one task's cases; returns (cases, events, seconds spent loading)."""
    registry = EventRegistry(rc.EVENT_TYPES)
    r = random.Random(task.seed)
    conn = await asyncpg.connect(task.dsn)
    events, loading, use_copy = 0, 0.0, True
    try:
        done = 0
        while done < task.cases:
            n = min(BATCH_CASES, task.cases - done)
            rows = _rows(task, r, n, registry)
            started = time.perf_counter()
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('app.tenant_id', $1, true), events_writer_begin()",
                    str(task.tenant_id),
                )
                if use_copy:
                    try:
                        async with conn.transaction():  # a savepoint: COPY may be refused
                            await conn.copy_records_to_table(
                                "events", records=rows, columns=COPY_COLUMNS
                            )
                    except asyncpg.FeatureNotSupportedError:
                        use_copy = False  # forced RLS without BYPASSRLS: COPY FROM refused
                if not use_copy:
                    await conn.executemany(_INSERT, rows)
            loading += time.perf_counter() - started
            events += len(rows)
            done += n
    finally:
        await conn.close()
    return task.cases, events, loading


def _run_task(task: Task) -> tuple[int, int, float]:
    return asyncio.run(_load(task))


async def partners_by_country(conn: asyncpg.Connection) -> dict[str, tuple[Partner, ...]]:
    """Active organisations of the social map outside the Netherlands, by country."""
    rows = await conn.fetch(
        "SELECT id, country FROM organisations WHERE retired_at IS NULL AND country <> 'NL' "
        "ORDER BY id"
    )
    out: dict[str, list[Partner]] = {}
    for row in rows:
        out.setdefault(row["country"], []).append(Partner(row["id"], row["country"]))
    return {k: tuple(p) for k, p in out.items()}


@dataclass(frozen=True, slots=True)
class Population:
    cases: int
    events: int
    seconds: float
    per_shelter: dict[str, int]


async def populate(dsn: str, cases: int, *, seed: int = 8, workers: int = 2) -> Population:
    """Generate ``cases`` cases over the six shelters into the database at ``dsn`` (owner)."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        tenants = {
            r["slug"]: r["id"]
            for r in await conn.fetch("SELECT id, slug FROM tenants WHERE kind = 'shelter'")
        }
        partners = await partners_by_country(conn)
    finally:
        await conn.close()
    per_shelter = {slug: round(cases * share) for slug, share in SHELTER_SHARES.items()}
    per_shelter["hvo-querido"] += cases - sum(per_shelter.values())
    tasks: list[Task] = []
    chunk = 2500
    for slug, count in per_shelter.items():
        for i, start in enumerate(range(0, count, chunk)):
            n = min(chunk, count - start)
            tasks.append(
                Task(dsn, tenants[slug], slug, n, hash((seed, slug, i)) & 0xFFFFFFF, partners)
            )
    total_events = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        loop = asyncio.get_running_loop()
        done = await asyncio.gather(*(loop.run_in_executor(pool, _run_task, t) for t in tasks))
    total_events = sum(events for _, events, _ in done)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE events")
    finally:
        await conn.close()
    return Population(cases, total_events, time.perf_counter() - started, per_shelter)


def refusal_report(cases: int, seed: int = 1) -> tuple[Counter[str], Counter[str], int]:
    """Which generated commands the domain refuses, and the event mix (for tuning)."""
    r = random.Random(seed)
    partners = {
        c: (Partner(uuid.uuid5(uuid.NAMESPACE_URL, c), c),) for c in ("NG", "RO", "BG", "UA")
    }
    refused: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    total = 0
    for _ in range(cases):
        for _day, event in case_events(r, uuid.uuid4(), partners, refused):
            kinds[type(event).__name__] += 1
            total += 1
    return refused, kinds, total


async def _main(cases: int, seed: int) -> None:
    from bench import database

    bench_db = await database.create()
    try:
        pop = await populate(database.asyncpg_dsn(bench_db.admin_url), cases, seed=seed)
        print(
            f"{pop.cases} cases, {pop.events} events in {pop.seconds:.1f} s "
            f"({pop.events / pop.seconds:,.0f} events/s)"
        )
    finally:
        await bench_db.drop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--check", action="store_true", help="only show refusals and event mix")
    args = parser.parse_args()
    if args.check:
        refused, kinds, total = refusal_report(args.cases, args.seed)
        print(f"{total} events for {args.cases} cases ({total / args.cases:.1f} per case)")
        for name, n in kinds.most_common():
            print(f"  {n:8d} {name}")
        print("refused:")
        for name, n in refused.most_common():
            print(f"  {n:8d} {name}")
    else:
        asyncio.run(_main(args.cases, args.seed))
