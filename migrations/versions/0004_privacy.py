"""Privacy: per-client data keys, destroyed-key tombstones, the personal-data access log.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-29

* ``data_keys``: one wrapped data key per case (client). The service role may SELECT, INSERT
  and DELETE (erasure destroys the row), never UPDATE: only the owner rewraps keys when the
  master key rotates. Autovacuum is told to clean the table after any deletion, and no
  statistics are kept of the wrapped keys, so no copy lingers in ``pg_statistic``; the
  owner's ``VACUUM FULL`` (``safe-future retention run``) rewrites the table without the
  destroyed rows.
* ``destroyed_data_keys``: which key ids were destroyed (no secret), so an envelope of an
  erased key reads as erased while one naming a key the case never had is tampering.
* ``personal_data_access_log``: one row per response that returned a client's personal
  fields; append-only (the service role may SELECT and INSERT, triggers refuse UPDATE,
  DELETE and TRUNCATE to everyone).
"""

from __future__ import annotations

from alembic import op
from migration_helpers import app_role, enable_tenant_rls

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    role = app_role()
    op.execute(
        """
        CREATE TABLE data_keys (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            case_id uuid NOT NULL,
            key_id uuid NOT NULL,
            wrapped_key bytea NOT NULL,
            master_key_id text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, case_id)
        ) WITH (autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0)
        """
    )
    op.execute("ALTER TABLE data_keys ALTER COLUMN wrapped_key SET STATISTICS 0")
    enable_tenant_rls("data_keys")
    op.execute(f"GRANT SELECT, INSERT, DELETE ON data_keys TO {role}")

    op.execute(
        """
        CREATE TABLE destroyed_data_keys (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            case_id uuid NOT NULL,
            key_id uuid NOT NULL,
            destroyed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, case_id, key_id)
        )
        """
    )
    enable_tenant_rls("destroyed_data_keys")
    op.execute(f"GRANT SELECT, INSERT ON destroyed_data_keys TO {role}")

    op.execute(
        """
        CREATE TABLE personal_data_access_log (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            id uuid NOT NULL,
            accessed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            actor text NOT NULL,
            organisation text NOT NULL,
            roles text[] NOT NULL,
            case_id uuid NOT NULL,
            fields text[] NOT NULL CHECK (cardinality(fields) > 0),
            request_id text NOT NULL,
            PRIMARY KEY (tenant_id, id)
        )
        """
    )
    op.execute(
        "CREATE INDEX personal_data_access_by_case "
        "ON personal_data_access_log (tenant_id, case_id, accessed_at DESC, id DESC)"
    )
    op.execute(
        "CREATE INDEX personal_data_access_by_actor "
        "ON personal_data_access_log (tenant_id, actor, accessed_at DESC, id DESC)"
    )
    op.execute(
        """
        CREATE FUNCTION access_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'the personal-data access log is append-only: % is not allowed', TG_OP
            USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER access_log_no_update_or_delete "
        "BEFORE UPDATE OR DELETE ON personal_data_access_log "
        "FOR EACH ROW EXECUTE FUNCTION access_log_is_append_only()"
    )
    op.execute(
        "CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON personal_data_access_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION access_log_is_append_only()"
    )
    enable_tenant_rls("personal_data_access_log")
    op.execute(f"GRANT SELECT, INSERT ON personal_data_access_log TO {role}")


def downgrade() -> None:
    role = app_role()
    for table in ("personal_data_access_log", "destroyed_data_keys", "data_keys"):
        op.execute(f"REVOKE ALL ON {table} FROM {role}")
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP FUNCTION access_log_is_append_only()")
