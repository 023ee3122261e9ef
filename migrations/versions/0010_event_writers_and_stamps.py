"""Event writers announce themselves; the database stamps events; narrower report and log paths.

* The feed's horizon depends only on event writers. Every transaction that appends events
  first calls ``events_writer_begin()``, which takes a shared transaction-level advisory lock
  before the transaction has a transaction id. ``events_horizon()`` is the smallest id of a
  running transaction holding that lock (or, with none, the first id not yet handed out), so
  an unrelated long transaction (another database, an idle session, a rebuild, an import,
  ``pg_dump``) no longer holds any tenant's feed back.
* ``transaction_id``, ``recorded_at`` and ``global_position`` are stamped by the database: the
  service role may insert only the other columns, and a trigger sets the stamps.
* The raw report counting functions are executable only by a report role (``<role>_reports``,
  NOLOGIN) that the service switches to for a report transaction.
* The personal-data access log is written only through ``record_personal_data_access``, which
  stamps the tenant, the actor of the transaction, a fresh id and the database's time.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op
from migration_helpers import app_role

revision = "0010"
down_revision = "0008"
branch_labels = None
# Runs after 0003 and 0004 (the report functions and the access log it narrows) and after 0007
# (which recreates the indicator function whose grants are narrowed here).
depends_on = None

# The advisory lock that event writers hold (shared) for the rest of their transaction.
WRITER_LOCK = 0x5AFE_0E7E
_INSERTABLE = (
    "tenant_id, stream_id, stream_type, version, event_type, schema_version, payload, "
    "personal, metadata, occurred_at"
)
_REPORT_FUNCTIONS = (
    "report_caseload_counts(text[], date, date)",
    "report_indicator_counts(date, date)",
)


def upgrade() -> None:
    role = app_role()
    reports = f"{role}_reports"
    op.execute(
        f"""
        CREATE FUNCTION events_writer_begin() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
          IF current_setting('safe_future.event_writer', true) = 'on' THEN
            RETURN true;
          END IF;
          IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
            RAISE EXCEPTION 'an event writer must announce itself before its first write'
              USING ERRCODE = 'object_not_in_prerequisite_state';
          END IF;
          PERFORM pg_advisory_xact_lock_shared({WRITER_LOCK});
          PERFORM set_config('safe_future.event_writer', 'on', true);
          RETURN true;
        END
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION events_horizon() RETURNS xid8 LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
          snap pg_snapshot := pg_current_snapshot();
          writer xid8;
        BEGIN
          -- Read after the snapshot: a writer running at the snapshot either still holds the
          -- lock now (and bounds the horizon) or has finished, so a later snapshot sees it.
          SELECT min(x) INTO writer
          FROM pg_snapshot_xip(snap) AS x
          WHERE (x::text::bigint % 4294967296)::text IN (
            SELECT own.transactionid::text
            FROM pg_locks AS lock
            JOIN pg_locks AS own ON own.pid = lock.pid AND own.locktype = 'transactionid'
            WHERE lock.locktype = 'advisory' AND lock.classid = 0
              AND lock.objid = {WRITER_LOCK} AND lock.objsubid = 1
          );
          RETURN coalesce(writer, pg_snapshot_xmax(snap));
        END
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION events_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF current_setting('safe_future.event_writer', true) IS DISTINCT FROM 'on' THEN
            RAISE EXCEPTION 'call events_writer_begin() before appending events'
              USING ERRCODE = 'object_not_in_prerequisite_state';
          END IF;
          NEW.transaction_id := pg_current_xact_id();
          NEW.recorded_at := clock_timestamp();
          RETURN NEW;
        END
        $$
        """
    )
    # The default took the transaction id before any trigger could take the writer lock.
    op.execute("ALTER TABLE events ALTER COLUMN transaction_id DROP DEFAULT")
    op.execute(
        "CREATE TRIGGER events_stamped BEFORE INSERT ON events "
        "FOR EACH ROW EXECUTE FUNCTION events_stamp()"
    )
    op.execute(f"REVOKE INSERT ON events FROM {role}")
    op.execute(f"GRANT INSERT ({_INSERTABLE}) ON events TO {role}")

    op.execute(
        f"""
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{reports}') THEN
            CREATE ROLE {reports} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
              NOINHERIT NOREPLICATION;
          END IF;
        END
        $$
        """
    )
    op.execute(f"GRANT {reports} TO {role}")
    op.execute(f"GRANT SELECT ON tenants TO {reports}")
    for signature in _REPORT_FUNCTIONS:
        op.execute(f"REVOKE EXECUTE ON FUNCTION {signature} FROM {role}")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {reports}")

    op.execute(
        """
        CREATE FUNCTION record_personal_data_access(
            p_organisation text, p_roles text[], p_request_id text, p_cases uuid[],
            p_fields text[]
        ) RETURNS integer
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        DECLARE
          tenant uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
          actor text := NULLIF(current_setting('app.actor', true), '');
          written integer;
        BEGIN
          IF tenant IS NULL OR actor IS NULL THEN
            RAISE EXCEPTION 'the transaction names no tenant or actor'
              USING ERRCODE = 'insufficient_privilege';
          END IF;
          INSERT INTO personal_data_access_log
            (tenant_id, id, accessed_at, actor, organisation, roles, case_id, fields, request_id)
          SELECT tenant, gen_random_uuid(), clock_timestamp(), actor, p_organisation, p_roles,
                 r.case_id, string_to_array(r.fields, ','), p_request_id
          FROM unnest(p_cases, p_fields) AS r(case_id, fields);
          GET DIAGNOSTICS written = ROW_COUNT;
          RETURN written;
        END
        $$
        """
    )
    signature = "record_personal_data_access(text, text[], text, uuid[], text[])"
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {role}")
    op.execute(f"REVOKE INSERT ON personal_data_access_log FROM {role}")


def downgrade() -> None:
    role = app_role()
    reports = f"{role}_reports"
    op.execute(f"GRANT INSERT ON personal_data_access_log TO {role}")
    op.execute("DROP FUNCTION record_personal_data_access(text, text[], text, uuid[], text[])")
    for signature in _REPORT_FUNCTIONS:
        op.execute(f"REVOKE EXECUTE ON FUNCTION {signature} FROM {reports}")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {role}")
    op.execute(f"REVOKE SELECT ON tenants FROM {reports}")
    op.execute(f"REVOKE {reports} FROM {role}")
    op.execute(f"REVOKE INSERT ({_INSERTABLE}) ON events FROM {role}")
    op.execute(f"GRANT INSERT ON events TO {role}")
    op.execute("DROP TRIGGER events_stamped ON events")
    op.execute("ALTER TABLE events ALTER COLUMN transaction_id SET DEFAULT pg_current_xact_id()")
    op.execute("DROP FUNCTION events_stamp()")
    op.execute("DROP FUNCTION events_horizon()")
    op.execute("DROP FUNCTION events_writer_begin()")
