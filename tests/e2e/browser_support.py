"""Headless Chromium driven over the DevTools protocol, with the ``websockets`` package only.

Debian's ``chromium`` package is the browser; the test that uses it fails (it is not skipped)
when the package is missing. Chromium runs with every host name except loopback unresolvable,
as on a machine without internet access.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

CHROMIUM_PACKAGE = "chromium"


def chromium_binary() -> str:
    """The Chromium executable, or a test failure naming the package that provides it."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        f"the GraphiQL browser test needs headless Chromium: install Debian's "
        f"'{CHROMIUM_PACKAGE}' package (apt-get install {CHROMIUM_PACKAGE}); "
        ".ci/run installs it when it is missing"
    )


class Page:
    """One browser tab: DevTools commands, and the events Chromium sent so far."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for raw in self._connection:
            message = json.loads(raw)
            waiter = self._pending.pop(message.get("id", -1), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(message)
            elif "method" in message:
                self.events.append(message)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        command_id = next(self._ids)
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = waiter
        message = {"id": command_id, "method": method, "params": params}
        await self._connection.send(json.dumps(message))
        reply = await asyncio.wait_for(waiter, 30)
        if "error" in reply:
            raise AssertionError(f"{method} failed: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        reply = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in reply:
            raise AssertionError(f"{expression!r} threw {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def wait_for(self, expression: str, what: str, seconds: float = 60) -> Any:
        """Poll ``expression`` until it is truthy; fail naming ``what`` after ``seconds``."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        await self._connection.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def chromium_page(width: int = 1400, height: int = 860) -> AsyncIterator[Page]:
    """A tab of a fresh headless Chromium that can reach loopback only."""
    binary = chromium_binary()
    profile = tempfile.mkdtemp(prefix="graphiql-browser-")
    try:
        process = await asyncio.create_subprocess_exec(
            binary,
            "--headless=new",
            "--no-sandbox",  # the test may run as root (CI containers)
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-crash-reporter",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--window-size={width},{height}",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "about:blank",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its helper processes share its process group
        )
        try:
            port = await _devtools_port(Path(profile), process)
            url = await _page_target(port)
            async with connect(url, max_size=64 * 1024 * 1024, proxy=None) as connection:
                page = Page(connection)
                await page.send(
                    "Emulation.setDeviceMetricsOverride",
                    width=width, height=height, deviceScaleFactor=1, mobile=False,
                )  # fmt: skip
                try:
                    yield page
                finally:
                    await page.close()
        finally:
            await _stop(process)
    finally:
        await _remove(Path(profile))


async def _stop(process: asyncio.subprocess.Process) -> None:
    """End the browser and the helper processes of its group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def _remove(profile: Path) -> None:
    """Remove the profile; helpers that are still exiting may write to it for a moment."""
    for _ in range(50):
        try:
            shutil.rmtree(profile)
        except FileNotFoundError:
            return
        except OSError:
            await asyncio.sleep(0.1)
        else:
            return
    shutil.rmtree(profile, ignore_errors=True)


async def _devtools_port(profile: Path, process: asyncio.subprocess.Process) -> int:
    """The port Chromium chose, from the file it writes into its profile."""
    marker = profile / "DevToolsActivePort"
    for _ in range(300):
        if marker.is_file():
            lines = marker.read_text().splitlines()
            if lines and lines[0].isdigit():
                return int(lines[0])
        if process.returncode is not None:
            raise AssertionError(f"chromium exited with status {process.returncode}")
        await asyncio.sleep(0.1)
    raise AssertionError("chromium did not open its DevTools port")


async def _page_target(port: int) -> str:
    """The DevTools WebSocket of the browser's first tab (loopback, never through a proxy)."""
    async with httpx.AsyncClient(trust_env=False) as client:
        for _ in range(100):
            targets = (await client.get(f"http://127.0.0.1:{port}/json/list")).json()
            pages = [t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page"]
            if pages:
                return str(pages[0])
            await asyncio.sleep(0.1)
    raise AssertionError("chromium opened no tab")
