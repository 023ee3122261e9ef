"""Who may run reports: CoMensha's analysts, never a shelter."""

from __future__ import annotations

from service.auth import Principal
from service.errors import Forbidden

ANALYST_ROLE = "comensha-analyst"


def require_report_access(principal: Principal) -> None:
    """The ``comensha-analyst`` role of a coordinating organisation; a shelter never.

    A shelter's token is refused even when it carries the analyst role: reports cross tenants.
    """
    if principal.organisation.kind != "coordination" or ANALYST_ROLE not in principal.roles:
        raise Forbidden("only a CoMensha analyst may run cross-tenant reports")
