"""Errors the domain raises on purpose.

Messages are fixed English sentences. They never contain values taken from a command (names,
dates of birth, notes, reasons, ids), so they are safe to log and to return to any caller.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

__all__ = [
    "CaseAlreadyExists",
    "CaseNotFound",
    "DomainError",
    "InvalidEventSequence",
    "NotReady",
    "RuleViolation",
]


class DomainError(Exception):
    """Base class of every error the domain raises on purpose."""


class RuleViolation(DomainError):
    """A command breaks a rule of the return case; nothing is recorded.

    ``rule`` is a stable UPPER_SNAKE code for machines (for example ``CASE_CLOSED``);
    ``message`` is an English sentence that names the rule for people.
    """

    rule: str
    message: str

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.rule, self.message))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rule={self.rule!r}, message={self.message!r})"


class NotReady(RuleViolation):
    """A departure that is not ready; ``missing`` holds the codes of every missing item.

    The message is built only from the fixed sentences of those items.
    """

    missing: tuple[str, ...]

    def __init__(self, rule: str, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(rule, message)
        self.missing = missing

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.rule, self.message, self.missing))


class CaseNotFound(DomainError):
    """A command other than opening a case was given for a case that does not exist."""

    rule = "CASE_NOT_FOUND"

    def __init__(self, case_id: UUID | None = None, message: str | None = None) -> None:
        self.case_id = case_id
        self.message = message or "No return case exists with this id."
        super().__init__(self.message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.case_id, self.message))


class CaseAlreadyExists(DomainError):
    """A case was opened with the id of a case that already exists."""

    rule = "CASE_ALREADY_EXISTS"

    def __init__(self, case_id: UUID | None = None, message: str | None = None) -> None:
        self.case_id = case_id
        self.message = message or "A return case with this id already exists."
        super().__init__(self.message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.case_id, self.message))


class InvalidEventSequence(DomainError):
    """Events cannot be applied in this order (a corrupt or foreign stream).

    This signals a programming or storage error, not a user mistake: ``decide`` never produces
    such a sequence.
    """
