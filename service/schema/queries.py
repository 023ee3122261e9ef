"""Root query fields: the caller, one case, a page of cases."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

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
from service.schema.socialmap.mechanism_types import (
    ReferralMechanism,
    ReferralMechanismChange,
    ReferralRoute,
)
from service.schema.socialmap.queries import OrganisationConnection, StaleSocialMapEntries
from service.schema.socialmap.suggestion_types import SocialMapSuggestion
from service.schema.socialmap.types import Country, SocialMapOrganisation
from service.schema.transfers import TransferOffer, incoming_transfers, outgoing_transfers
from service.schema.types import Me, PageInfo, ReturnCase, ReturnCaseConnection, ReturnCaseEdge
from service.schema.work import FollowUpDue, WorkItem, follow_ups_due, my_cases, my_work

MAX_FILTER_VALUES = 50  # codes in one list filter (there are 249 countries)


@strawberry.input(description="Narrow a list of cases; every given criterion must hold.")
class ReturnCaseFilter:
    phases: list[v.Phase] | None = strawberry.field(
        default=None, description="Only cases in one of these phases."
    )
    countries_of_origin: list[str] | None = strawberry.field(
        default=None,
        description="Only cases from one of these countries (ISO 3166-1 alpha-2 codes).",
    )
    intake_from: dt.date | None = strawberry.field(
        default=None, description="Only cases with intake on or after this day."
    )
    intake_to: dt.date | None = strawberry.field(
        default=None, description="Only cases with intake on or before this day."
    )


async def me(info: Info) -> Me:
    return Me.of(info.context.principal)


async def return_case(
    info: Info,
    id: Annotated[
        strawberry.ID, strawberry.argument(description="The case's global ID (ReturnCase.id).")
    ],
) -> ReturnCase:
    principal = info.context.principal
    principal.require_case_access()
    case_id = from_global_id("ReturnCase", id)
    async with tenant_transaction(info.context.deps.engine, principal.tenant_id) as conn:
        row = await return_cases.get_case(conn, case_id)
    if row is None:
        raise NotFound("return case not found")
    return ReturnCase.from_row(row)


def page_request(
    max_page: int, first: int, after: str | None, filter: ReturnCaseFilter | None
) -> tuple[return_cases.CaseFilter, int, tuple[dt.date, uuid.UUID] | None]:
    """The checked arguments of ``returnCases``: the filter, the page size and the position
    after which the page starts; ``BadUserInput`` names the argument that is wrong."""
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
    return query, first, cursor


async def list_return_cases(
    info: Info,
    filter: Annotated[
        ReturnCaseFilter | None,
        strawberry.argument(description="Narrow the list; every given criterion must hold."),
    ] = None,
    first: Annotated[
        int,
        strawberry.argument(description="How many cases to return (1 to the maximum page size)."),
    ] = 20,
    after: Annotated[
        str | None, strawberry.argument(description="The endCursor of the previous page.")
    ] = None,
) -> ReturnCaseConnection:
    principal = info.context.principal
    principal.require_case_access()
    query, first, cursor = page_request(info.context.settings.max_page_size, first, after, filter)
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


@strawberry.type(
    description="What you can read. Case workers and tenant admins read their own shelter's cases "
    "(start with returnCases, then returnCase); every principal reads the social map; CoMensha "
    "analysts read reports; integrators read caseEvents."
)
class Query:
    me: Me = strawberry.field(resolver=me, description="Who the token says you are.")
    incoming_transfers: list[TransferOffer] = strawberry.field(
        resolver=incoming_transfers,
        description="Transfer offers other shelters made to your shelter, newest first.",
    )
    outgoing_transfers: list[TransferOffer] = strawberry.field(
        resolver=outgoing_transfers,
        description="Transfer offers your shelter made to other shelters, newest first.",
    )
    return_case: ReturnCase = strawberry.field(
        resolver=return_case, description="One case of your own shelter."
    )
    return_cases: ReturnCaseConnection = strawberry.field(
        resolver=list_return_cases,
        description="Your shelter's cases, newest intake first (at most the maximum page size).",
    )
    follow_ups_due: list[FollowUpDue] = strawberry.field(
        resolver=follow_ups_due,
        description="Your shelter's follow-up contacts after return still to be made that "
        "fall due before the given day, overdue ones included, earliest first.",
    )
    my_cases: list[ReturnCase] = strawberry.field(
        resolver=my_cases,
        description="The open cases assigned to you, newest intake first.",
    )
    my_work: list[WorkItem] = strawberry.field(
        resolver=my_work,
        description="Everything open on the cases assigned to you, derived from the facts "
        "and your shelter's rules, earliest due first.",
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
        description="A country's national referral mechanism as a flowchart; null when the "
        "map has none.",
    )
    referral_route: ReferralRoute | None = strawberry.field(
        resolver=socialmap_queries.referral_route,
        description="The steps of a country's referral mechanism that apply to a client with "
        "these facts, in order (e.g. the route for minors). A fact left out is not assumed: "
        "an arrow that needs it is not followed. Null without an active mechanism.",
    )
    referral_mechanism_history: list[ReferralMechanismChange] = strawberry.field(
        resolver=socialmap_queries.referral_mechanism_history,
        description="Every version of a country's referral mechanism: who, when, why, oldest "
        "first.",
    )
    social_map_suggestions: list[SocialMapSuggestion] = strawberry.field(
        resolver=socialmap_queries.social_map_suggestions,
        description="The editors' queue of every shelter's suggestions, oldest pending first "
        "(CoMensha's social-map editors only).",
    )
    my_social_map_suggestions: list[SocialMapSuggestion] = strawberry.field(
        resolver=socialmap_queries.my_social_map_suggestions,
        description="Your shelter's suggestions to the social map and their outcome, newest first.",
    )
    stale_social_map_entries: StaleSocialMapEntries = strawberry.field(
        resolver=socialmap_queries.stale_social_map_entries,
        description="Organisations and mechanisms nobody verified within the configured time "
        "(editors only).",
    )
    return_support_organisations: list[SocialMapOrganisation] = strawberry.field(
        resolver=socialmap_queries.return_support_organisations,
        description="Dutch organisations that support return, by kind of support.",
    )
