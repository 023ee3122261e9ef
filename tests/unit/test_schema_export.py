"""The committed schema.graphql is what the code serves."""

from service.schema import SCHEMA_FILE, export_sdl


def test_exported_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text() == export_sdl(), (
        "schema.graphql is stale: run `make schema` and commit it"
    )
