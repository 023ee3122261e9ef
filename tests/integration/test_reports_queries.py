"""A report reads as the report role, in one statement after the ``BEGIN`` that switches to it.

The role switch rides on the ``BEGIN`` (one simple query) and ends with the transaction; the
shelters, the counts and the totals of the recoded countries come back in one statement, the
same figures the aggregate function gives when called part by part.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import create_app_engine, tenant_transaction
from service.reports import queries
from service.reports.caseload import canonical
from service.reports.model import Dimension
from service.reports.periods import parse_period
from tests.conftest import Database
from tests.integration.reports_population import caseload_counts

D = Dimension
PERIOD = parse_period(year=2047)  # a year no other test writes cases in


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_a_report_transaction_runs_as_the_report_role_until_it_ends(
    app_engine: AsyncEngine,
) -> None:
    async with queries.report_transaction(app_engine) as conn:
        inside = await conn.scalar(text("SELECT current_user"))
    async with tenant_transaction(app_engine, None) as conn:
        after = await conn.scalar(text("SELECT current_user"))
    assert inside == "safe_future_app_reports"
    assert after == "safe_future_app"


async def test_a_caseload_report_reads_in_one_statement_after_the_role_switch(
    app_engine: AsyncEngine,
) -> None:
    group_by = (D.NATIONALITY, D.SHELTER, D.COUNTRY_OF_ORIGIN)
    with statements(app_engine) as seen:
        await queries.caseload_report(app_engine, 5, PERIOD, group_by)
    mine = [s for s in seen if "report_caseload_counts" in s or "_reports'" in s]
    assert len(mine) == 2
    assert mine[0].startswith("BEGIN")
    assert "set_config('role', current_user || '_reports', true)" in mine[0]
    assert mine[1].count("report_caseload_counts") == 3  # the counts, the two countries' totals
    assert "FROM tenants" in mine[1]


_ROW = (
    "INSERT INTO report_cases (tenant_id, case_id, intake_month, phase, gender, age_group, "
    "nationality, country_of_origin, exploitation_forms, departure_mode, closing_reason, "
    "has_partner_contact, consent_before_partner_contact, partner_contacted_before_departure, "
    "follow_up_3_months, follow_up_6_months, follow_up_12_months) "
    "SELECT t.id, gen_random_uuid(), make_date(2047, 1 + i % 12, 1), 'INTAKE', 'FEMALE', '23+', "
    "c, c, ARRAY[f], 'NOT_DEPARTED', 'NOT_CLOSED', false, false, false, false, false, false "
    "FROM tenants t, generate_series(1, :n) AS i, "
    "LATERAL (SELECT CASE WHEN i = 7 THEN 'MN' ELSE 'RO' END AS c, "
    "CASE WHEN i % 2 = 0 THEN 'FORCED_LABOUR' ELSE 'SEXUAL_EXPLOITATION' END AS f) AS v "
    "WHERE t.kind = 'shelter'"
)


async def test_the_one_statement_gives_what_the_aggregate_function_gives_part_by_part(
    app_engine: AsyncEngine, admin_engine: AsyncEngine
) -> None:
    dims = canonical((D.SHELTER, D.COUNTRY_OF_ORIGIN, D.EXPLOITATION_FORM))
    async with admin_engine.begin() as conn:
        shelters = (
            await conn.scalars(text("SELECT slug FROM tenants WHERE kind = 'shelter'"))
        ).all()
        await conn.execute(text(_ROW), {"n": 20})
    k = len(shelters) + 1  # one case from MN per shelter: rare; 19 from RO per shelter: not
    try:
        counts, rare, values = await queries._caseload_inputs(app_engine, k, PERIOD, dims)
        async with queries.report_transaction(app_engine) as conn:
            expected = await caseload_counts(conn, dims, PERIOD.first, PERIOD.last)
            origin = await caseload_counts(conn, (D.COUNTRY_OF_ORIGIN,), PERIOD.first, PERIOD.last)
    finally:
        async with admin_engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM report_cases WHERE intake_month BETWEEN :first AND :last"),
                {"first": PERIOD.first, "last": PERIOD.last},
            )
    assert sum(counts.values()) == 20 * len(shelters)
    assert counts == expected
    assert origin == {("MN",): len(shelters), ("RO",): 19 * len(shelters)}
    assert rare == {D.COUNTRY_OF_ORIGIN: {"MN"}}
    assert set(values[D.COUNTRY_OF_ORIGIN]) == {"MN", "RO"}
    assert list(values[D.SHELTER]) == sorted(shelters)


async def test_a_connection_back_from_autocommit_still_begins_in_one_round_trip(
    database: Database,
) -> None:
    engine = create_app_engine(database.app_url, 1)  # one connection: the same one each time
    try:
        async with engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("SELECT 1"))
        with statements(engine) as seen:
            async with tenant_transaction(engine, uuid.uuid4()) as conn:
                level = await conn.scalar(text("SHOW transaction_isolation"))
                role = await conn.scalar(text("SELECT current_user"))
        assert level == "read committed"
        assert role == "safe_future_app"
        assert seen[0].startswith("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT set_config(")
        with statements(engine) as seen:
            await queries.caseload_report(engine, 5, PERIOD, (D.SHELTER,))
        mine = [s for s in seen if "report_caseload_counts" in s or "_reports'" in s]
        assert len(mine) == 2
        assert mine[0].startswith("BEGIN ISOLATION LEVEL READ COMMITTED;")
    finally:
        await engine.dispose()
