"""Helpers shared by migrations: the service role's name and the tenant RLS policy."""

from __future__ import annotations

from alembic import op


def app_role() -> str:
    """The service role, as handed over by ``service.db.migrate`` (or the default)."""
    role = op.get_context().config.attributes.get("app_role", "safe_future_app")
    if not str(role).replace("_", "").isalnum():
        raise ValueError("the service role must be a plain identifier")
    return str(role)


def enable_tenant_rls(table: str) -> None:
    """Row-level security, enabled and forced, keyed on the transaction's tenant setting.

    A missing setting yields NULL, which equals nothing: zero rows, never all rows.
    """
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"""
        CREATE POLICY tenant_isolation ON {table}
        USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
        WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
        """
    )
