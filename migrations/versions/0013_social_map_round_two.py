"""Social map, round two: mechanisms as versioned flowcharts, suggestions, coordinates, names.

* ``referral_mechanisms`` becomes one flowchart per country (a ``jsonb`` graph of steps and
  conditional edges) with a version, freshness and retirement; ``referral_mechanism_changes``
  is its append-only history (who, when, why, credited suggestion, snapshot). The linear
  ``referral_steps`` of revision 0002 are dropped: they were seed data only, and the seed,
  loaded at the end of this revision, writes the flowcharts.
* Organisations gain coordinates (WGS 84, both or neither), a Dutch name, their own-language
  name and descriptions in English and Dutch; their history gains ``CONFIRMED`` entries and
  the suggestion an accepted change credits.
* ``social_map_suggestions`` is tenant-owned: forced row-level security on the tenant, plus a
  policy for CoMensha's editors that holds only where the service set ``app.social_map_editor``
  after checking the editor role.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op
from migration_helpers import app_role, enable_tenant_rls

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_NEW_ORGANISATION_COLUMNS = (
    "name_nl, local_name, description_en, description_nl, latitude, longitude"
)


def upgrade() -> None:
    role = app_role()
    op.execute("DROP TABLE referral_steps")
    op.execute("DROP TABLE referral_mechanisms")
    op.execute(
        """
        CREATE TABLE referral_mechanisms (
            country text PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
            version integer NOT NULL CHECK (version > 0),
            title_en text NOT NULL CHECK (length(title_en) BETWEEN 1 AND 300),
            title_nl text,
            notes_en text,
            notes_nl text,
            graph jsonb NOT NULL CHECK (jsonb_typeof(graph) = 'object'),
            last_verified_on date,
            retired_at timestamptz,
            retired_reason text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK ((retired_at IS NULL) = (retired_reason IS NULL))
        )
        """
    )
    op.execute(
        """
        CREATE TABLE referral_mechanism_changes (
            country text NOT NULL REFERENCES referral_mechanisms (country),
            version integer NOT NULL CHECK (version > 0),
            change text NOT NULL CHECK (change IN ('CREATED', 'UPDATED', 'RETIRED', 'CONFIRMED')),
            actor text NOT NULL,
            actor_organisation text NOT NULL,
            changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            reason text,
            suggestion_id uuid,
            request_id text,
            snapshot jsonb NOT NULL CHECK (jsonb_typeof(snapshot) = 'object'),
            PRIMARY KEY (country, version)
        )
        """
    )
    for trigger, when, each in (
        ("no_update_or_delete", "UPDATE OR DELETE", "ROW"),
        ("no_truncate", "TRUNCATE", "STATEMENT"),
    ):
        op.execute(
            f"CREATE TRIGGER referral_mechanism_changes_{trigger} BEFORE {when} "
            f"ON referral_mechanism_changes FOR EACH {each} "
            "EXECUTE FUNCTION organisation_changes_are_append_only()"
        )
    op.execute(f"GRANT SELECT, INSERT ON referral_mechanisms, referral_mechanism_changes TO {role}")
    op.execute(
        "GRANT UPDATE (version, title_en, title_nl, notes_en, notes_nl, graph, last_verified_on, "
        f"retired_at, retired_reason, updated_at) ON referral_mechanisms TO {role}"
    )

    op.execute(
        """
        ALTER TABLE organisations
            ADD COLUMN name_nl text,
            ADD COLUMN local_name text,
            ADD COLUMN description_en text,
            ADD COLUMN description_nl text,
            ADD COLUMN latitude double precision CHECK (latitude BETWEEN -90 AND 90),
            ADD COLUMN longitude double precision CHECK (longitude BETWEEN -180 AND 180),
            ADD CONSTRAINT organisations_coordinates_together
                CHECK ((latitude IS NULL) = (longitude IS NULL))
        """
    )
    op.execute(f"GRANT UPDATE ({_NEW_ORGANISATION_COLUMNS}) ON organisations TO {role}")
    op.execute("ALTER TABLE organisation_changes DROP CONSTRAINT organisation_changes_change_check")
    op.execute(
        "ALTER TABLE organisation_changes ADD CONSTRAINT organisation_changes_change_check "
        "CHECK (change IN ('CREATED', 'UPDATED', 'RETIRED', 'CONFIRMED'))"
    )
    op.execute("ALTER TABLE organisation_changes ADD COLUMN suggestion_id uuid")

    op.execute(
        """
        CREATE TABLE social_map_suggestions (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('ORGANISATION_CHANGE', 'NEW_ORGANISATION',
                                               'MECHANISM_STEP_CORRECTION')),
            organisation_id uuid REFERENCES organisations (id),
            country text CHECK (country ~ '^[A-Z]{2}$'),
            step_key text,
            proposal jsonb NOT NULL CHECK (jsonb_typeof(proposal) = 'object'),
            reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
            suggested_by text NOT NULL,
            suggested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            status text NOT NULL DEFAULT 'PENDING'
                CHECK (status IN ('PENDING', 'ACCEPTED', 'REJECTED')),
            decided_by text,
            decided_by_organisation text,
            decided_at timestamptz,
            decision_reason text,
            applied_version integer,
            PRIMARY KEY (tenant_id, id),
            UNIQUE (id),
            CHECK ((status = 'PENDING') = (decided_at IS NULL)),
            CHECK (status <> 'REJECTED' OR decision_reason IS NOT NULL)
        )
        """
    )
    op.execute(
        "CREATE INDEX social_map_suggestions_queue ON social_map_suggestions (status, suggested_at)"
    )
    enable_tenant_rls("social_map_suggestions")
    editor = "current_setting('app.social_map_editor', true) = 'on'"
    op.execute(f"CREATE POLICY editors_read ON social_map_suggestions FOR SELECT USING ({editor})")
    op.execute(
        f"CREATE POLICY editors_decide ON social_map_suggestions FOR UPDATE "
        f"USING ({editor}) WITH CHECK ({editor})"
    )
    op.execute(f"GRANT SELECT, INSERT ON social_map_suggestions TO {role}")
    op.execute(
        "GRANT UPDATE (status, decided_by, decided_by_organisation, decided_at, decision_reason, "
        f"applied_version) ON social_map_suggestions TO {role}"
    )
    _load_seed()


def _load_seed() -> None:
    # The seed lives in the service package, so that `safe-future seed` and this revision insert
    # the very same rows; each statement does nothing for a row present. It runs here, in the
    # revision that gave the shared tables the shape the seed writes (revision 0002 no longer
    # seeds): a later revision that reshapes these tables moves this call to its own end.
    from service.socialmap.history import Actor
    from service.socialmap.seed import statements

    bind = op.get_bind()
    for _kind, statement, params in statements(demo=False, actor=Actor("migration 0013", "system")):
        bind.execute(statement, params)


def downgrade() -> None:
    op.execute("DROP TABLE social_map_suggestions")
    op.execute("ALTER TABLE organisation_changes DROP COLUMN suggestion_id")
    op.execute("ALTER TABLE organisation_changes DROP CONSTRAINT organisation_changes_change_check")
    op.execute(
        "ALTER TABLE organisation_changes ADD CONSTRAINT organisation_changes_change_check "
        "CHECK (change IN ('CREATED', 'UPDATED', 'RETIRED'))"
    )
    op.execute(
        "ALTER TABLE organisations DROP CONSTRAINT organisations_coordinates_together, "
        "DROP COLUMN name_nl, DROP COLUMN local_name, DROP COLUMN description_en, "
        "DROP COLUMN description_nl, DROP COLUMN latitude, DROP COLUMN longitude"
    )
    op.execute("DROP TABLE referral_mechanism_changes")
    op.execute("DROP TABLE referral_mechanisms")
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
