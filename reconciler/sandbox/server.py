"""Serve the sandbox over HTTP with uvicorn (`reconciler sandbox serve`)."""

from __future__ import annotations

import logging
from typing import Any

import uvicorn

from reconciler.sandbox.app import create_app
from reconciler.sandbox.faults import ResponseDropped


class _HideDroppedResponses(logging.Filter):
    """A dropped response is an injected fault, not a server bug: keep its traceback out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ResponseDropped))


def serve(host: str = "127.0.0.1", port: int = 8750, *, log_level: str = "info", **settings: Any) -> None:
    """Serve until interrupted. `settings` are create_app's (data_file, latency_ms, rate_limit, ...)."""
    config = uvicorn.Config(create_app(**settings), host=host, port=port, log_level=log_level)
    # After Config: it (re)configures uvicorn's loggers, and a filter added before could be lost.
    logging.getLogger("uvicorn.error").addFilter(_HideDroppedResponses())
    uvicorn.Server(config).run()
