"""The shapes other layers rely on: event and command classes, rule codes, errors."""

from __future__ import annotations

import dataclasses
import pickle
import re
import types
import typing
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

import pytest

from service.domain import vocabulary
from service.domain.errors import CaseAlreadyExists, CaseNotFound, DomainError, RuleViolation
from service.domain.return_case import (
    COMMAND_TYPES,
    EVENT_TYPES,
    EVENT_TYPES_BY_NAME,
    RULES,
    Command,
    Event,
    ReturnCase,
)
from service.events.types import EventRegistry

SCALARS = (str, int, bool, date, UUID)
PERSONAL_FIELDS = {
    "ReturnCaseOpened": {"full_name", "date_of_birth", "notes"},
    "ClientProfileUpdated": {"full_name", "date_of_birth", "notes"},
    "ReturnConversationRecorded": {"notes"},
    "RiskAssessed": {"notes"},
    "PartnerOrganisationContacted": {"notes"},
    "ReferralStatusChanged": {"reason"},
    "ReintegrationPlanAgreed": {"notes", "goal_descriptions"},
    "ReintegrationPlanRevised": {"notes", "goal_descriptions"},
    "SafetyPlanRecorded": {"measures"},
    "ReturnHelpRefused": {"notes"},
    "ArrivalArranged": {"reason"},
    "GuardianRecorded": {"notes"},
    "BestInterestsAssessed": {"notes"},
    "FamilyAssessed": {"notes"},
    "EmergencyDepartureRecorded": {"reason"},
    "FollowUpRecorded": {"notes"},
    "FollowUpEscalated": {"notes"},
    "ReturnCaseClosed": {"notes"},
    "ReturnCaseReopened": {"reason"},
    "ClientPersonalDataErased": {"note"},
    "TransferOffered": {"reason"},
    "TransferOfferWithdrawn": {"reason"},
    "TransferOfferDeclined": {"reason"},
    "ReturnCaseReceivedByTransfer": {"full_name", "date_of_birth"},
}
# Event types whose payload changed shape, with their current schema version (each older
# version has an upcaster).
SCHEMA_VERSIONS = {
    "FollowUpRecorded": 2,
    "ClientPersonalDataErased": 2,
    "ReintegrationPlanAgreed": 2,
    "ReturnCaseTransferred": 2,
}


def is_codec_type(annotation: object) -> bool:
    """str, int, bool, date, UUID, a vocabulary StrEnum, tuple[X, ...] or X | None of those."""
    if isinstance(annotation, type):
        if issubclass(annotation, StrEnum):
            return getattr(vocabulary, annotation.__name__, None) is annotation
        return annotation in SCALARS
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is tuple:
        return len(args) == 2 and args[1] is Ellipsis and is_codec_type(args[0])
    if origin in (types.UnionType, typing.Union):
        others = [arg for arg in args if arg is not type(None)]
        return len(args) == 2 and len(others) == 1 and is_codec_type(others[0])
    return False


def name_of(cls: type) -> str:
    return cls.__name__


@pytest.mark.parametrize("event_class", EVENT_TYPES, ids=name_of)
def test_events_declare_type_version_and_personal_fields(event_class: type[Event]) -> None:
    field_names = [field.name for field in dataclasses.fields(event_class)]

    assert event_class.event_type == event_class.__name__
    assert event_class.schema_version == SCHEMA_VERSIONS.get(event_class.__name__, 1)
    upcasters = getattr(event_class, "upcasters", {})
    assert set(upcasters) == set(range(1, event_class.schema_version))
    assert field_names[0] == "case_id"
    assert event_class.personal_fields <= set(field_names)
    assert event_class.personal_fields == PERSONAL_FIELDS.get(event_class.__name__, set())
    assert EVENT_TYPES_BY_NAME[event_class.event_type] is event_class


@pytest.mark.parametrize("event_class", EVENT_TYPES, ids=name_of)
def test_event_fields_use_only_types_the_codec_knows(event_class: type[Event]) -> None:
    hints = typing.get_type_hints(event_class)
    for field in dataclasses.fields(event_class):
        assert field.type == hints[field.name], "annotations are real types at runtime"
        assert is_codec_type(hints[field.name]), field.name


@pytest.mark.parametrize("cls", [*EVENT_TYPES, *COMMAND_TYPES], ids=name_of)
def test_events_and_commands_are_frozen_slotted_dataclasses(cls: type) -> None:
    params = cls.__dataclass_params__  # type: ignore[attr-defined]

    assert params.frozen
    assert "__slots__" in vars(cls)
    assert dataclasses.fields(cls)[0].name == "case_id"


def test_event_and_command_unions_cover_every_class() -> None:
    assert set(typing.get_args(Event)) == set(EVENT_TYPES)
    assert set(typing.get_args(Command)) == set(COMMAND_TYPES)
    # Every command has its event; an emergency departure adds one of its own, and the four
    # transfer events are decided by the transfer commands (``transfer``).
    assert len(EVENT_TYPES) == len(COMMAND_TYPES) + 1 + 4


def test_state_is_immutable_and_stores_no_phase() -> None:
    field_names = {field.name for field in dataclasses.fields(ReturnCase)}

    assert ReturnCase.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert "phase" not in field_names
    assert {"version", "personal_data_erased"} <= field_names
    for field in dataclasses.fields(ReturnCase):
        assert "list" not in str(field.type)
        assert "dict" not in str(field.type)


@pytest.mark.parametrize("vocabulary_class", vocabulary.__all__)
def test_vocabulary_values_equal_their_names(vocabulary_class: str) -> None:
    enum_class = getattr(vocabulary, vocabulary_class)
    assert issubclass(enum_class, StrEnum)
    assert [member.value for member in enum_class] == [member.name for member in enum_class]


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_codes_are_upper_snake_with_a_sentence(rule: str) -> None:
    message = RULES[rule]

    assert re.fullmatch(r"[A-Z]+(?:_[A-Z0-9]+)*", rule)
    assert message[0].isupper()
    assert message.endswith(".")
    assert "{" not in message


def test_rule_violation_carries_code_and_message() -> None:
    error = RuleViolation("CASE_CLOSED", RULES["CASE_CLOSED"])

    assert isinstance(error, DomainError)
    assert (error.rule, error.message, str(error)) == (
        "CASE_CLOSED",
        RULES["CASE_CLOSED"],
        RULES["CASE_CLOSED"],
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - round trip of our own object
    assert (copy.rule, copy.message) == (error.rule, error.message)


def test_missing_and_existing_case_errors_hold_the_id_but_do_not_print_it() -> None:
    case_id = UUID("00000000-0000-4000-8000-000000000001")

    for error in (CaseNotFound(case_id), CaseAlreadyExists(case_id)):
        assert isinstance(error, DomainError)
        assert error.case_id == case_id
        assert str(case_id) not in str(error)


def test_a_version_1_erasure_reads_as_a_code_and_serves_its_free_text_to_no_one() -> None:
    registry = EventRegistry(EVENT_TYPES)
    case_id = "00000000-0000-4000-8000-000000000001"

    def stored(reason: str) -> Any:
        payload = {"case_id": case_id, "erased_on": "2026-01-07", "reason": reason}
        return registry.decode("ClientPersonalDataErased", 1, payload, None)

    retention = stored("retention period ended")
    assert (retention.reason, retention.note) == (vocabulary.ErasureReason.RETENTION, None)
    asked = stored("Request of the client ")
    assert asked.reason == vocabulary.ErasureReason.CLIENT_REQUEST
    free = stored("Ms Orla Fenwhistle asked us at the desk")
    assert (free.reason, free.note) == (vocabulary.ErasureReason.OTHER, None)
    _, version, public, personal = registry.encode(free)
    assert version == 2
    assert "Orla" not in repr((public, personal))
