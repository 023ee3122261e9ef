"""The service as it is deployed: a wheel, installed outside the repository, in production mode.

What the Dockerfile does, step by step: build the wheel from the sources, install it into a
fresh virtual environment, run ``safe-future migrate`` once with the owner's URL, then
``safe-future serve`` (which does not migrate in production) from an unrelated working
directory, and query it. The wheel is installed without its dependencies, which the new
environment borrows from this one through a ``.pth`` file: no network is needed for them, and
the service's own code and migrations come only from the wheel.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import sys
import sysconfig
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from service import db
from service.auth import ensure_key_pair, issue_token
from tests.conftest import APP_PASSWORD, ROOT
from tests.e2e.faults_support import free_port

SOURCES = ("pyproject.toml", "README.md", "service", "migrations")


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(  # noqa: S603 (our own interpreter and the installed command)
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{args[:3]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``safe-future`` command of a fresh environment holding only the built wheel."""
    work = tmp_path_factory.mktemp("deployed")
    src = work / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=ignore)
        else:
            shutil.copy2(origin, src / name)
    dist = work / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)],
         cwd=work)  # fmt: skip
    (wheel,) = dist.glob("safe_future-*.whl")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
          "--no-index", str(wheel)], cwd=work)  # fmt: skip
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                cwd=work).strip()  # fmt: skip
    (Path(site) / "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    origin = _run([str(python), "-c", "import service; print(service.__file__)"], cwd=work)
    assert origin.startswith(site), origin  # the wheel's code, not the checkout's
    return venv / "bin" / "safe-future"


@pytest.fixture(scope="module")
async def owner_url(_server: URL) -> AsyncIterator[URL]:
    name = f"sf_deployed_{uuid.uuid4().hex[:10]}"
    yield _server.set(database=name)
    maintenance = create_async_engine(_server, isolation_level="AUTOCOMMIT")
    async with maintenance.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await maintenance.dispose()


async def test_the_installed_wheel_migrates_and_serves_in_production_mode_from_anywhere(
    installed: Path, owner_url: URL, tmp_path: Path
) -> None:
    await db.ensure_database(owner_url)
    keys = tmp_path / "secrets"
    ensure_key_pair(keys / "idp-private.pem", keys / "idp-public.pem")
    ensure_key_pair(keys / "service-signing.pem", keys / "service-signing.pub.pem")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "SAFE_FUTURE_MODE": "production",
        "DATABASE_URL": owner_url.render_as_string(hide_password=False),
        "SAFE_FUTURE_APP_DB_PASSWORD": APP_PASSWORD,
        "SAFE_FUTURE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "SAFE_FUTURE_JWT_PUBLIC_KEY_FILE": str(keys / "idp-public.pem"),
        "SAFE_FUTURE_SIGNING_KEY_FILE": str(keys / "service-signing.pem"),
        "SAFE_FUTURE_DATA_DIR": str(tmp_path / "data"),
        "SAFE_FUTURE_HOST": "127.0.0.1",
        "SAFE_FUTURE_PORT": str(port),
    }
    _run([str(installed), "migrate"], cwd=elsewhere, env=env)
    # A rebuild's fill in two processes: the new one starts from the installed command alone.
    rebuilt = _run([str(installed), "projections", "rebuild", "--processes", "2"],
                   cwd=elsewhere, env=env)  # fmt: skip
    assert "rebuilt cases from 0 events" in rebuilt

    # The API as the compose file runs it: host and database only, the service role's password.
    env["DATABASE_URL"] = owner_url.set(password=None).render_as_string(hide_password=False)
    log = (tmp_path / "serve.log").open("w")
    proc = await asyncio.create_subprocess_exec(
        str(installed), "serve", cwd=elsewhere, env=env, stdout=log, stderr=log
    )
    try:
        token = issue_token(
            (keys / "idp-private.pem").read_bytes(),
            issuer="safe-future-dev",
            audience="safe-future",
            subject="deployed-check",
            organisation="moviera",
            roles=["caseworker"],
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            ready = None
            for _ in range(300):
                assert proc.returncode is None, (tmp_path / "serve.log").read_text()[-3000:]
                try:
                    ready = await http.get("/readyz", timeout=2)
                    if ready.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            assert ready is not None, (tmp_path / "serve.log").read_text()[-3000:]
            assert ready.status_code == 200, ready.text
            answer = await http.post(
                "/graphql",
                json={"query": "{ returnCases(first: 1) { edges { node { id } } } }"},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"data": {"returnCases": {"edges": []}}}
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 30)
        log.close()
