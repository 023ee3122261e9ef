"""Follow-up as work to do: the assigned case worker on the read model, and work policies.

``return_cases.caseworker`` is the token subject of the user a case is assigned to (projected
from ``CaseworkerAssigned``), indexed for "my cases".

``work_policies`` holds each shelter's settings for the work rules, one row per tenant: the
follow-up schedule in months after departure, the window around a due date within which a
contact counts as on time, and how many days a referral may wait for an answer. A shelter
without a row works with the defaults (3, 6 and 12 months; 30 days; 14 days). It is a tenant
table (row-level security enabled and forced); the service role only reads it, the owner
writes it (``safe-future policy set``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op
from migration_helpers import app_role, enable_tenant_rls

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    role = app_role()
    op.execute("ALTER TABLE return_cases ADD COLUMN caseworker text")
    op.execute(
        "CREATE INDEX return_cases_by_caseworker ON return_cases (tenant_id, caseworker) "
        "WHERE caseworker IS NOT NULL"
    )
    op.execute(
        """
        CREATE TABLE work_policies (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            follow_up_months integer[] NOT NULL,
            follow_up_window_days integer NOT NULL,
            referral_answer_days integer NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id),
            CHECK (cardinality(follow_up_months) BETWEEN 1 AND 24),
            CHECK (follow_up_window_days BETWEEN 0 AND 90),
            CHECK (referral_answer_days BETWEEN 1 AND 365)
        )
        """
    )
    enable_tenant_rls("work_policies")
    op.execute(f"GRANT SELECT ON work_policies TO {role}")


def downgrade() -> None:
    role = app_role()
    op.execute(f"REVOKE ALL ON work_policies FROM {role}")
    op.execute("DROP TABLE work_policies")
    op.execute("DROP INDEX return_cases_by_caseworker")
    op.execute("ALTER TABLE return_cases DROP COLUMN caseworker")
