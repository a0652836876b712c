"""Serve the sandbox over HTTP with uvicorn (`reconciler sandbox serve`).

Clients send credentials in query strings (Broadstreet's and Meta's `access_token`),
headers and form bodies (Snapchat's OAuth refresh): nothing the server logs may
show one, so every log record passes through `RedactSecrets` on its way out.
"""

from __future__ import annotations

import copy
import logging
import socket
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from reconciler.providers.http import Redactor, redact_target
from reconciler.sandbox.app import create_app
from reconciler.sandbox.faults import Faults, ResponseDropped

# uvicorn's "trace" level logs every request's headers and body: credentials included.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
# Requests still running when the server stops get this long to finish, then are cancelled.
GRACEFUL_SHUTDOWN_SECONDS = 3

_redact = Redactor()  # no known values: masks credential-named fields and bearer tokens
_formatter = logging.Formatter()


class RedactSecrets(logging.Filter):
    """Masks credentials in every record: the access log's request target, any other message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            # uvicorn's AccessFormatter needs these five arguments: redact the target in place.
            client, method, target, version, status = record.args
            record.args = (client, method, redact_target(str(target)), version, status)
            return True
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + _formatter.formatException(record.exc_info)
        if record.stack_info:
            message += "\n" + record.stack_info
        record.msg, record.args = _redact(message), ()
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


class _HideDroppedResponses(logging.Filter):
    """A dropped response is an injected fault, not a server bug: keep its traceback out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ResponseDropped))


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with both filters on every handler, which also serve the root logger."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"hide_dropped": {"()": _HideDroppedResponses}, "redact": {"()": RedactSecrets}}
    for handler in config["handlers"].values():
        handler["filters"] = ["hide_dropped", "redact"]  # in this order: the first looks at the exception
    config["root"] = {"handlers": ["default"], "level": "WARNING"}  # other libraries' records
    return config


class _Server(uvicorn.Server):
    """uvicorn's server, whose shutdown answers responses held back by latency at once."""

    def __init__(self, config: uvicorn.Config, faults: Faults) -> None:
        super().__init__(config)
        self._faults = faults

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._faults.release_held()
        await super().shutdown(sockets)


def serve(host: str = "127.0.0.1", port: int = 8750, *, log_level: str = "info", **settings: Any) -> None:
    """Serve until interrupted. `settings` are create_app's (data_file, latency_ms, rate_limit, ...)."""
    if log_level not in LOG_LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
    app = create_app(**settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=_log_config(),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    _Server(config, app.state.sandbox.faults).run()
