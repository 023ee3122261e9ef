"""Let the service role read which migrations are applied (for /readyz).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op
from migration_helpers import app_role

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(f"GRANT SELECT ON alembic_version TO {app_role()}")


def downgrade() -> None:
    op.execute(f"REVOKE SELECT ON alembic_version FROM {app_role()}")
