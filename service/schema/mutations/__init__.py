"""Root mutation fields: one module per command, each holding its input type."""

from __future__ import annotations

import strawberry

from service.schema.mutations.agree_reintegration_plan import agree_reintegration_plan
from service.schema.mutations.approve_safety_plan import approve_safety_plan
from service.schema.mutations.arrange_return_support import arrange_return_support
from service.schema.mutations.assess_risk import assess_risk
from service.schema.mutations.close_return_case import close_return_case
from service.schema.mutations.contact_partner_organisation import contact_partner_organisation
from service.schema.mutations.create_integrator_client import (
    CreateIntegratorClientPayload,
    create_integrator_client,
)
from service.schema.mutations.erase_client_personal_data import erase_client_personal_data
from service.schema.mutations.give_consent import give_consent
from service.schema.mutations.open_return_case import open_return_case
from service.schema.mutations.plan_departure import plan_departure
from service.schema.mutations.record_arrival_arrangement import record_arrival_arrangement
from service.schema.mutations.record_best_interests_assessment import (
    record_best_interests_assessment,
)
from service.schema.mutations.record_departure import record_departure
from service.schema.mutations.record_family_assessment import record_family_assessment
from service.schema.mutations.record_follow_up import record_follow_up
from service.schema.mutations.record_guardian import record_guardian
from service.schema.mutations.record_legal_position import record_legal_position
from service.schema.mutations.record_return_conversation import record_return_conversation
from service.schema.mutations.record_return_help_refused import record_return_help_refused
from service.schema.mutations.record_safety_plan import record_safety_plan
from service.schema.mutations.record_travel_document import record_travel_document
from service.schema.mutations.reopen_return_case import reopen_return_case
from service.schema.mutations.revise_reintegration_plan import revise_reintegration_plan
from service.schema.mutations.revoke_integrator_client import (
    RevokeIntegratorClientPayload,
    revoke_integrator_client,
)
from service.schema.mutations.transfer_case import transfer_case
from service.schema.mutations.update_client_profile import update_client_profile
from service.schema.mutations.update_referral_status import update_referral_status
from service.schema.mutations.withdraw_consent import withdraw_consent
from service.schema.socialmap.create_organisation import create_organisation
from service.schema.socialmap.import_organisations import (
    ImportOrganisationsPayload,
    import_organisations,
)
from service.schema.socialmap.payloads import OrganisationPayload
from service.schema.socialmap.retire_organisation import retire_organisation
from service.schema.socialmap.update_organisation import update_organisation
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
    approve_safety_plan: ReturnCasePayload = strawberry.mutation(resolver=approve_safety_plan)
    record_safety_plan: ReturnCasePayload = strawberry.mutation(resolver=record_safety_plan)
    record_return_help_refused: ReturnCasePayload = strawberry.mutation(
        resolver=record_return_help_refused
    )
    record_arrival_arrangement: ReturnCasePayload = strawberry.mutation(
        resolver=record_arrival_arrangement
    )
    revise_reintegration_plan: ReturnCasePayload = strawberry.mutation(
        resolver=revise_reintegration_plan
    )
    record_guardian: ReturnCasePayload = strawberry.mutation(resolver=record_guardian)
    record_best_interests_assessment: ReturnCasePayload = strawberry.mutation(
        resolver=record_best_interests_assessment
    )
    record_family_assessment: ReturnCasePayload = strawberry.mutation(
        resolver=record_family_assessment
    )
    record_departure: ReturnCasePayload = strawberry.mutation(resolver=record_departure)
    record_follow_up: ReturnCasePayload = strawberry.mutation(resolver=record_follow_up)
    transfer_case: ReturnCasePayload = strawberry.mutation(resolver=transfer_case)
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
