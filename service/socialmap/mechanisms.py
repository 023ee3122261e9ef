"""National referral mechanisms: ordered steps, each with the body responsible."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class Step:
    position: int
    title: str
    responsible_body: str
    description: str


@dataclass(frozen=True, slots=True)
class Mechanism:
    country: str
    title: str
    source: str
    notes: str | None
    steps: tuple[Step, ...]


async def referral_mechanism(conn: AsyncConnection, country: str) -> Mechanism | None:
    rows = (
        await conn.execute(
            text(
                "SELECT m.country, m.title, m.source, m.notes, s.position, s.title AS step_title, "
                "s.responsible_body, s.description FROM referral_mechanisms m "
                "LEFT JOIN referral_steps s ON s.country = m.country "
                "WHERE m.country = :c ORDER BY s.position"
            ),
            {"c": country},
        )
    ).all()
    if not rows:
        return None
    first = rows[0]
    steps = tuple(
        Step(r.position, r.step_title, r.responsible_body, r.description)
        for r in rows
        if r.position is not None
    )
    return Mechanism(first.country, first.title, first.source, first.notes, steps)


CREATE_MECHANISM_IF_ABSENT = text(
    """
    WITH created AS (
        INSERT INTO referral_mechanisms (country, title, source, notes)
        VALUES (:country, :title, :source, :notes)
        ON CONFLICT (country) DO NOTHING
        RETURNING country
    )
    INSERT INTO referral_steps (country, position, title, responsible_body, description)
    SELECT created.country, s.position, s.title, s.responsible_body, s.description
    FROM created, jsonb_to_recordset(:steps)
        AS s(position integer, title text, responsible_body text, description text)
    RETURNING country
    """
).bindparams(bindparam("steps", type_=JSONB))


def mechanism_params(mechanism: Mechanism) -> dict[str, Any]:
    return {
        "country": mechanism.country,
        "title": mechanism.title,
        "source": mechanism.source,
        "notes": mechanism.notes,
        "steps": [
            {
                "position": s.position,
                "title": s.title,
                "responsible_body": s.responsible_body,
                "description": s.description,
            }
            for s in mechanism.steps
        ],
    }


async def create_mechanism_if_absent(conn: AsyncConnection, mechanism: Mechanism) -> bool:
    return (
        await conn.execute(CREATE_MECHANISM_IF_ABSENT, mechanism_params(mechanism))
    ).first() is not None
