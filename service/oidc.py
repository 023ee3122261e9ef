"""Signing keys of an OpenID Connect provider, from its JWKS URL, cached and refreshed.

Keys are looked up by ``kid``. An unknown ``kid`` triggers a refetch (at most once every
``min_refresh_seconds``, so a flood of forged kids cannot turn into a flood of fetches), and
the whole set is refetched when older than ``max_age_seconds``: a provider can rotate keys
without a restart of the service.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from typing import Any

import jwt

log = logging.getLogger("service.oidc")


class JwksError(Exception):
    """The key set could not be fetched or read."""


class JwksCache:
    def __init__(
        self,
        url: str,
        *,
        max_age_seconds: float = 600.0,
        min_refresh_seconds: float = 10.0,
        timeout_seconds: float = 5.0,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("the JWKS URL must be http(s)")
        self.url = url
        self.max_age_seconds = max_age_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self.timeout_seconds = timeout_seconds
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    def _fetch(self) -> dict[str, Any]:
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
            data: dict[str, Any] = json.loads(response.read(1_000_000))
        keys: dict[str, Any] = {}
        for jwk in jwt.PyJWKSet.from_dict(data).keys:
            if jwk.key_id and jwk.public_key_use in (None, "sig"):
                keys[jwk.key_id] = jwk.key
        return keys

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < self.min_refresh_seconds:
                return
            self._fetched_at = time.monotonic()
            try:
                self._keys = await asyncio.to_thread(self._fetch)
            except (OSError, ValueError, jwt.PyJWKSetError) as exc:
                log.warning("JWKS fetch failed: %s", type(exc).__name__)
                raise JwksError("the identity provider's keys are unavailable") from exc

    async def key(self, kid: str | None) -> Any:
        """The public key for ``kid``, refetching the set if it is unknown or stale."""
        if kid is None:
            raise JwksError("the token names no key id")
        stale = time.monotonic() - self._fetched_at > self.max_age_seconds
        if stale or kid not in self._keys:
            try:
                await self._refresh()
            except JwksError:
                if kid not in self._keys:
                    raise
        found = self._keys.get(kid)
        if found is None:
            raise JwksError("unknown key id")
        return found
