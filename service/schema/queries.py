"""Root query fields: the caller, one case, a page of cases."""

from __future__ import annotations

import datetime as dt

import strawberry

from service.db import tenant_transaction
from service.domain import vocabulary as v
from service.domain.codes import is_country
from service.errors import BadUserInput, NotFound
from service.events.projections import return_cases
from service.schema.context import Info
from service.schema.feed import CaseEventConnection, case_events_page
from service.schema.ids import case_cursor, from_global_id, parse_case_cursor, reject_nul
from service.schema.integrators import IntegratorClient, integrator_clients
from service.schema.privacy import PersonalDataAccessConnection, personal_data_access_log
from service.schema.reports import Reports, reports
from service.schema.socialmap import queries as socialmap_queries
from service.schema.socialmap.queries import OrganisationConnection
from service.schema.socialmap.types import Country, ReferralMechanism, SocialMapOrganisation
from service.schema.types import Me, PageInfo, ReturnCase, ReturnCaseConnection, ReturnCaseEdge

MAX_FILTER_VALUES = 50  # codes in one list filter (there are 249 countries)


@strawberry.input(description="Narrow a list of cases; every given criterion must hold.")
class ReturnCaseFilter:
    phases: list[v.Phase] | None = None
    countries_of_origin: list[str] | None = None
    intake_from: dt.date | None = None
    intake_to: dt.date | None = None


async def me(info: Info) -> Me:
    return Me.of(info.context.principal)


async def return_case(info: Info, id: strawberry.ID) -> ReturnCase:
    principal = info.context.principal
    principal.require_case_access()
    case_id = from_global_id("ReturnCase", id)
    async with tenant_transaction(info.context.deps.engine, principal.tenant_id) as conn:
        row = await return_cases.get_case(conn, case_id)
    if row is None:
        raise NotFound("return case not found")
    return ReturnCase.from_row(row)


async def list_return_cases(
    info: Info,
    filter: ReturnCaseFilter | None = None,
    first: int = 20,
    after: str | None = None,
) -> ReturnCaseConnection:
    principal = info.context.principal
    principal.require_case_access()
    max_page = info.context.settings.max_page_size
    if not 1 <= first <= max_page:
        raise BadUserInput(f"first must be between 1 and {max_page}", field="first")
    cursor = parse_case_cursor(after) if after is not None else None
    flt = filter or ReturnCaseFilter()
    countries = flt.countries_of_origin or ()
    if len(countries) > MAX_FILTER_VALUES:
        raise BadUserInput(
            f"countriesOfOrigin takes at most {MAX_FILTER_VALUES} codes", field="countriesOfOrigin"
        )
    for country in countries:
        reject_nul(country, "countries_of_origin")
        if not is_country(country.strip().upper()):
            raise BadUserInput(
                "countriesOfOrigin must be ISO 3166-1 alpha-2 codes such as NG or UA",
                rule="INVALID_COUNTRY_CODE",
                field="countriesOfOrigin",
            )
    if flt.intake_from and flt.intake_to and flt.intake_from > flt.intake_to:
        raise BadUserInput("intakeFrom must not be after intakeTo", field="filter")
    query = return_cases.CaseFilter(
        phases=tuple(p.value for p in flt.phases or ()),
        countries_of_origin=tuple(c.strip().upper() for c in countries),
        intake_from=flt.intake_from,
        intake_to=flt.intake_to,
    )
    async with tenant_transaction(info.context.deps.engine, principal.tenant_id) as conn:
        rows = await return_cases.list_cases(conn, query, first + 1, cursor)
    page = rows[:first]
    edges = [
        ReturnCaseEdge(
            cursor=case_cursor(r["intake_date"], r["case_id"]), node=ReturnCase.from_row(r)
        )
        for r in page
    ]
    return ReturnCaseConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


@strawberry.type
class Query:
    me: Me = strawberry.field(resolver=me, description="Who the token says you are.")
    return_case: ReturnCase = strawberry.field(
        resolver=return_case, description="One case of your own shelter."
    )
    return_cases: ReturnCaseConnection = strawberry.field(
        resolver=list_return_cases,
        description="Your shelter's cases, newest intake first (at most the maximum page size).",
    )
    case_events: CaseEventConnection = strawberry.field(
        resolver=case_events_page,
        description="Your shelter's case events in feed order, after `after`; same cursors as "
        "the caseEvents subscription.",
    )
    integrator_clients: list[IntegratorClient] = strawberry.field(
        resolver=integrator_clients,
        description="Your shelter's integrator clients (tenant admins).",
    )
    personal_data_access_log: PersonalDataAccessConnection = strawberry.field(
        resolver=personal_data_access_log,
        description="Who was shown which client's personal fields, newest first; narrow it "
        "to one case or one user (tenant admins).",
    )
    reports: Reports = strawberry.field(
        resolver=reports,
        description="Cross-tenant reports with disclosure control (CoMensha analysts only).",
    )
    organisations: OrganisationConnection = strawberry.field(
        resolver=socialmap_queries.organisations,
        description="Organisations of the social map, by name (every principal reads the same).",
    )
    organisation: SocialMapOrganisation = strawberry.field(
        resolver=socialmap_queries.organisation,
        description="One organisation of the social map, retired or not.",
    )
    countries: list[Country] = strawberry.field(
        resolver=socialmap_queries.countries,
        description="Countries with organisations or a referral mechanism on the social map.",
    )
    referral_mechanism: ReferralMechanism | None = strawberry.field(
        resolver=socialmap_queries.referral_mechanism,
        description="A country's national referral mechanism; null when the map has none.",
    )
    return_support_organisations: list[SocialMapOrganisation] = strawberry.field(
        resolver=socialmap_queries.return_support_organisations,
        description="Dutch organisations that support return, by kind of support.",
    )
