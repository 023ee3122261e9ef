"""`safe-future social-map import` and `safe-future seed`, run as the command line runs them."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from service.cli import cmd_seed, main
from service.config import load_settings
from tests.conftest import APP_PASSWORD, APP_ROLE, Database


@pytest.fixture
def cli_env(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The command line pointed at the test database, as its owner, with its own data folder."""
    monkeypatch.setenv("DATABASE_URL", database.admin_url.render_as_string(hide_password=False))
    monkeypatch.setenv("SAFE_FUTURE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SAFE_FUTURE_APP_DB_ROLE", APP_ROLE)
    monkeypatch.setenv("SAFE_FUTURE_APP_DB_PASSWORD", APP_PASSWORD)
    monkeypatch.delenv("SAFE_FUTURE_MODE", raising=False)
    return tmp_path


def _state(database: Database, names: list[str]) -> list[tuple[str, int, str | None, int]]:
    """Name, version, city and history size of the organisations named (a fresh engine)."""

    async def read() -> list[tuple[str, int, str | None, int]]:
        engine = create_async_engine(database.admin_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text(
                        "SELECT o.name, o.version, o.city, count(c.version) FROM organisations o "
                        "JOIN organisation_changes c ON c.organisation_id = o.id "
                        "WHERE o.name = ANY(:n) GROUP BY o.name, o.version, o.city ORDER BY o.name"
                    ),
                    {"n": names},
                )
                return [(r[0], r[1], r[2], r[3]) for r in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_import_a_csv_file_dry_run_then_for_real_then_again(
    cli_env: Path, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    names = [f"Cli Alpha {tag}", f"Cli Beta {tag}"]
    file = cli_env / "organisations.csv"
    file.write_text(
        "name,kind,country,city,services,languages,website\n"
        f"{names[0]},NGO,UG,Gulu,RECEPTION_ON_ARRIVAL,en,https://alpha.example.org\n"
        f"{names[1]},SHELTER,UG,Kampala,SHELTER;MEDICAL_CARE,en;lg,\n",
        encoding="utf-8",
    )

    assert main(["social-map", "import", str(file), "--dry-run"]) == 0
    assert "2 would be created" in capsys.readouterr().out
    assert _state(database, names) == []

    assert main(["social-map", "import", str(file), "--actor", "operator-1"]) == 0
    assert "2 were created" in capsys.readouterr().out
    assert _state(database, names) == [
        (names[0], 1, "Gulu", 1),
        (names[1], 1, "Kampala", 1),
    ]

    assert main(["social-map", "import", str(file)]) == 0
    assert "0 were created, 0 updated, 2 unchanged" in capsys.readouterr().out
    assert _state(database, names) == [
        (names[0], 1, "Gulu", 1),
        (names[1], 1, "Kampala", 1),
    ]


def test_a_bad_json_file_is_refused_with_every_line_and_writes_nothing(
    cli_env: Path, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    good = f"Cli Good {tag}"
    file = cli_env / "organisations.json"
    file.write_text(
        "[\n"
        f'  {{"name": "{good}", "kind": "NGO", "country": "UG"}},\n'
        '  {"name": "Cli Bad", "kind": "NGO", "country": "UGA"},\n'
        '  {"name": "Cli Bad Too", "kind": "NGO", "country": "UG", "email": "nope"}\n'
        "]\n",
        encoding="utf-8",
    )

    assert main(["social-map", "import", str(file)]) == 1
    err = capsys.readouterr().err
    assert f"{file}: line 3, country:" in err
    assert f"{file}: line 4, email:" in err
    assert "nothing was imported" in err
    assert _state(database, [good]) == []


def test_unreadable_or_unnamed_files_are_refused(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["social-map", "import", str(cli_env / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
    odd = cli_env / "organisations.txt"
    odd.write_text("name,kind,country\n")
    assert main(["social-map", "import", str(odd)]) == 2
    assert "--format" in capsys.readouterr().err
    latin = cli_env / "latin.csv"
    latin.write_bytes("name,kind,country\nRoemeni\xeb,NGO,RO\n".encode("latin-1"))
    assert main(["social-map", "import", str(latin)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_seed_is_idempotent(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed", "--demo"]) == 0
    capsys.readouterr()
    assert main(["seed", "--demo"]) == 0
    assert "0 organisation(s), 0 referral mechanism(s), 0 demo organisation(s) new" in (
        capsys.readouterr().out
    )


def test_demo_data_is_refused_in_production_mode(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Production mode needs more settings than this test cares for: refuse before using them.
    production = dataclasses.replace(load_settings(), mode="production")
    assert cmd_seed(production, argparse.Namespace(demo=True)) == 2
    assert "refused in production" in capsys.readouterr().err
