"""Transfer offers between two shelters.

``transfer_offers`` holds one row per offer of a case from a sending shelter (``tenant_id``,
the owner of the row and its distribution column) to a receiving one
(``receiving_tenant_id``). It is owned by both: row-level security (enabled and forced) lets a
transaction see, insert or change a row only when ``app.tenant_id`` is the sending or the
receiving tenant; any third shelter, and a transaction without the setting, sees nothing.

``facts`` holds the non-personal facts the offer shares (profile without name or date of
birth, the facts that set the phase). ``personal`` holds the client's name and date of birth,
only when the offer shares personal data, sealed with a key of the offer's own (a row of
``data_keys`` of the sending tenant, keyed by the offer id), destroyed when the offer is
answered, withdrawn or the client's data is erased at the sender. ``sending_case_id`` never
leaves this table; ``receiving_case_id`` is set at acceptance.

The service role may SELECT, INSERT and UPDATE (an offer's answer), never DELETE.

``report_transfer_count(first, last)`` (``SECURITY DEFINER``, like the other report functions:
refused in a tenant transaction) counts the accepted transfers answered in the months from
``first`` to ``last``, over all shelters: one number, never a row.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op
from migration_helpers import app_role

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

_PARTY = (
    "NULLIF(current_setting('app.tenant_id', true), '')::uuid IN (tenant_id, receiving_tenant_id)"
)


_TRANSFER_COUNT = """
CREATE FUNCTION report_transfer_count(p_first date, p_last date)
RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
  IF coalesce(current_setting('app.tenant_id', true), '') <> '' THEN
    RAISE EXCEPTION 'cross-tenant aggregates are not for tenant transactions'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_first IS NULL OR p_last IS NULL OR p_first > p_last THEN
    RAISE EXCEPTION 'an ordered period is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN (
    SELECT count(*) FROM transfer_offers
    WHERE status = 'ACCEPTED'
      AND date_trunc('month', answered_on)::date BETWEEN p_first AND p_last
  );
END
$$
"""
_SIGNATURE = "report_transfer_count(date, date)"


def upgrade() -> None:
    role = app_role()
    op.execute(
        """
        CREATE TABLE transfer_offers (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            offer_id uuid NOT NULL,
            receiving_tenant_id uuid NOT NULL REFERENCES tenants (id),
            sending_case_id uuid NOT NULL,
            receiving_case_id uuid,
            status text NOT NULL DEFAULT 'OFFERED',
            offered_on date NOT NULL,
            answered_on date,
            reason_code text,
            shares_personal_data boolean NOT NULL,
            facts jsonb NOT NULL,
            personal jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, offer_id),
            CHECK (tenant_id <> receiving_tenant_id),
            CHECK (status IN ('OFFERED', 'ACCEPTED', 'DECLINED', 'WITHDRAWN')),
            CHECK ((status = 'ACCEPTED') = (receiving_case_id IS NOT NULL)),
            CHECK (status = 'OFFERED' OR personal IS NULL)
        )
        """
    )
    op.execute(
        "CREATE INDEX transfer_offers_incoming ON transfer_offers (receiving_tenant_id, status)"
    )
    op.execute(
        "CREATE INDEX transfer_offers_by_case ON transfer_offers (tenant_id, sending_case_id)"
    )
    op.execute("ALTER TABLE transfer_offers ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE transfer_offers FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY offer_parties ON transfer_offers USING ({_PARTY}) WITH CHECK ({_PARTY})"
    )
    op.execute(
        "CREATE POLICY report_functions_read ON transfer_offers FOR SELECT TO CURRENT_USER "
        "USING (true)"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON transfer_offers TO {role}")
    op.execute(_TRANSFER_COUNT)
    op.execute(f"REVOKE ALL ON FUNCTION {_SIGNATURE} FROM PUBLIC")
    # Like the other raw report counts: only the report role (revision 0010) may call it.
    op.execute(f"GRANT EXECUTE ON FUNCTION {_SIGNATURE} TO {role}_reports")


def downgrade() -> None:
    role = app_role()
    op.execute(f"DROP FUNCTION {_SIGNATURE}")
    op.execute(f"REVOKE ALL ON transfer_offers FROM {role}")
    op.execute("DROP TABLE transfer_offers")
