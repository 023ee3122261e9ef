"""Rotating key-encryption keys (KEKs) between the master key and the clients' data keys.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-04

Data keys are wrapped under a KEK that rotates (by default daily); a KEK's secret lives only in
a file outside the database (wrapped by the master key) and is destroyed once every live data
key is rewrapped under its successor. A copy of the database (WAL, archive, backup) made
before an erasure then holds the erased client's data key wrapped under a destroyed key only.

* ``key_encryption_keys``: the KEKs' ids and life cycle, never a secret. ``pending`` (its file
  is being written), ``current`` (wraps new data keys; at most one), ``retiring`` (data keys
  are being rewrapped away from it), ``destroyed`` (its file is gone). A trigger allows only
  these steps forward and refuses deletion, to everyone. Not tenant-owned: no tenant data.
* ``rewrap_data_keys(...)``: the only way the service role changes a data key row. It swaps
  the wrapping of rows of the transaction's tenant (row-level security still applies) from a
  named key to the *current* KEK, and only when the row is still wrapped by the named key, so
  a concurrent erasure or rotation is never overwritten. The service role still may not
  ``UPDATE data_keys`` directly.
* ``data_keys.master_key_id`` keeps its name; it now holds the id of the wrapping key: a KEK
  id (``kek-...``), or a master key id for rows wrapped before this revision.
"""

from __future__ import annotations

from alembic import op
from migration_helpers import app_role

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    role = app_role()
    op.execute(
        """
        CREATE TABLE key_encryption_keys (
            kek_id text PRIMARY KEY CHECK (kek_id ~ '^kek-[0-9a-f]{32}$'),
            state text NOT NULL
                CHECK (state IN ('pending', 'current', 'retiring', 'destroyed')),
            created_at timestamptz NOT NULL DEFAULT now(),
            activated_at timestamptz,
            retired_at timestamptz,
            destroyed_at timestamptz
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX one_current_kek ON key_encryption_keys (state) WHERE state = 'current'"
    )
    op.execute(
        """
        CREATE FUNCTION kek_life_cycle() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'key-encryption keys are never deleted, only destroyed'
              USING ERRCODE = 'restrict_violation';
          END IF;
          IF NEW.kek_id <> OLD.kek_id OR NOT (
               (OLD.state = NEW.state)
            OR (OLD.state = 'pending' AND NEW.state IN ('current', 'destroyed'))
            OR (OLD.state = 'current' AND NEW.state = 'retiring')
            OR (OLD.state = 'retiring' AND NEW.state = 'destroyed')
          ) THEN
            RAISE EXCEPTION 'a key-encryption key cannot go from % to %', OLD.state, NEW.state
              USING ERRCODE = 'restrict_violation';
          END IF;
          RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER kek_life_cycle BEFORE UPDATE OR DELETE ON key_encryption_keys "
        "FOR EACH ROW EXECUTE FUNCTION kek_life_cycle()"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON key_encryption_keys TO {role}")

    op.execute(
        """
        CREATE FUNCTION rewrap_data_keys(
            p_case_ids uuid[], p_key_ids uuid[], p_from text[], p_wrapped bytea[], p_to text
        ) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        DECLARE
          changed integer;
        BEGIN
          IF NOT EXISTS (
            SELECT 1 FROM key_encryption_keys WHERE kek_id = p_to AND state = 'current'
          ) THEN
            RAISE EXCEPTION 'data keys are rewrapped only under the current key-encryption key'
              USING ERRCODE = 'restrict_violation';
          END IF;
          UPDATE data_keys AS d
             SET wrapped_key = r.wrapped, master_key_id = p_to
            FROM unnest(p_case_ids, p_key_ids, p_from, p_wrapped)
                 AS r(case_id, key_id, from_id, wrapped)
           WHERE d.tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid
             AND d.case_id = r.case_id AND d.key_id = r.key_id
             AND d.master_key_id = r.from_id;
          GET DIAGNOSTICS changed = ROW_COUNT;
          RETURN changed;
        END
        $$
        """
    )
    op.execute(
        "REVOKE ALL ON FUNCTION rewrap_data_keys(uuid[], uuid[], text[], bytea[], text) FROM PUBLIC"
    )
    op.execute(
        "GRANT EXECUTE ON FUNCTION rewrap_data_keys(uuid[], uuid[], text[], bytea[], text) "
        f"TO {role}"
    )


def downgrade() -> None:
    role = app_role()
    op.execute("DROP FUNCTION rewrap_data_keys(uuid[], uuid[], text[], bytea[], text)")
    op.execute(f"REVOKE ALL ON key_encryption_keys FROM {role}")
    op.execute("DROP TABLE key_encryption_keys")
    op.execute("DROP FUNCTION kek_life_cycle()")
