"""Deciding on consent and on referrals to partner organisations."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from service.domain.codes import EU_EEA_COUNTRIES
from service.domain.return_case.commands import (
    ContactPartnerOrganisation,
    GiveConsent,
    UpdateReferralStatus,
    WithdrawConsent,
)
from service.domain.return_case.events import (
    ConsentGiven,
    ConsentWithdrawn,
    PartnerOrganisationContacted,
    ReferralStatusChanged,
)
from service.domain.return_case.rules import (
    RULES,
    clean_notes,
    clean_optional_reason,
    clean_required_reason,
    require_country,
    require_not_before,
    violation,
)
from service.domain.return_case.state import ReturnCase
from service.domain.vocabulary import ReferralStatus

__all__ = [
    "REFERRAL_TRANSITIONS",
    "contact_partner",
    "give_consent",
    "update_referral",
    "withdraw_consent",
]


REFERRAL_TRANSITIONS: Mapping[ReferralStatus, frozenset[ReferralStatus]] = MappingProxyType(
    {
        ReferralStatus.REQUESTED: frozenset(
            {ReferralStatus.ACCEPTED, ReferralStatus.REJECTED, ReferralStatus.WITHDRAWN}
        ),
        ReferralStatus.ACCEPTED: frozenset({ReferralStatus.COMPLETED, ReferralStatus.WITHDRAWN}),
        ReferralStatus.REJECTED: frozenset(),
        ReferralStatus.WITHDRAWN: frozenset(),
        ReferralStatus.COMPLETED: frozenset(),
    }
)

_STATUSES_NEEDING_REASON = frozenset({ReferralStatus.REJECTED, ReferralStatus.WITHDRAWN})


def give_consent(state: ReturnCase, command: GiveConsent) -> ConsentGiven:
    require_country(command.organisation_country)
    outside_eea = command.organisation_country not in EU_EEA_COUNTRIES
    if outside_eea and not command.transfer_risks_explained:
        raise violation("TRANSFER_RISKS_NOT_EXPLAINED")
    if state.active_consent(command.organisation_id, command.purpose) is not None:
        raise violation("CONSENT_ALREADY_ACTIVE")
    return ConsentGiven(
        case_id=command.case_id,
        organisation_id=command.organisation_id,
        organisation_country=command.organisation_country,
        purpose=command.purpose,
        given_on=command.given_on,
        transfer_risks_explained=command.transfer_risks_explained,
        outside_eea=outside_eea,
    )


def withdraw_consent(state: ReturnCase, command: WithdrawConsent) -> ConsentWithdrawn:
    consent = state.active_consent(command.organisation_id, command.purpose)
    if consent is None:
        raise violation("NO_ACTIVE_CONSENT")
    require_not_before(command.withdrawn_on, consent.given_on, "DATE_BEFORE_CONSENT")
    use = consent.last_use
    if use is not None and command.withdrawn_on < use.on:
        # Names the conflicting event; its type, date and referral id are no personal data.
        raise violation(
            "WITHDRAWAL_BEFORE_USE",
            f"{RULES['WITHDRAWAL_BEFORE_USE'][:-1]}: {use.event_type} of referral "
            f"{use.referral_id} on {use.on.isoformat()} used this consent; date the "
            "withdrawal on or after that day.",
        )
    return ConsentWithdrawn(
        case_id=command.case_id,
        organisation_id=command.organisation_id,
        purpose=command.purpose,
        withdrawn_on=command.withdrawn_on,
    )


def contact_partner(
    state: ReturnCase, command: ContactPartnerOrganisation
) -> PartnerOrganisationContacted:
    require_country(command.organisation_country)
    if state.referral(command.referral_id) is not None:
        raise violation("REFERRAL_EXISTS")
    if command.shares_personal_data:
        consent = state.active_consent(command.organisation_id, command.purpose)
        if consent is None or command.contacted_on < consent.given_on:
            raise violation("CONSENT_REQUIRED")
        if consent.organisation_country != command.organisation_country:
            raise violation("CONSENT_COUNTRY_MISMATCH")
    return PartnerOrganisationContacted(
        case_id=command.case_id,
        referral_id=command.referral_id,
        organisation_id=command.organisation_id,
        organisation_country=command.organisation_country,
        purpose=command.purpose,
        contacted_on=command.contacted_on,
        shares_personal_data=command.shares_personal_data,
        notes=clean_notes(command.notes),
    )


def update_referral(state: ReturnCase, command: UpdateReferralStatus) -> ReferralStatusChanged:
    referral = state.referral(command.referral_id)
    if referral is None:
        raise violation("UNKNOWN_REFERRAL")
    if command.status not in REFERRAL_TRANSITIONS[referral.status]:
        raise violation("INVALID_REFERRAL_TRANSITION")
    require_not_before(command.changed_on, referral.contacted_on, "DATE_BEFORE_REFERRAL")
    if command.status in _STATUSES_NEEDING_REASON:
        reason: str | None = clean_required_reason(
            command.reason, "A referral that is rejected or withdrawn needs a reason."
        )
    else:
        reason = clean_optional_reason(command.reason)
    return ReferralStatusChanged(
        case_id=command.case_id,
        referral_id=command.referral_id,
        status=command.status,
        changed_on=command.changed_on,
        reason=reason,
    )
