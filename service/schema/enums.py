"""The domain's closed vocabularies, exposed as GraphQL enums (one definition, no copies)."""

from __future__ import annotations

import strawberry

from service.domain import vocabulary as v

Phase = strawberry.enum(v.Phase, description="Where a return case stands; derived from events.")
Gender = strawberry.enum(v.Gender)
ExploitationForm = strawberry.enum(v.ExploitationForm)
ReturnWish = strawberry.enum(v.ReturnWish)
ResidenceStatus = strawberry.enum(v.ResidenceStatus)
ProceedingsStage = strawberry.enum(v.ProceedingsStage)
RiskLevel = strawberry.enum(v.RiskLevel)
RiskFactor = strawberry.enum(v.RiskFactor)
ConsentPurpose = strawberry.enum(v.ConsentPurpose)
ReferralStatus = strawberry.enum(v.ReferralStatus)
ReturnSupportKind = strawberry.enum(v.ReturnSupportKind)
TravelDocumentStatus = strawberry.enum(v.TravelDocumentStatus)
DepartureMode = strawberry.enum(v.DepartureMode)
ClientSituation = strawberry.enum(v.ClientSituation)
ClosingReason = strawberry.enum(v.ClosingReason)
