"""Logs and error formatting never carry data values."""

from __future__ import annotations

import json
import logging

from graphql import GraphQLError

from service.observability import JsonFormatter
from service.schema.errors import format_error


def test_json_log_keeps_only_allow_listed_fields_and_exception_types() -> None:
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, None)
    record.code = "INTERNAL"
    record.full_name = "Ada Secret"
    try:
        raise ValueError("Key (pseudonym)=(Ada Secret) already exists")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["code"] == "INTERNAL"
    assert entry["error_type"] == "ValueError"
    assert "Ada Secret" not in line


def test_unexpected_error_is_masked_with_the_request_id() -> None:
    error = GraphQLError(
        "duplicate key value violates unique constraint; Key (name)=(Ada)",
        path=["openReturnCase"],
        original_error=RuntimeError("Key (name)=(Ada)"),
    )
    formatted = format_error(error, "req-123")
    assert formatted["extensions"] == {"code": "INTERNAL", "requestId": "req-123"}
    assert "Ada" not in json.dumps(formatted)
