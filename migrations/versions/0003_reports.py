"""Reports: the report read model, its checkpoints, and the cross-tenant aggregate functions.

``report_cases`` holds one row per case without personal data; ``report_checkpoints`` one row
per (tenant, projection) with the feed position the projection reached. Both are tenant
tables: row-level security enabled and forced, like every other.

Cross-tenant reading happens only through two ``SECURITY DEFINER`` functions owned by the
owner, which return counts per group (and order statistics), never rows of cases, and refuse
to run inside a tenant transaction (a request of a shelter never reads across tenants). The owner
is subject to the forced policies too, so one extra policy lets the owner (only) read every
row of ``report_cases``; the owner could switch row-level security off anyway, so this grants
it nothing new. The service role keeps seeing only its own tenant's rows.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op
from migration_helpers import app_role, enable_tenant_rls

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

_CASELOAD_FUNCTION = """
CREATE FUNCTION report_caseload_counts(p_dimensions text[], p_first date, p_last date)
RETURNS TABLE (v1 text, v2 text, v3 text, n bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  dim text;
  expr text;
  exprs text[] := ARRAY[]::text[];
  source text := 'report_cases r JOIN tenants t ON t.id = r.tenant_id';
BEGIN
  IF coalesce(current_setting('app.tenant_id', true), '') <> '' THEN
    RAISE EXCEPTION 'cross-tenant aggregates are not for tenant transactions'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_dimensions IS NULL OR cardinality(p_dimensions) > 3 THEN
    RAISE EXCEPTION 'group by at most three dimensions' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF (SELECT count(DISTINCT d) FROM unnest(p_dimensions) AS d) <> cardinality(p_dimensions) THEN
    RAISE EXCEPTION 'each dimension at most once' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_first IS NULL OR p_last IS NULL OR p_first > p_last THEN
    RAISE EXCEPTION 'an ordered period is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOREACH dim IN ARRAY p_dimensions LOOP
    -- Only these fixed expressions ever reach the statement; input merely picks among them.
    expr := CASE dim
      WHEN 'SHELTER' THEN 't.slug'
      WHEN 'PHASE' THEN 'r.phase'
      WHEN 'COUNTRY_OF_ORIGIN' THEN 'r.country_of_origin'
      WHEN 'NATIONALITY' THEN 'r.nationality'
      WHEN 'EXPLOITATION_FORM' THEN 'f.form'
      WHEN 'GENDER' THEN 'r.gender'
      WHEN 'AGE_GROUP' THEN 'r.age_group'
      WHEN 'DEPARTURE_MODE' THEN 'r.departure_mode'
      WHEN 'CLOSING_REASON' THEN 'r.closing_reason'
    END;
    IF expr IS NULL THEN
      RAISE EXCEPTION 'unknown dimension' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    exprs := exprs || expr;
  END LOOP;
  IF 'EXPLOITATION_FORM' = ANY (p_dimensions) THEN
    -- A case counts once per form: the unit becomes the case-form pair.
    source := source || ' CROSS JOIN LATERAL unnest(r.exploitation_forms) AS f(form)';
  END IF;
  WHILE cardinality(exprs) < 3 LOOP
    exprs := exprs || 'NULL::text'::text;
  END LOOP;
  RETURN QUERY EXECUTE format(
    'SELECT %s, %s, %s, count(*) FROM %s '
    'WHERE r.intake_month BETWEEN $1 AND $2 GROUP BY 1, 2, 3',
    exprs[1], exprs[2], exprs[3], source
  ) USING p_first, p_last;
END
$$
"""

_INDICATOR_FUNCTION = """
CREATE FUNCTION report_indicator_counts(p_first date, p_last date)
RETURNS TABLE (
  shelter text,
  intake_cases bigint,
  discussed_within_14_days bigint,
  with_partner_contact bigint,
  consent_before_partner_contact bigint,
  departures bigint,
  departed_independent bigint,
  departed_assisted bigint,
  departed_forced bigint,
  partner_before_departure bigint,
  follow_up_3_months bigint,
  follow_up_6_months bigint,
  follow_up_12_months bigint,
  median_days_to_departure integer,
  p90_days_to_departure integer
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  IF coalesce(current_setting('app.tenant_id', true), '') <> '' THEN
    RAISE EXCEPTION 'cross-tenant aggregates are not for tenant transactions'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN QUERY
  WITH c AS (
    SELECT t.slug,
           r.intake_month BETWEEN p_first AND p_last AS in_intake,
           coalesce(r.departure_month BETWEEN p_first AND p_last, false) AS in_departure,
           r.days_to_first_conversation, r.has_partner_contact,
           r.consent_before_partner_contact, r.departure_mode,
           r.partner_contacted_before_departure, r.follow_up_3_months,
           r.follow_up_6_months, r.follow_up_12_months, r.days_to_departure
    FROM report_cases r JOIN tenants t ON t.id = r.tenant_id
    WHERE r.intake_month BETWEEN p_first AND p_last
       OR r.departure_month BETWEEN p_first AND p_last
  )
  SELECT slug,
         count(*) FILTER (WHERE in_intake),
         count(*) FILTER (WHERE in_intake AND days_to_first_conversation <= 14),
         count(*) FILTER (WHERE in_intake AND has_partner_contact),
         count(*) FILTER (WHERE in_intake AND has_partner_contact
                            AND consent_before_partner_contact),
         count(*) FILTER (WHERE in_departure),
         count(*) FILTER (WHERE in_departure AND departure_mode = 'INDEPENDENT'),
         count(*) FILTER (WHERE in_departure AND departure_mode = 'ASSISTED'),
         count(*) FILTER (WHERE in_departure AND departure_mode = 'FORCED'),
         count(*) FILTER (WHERE in_departure AND partner_contacted_before_departure),
         count(*) FILTER (WHERE in_departure AND follow_up_3_months),
         count(*) FILTER (WHERE in_departure AND follow_up_6_months),
         count(*) FILTER (WHERE in_departure AND follow_up_12_months),
         (percentile_disc(0.5) WITHIN GROUP (ORDER BY days_to_departure)
            FILTER (WHERE in_departure))::integer,
         (percentile_disc(0.9) WITHIN GROUP (ORDER BY days_to_departure)
            FILTER (WHERE in_departure))::integer
  FROM c
  GROUP BY GROUPING SETS ((slug), ());
END
$$
"""


def upgrade() -> None:
    role = app_role()
    op.execute(
        """
        CREATE TABLE report_cases (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            case_id uuid NOT NULL,
            intake_month date NOT NULL CHECK (extract(day FROM intake_month) = 1),
            phase text NOT NULL,
            gender text NOT NULL,
            age_group text NOT NULL,
            nationality text NOT NULL,
            country_of_origin text NOT NULL,
            exploitation_forms text[] NOT NULL CHECK (cardinality(exploitation_forms) > 0),
            departure_mode text NOT NULL,
            closing_reason text NOT NULL,
            departure_month date CHECK (extract(day FROM departure_month) = 1),
            days_to_first_conversation integer,
            days_to_departure integer,
            has_partner_contact boolean NOT NULL,
            consent_before_partner_contact boolean NOT NULL,
            partner_contacted_before_departure boolean NOT NULL,
            follow_up_3_months boolean NOT NULL,
            follow_up_6_months boolean NOT NULL,
            follow_up_12_months boolean NOT NULL,
            PRIMARY KEY (tenant_id, case_id)
        )
        """
    )
    op.execute("CREATE INDEX report_cases_by_intake ON report_cases (intake_month)")
    op.execute(
        "CREATE INDEX report_cases_by_departure ON report_cases (departure_month) "
        "WHERE departure_month IS NOT NULL"
    )
    enable_tenant_rls("report_cases")
    op.execute(
        "CREATE POLICY report_functions_read ON report_cases FOR SELECT TO CURRENT_USER "
        "USING (true)"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON report_cases TO {role}")

    op.execute(
        """
        CREATE TABLE report_checkpoints (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            projection text NOT NULL,
            transaction_id bigint NOT NULL DEFAULT 0,
            global_position bigint NOT NULL DEFAULT 0,
            events_applied bigint NOT NULL DEFAULT 0,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, projection)
        )
        """
    )
    enable_tenant_rls("report_checkpoints")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON report_checkpoints TO {role}")

    op.execute(_CASELOAD_FUNCTION)
    op.execute(_INDICATOR_FUNCTION)
    for signature in (
        "report_caseload_counts(text[], date, date)",
        "report_indicator_counts(date, date)",
    ):
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {role}")


def downgrade() -> None:
    op.execute("DROP FUNCTION report_indicator_counts(date, date)")
    op.execute("DROP FUNCTION report_caseload_counts(text[], date, date)")
    op.execute("DROP TABLE report_checkpoints")
    op.execute("DROP TABLE report_cases")
