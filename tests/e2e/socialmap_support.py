"""Shared by the social-map tests: the demo data, GraphQL documents and small helpers."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.schema.ids import to_global_id
from service.socialmap import seed
from tests.e2e.conftest import GraphQLClient

EDITOR = ("comensha", "social-map-editor")

ORG_FIELDS = """
id version name kind country countryNames { en nl } city region services targetGroups
languages contactChannels { kind value label } referralNotes lastVerifiedOn source
returnSupport demo active retiredAt retiredReason
"""

ORGANISATIONS = f"""
query Organisations($filter: OrganisationFilter, $first: Int, $after: String) {{
  organisations(filter: $filter, first: $first, after: $after) {{
    edges {{ cursor node {{ {ORG_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

ORGANISATION = f"""
query Organisation($id: ID!) {{
  organisation(id: $id) {{
    {ORG_FIELDS}
    history {{ version change actor actorOrganisation changedAt reason
               changes {{ field before after }} }}
  }}
}}
"""

PAYLOAD = f"version replayed organisation {{ {ORG_FIELDS} }}"

CREATE = f"""
mutation Create($input: CreateOrganisationInput!) {{
  createOrganisation(input: $input) {{ {PAYLOAD} }}
}}
"""

UPDATE = f"""
mutation Update($input: UpdateOrganisationInput!) {{
  updateOrganisation(input: $input) {{ {PAYLOAD} }}
}}
"""

RETIRE = f"""
mutation Retire($input: RetireOrganisationInput!) {{
  retireOrganisation(input: $input) {{ {PAYLOAD} }}
}}
"""

IMPORT = """
mutation Import($input: ImportOrganisationsInput!) {
  importOrganisations(input: $input) {
    dryRun rows created updated unchanged skippedRetired
  }
}
"""


async def load_demo(admin_engine: AsyncEngine) -> None:
    """The fictional demo set (idempotent), as `safe-future seed --demo` loads it."""
    await seed.seed(admin_engine, demo=True)


def seeded(key: str) -> str:
    """The global ID of a seeded organisation (real or demo) by its seed key."""
    return to_global_id("Organisation", seed.organisation_id(key))


def unique(label: str) -> str:
    """A name no other test uses, so tests never see each other's organisations."""
    return f"{label} {uuid.uuid4().hex[:10]}"


async def create(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    data = {"kind": "NGO", "country": "NG", **fields}
    body = await client.execute(CREATE, {"input": data})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["createOrganisation"]
    return payload


async def map_counts(admin_engine: AsyncEngine) -> tuple[int, int, int]:
    """(organisations, their versions summed, history entries): any write changes one."""
    async with admin_engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM organisations), "
                    "(SELECT coalesce(sum(version), 0) FROM organisations), "
                    "(SELECT count(*) FROM organisation_changes)"
                )
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])
