"""Social map: organisations, their append-only history, national referral mechanisms.

The tables are shared data, not tenant-owned: no ``tenant_id``, no row-level security. The
service role reads them all; it may insert and update organisations (column by column) and
insert history, nothing else. Editing is authorised in the service (``social-map-editor``).
The real seed (public facts only) is loaded by revision 0013; the demo set never is.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op
from migration_helpers import app_role

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Columns the service may change on an existing organisation (not id, created_at, demo).
_UPDATABLE = (
    "version, name, name_key, kind, country, city, region, services, target_groups, "
    "languages, contact_channels, referral_notes, last_verified_on, source, return_support, "
    "search_text, retired_at, retired_reason, updated_at"
)


def upgrade() -> None:
    role = app_role()
    op.execute(
        """
        CREATE TABLE organisations (
            id uuid PRIMARY KEY,
            version integer NOT NULL CHECK (version > 0),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
            name_key text NOT NULL CHECK (name_key <> ''),
            kind text NOT NULL,
            country text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
            city text,
            region text,
            services text[] NOT NULL DEFAULT '{}',
            target_groups text[] NOT NULL DEFAULT '{}',
            languages text[] NOT NULL DEFAULT '{}',
            contact_channels jsonb NOT NULL DEFAULT '[]'
                CHECK (jsonb_typeof(contact_channels) = 'array'),
            referral_notes text,
            last_verified_on date,
            source text,
            return_support text CHECK (return_support IS NULL OR country = 'NL'),
            demo boolean NOT NULL DEFAULT false,
            search_text text NOT NULL,
            retired_at timestamptz,
            retired_reason text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            UNIQUE (country, name_key),
            CHECK ((retired_at IS NULL) = (retired_reason IS NULL))
        )
        """
    )
    op.execute("CREATE INDEX organisations_by_name ON organisations (name_key, id)")
    op.execute(
        "CREATE INDEX organisations_search ON organisations "
        "USING gin (to_tsvector('simple', search_text))"
    )
    op.execute("CREATE INDEX organisations_services ON organisations USING gin (services)")
    op.execute(f"GRANT SELECT, INSERT ON organisations TO {role}")
    op.execute(f"GRANT UPDATE ({_UPDATABLE}) ON organisations TO {role}")

    # Every change of an organisation: who, when, what (a diff per field). Append-only.
    op.execute(
        """
        CREATE TABLE organisation_changes (
            organisation_id uuid NOT NULL REFERENCES organisations (id),
            version integer NOT NULL CHECK (version > 0),
            change text NOT NULL CHECK (change IN ('CREATED', 'UPDATED', 'RETIRED')),
            actor text NOT NULL,
            actor_organisation text NOT NULL,
            changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            diff jsonb NOT NULL CHECK (jsonb_typeof(diff) = 'object'),
            reason text,
            request_id text,
            idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
            fingerprint text,
            PRIMARY KEY (organisation_id, version),
            UNIQUE (actor_organisation, idempotency_key)
        )
        """
    )
    op.execute(
        """
        CREATE FUNCTION organisation_changes_are_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'the social map history is append-only: % is not allowed', TG_OP
            USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER organisation_changes_no_update_or_delete "
        "BEFORE UPDATE OR DELETE ON organisation_changes "
        "FOR EACH ROW EXECUTE FUNCTION organisation_changes_are_append_only()"
    )
    op.execute(
        "CREATE TRIGGER organisation_changes_no_truncate BEFORE TRUNCATE ON organisation_changes "
        "FOR EACH STATEMENT EXECUTE FUNCTION organisation_changes_are_append_only()"
    )
    op.execute(f"GRANT SELECT, INSERT ON organisation_changes TO {role}")

    op.execute(
        """
        CREATE TABLE referral_mechanisms (
            country text PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
            title text NOT NULL,
            source text NOT NULL,
            notes text
        )
        """
    )
    op.execute(
        """
        CREATE TABLE referral_steps (
            country text NOT NULL REFERENCES referral_mechanisms (country),
            position integer NOT NULL CHECK (position > 0),
            title text NOT NULL,
            responsible_body text NOT NULL,
            description text NOT NULL,
            PRIMARY KEY (country, position)
        )
        """
    )
    op.execute(f"GRANT SELECT ON referral_mechanisms, referral_steps TO {role}")

    # The real seed is loaded by revision 0013, which gave these tables the shape it writes.


def downgrade() -> None:
    op.execute("DROP TABLE referral_steps")
    op.execute("DROP TABLE referral_mechanisms")
    op.execute("DROP TABLE organisation_changes")
    op.execute("DROP FUNCTION organisation_changes_are_append_only()")
    op.execute("DROP TABLE organisations")
