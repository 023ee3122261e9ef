"""What the plain HTTP routes beside GraphQL share (reports, exports, the GeoJSON map): the
caller's verified bearer token, and a ``ServiceError`` as a JSON error response with the same
``extensions.code`` as GraphQL's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from service.auth import Principal, TokenVerifier, bearer_token
from service.errors import ServiceError, Unauthenticated

__all__ = ["json_error", "request_principal"]

_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "BAD_USER_INPUT": 400, "NOT_FOUND": 404}


def json_error(error: ServiceError) -> JSONResponse:
    headers = {}
    if error.code == "UNAUTHENTICATED":
        headers["WWW-Authenticate"] = 'Bearer realm="safe-future"'
    body = {"errors": [{"message": error.message, "extensions": dict(error.extensions)}]}
    return JSONResponse(body, status_code=_STATUS.get(error.code, 500), headers=headers)


async def request_principal(request: Request) -> Principal:
    """The principal of the request's bearer token (``Unauthenticated`` without a valid one)."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise Unauthenticated("a bearer token is required")
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.verify(token)
