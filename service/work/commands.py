"""``safe-future policy set``: a shelter's settings for the work rules, set by the operator."""

from __future__ import annotations

from typing import TextIO

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from service.db import tenant_transaction
from service.domain.work import DEFAULT_POLICY, WorkPolicy
from service.work import repository


def parse_months(raw: str) -> tuple[int, ...]:
    """``"3,6,12"`` -> ``(3, 6, 12)``; ``ValueError`` for anything else."""
    return tuple(int(part) for part in raw.split(",") if part.strip())


async def set_work_policy(
    admin_url: URL,
    slug: str,
    *,
    follow_up_months: str | None,
    follow_up_window_days: int | None,
    referral_answer_days: int | None,
    out: TextIO,
    err: TextIO,
) -> int:
    """Store the shelter's policy; settings not given keep their current value."""
    engine = create_async_engine(admin_url)
    try:
        async with engine.connect() as conn:
            tenant_id = await conn.scalar(
                text("SELECT id FROM tenants WHERE slug = :s AND kind = 'shelter'"), {"s": slug}
            )
        if tenant_id is None:
            print(f"no shelter with slug {slug!r}", file=err)
            return 2
        async with tenant_transaction(engine, tenant_id) as conn:
            current = await repository.policy(conn)
            try:
                months = (
                    parse_months(follow_up_months)
                    if follow_up_months is not None
                    else current.follow_up_months
                )
                policy = WorkPolicy(
                    follow_up_months=months,
                    follow_up_window_days=current.follow_up_window_days
                    if follow_up_window_days is None
                    else follow_up_window_days,
                    referral_answer_days=current.referral_answer_days
                    if referral_answer_days is None
                    else referral_answer_days,
                )
            except ValueError as exc:
                print(f"refused: {exc}", file=err)
                return 2
            await repository.set_policy(conn, tenant_id, policy)
    finally:
        await engine.dispose()
    default = " (the defaults)" if policy == DEFAULT_POLICY else ""
    print(
        f"{slug}: follow-up at {', '.join(map(str, policy.follow_up_months))} months, "
        f"on time within {policy.follow_up_window_days} days, referral answer expected "
        f"within {policy.referral_answer_days} days{default}",
        file=out,
    )
    return 0
