"""``POST /oauth/token``: the OAuth 2 client-credentials grant (RFC 6749, section 4.4).

Credentials come as HTTP Basic or as ``client_id``/``client_secret`` form fields, never both
(section 2.3); an optional ``scope`` narrows the client's granted scopes. Errors follow
section 5.2, in OAuth's format (also a body that is too large: 413). Failed authentications
lock the client id and the caller's address out for a while (``FailureThrottle``): 429 with
``Retry-After``, even for the right secret.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from service.auth import issue_token
from service.integrators.clients import authenticate
from service.integrators.throttle import FailureThrottle
from service.textcheck import unstorable

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_BODY = 4096
# Ten failures for one client id, or a hundred from one address, in fifteen minutes.
CLIENT_FAILURES = FailureThrottle(limit=10, window=15 * 60)
ADDRESS_FAILURES = FailureThrottle(limit=100, window=15 * 60)


def _error(
    error: str, description: str, status: int = 400, retry_after: float | None = None
) -> JSONResponse:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="safe-future"'
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


async def token_endpoint(request: Request) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return _error("invalid_request", "send application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_BODY:
        return _error("invalid_request", "the request body is too large", 413)
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return _error("invalid_request", "the body is not UTF-8")
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:  # RFC 6749 section 3.2: parameters must not repeat
            # Named only when it is one of ours: a client-chosen name is never echoed.
            known = key in ("grant_type", "client_id", "client_secret", "scope")
            return _error("invalid_request", f"{key if known else 'a parameter'} is repeated")
        fields[key] = value
    if not fields.get("grant_type"):
        return _error("invalid_request", "grant_type is required")
    if fields["grant_type"] != "client_credentials":
        return _error("unsupported_grant_type", "only client_credentials is supported")
    basic = _basic(request)
    if basic is not None and ("client_id" in fields or "client_secret" in fields):
        return _error("invalid_request", "authenticate with HTTP Basic or the form, not both")
    client_id, secret = basic or (fields.get("client_id"), fields.get("client_secret"))
    address = f"addr:{request.client.host if request.client else '-'}"
    client_key = f"client:{client_id}"
    waits = [ADDRESS_FAILURES.retry_after(address), CLIENT_FAILURES.retry_after(client_key)]
    locked = max((w for w in waits if w is not None), default=None)
    if locked is not None:
        return _error("invalid_client", "too many failed attempts; try again later", 429, locked)
    if not client_id or not secret or unstorable(client_id) or unstorable(secret):
        ADDRESS_FAILURES.fail(address)
        return _error("invalid_client", "client authentication failed", 401)
    app_state = request.app.state
    found = await authenticate(app_state.deps.engine, app_state.deps.tenants, client_id, secret)
    if found is None:
        ADDRESS_FAILURES.fail(address)
        CLIENT_FAILURES.fail(client_key)
        return _error("invalid_client", "client authentication failed", 401)
    tenant, granted = found
    requested = fields.get("scope")
    scopes = tuple(sorted(set(requested.split()))) if requested else granted
    if not set(scopes) <= set(granted):
        return _error("invalid_scope", "the client was not granted that scope")
    settings = app_state.settings
    token = issue_token(
        app_state.signing_key,
        issuer=settings.service_issuer,
        audience=settings.jwt_audience,
        subject=client_id,
        organisation=tenant.slug,
        roles=["integrator"],
        lifetime=dt.timedelta(seconds=settings.integrator_token_seconds),
        scopes=scopes,
        client_id=client_id,
    )
    return JSONResponse(
        {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": settings.integrator_token_seconds,
            "scope": " ".join(scopes),
        },
        headers=_NO_STORE,
    )
