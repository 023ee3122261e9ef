"""The embedded PostgreSQL is stopped by the last clean exit, also after a crash (kill -9)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil

from tests.conftest import ROOT

USE = """
import sys, time
from pathlib import Path
from service.db import EmbeddedServer
server = EmbeddedServer(Path(sys.argv[1]))
print("ready", flush=True)
if sys.argv[2] == "hold":
    time.sleep(120)
server.cleanup()
"""


def _postmaster(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().splitlines()[0])
    return pid if psutil.pid_exists(pid) else None


def _use(pgdata: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", USE, str(pgdata), mode],
        cwd=ROOT,
        stdout=subprocess.PIPE if mode == "hold" else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def test_after_a_killed_user_the_next_clean_exit_stops_the_embedded_server() -> None:
    # Beside the test server's data: a folder the server's own system user can reach.
    pgdata = ROOT / ".data" / f"crash-{uuid.uuid4().hex[:8]}"
    crashed = _use(pgdata, "hold")
    try:
        assert crashed.stdout is not None
        assert crashed.stdout.readline().strip() == "ready"
        os.kill(crashed.pid, signal.SIGKILL)
        crashed.wait(30)
        postmaster = _postmaster(pgdata)
        assert postmaster is not None  # the crash left the server running

        clean = _use(pgdata, "exit")
        assert clean.wait(120) == 0
        for _ in range(200):
            if not psutil.pid_exists(postmaster):
                break
            time.sleep(0.05)
        assert not psutil.pid_exists(postmaster)
    finally:
        if crashed.poll() is None:
            crashed.kill()
        crashed.wait(30)
        if crashed.stdout is not None:
            crashed.stdout.close()
        leftover = _postmaster(pgdata)
        if leftover is not None:  # never leave a server of this test behind
            os.kill(leftover, signal.SIGTERM)
            psutil.Process(leftover).wait(30)
        shutil.rmtree(pgdata, ignore_errors=True)
