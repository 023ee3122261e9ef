"""SAFE_FUTURE_GRAPHIQL: on in development, off in production unless switched on."""

from __future__ import annotations

import pytest

from service.config import ConfigError, load_settings

PRODUCTION = {
    "SAFE_FUTURE_MODE": "production",
    "DATABASE_URL": "postgresql://owner@db/safe_future",
    "SAFE_FUTURE_APP_DB_PASSWORD": "not-a-real-password",
    "SAFE_FUTURE_MASTER_KEY_FILE": "/run/secrets/master.key",
}


def test_graphiql_is_on_in_development_and_off_in_production_by_default() -> None:
    assert load_settings({}).graphiql is True
    assert load_settings(PRODUCTION).graphiql is False


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("on", True), ("TRUE", True), ("1", True), ("off", False), ("no", False), ("0", False)],
)
def test_graphiql_setting_overrides_the_mode(raw: str, expected: bool) -> None:
    assert load_settings({**PRODUCTION, "SAFE_FUTURE_GRAPHIQL": raw}).graphiql is expected
    assert load_settings({"SAFE_FUTURE_GRAPHIQL": raw}).graphiql is expected


def test_graphiql_setting_refuses_anything_but_on_or_off() -> None:
    with pytest.raises(ConfigError, match="SAFE_FUTURE_GRAPHIQL"):
        load_settings({"SAFE_FUTURE_GRAPHIQL": "maybe"})
