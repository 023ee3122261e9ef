"""Foundation: tenants, the service role, the append-only event store and case read models.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import uuid

from alembic import op
from migration_helpers import app_role, enable_tenant_rls

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TENANT_NAMESPACE = uuid.UUID("5f1e6a52-1c1b-4e0c-9d55-2c6f3e0a7a10")
TENANTS = [
    ("hvo-querido", "HVO Querido", "shelter"),
    ("humanitas-pmw", "Humanitas PMW", "shelter"),
    ("jade-zorggroep", "Jade Zorggroep", "shelter"),
    ("moviera", "Moviera", "shelter"),
    ("het-kopland", "Het Kopland", "shelter"),
    ("blijf-groep", "Blijf Groep", "shelter"),
    ("comensha", "CoMensha", "coordination"),
]


def upgrade() -> None:
    role = app_role()
    op.execute(
        f"""
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
            CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
              NOINHERIT NOREPLICATION;
          END IF;
        END
        $$
        """
    )
    op.execute(f"ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION")
    op.execute(
        f"DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO {role}', "
        "current_database()); END $$"
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")

    op.execute(
        """
        CREATE TABLE tenants (
            id uuid PRIMARY KEY,
            slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
            name text NOT NULL,
            kind text NOT NULL CHECK (kind IN ('shelter', 'coordination')),
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    for slug, name, kind in TENANTS:
        tenant_id = uuid.uuid5(TENANT_NAMESPACE, slug)
        op.execute(
            f"INSERT INTO tenants (id, slug, name, kind) "
            f"VALUES ('{tenant_id}', '{slug}', '{name}', '{kind}')"
        )
    op.execute(f"GRANT SELECT ON tenants TO {role}")

    # The event log: the single source of truth.
    op.execute(
        """
        CREATE TABLE events (
            global_position bigint GENERATED ALWAYS AS IDENTITY,
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            stream_id uuid NOT NULL,
            stream_type text NOT NULL,
            version integer NOT NULL CHECK (version > 0),
            event_type text NOT NULL,
            schema_version integer NOT NULL CHECK (schema_version > 0),
            payload jsonb NOT NULL,
            personal jsonb,
            metadata jsonb NOT NULL,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
            PRIMARY KEY (tenant_id, global_position),
            UNIQUE (tenant_id, stream_id, version)
        )
        """
    )
    op.execute("CREATE INDEX events_feed ON events (tenant_id, transaction_id, global_position)")
    op.execute(
        """
        CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'the event log is append-only: % is not allowed', TG_OP
            USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON events "
        "FOR EACH ROW EXECUTE FUNCTION events_are_append_only()"
    )
    op.execute(
        "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only()"
    )
    enable_tenant_rls("events")
    op.execute(f"GRANT SELECT, INSERT ON events TO {role}")

    # Idempotency: the first result of a command sent with a key.
    op.execute(
        """
        CREATE TABLE command_receipts (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
            stream_id uuid NOT NULL,
            command_type text NOT NULL,
            fingerprint text NOT NULL,
            result_version integer NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, idempotency_key)
        )
        """
    )
    enable_tenant_rls("command_receipts")
    op.execute(f"GRANT SELECT, INSERT ON command_receipts TO {role}")

    # Read model: one row per return case, maintained inline.
    op.execute(
        """
        CREATE TABLE return_cases (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            case_id uuid NOT NULL,
            version integer NOT NULL,
            phase text NOT NULL,
            pseudonym text,
            gender text,
            birth_year integer,
            nationality text,
            country_of_origin text,
            languages text[] NOT NULL DEFAULT '{}',
            exploitation_forms text[] NOT NULL DEFAULT '{}',
            intake_date date NOT NULL,
            wish text,
            residence_status text,
            proceedings_stage text,
            departure_obligation boolean NOT NULL DEFAULT false,
            departure_deadline date,
            risk_level text,
            planned_departure_on date,
            departed_on date,
            departure_mode text,
            destination_country text,
            closing_reason text,
            closed_on date,
            transferred_to text,
            follow_up_count integer NOT NULL DEFAULT 0,
            partner_organisation_ids uuid[] NOT NULL DEFAULT '{}',
            referrals jsonb NOT NULL DEFAULT '[]',
            consents jsonb NOT NULL DEFAULT '[]',
            personal jsonb,
            personal_data_erased boolean NOT NULL DEFAULT false,
            opened_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, case_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX return_cases_by_intake "
        "ON return_cases (tenant_id, intake_date DESC, case_id DESC)"
    )
    op.execute("CREATE INDEX return_cases_by_phase ON return_cases (tenant_id, phase)")
    enable_tenant_rls("return_cases")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON return_cases TO {role}")

    op.execute(
        """
        CREATE TABLE case_timeline (
            tenant_id uuid NOT NULL,
            case_id uuid NOT NULL,
            version integer NOT NULL,
            global_position bigint NOT NULL,
            event_type text NOT NULL,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL,
            actor text NOT NULL,
            actor_role text NOT NULL,
            summary text NOT NULL,
            organisation_id uuid,
            PRIMARY KEY (tenant_id, case_id, version),
            FOREIGN KEY (tenant_id, case_id) REFERENCES return_cases (tenant_id, case_id)
        )
        """
    )
    enable_tenant_rls("case_timeline")
    op.execute(f"GRANT SELECT, INSERT ON case_timeline TO {role}")


def downgrade() -> None:
    role = app_role()
    for table in ("case_timeline", "return_cases", "command_receipts", "events", "tenants"):
        op.execute(f"REVOKE ALL ON {table} FROM {role}")
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP FUNCTION events_are_append_only()")
