"""The processes under load: ``safe-future serve`` and the baseline app, each on loopback.

Each runs in a subprocess of its own (one Python process, one event loop, as ``make run``
serves), so its resident memory can be read from ``/proc/<pid>/status`` and the load the
bench process generates crosses a real socket. Their logs go to ``.data/bench/logs``.

With ``profile`` set, the service runs under the standard library's cProfile
(``bench/serve.py``), switched on only while a scenario times it (``profile_on`` /
``profile_off``), and writes its profile when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import time
from pathlib import Path

import httpx

from bench.common import ROOT, log, proc_memory
from bench.database import DATA_DIR, BenchDatabase


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Process:
    """A server subprocess listening on ``127.0.0.1:port``."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], port: int, cwd: Path = ROOT
    ) -> None:
        self.name = name
        self.cwd = cwd
        self.argv = argv
        self.env = env
        self.port = port
        self.proc: asyncio.subprocess.Process | None = None
        self.log_path = DATA_DIR / "logs" / f"{name}.log"
        self.profiled = False

    def profile_on(self) -> None:
        if self.profiled and self.proc is not None:
            self.proc.send_signal(signal.SIGUSR1)

    def profile_off(self) -> None:
        if self.profiled and self.proc is not None:
            self.proc.send_signal(signal.SIGUSR2)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def memory(self) -> dict[str, int]:
        return proc_memory(self.pid)

    async def start(self, ready_path: str = "/healthz", patience: float = 60.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = self.log_path.open("w")
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, env=self.env, stdout=out, stderr=out, cwd=str(self.cwd)
        )
        out.close()
        deadline = time.monotonic() + patience
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"{self.name} exited; see {self.log_path}")
                with contextlib.suppress(httpx.TransportError):
                    reply = await http.get(f"http://127.0.0.1:{self.port}{ready_path}")
                    if reply.status_code == 200:
                        log(f"{self.name} is up on port {self.port} (pid {self.pid})")
                        return
                await asyncio.sleep(0.1)
        await self.stop()
        raise RuntimeError(f"{self.name} did not start in {patience:.0f} s; see {self.log_path}")

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


def service(
    bench_db: BenchDatabase,
    *,
    pool_size: int,
    profile: Path | None = None,
    patches: tuple[str, ...] = (),
) -> Process:
    """``safe-future serve`` against the run's database; through ``bench/serve.py`` when
    profiled or patched."""
    port = free_port()
    env = {
        **bench_db.env,
        "SAFE_FUTURE_HOST": "127.0.0.1",
        "SAFE_FUTURE_PORT": str(port),
        "SAFE_FUTURE_DB_POOL_SIZE": str(pool_size),
    }
    if profile is None and not patches:
        return Process("service", [sys.executable, "-m", "service.cli", "serve"], env, port)
    argv = [sys.executable, "-m", "bench.serve", "--patch", ",".join(patches)]
    if profile is not None:
        argv += ["--profile", str(profile)]
    proc = Process("service", argv, env, port)
    proc.profiled = profile is not None
    return proc


def baseline(bench_db: BenchDatabase, *, pool_size: int, patches: tuple[str, ...] = ()) -> Process:
    """``bench/baseline_app.py`` served by uvicorn, same pool size (and engine patches)."""
    port = free_port()
    env = {
        **bench_db.env,
        "BENCH_PATCHES": ",".join(patches),
        "BENCH_APP_DB_URL": bench_db.app_url.render_as_string(hide_password=False),
        "BENCH_POOL_SIZE": str(pool_size),
        "BENCH_PORT": str(port),
    }
    return Process("baseline", [sys.executable, "-m", "bench.baseline_app"], env, port)
