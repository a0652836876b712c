"""Apply: carry a Plan out against the platforms (steps graph, async executor, events, pending)."""

from reconciler.apply.events import Event, EventSink, open_event_sink, render_summary
from reconciler.apply.executor import ApplyResult, RetryPolicy, StepOutcome, UndoFailure, execute
from reconciler.apply.pending import resolve_pending
from reconciler.apply.steps import Step, StepCycleError, build_steps

__all__ = [
    "ApplyResult",
    "Event",
    "EventSink",
    "RetryPolicy",
    "Step",
    "StepCycleError",
    "StepOutcome",
    "UndoFailure",
    "build_steps",
    "execute",
    "open_event_sink",
    "render_summary",
    "resolve_pending",
]
