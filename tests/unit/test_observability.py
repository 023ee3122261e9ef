"""Logs and error formatting never carry data values."""

from __future__ import annotations

import json
import logging

from graphql import GraphQLError

from service.observability import JsonFormatter, skip_unwritten_record_fields
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


def test_records_without_caller_and_thread_fields_log_the_same_line() -> None:
    switches = ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing")
    saved = {name: getattr(logging, name) for name in switches}
    seen: list[logging.LogRecord] = []
    logger = logging.getLogger("service.test-lean")
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        logger.warning("request", extra={"status": 200, "method": "POST"})
        skip_unwritten_record_fields()
        logger.warning("request", extra={"status": 200, "method": "POST"})
    finally:
        logger.removeHandler(handler)
        for name, value in saved.items():
            setattr(logging, name, value)
    full, lean = seen
    assert full.lineno > 0
    assert full.thread is not None
    assert lean.lineno == 0  # not gathered
    assert lean.thread is None
    assert lean.process is None
    written = [json.loads(JsonFormatter().format(r)) for r in (full, lean)]
    for entry in written:
        del entry["time"]
    assert written[0] == written[1] == {
        "level": "warning", "logger": "service.test-lean", "message": "request",
        "request_id": None, "organisation": None, "status": 200, "method": "POST",
    }  # fmt: skip


def test_unexpected_error_is_masked_with_the_request_id() -> None:
    error = GraphQLError(
        "duplicate key value violates unique constraint; Key (name)=(Ada)",
        path=["openReturnCase"],
        original_error=RuntimeError("Key (name)=(Ada)"),
    )
    formatted = format_error(error, "req-123")
    assert formatted["extensions"] == {"code": "INTERNAL", "requestId": "req-123"}
    assert "Ada" not in json.dumps(formatted)
