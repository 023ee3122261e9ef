"""Deciding on transfer, closing, reopening, and erasure of personal data."""

from __future__ import annotations

from service.domain.return_case.commands import (
    CloseReturnCase,
    EraseClientPersonalData,
    ReopenReturnCase,
    TransferCase,
)
from service.domain.return_case.events import (
    ClientPersonalDataErased,
    Event,
    ReturnCaseClosed,
    ReturnCaseReopened,
    ReturnCaseTransferred,
)
from service.domain.return_case.rules import (
    clean_notes,
    clean_required_reason,
    clean_slug,
    require_not_before,
    violation,
)
from service.domain.return_case.state import ReturnCase
from service.domain.vocabulary import ClosingReason

__all__ = [
    "close_case",
    "erase_personal_data",
    "reopen_case",
    "transfer_case",
]


def transfer_case(command: TransferCase) -> ReturnCaseTransferred:
    return ReturnCaseTransferred(
        case_id=command.case_id,
        to_organisation=clean_slug(command.to_organisation),
        transferred_on=command.transferred_on,
    )


def close_case(state: ReturnCase, command: CloseReturnCase) -> ReturnCaseClosed:
    if command.reason == ClosingReason.TRANSFERRED:
        raise violation("USE_TRANSFER")
    if command.reason == ClosingReason.RETURNED and not state.departed:
        raise violation("RETURNED_NEEDS_DEPARTURE")
    if command.reason == ClosingReason.STAYED_IN_NETHERLANDS and state.departed:
        raise violation("DEPARTED_CLIENT_CANNOT_STAY")
    return ReturnCaseClosed(
        case_id=command.case_id,
        reason=command.reason,
        closed_on=command.closed_on,
        notes=clean_notes(command.notes),
    )


def reopen_case(state: ReturnCase, command: ReopenReturnCase) -> ReturnCaseReopened:
    if state.closure is None:
        raise violation("CASE_NOT_CLOSED")
    require_not_before(command.reopened_on, state.closure.closed_on, "DATE_BEFORE_CLOSING")
    reason = clean_required_reason(command.reason, "Reopening a case needs a reason.")
    return ReturnCaseReopened(
        case_id=command.case_id, reopened_on=command.reopened_on, reason=reason
    )


def erase_personal_data(state: ReturnCase, command: EraseClientPersonalData) -> list[Event]:
    note = clean_notes(command.note)
    if state.personal_data_erased:
        return []
    return [
        ClientPersonalDataErased(
            case_id=command.case_id, erased_on=command.erased_on, reason=command.reason, note=note
        )
    ]
