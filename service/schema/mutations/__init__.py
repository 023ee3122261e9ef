"""Root mutation fields: one module per command, each holding its input type."""

from __future__ import annotations

import strawberry

from service.schema.mutations.accept_transfer import accept_transfer
from service.schema.mutations.agree_reintegration_plan import agree_reintegration_plan
from service.schema.mutations.arrange_return_support import arrange_return_support
from service.schema.mutations.assess_risk import assess_risk
from service.schema.mutations.assign_caseworker import assign_caseworker
from service.schema.mutations.close_return_case import close_return_case
from service.schema.mutations.contact_partner_organisation import contact_partner_organisation
from service.schema.mutations.create_integrator_client import (
    CreateIntegratorClientPayload,
    create_integrator_client,
)
from service.schema.mutations.decline_transfer import decline_transfer
from service.schema.mutations.erase_client_personal_data import erase_client_personal_data
from service.schema.mutations.escalate_follow_up import escalate_follow_up
from service.schema.mutations.give_consent import give_consent
from service.schema.mutations.offer_transfer import TransferOfferPayload, offer_transfer
from service.schema.mutations.open_return_case import open_return_case
from service.schema.mutations.plan_departure import plan_departure
from service.schema.mutations.record_departure import record_departure
from service.schema.mutations.record_follow_up import record_follow_up
from service.schema.mutations.record_legal_position import record_legal_position
from service.schema.mutations.record_return_conversation import record_return_conversation
from service.schema.mutations.record_travel_document import record_travel_document
from service.schema.mutations.reopen_return_case import reopen_return_case
from service.schema.mutations.revoke_integrator_client import (
    RevokeIntegratorClientPayload,
    revoke_integrator_client,
)
from service.schema.mutations.transfer_case import transfer_case
from service.schema.mutations.update_client_profile import update_client_profile
from service.schema.mutations.update_referral_status import update_referral_status
from service.schema.mutations.withdraw_consent import withdraw_consent
from service.schema.mutations.withdraw_transfer import withdraw_transfer
from service.schema.socialmap.accept_social_map_suggestion import accept_social_map_suggestion
from service.schema.socialmap.confirm_organisation import confirm_organisation
from service.schema.socialmap.confirm_referral_mechanism import confirm_referral_mechanism
from service.schema.socialmap.create_organisation import create_organisation
from service.schema.socialmap.create_referral_mechanism import create_referral_mechanism
from service.schema.socialmap.import_organisations import (
    ImportOrganisationsPayload,
    import_organisations,
)
from service.schema.socialmap.mechanism_inputs import ReferralMechanismPayload
from service.schema.socialmap.payloads import OrganisationPayload
from service.schema.socialmap.reject_social_map_suggestion import reject_social_map_suggestion
from service.schema.socialmap.retire_organisation import retire_organisation
from service.schema.socialmap.retire_referral_mechanism import retire_referral_mechanism
from service.schema.socialmap.suggest_social_map_change import suggest_social_map_change
from service.schema.socialmap.suggestion_types import SocialMapSuggestionPayload
from service.schema.socialmap.update_organisation import update_organisation
from service.schema.socialmap.update_referral_mechanism import update_referral_mechanism
from service.schema.types import ReturnCasePayload


@strawberry.type
class Mutation:
    open_return_case: ReturnCasePayload = strawberry.mutation(resolver=open_return_case)
    update_client_profile: ReturnCasePayload = strawberry.mutation(resolver=update_client_profile)
    record_return_conversation: ReturnCasePayload = strawberry.mutation(
        resolver=record_return_conversation
    )
    record_legal_position: ReturnCasePayload = strawberry.mutation(resolver=record_legal_position)
    assess_risk: ReturnCasePayload = strawberry.mutation(resolver=assess_risk)
    give_consent: ReturnCasePayload = strawberry.mutation(resolver=give_consent)
    withdraw_consent: ReturnCasePayload = strawberry.mutation(resolver=withdraw_consent)
    contact_partner_organisation: ReturnCasePayload = strawberry.mutation(
        resolver=contact_partner_organisation
    )
    update_referral_status: ReturnCasePayload = strawberry.mutation(resolver=update_referral_status)
    arrange_return_support: ReturnCasePayload = strawberry.mutation(resolver=arrange_return_support)
    record_travel_document: ReturnCasePayload = strawberry.mutation(resolver=record_travel_document)
    agree_reintegration_plan: ReturnCasePayload = strawberry.mutation(
        resolver=agree_reintegration_plan
    )
    plan_departure: ReturnCasePayload = strawberry.mutation(resolver=plan_departure)
    record_departure: ReturnCasePayload = strawberry.mutation(resolver=record_departure)
    record_follow_up: ReturnCasePayload = strawberry.mutation(resolver=record_follow_up)
    escalate_follow_up: ReturnCasePayload = strawberry.mutation(
        resolver=escalate_follow_up,
        description="Record the action taken on danger found after return.",
    )
    assign_caseworker: ReturnCasePayload = strawberry.mutation(
        resolver=assign_caseworker,
        description="Assign a case to a case worker of your shelter (tenant admins).",
    )
    transfer_case: ReturnCasePayload = strawberry.mutation(resolver=transfer_case)
    offer_transfer: TransferOfferPayload = strawberry.mutation(
        resolver=offer_transfer,
        description="Offer a case to another shelter, with the client's consent to the "
        "transfer; the case stays open until the receiving shelter accepts.",
    )
    withdraw_transfer: TransferOfferPayload = strawberry.mutation(
        resolver=withdraw_transfer,
        description="Withdraw a waiting transfer offer of your shelter; the case stays open.",
    )
    accept_transfer: TransferOfferPayload = strawberry.mutation(
        resolver=accept_transfer,
        description="Accept a transfer offer to your shelter: a case opens here with what the "
        "offer shares, and the case closes TRANSFERRED at the sending shelter.",
    )
    decline_transfer: TransferOfferPayload = strawberry.mutation(
        resolver=decline_transfer,
        description="Decline a transfer offer to your shelter, with a reason; the case stays "
        "open at the sending shelter.",
    )
    close_return_case: ReturnCasePayload = strawberry.mutation(resolver=close_return_case)
    reopen_return_case: ReturnCasePayload = strawberry.mutation(resolver=reopen_return_case)
    erase_client_personal_data: ReturnCasePayload = strawberry.mutation(
        resolver=erase_client_personal_data
    )
    create_integrator_client: CreateIntegratorClientPayload = strawberry.mutation(
        resolver=create_integrator_client
    )
    revoke_integrator_client: RevokeIntegratorClientPayload = strawberry.mutation(
        resolver=revoke_integrator_client
    )
    create_organisation: OrganisationPayload = strawberry.mutation(resolver=create_organisation)
    update_organisation: OrganisationPayload = strawberry.mutation(resolver=update_organisation)
    retire_organisation: OrganisationPayload = strawberry.mutation(resolver=retire_organisation)
    import_organisations: ImportOrganisationsPayload = strawberry.mutation(
        resolver=import_organisations
    )
    confirm_organisation: OrganisationPayload = strawberry.mutation(resolver=confirm_organisation)
    create_referral_mechanism: ReferralMechanismPayload = strawberry.mutation(
        resolver=create_referral_mechanism
    )
    update_referral_mechanism: ReferralMechanismPayload = strawberry.mutation(
        resolver=update_referral_mechanism
    )
    retire_referral_mechanism: ReferralMechanismPayload = strawberry.mutation(
        resolver=retire_referral_mechanism
    )
    confirm_referral_mechanism: ReferralMechanismPayload = strawberry.mutation(
        resolver=confirm_referral_mechanism
    )
    suggest_social_map_change: SocialMapSuggestionPayload = strawberry.mutation(
        resolver=suggest_social_map_change
    )
    accept_social_map_suggestion: SocialMapSuggestionPayload = strawberry.mutation(
        resolver=accept_social_map_suggestion
    )
    reject_social_map_suggestion: SocialMapSuggestionPayload = strawberry.mutation(
        resolver=reject_social_map_suggestion
    )
