"""A safe return in the reports: minors, emergency departures and plans agreed in time.

``report_cases`` gets two facts per case (no personal data): whether the departure was an
emergency recorded before it was ready, and whether the reintegration plan was agreed within a
month of arrival. ``report_indicator_counts`` (``SECURITY DEFINER``, as in 0003) also counts,
in the departure cohort, departures of minors (age group at intake), emergency departures and
plans agreed within the month; the service protects them like every other count.

Existing rows take the defaults (false); ``safe-future reports rebuild`` recomputes them from
the log.

Revision ID: 0007
Revises: 0002, 0003, 0004, 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op
from migration_helpers import app_role

revision = "0007"
down_revision = ("0002", "0003", "0004", "0006")
branch_labels = None
depends_on = None

_SIGNATURE = "report_indicator_counts(date, date)"

_OLD_FUNCTION = """
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

_NEW_FUNCTION = """
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
  departures_of_minors bigint,
  emergency_departures bigint,
  plan_agreed_within_month bigint,
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
           r.follow_up_6_months, r.follow_up_12_months, r.days_to_departure,
           r.age_group, r.emergency_departure, r.plan_agreed_within_month
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
         count(*) FILTER (WHERE in_departure AND age_group = 'MINOR'),
         count(*) FILTER (WHERE in_departure AND emergency_departure),
         count(*) FILTER (WHERE in_departure AND plan_agreed_within_month),
         (percentile_disc(0.5) WITHIN GROUP (ORDER BY days_to_departure)
            FILTER (WHERE in_departure))::integer,
         (percentile_disc(0.9) WITHIN GROUP (ORDER BY days_to_departure)
            FILTER (WHERE in_departure))::integer
  FROM c
  GROUP BY GROUPING SETS ((slug), ());
END
$$
"""


def _replace_function(definition: str) -> None:
    # The result columns change, so the function is dropped and created again.
    op.execute(f"DROP FUNCTION {_SIGNATURE}")
    op.execute(definition)
    op.execute(f"REVOKE ALL ON FUNCTION {_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {_SIGNATURE} TO {app_role()}")


def upgrade() -> None:
    op.execute(
        "ALTER TABLE report_cases "
        "ADD COLUMN emergency_departure boolean NOT NULL DEFAULT false, "
        "ADD COLUMN plan_agreed_within_month boolean NOT NULL DEFAULT false"
    )
    _replace_function(_NEW_FUNCTION)


def downgrade() -> None:
    _replace_function(_OLD_FUNCTION)
    op.execute(
        "ALTER TABLE report_cases DROP COLUMN plan_agreed_within_month, "
        "DROP COLUMN emergency_departure"
    )
