"""Metrics (Prometheus) and structured JSON logs, never with personal data.

Metrics live in a registry of their own per app, so several apps in one process (tests) do
not collide. Log records carry the request id and organisation from context variables set by
the request gate; only allow-listed extra fields are written.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Callable
from typing import TextIO

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
organisation_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "organisation", default=None
)

# Extra fields a log call may attach; anything else is dropped, so a careless `extra=` cannot
# carry a value into the logs.
LOG_FIELDS = frozenset(
    {"code", "error_type", "path", "operation", "status", "method", "duration_ms", "reason",
     "projection", "events", "tenant"}
)  # fmt: skip


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "safe_future_graphql_request_seconds",
            "GraphQL operations by operation name, with their latency",
            ["operation"],
            registry=self.registry,
        )
        self.errors = Counter(
            "safe_future_graphql_errors",
            "GraphQL errors by extensions.code",
            ["code"],
            registry=self.registry,
        )
        self.http_responses = Counter(
            "safe_future_http_responses",
            "HTTP responses by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.events_appended = Counter(
            "safe_future_events_appended", "Events appended to the log", registry=self.registry
        )
        self.open_subscriptions = Gauge(
            "safe_future_open_subscriptions",
            "Open caseEvents subscriptions in this process",
            registry=self.registry,
        )
        self.projection_lag_events = Gauge(
            "safe_future_projection_lag_events",
            "Events an async projection has not processed yet",
            ["projection"],
            registry=self.registry,
        )
        self.projection_lag_seconds = Gauge(
            "safe_future_projection_lag_seconds",
            "Age of the oldest event an async projection has not processed yet",
            ["projection"],
            registry=self.registry,
        )

    def track_subscriptions(self, count: Callable[[], int]) -> None:
        self.open_subscriptions.set_function(count)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "organisation": organisation_var.get(),
        }
        for name in LOG_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: exception messages may hold data values.
            entry["error_type"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


_QUERY_STRING = re.compile(r"\?[^\s\"']*")


class WithoutQueryStrings(logging.Filter):
    """Cuts query strings out of every record's message and arguments.

    The web server logs WebSocket handshakes as ``"WebSocket /graphql?..." [accepted]``; a
    client may put a token or anything else in that query string. Nothing the service logs
    needs one.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _QUERY_STRING.sub("", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY_STRING.sub("", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def skip_unwritten_record_fields() -> None:
    """Stop gathering, for every record, what ``JsonFormatter`` never writes: the calling
    file, function and line (a walk up the stack), the thread, the process and its name.
    These are the logging HOWTO's "Optimization" switches; they hold for the whole process,
    so the server sets them, not the code a test imports."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """JSON lines on stderr (or ``stream``) for the service and the server it runs in."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(WithoutQueryStrings())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    return handler
