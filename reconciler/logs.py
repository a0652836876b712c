"""Where the `reconciler` command's log records go: stderr, at the level `--log-level` or RECONCILER_LOG sets.

warning (the default) shows only what needs attention; info adds each retry of a request; debug adds
each HTTP request the providers and the GitHub client send (method, redacted URL, status, duration,
attempt), never a header or a body.
"""

from __future__ import annotations

import logging

import click

LOG_ENV = "RECONCILER_LOG"
LEVELS = ("debug", "info", "warning", "error")
DEFAULT_LEVEL = "warning"


class _Stderr(logging.Handler):
    """Writes through click to whatever stderr is now (a test's runner swaps it), one line per record."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(f"{record.levelname.capitalize()}: {record.getMessage()}", err=True)
        except Exception:  # a log line must never break the command
            self.handleError(record)


def configure(level: str) -> None:
    """Send the `reconciler.*` loggers' records at `level` and above to stderr (again: replacing an earlier call's)."""
    logger = logging.getLogger("reconciler")
    for handler in [h for h in logger.handlers if isinstance(h, _Stderr)]:
        logger.removeHandler(handler)
    logger.addHandler(_Stderr())
    logger.setLevel(level.upper())
