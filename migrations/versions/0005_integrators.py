"""Integrator clients: credentials a tenant admin creates for its shelter's integrators.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op
from migration_helpers import app_role, enable_tenant_rls

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    role = app_role()
    op.execute(
        """
        CREATE TABLE integrator_clients (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            client_id text NOT NULL UNIQUE,
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            secret_hash text NOT NULL,
            scopes text[] NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            created_by text NOT NULL,
            revoked_at timestamptz,
            revoked_by text,
            PRIMARY KEY (tenant_id, client_id)
        )
        """
    )
    enable_tenant_rls("integrator_clients")
    op.execute(f"GRANT SELECT, INSERT ON integrator_clients TO {role}")
    op.execute(f"GRANT UPDATE (revoked_at, revoked_by) ON integrator_clients TO {role}")


def downgrade() -> None:
    op.execute("DROP TABLE integrator_clients")
