"""``POST /oauth/token``: the OAuth 2 client-credentials grant (RFC 6749, section 4.4).

Credentials come as HTTP Basic or as ``client_id``/``client_secret`` form fields; an optional
``scope`` narrows the client's granted scopes. Errors follow section 5.2.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from service.auth import issue_token
from service.integrators.clients import authenticate
from service.textcheck import unstorable

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_BODY = 4096


def _error(error: str, description: str, status: int = 400) -> JSONResponse:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="safe-future"'
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
        return _error("invalid_request", "request too large")
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
    if fields.get("grant_type") != "client_credentials":
        return _error("unsupported_grant_type", "only client_credentials is supported")
    credentials = _basic(request) or (fields.get("client_id"), fields.get("client_secret"))
    client_id, secret = credentials
    if not client_id or not secret or unstorable(client_id) or unstorable(secret):
        return _error("invalid_client", "client authentication failed", 401)
    app_state = request.app.state
    found = await authenticate(app_state.deps.engine, app_state.deps.tenants, client_id, secret)
    if found is None:
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
