"""The errors a caller can see.

Every error the API returns carries one of these codes in ``extensions.code``::

    ServiceError            INTERNAL        (never raised directly; unexpected failures map here)
    ├── InternalError       INTERNAL        an unexpected failure, masked, with the request id
    ├── Unauthenticated     UNAUTHENTICATED no valid token
    ├── Forbidden           FORBIDDEN       valid token, wrong role or organisation kind
    ├── NotFound            NOT_FOUND       no such object *for this tenant*
    ├── BadUserInput        BAD_USER_INPUT  malformed input or a broken rule (``rule`` names it)
    ├── Conflict            CONFLICT        stale ``expectedVersion`` (``current_version`` says why)
    └── SubscriptionEnded   CONFLICT        the server ended a subscription (``reason``); resume
                                            from the last cursor received

Messages are written for the caller and never contain personal data.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        # graphql-core copies these into every transport's error, WebSocket ones included.
        self.extensions: dict[str, Any] = {"code": self.code}
        self.extensions.update({k: v for k, v in extensions.items() if v is not None})


class Unauthenticated(ServiceError):
    code = "UNAUTHENTICATED"


class Forbidden(ServiceError):
    code = "FORBIDDEN"


class NotFound(ServiceError):
    code = "NOT_FOUND"


class BadUserInput(ServiceError):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, rule: str | None = None, field: str | None = None) -> None:
        super().__init__(message, rule=rule, field=field)
        self.rule = rule


class Conflict(ServiceError):
    code = "CONFLICT"

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message, currentVersion=current_version)
        self.current_version = current_version


class SubscriptionEnded(ServiceError):
    code = "CONFLICT"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, reason=reason)


class InternalError(ServiceError):
    """An unexpected failure, shown to the caller only as this and a request id."""

    code = "INTERNAL"

    def __init__(self, request_id: str) -> None:
        super().__init__(f"internal error (request id {request_id})", requestId=request_id)
