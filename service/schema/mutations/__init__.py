"""Root mutation fields: one module per command, each holding its input type."""

from __future__ import annotations

import strawberry

from service.schema.mutations.accept_transfer import accept_transfer
from service.schema.mutations.agree_reintegration_plan import agree_reintegration_plan
from service.schema.mutations.approve_safety_plan import approve_safety_plan
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


@strawberry.type(
    description="Commands that change return cases, integrator clients and the social map. A case "
    "command takes one input with caseId, expectedVersion and an optional idempotencyKey; a "
    "refused "
    "command writes nothing and names the rule it broke in extensions.rule."
)
class Mutation:
    open_return_case: ReturnCasePayload = strawberry.mutation(
        description="Step 1 (INTAKE): open a return case for a client who came into care. Every "
        "other case command needs the case this returns.",
        resolver=open_return_case,
    )
    update_client_profile: ReturnCasePayload = strawberry.mutation(
        description="Any phase but CLOSED: correct or complete the client's profile (replaces the "
        "whole profile; also allowed after an erasure, when the client gives their data again).",
        resolver=update_client_profile,
    )
    record_return_conversation: ReturnCasePayload = strawberry.mutation(
        description="Step 2 (INTAKE -> ORIENTATION): record a conversation about return and the "
        "client's wish. WANTS_TO_RETURN moves the case to PREPARATION. Not after departure "
        "(ALREADY_DEPARTED).",
        resolver=record_return_conversation,
    )
    record_legal_position: ReturnCasePayload = strawberry.mutation(
        description="Steps 1-3, before departure: record the residence status and stage of "
        "proceedings. The service derives the departure obligation; an obligation moves the case "
        "to PREPARATION (DEADLINE_WITHOUT_OBLIGATION refuses a deadline without one).",
        resolver=record_legal_position,
    )
    assess_risk: ReturnCasePayload = strawberry.mutation(
        description="Usually step 3 (PREPARATION), allowed in any phase before CLOSED: record a "
        "risk assessment. MEDIUM and HIGH need at least one risk factor (RISK_FACTORS_REQUIRED).",
        resolver=assess_risk,
    )
    give_consent: ReturnCasePayload = strawberry.mutation(
        description="Before contacting a partner that receives personal data: record the client's "
        "consent for one organisation and purpose. Outside the EU/EEA the client must first be "
        "told the risks (TRANSFER_RISKS_NOT_EXPLAINED).",
        resolver=give_consent,
    )
    withdraw_consent: ReturnCasePayload = strawberry.mutation(
        description="Any time, also after closing: withdraw an active consent (NO_ACTIVE_CONSENT "
        "otherwise). Existing referrals stay as they are.",
        resolver=withdraw_consent,
    )
    contact_partner_organisation: ReturnCasePayload = strawberry.mutation(
        description="Usually step 3 (PREPARATION) or after return, allowed in any phase before "
        "CLOSED: refer the client to an organisation of the social map; the referral starts as "
        "REQUESTED. Sharing personal data needs an active "
        "consent for it (CONSENT_REQUIRED).",
        resolver=contact_partner_organisation,
    )
    update_referral_status: ReturnCasePayload = strawberry.mutation(
        description="After contactPartnerOrganisation: move a referral to ACCEPTED, REJECTED, "
        "WITHDRAWN or COMPLETED (INVALID_REFERRAL_TRANSITION otherwise); rejecting or withdrawing "
        "needs a reason.",
        resolver=update_referral_status,
    )
    arrange_return_support: ReturnCasePayload = strawberry.mutation(
        description="Step 3 (PREPARATION only, NOT_IN_PREPARATION otherwise): record the return "
        "support arranged (IOM, DT&V or self-organised). An assisted departure needs IOM or DT&V "
        "support first.",
        resolver=arrange_return_support,
    )
    record_travel_document: ReturnCasePayload = strawberry.mutation(
        description="Step 3 (PREPARATION only): record that a travel document was requested (needs "
        "the original identity document) or issued (only after a request).",
        resolver=record_travel_document,
    )
    agree_reintegration_plan: ReturnCasePayload = strawberry.mutation(
        description="Step 3 (PREPARATION) or after return: record the reintegration plan agreed "
        "with the client; IOM reintegration support needs one.",
        resolver=agree_reintegration_plan,
    )
    plan_departure: ReturnCasePayload = strawberry.mutation(
        description="Step 3 (PREPARATION only): plan the departure date (it may lie ahead) and "
        "destination country. Next: recordDeparture.",
        resolver=plan_departure,
    )
    record_departure: ReturnCasePayload = strawberry.mutation(
        description="Step 4 (PREPARATION -> DEPARTED): record that the client left. An independent "
        "or assisted departure needs a prepared return (DEPARTURE_NEEDS_PREPARATION); a forced one "
        "is carried out by DT&V and recorded as a fact.",
        resolver=record_departure,
    )
    record_follow_up: ReturnCasePayload = strawberry.mutation(
        description="Step 5 (DEPARTED -> FOLLOW_UP): record a contact after return (typically at "
        "3, "
        "6 and 12 months). Not before departure (FOLLOW_UP_BEFORE_DEPARTURE).",
        resolver=record_follow_up,
    )
    transfer_case: ReturnCasePayload = strawberry.mutation(
        description="Any phase before CLOSED: hand the case over to another shelter; here it is "
        "closed with reason TRANSFERRED.",
        resolver=transfer_case,
    )
    close_return_case: ReturnCasePayload = strawberry.mutation(
        description="Step 6 (-> CLOSED): close the case with a reason. RETURNED needs a recorded "
        "departure; TRANSFERRED is set only by transferCase. A closed case accepts only reopening, "
        "withdrawal of consent and erasure (CASE_CLOSED).",
        resolver=close_return_case,
    )
    reopen_return_case: ReturnCasePayload = strawberry.mutation(
        description="After step 6 (CLOSED only, CASE_NOT_CLOSED otherwise): reopen the case with a "
        "reason; the phase is derived again from the facts.",
        resolver=reopen_return_case,
    )
    escalate_follow_up: ReturnCasePayload = strawberry.mutation(
        resolver=escalate_follow_up,
        description="After return (DEPARTED or FOLLOW_UP): record the action taken on danger "
        "found in a follow-up contact that called for escalation; it leaves the work list then.",
    )
    assign_caseworker: ReturnCasePayload = strawberry.mutation(
        resolver=assign_caseworker,
        description="Any phase (tenant admins): assign the case to a case worker of your shelter "
        "(a token subject); it then shows in that user's myCases and myWork.",
    )
    record_safety_plan: ReturnCasePayload = strawberry.mutation(
        resolver=record_safety_plan,
        description="Step 3 (PREPARATION): record the safety plan, measures per risk factor; a "
        "HIGH risk needs one before an independent or assisted departure.",
    )
    approve_safety_plan: ReturnCasePayload = strawberry.mutation(
        resolver=approve_safety_plan,
        description="Step 3 (tenant admins and supervisors): approve the safety plan; the "
        "approver is not its author (four eyes).",
    )
    record_return_help_refused: ReturnCasePayload = strawberry.mutation(
        resolver=record_return_help_refused,
        description="Record that the client refused the return help offered (date and which "
        "help); with a departure obligation it opens the way to a forced return by DT&V.",
    )
    record_arrival_arrangement: ReturnCasePayload = strawberry.mutation(
        resolver=record_arrival_arrangement,
        description="Step 3: the destination (country and place) and who receives the client on "
        "arrival (partner organisation, family, IOM, or nobody with a reason).",
    )
    revise_reintegration_plan: ReturnCasePayload = strawberry.mutation(
        resolver=revise_reintegration_plan,
        description="Revise the agreed reintegration plan (goals per domain); every revision is "
        "kept.",
    )
    record_guardian: ReturnCasePayload = strawberry.mutation(
        resolver=record_guardian,
        description="Minors: record the guardian (in the Netherlands: Nidos); needed before any "
        "departure of a minor.",
    )
    record_best_interests_assessment: ReturnCasePayload = strawberry.mutation(
        resolver=record_best_interests_assessment,
        description="Minors: record the best-interests assessment; needed before any departure "
        "of a minor.",
    )
    record_family_assessment: ReturnCasePayload = strawberry.mutation(
        resolver=record_family_assessment,
        description="Minors: record the family assessment in the country of origin (safe, "
        "unsafe, not traced); an unsafe family needs a receiving partner organisation.",
    )
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
    erase_client_personal_data: ReturnCasePayload = strawberry.mutation(
        description="Any phase (tenant admins): erase the client's personal data by destroying the "
        "client's key; the facts stay, every personal field reads as null.",
        resolver=erase_client_personal_data,
    )
    create_integrator_client: CreateIntegratorClientPayload = strawberry.mutation(
        description="Tenant admins: register a system that reads your shelter's case events (OAuth "
        "client credentials). The secret is shown once.",
        resolver=create_integrator_client,
    )
    revoke_integrator_client: RevokeIntegratorClientPayload = strawberry.mutation(
        description="Tenant admins: revoke an integrator client; its tokens stop working.",
        resolver=revoke_integrator_client,
    )
    create_organisation: OrganisationPayload = strawberry.mutation(
        description="Social-map editors (CoMensha): add an organisation to the shared social map.",
        resolver=create_organisation,
    )
    update_organisation: OrganisationPayload = strawberry.mutation(
        description="Social-map editors: change an organisation; only the fields given change, and "
        "the change is kept in its history.",
        resolver=update_organisation,
    )
    retire_organisation: OrganisationPayload = strawberry.mutation(
        description="Social-map editors: retire an organisation; cases that refer to it keep "
        "pointing to it, but it can no longer be contacted.",
        resolver=retire_organisation,
    )
    import_organisations: ImportOrganisationsPayload = strawberry.mutation(
        description="Social-map editors: import organisations from CSV or JSON; every row is "
        "validated and nothing is written when any row is bad.",
        resolver=import_organisations,
    )
    confirm_organisation: OrganisationPayload = strawberry.mutation(
        description="Social-map editors: confirm that an organisation is still right; only its "
        "last-verified date changes (a CONFIRMED history entry).",
        resolver=confirm_organisation,
    )
    create_referral_mechanism: ReferralMechanismPayload = strawberry.mutation(
        description="Social-map editors: add a country's national referral mechanism as a "
        "flowchart (steps with sources, arrows with conditions), at version 1.",
        resolver=create_referral_mechanism,
    )
    update_referral_mechanism: ReferralMechanismPayload = strawberry.mutation(
        description="Social-map editors: revise a referral mechanism; a new flowchart is given "
        "whole. Every version stays in referralMechanismHistory.",
        resolver=update_referral_mechanism,
    )
    retire_referral_mechanism: ReferralMechanismPayload = strawberry.mutation(
        description="Social-map editors: retire a referral mechanism with a reason; it stays "
        "readable but gives no routes.",
        resolver=retire_referral_mechanism,
    )
    confirm_referral_mechanism: ReferralMechanismPayload = strawberry.mutation(
        description="Social-map editors: confirm that a mechanism is still right; only its "
        "last-verified date changes.",
        resolver=confirm_referral_mechanism,
    )
    suggest_social_map_change: SocialMapSuggestionPayload = strawberry.mutation(
        description="Any user of a shelter: suggest a correction of an organisation, a new "
        "organisation or a correction of a mechanism step, with a reason. Only your "
        "shelter and CoMensha's editors see it.",
        resolver=suggest_social_map_change,
    )
    accept_social_map_suggestion: SocialMapSuggestionPayload = strawberry.mutation(
        description="Social-map editors: apply a pending suggestion as a versioned change that "
        "credits it.",
        resolver=accept_social_map_suggestion,
    )
    reject_social_map_suggestion: SocialMapSuggestionPayload = strawberry.mutation(
        description="Social-map editors: decline a pending suggestion with a reason the suggesting "
        "shelter sees.",
        resolver=reject_social_map_suggestion,
    )
