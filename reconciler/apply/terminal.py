"""The apply progress bar on a terminal, drawn by rich (imported only when a terminal shows it)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TextIO

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.text import Text

from reconciler.apply.events import Event, describe, render_summary

if TYPE_CHECKING:
    from reconciler.apply.executor import ApplyResult, StepOutcome


_COMPLETE = {"create": "Creation", "update": "Modifications", "delete": "Destruction", "pause": "Pause"}


class RichProgress:
    """On a terminal: a bar redrawn by rich, with done/total, rate, ETA, and calls in flight per target.

    Failures and retries are printed above the bar as they happen. Each line of the bar is cut
    to the terminal's width, so a narrow terminal never wraps it. At the end the bar goes, and
    what was created, changed or deleted is listed with its id, as Terraform does, before the summary.
    """

    @classmethod
    def on(cls, stream: TextIO) -> RichProgress:
        return cls(Console(file=stream))

    def __init__(self, console: Console) -> None:
        self._console = console
        self._live: Live | None = None
        self._total = 0
        self._finished = 0
        self._failed = 0
        self._in_flight: dict[str, int] = {}  # calls under way, by target
        self._started = time.monotonic()

    def begin(self, total: int) -> None:
        self._total = total
        self._started = time.monotonic()
        # Not redirecting stdout and stderr: the JSON lines of `--events -` go to the real stdout.
        self._live = Live(
            self,
            console=self._console,
            refresh_per_second=8,
            transient=True,  # the bar goes when the apply ends
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start(refresh=True)

    def show(self, event: Event) -> None:
        target = (event.address or "").split(":", 1)[0]
        if event.event == "op:start":
            self._in_flight[target] = self._in_flight.get(target, 0) + 1
        elif event.event in ("op:done", "op:error") and self._in_flight.get(target):
            self._in_flight[target] -= 1
        if event.event in ("op:error", "op:retry"):
            style = "red" if event.event == "op:error" else "yellow"
            self._console.print(Text(describe(event) or "", style=style))
        if event.event in ("op:done", "op:error", "op:skip") and not event.rollback:
            self._finished += 1
            self._failed += event.event == "op:error"

    def end(self, result: ApplyResult) -> None:
        self.close()
        completed = [_completion(outcome) for outcome in result.outcomes.values() if outcome.status == "done"]
        if completed:
            self._console.print(Text("\n" + "\n".join(completed)), highlight=False, soft_wrap=True)
        self._console.print(render_summary(result), end="", markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        """Take the bar off the screen (also when the apply is interrupted)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = self._finished / elapsed
        left = self._total - self._finished
        eta = _clock(left / rate) if rate > 0 else "--:--"
        stats = Text(f" {self._finished}/{self._total} {rate:.1f}/s ETA {eta}")
        if self._failed:
            stats.append(f" {self._failed} failed", style="bold red")
        bar = width - len(stats)
        line = Text(no_wrap=True, overflow="ellipsis")
        if bar >= 5:  # on a very narrow terminal, the numbers without a bar
            done = round(bar * self._finished / self._total) if self._total else bar
            line.append("━" * done, style="green").append("─" * (bar - done), style="grey35")  # told apart uncoloured
        line.append_text(stats)
        line.truncate(width, overflow="ellipsis")
        yield line
        # A copy: rich redraws from its own thread while the executor's events update the counts.
        flights = [(target, n) for target, n in list(self._in_flight.items()) if n]
        calls = Text("in flight: " + (", ".join(f"{target} {n}" for target, n in flights) or "none"), no_wrap=True)
        calls.truncate(width, overflow="ellipsis")
        yield calls


def _completion(outcome: StepOutcome) -> str:
    """`ADDR: Creation complete after 2s [id=123]`, in Terraform's words and units."""
    what = _COMPLETE.get(outcome.action, outcome.action)
    minutes, seconds = divmod(int(outcome.duration_s), 60)
    took = f"{minutes}m{seconds}s" if minutes else f"{seconds}s"
    ident = f" [id={outcome.id}]" if outcome.id else ""
    return f"{outcome.address}: {what} complete after {took}{ident}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
