"""What apply reports while it runs: JSON lines for machines, progress for people.

`Event` is the data; `EventSink` fans each event out to an optional JSON lines
stream (`--events FILE|-`) and an optional console renderer: `RichProgress` (apply/terminal.py), a
bar redrawn by rich on a terminal, or `PlainProgress`, one line per finished
operation (CI logs). `render_summary` writes the closing block from an
ApplyResult. No event carries an attribute value, so no secret can leak here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TextIO

from reconciler.errors import ReconcilerError
from reconciler.files import open_append, path_error

if TYPE_CHECKING:
    from reconciler.apply.executor import ApplyResult

EventName = Literal["op:start", "op:retry", "op:done", "op:error", "op:skip", "apply:done"]

_DOING = {"create": "creating", "update": "updating", "delete": "deleting", "pause": "pausing"}
_DONE = {"create": "created", "update": "updated", "delete": "deleted", "pause": "paused"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Event:
    """One thing that happened during apply."""

    event: EventName
    address: str | None = None  # the state address acted on (ADDR or ADDR#deposed)
    action: str | None = None  # the call made: create | update | delete | pause (a delete that pauses)
    attempt: int | None = None  # 1-based; on op:retry, the attempt about to be made
    duration_ms: int | None = None
    error_class: str | None = None
    message: str | None = None
    id: str | None = None  # the platform id, on op:done of a create or update
    rollback: bool = False  # the call undoes an earlier step of this run
    counts: dict[str, int] | None = None  # on apply:done
    run_id: str | None = None  # on apply:done: the run's id in the history (`reconciler history show RUN`)
    ts: str = field(default_factory=_now)

    def to_json(self) -> dict[str, Any]:
        """The documented keys always (null when not relevant), the extras only when set."""
        data: dict[str, Any] = {
            "event": self.event,
            "address": self.address,
            "action": self.action,
            "attempt": self.attempt,
            "duration_ms": self.duration_ms,
            "error_class": self.error_class,
            "message": self.message,
            "ts": self.ts,
        }
        if self.id is not None:
            data["id"] = self.id
        if self.rollback:
            data["rollback"] = True
        if self.counts is not None:
            data["counts"] = self.counts
        if self.run_id is not None:
            data["run_id"] = self.run_id
        return data


class Progress(Protocol):
    """Renders events for a person."""

    def begin(self, total: int) -> None: ...

    def show(self, event: Event) -> None: ...

    def end(self, result: ApplyResult) -> None: ...

    def close(self) -> None:
        """Take anything drawn off the screen (also when the apply is interrupted)."""
        ...


def describe(event: Event) -> str | None:
    """The one-line, human text of an event; None for events a log need not show (op:start)."""
    what = event.address
    seconds = f"{(event.duration_ms or 0) / 1000:.2f}s"
    undo = "rollback: " if event.rollback else ""
    if event.event == "op:done":
        verb = _DONE.get(event.action or "", event.action)
        ident = f" (id {event.id})" if event.id else ""
        note = f" ({event.message})" if event.message else ""
        return f"{undo}{verb} {what}{ident}{note} in {seconds}"
    if event.event == "op:error":
        return f"{undo}failed to {event.action} {what}: {event.error_class}: {event.message}"
    if event.event == "op:retry":
        error = f"{event.error_class}: {event.message}"
        return f"{undo}retrying {event.action} of {what} (attempt {event.attempt}) after {error}"
    if event.event == "op:skip":
        return f"skipped {event.action} of {what}: {event.message}"
    return None


class PlainProgress:
    """One line per finished, failed, retried or skipped operation: for logs and CI."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def begin(self, total: int) -> None:
        self._stream.write(f"Applying {total} operation{'s' if total != 1 else ''}...\n")
        self._stream.flush()

    def show(self, event: Event) -> None:
        line = describe(event)
        if line is not None:
            self._stream.write(line + "\n")
            self._stream.flush()

    def end(self, result: ApplyResult) -> None:
        self._stream.write(render_summary(result))
        self._stream.flush()

    def close(self) -> None:
        pass  # nothing stays on the screen


def progress_for(stream: TextIO) -> Progress:
    """A rich progress bar on a terminal, plain lines otherwise.

    Also plain lines while the request log is on (--log-level info or debug): its stderr lines
    would otherwise be drawn over by the bar.
    """
    isatty = getattr(stream, "isatty", None)
    logging_requests = logging.getLogger("reconciler").isEnabledFor(logging.INFO)
    if isatty is not None and isatty() and not logging_requests:
        from reconciler.apply.terminal import RichProgress  # rich costs ~70 ms to import: only on a terminal

        return RichProgress.on(stream)
    return PlainProgress(stream)


class EventSink:
    """Where the executor sends its events.

    A JSON lines stream that fails (disk full) is dropped, not raised into the
    executor mid-apply: the state stays the record of what happened, and
    `failure` tells the caller afterwards.
    """

    def __init__(
        self, *, jsonl: TextIO | None = None, progress: Progress | None = None, jsonl_name: str = "events"
    ) -> None:
        self._jsonl = jsonl
        self._jsonl_name = jsonl_name
        self._progress = progress
        self.failure: ReconcilerError | None = None
        self.run_id: str | None = None  # set once the run history has started this apply's run

    def begin(self, total: int) -> None:
        """The walk is about to start `total` operations."""
        if self._progress is not None:
            self._progress.begin(total)

    def emit(self, event: Event) -> None:
        if self._jsonl is not None:
            try:
                self._jsonl.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
                self._jsonl.flush()
            except OSError as exc:
                self._jsonl = None
                self.failure = path_error(self._jsonl_name, "write the events", exc)
        if self._progress is not None:
            self._progress.show(event)

    def finish(self, result: ApplyResult) -> None:
        """Emit apply:done and show the summary."""
        self.emit(
            Event(
                "apply:done",
                duration_ms=round(result.duration_s * 1000),
                counts=result.counts,
                message="ok" if result.ok else "failed",
                run_id=self.run_id,
            )
        )
        if self._progress is not None:
            self._progress.end(result)


@contextlib.contextmanager
def open_event_sink(
    events: str | None, *, console: TextIO | None = None, progress: bool = True
) -> Iterator[EventSink]:
    """The sink for `apply [--events FILE|-]`.

    `-` writes JSON lines to stdout, and progress then goes to stderr so stdout
    stays pure JSON lines. `console` overrides where progress goes; without
    `progress` (--quiet) there is none.
    A FILE that cannot be opened, or written to during the apply, is a
    ReconcilerError naming it (raised once the apply is over, in the latter case).
    """
    to_stdout = events == "-"
    jsonl = sys.stdout if to_stdout else open_append(Path(events), "events file") if events else None
    shown = progress_for(console or (sys.stderr if to_stdout else sys.stdout)) if progress else None
    sink = EventSink(jsonl=jsonl, progress=shown, jsonl_name="stdout" if to_stdout else events or "")
    try:
        yield sink
    finally:
        if shown is not None:
            shown.close()
        if jsonl is not None and not to_stdout:
            try:
                jsonl.close()
            except OSError as exc:  # the lines a failed write left buffered
                sink.failure = sink.failure or path_error(events or "", "write the events", exc)
    if sink.failure is not None:
        raise sink.failure


def render_summary(result: ApplyResult) -> str:
    """The closing block: counts, then every failure with its skipped dependents."""
    counts = result.counts
    parts = [f"{counts[status]} {status.replace('_', ' ')}" for status in counts if counts[status]]
    verdict = "Apply complete" if result.ok else "Apply failed"
    lines = [f"\n{verdict}: {', '.join(parts) or 'nothing to do'} in {result.duration_s:.2f}s."]
    failures = result.failures
    if failures:
        lines.append("Failed:")
        for failure in failures:
            lines.append(f"  {failure.address} ({failure.action}): {failure.error_class}: {failure.message}")
            skipped = [o.address for o in result.skipped_because(failure.key)]
            if skipped:
                lines.append(f"    skipped dependents: {', '.join(skipped)}")
    stopped = [o.address for o in result.outcomes.values() if o.status == "skipped" and o.cause is None]
    if stopped:
        lines.append(f"Not started (the apply stopped after the first failure): {', '.join(stopped)}")
    if result.undo_failures:
        lines.append("Could not be rolled back (see the state for what exists now):")
        for undo in result.undo_failures:
            lines.append(f"  {undo.address} ({undo.action}): {undo.error_class}: {undo.message}")
    return "\n".join(lines) + "\n"
