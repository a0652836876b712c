"""Plans and applies started from the dashboard, each in a thread of its own.

A job keeps every event it produced (the JSON objects `apply --events` writes), so an
SSE client that connects late, or reconnects, is sent what it missed and then each new
event as it happens. Only one apply runs at a time: the dashboard serves one workspace,
and the state lock would refuse a second one anyway, later and less clearly.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.apply.events import Event, EventSink
from reconciler.errors import ReconcilerError
from reconciler.history.records import now_iso
from reconciler.project import Connect, Project
from reconciler.providers.base import ProviderError

JobAction = Literal["plan", "apply"]
FINAL_EVENTS = ("apply:done", "plan:done")
KEEP_FINISHED = 50  # finished jobs (and their events) kept in memory; the history keeps every apply


@dataclass
class Job:
    id: str
    action: JobAction
    workspace: str
    started_at: str = field(default_factory=now_iso)
    status: Literal["running", "succeeded", "failed"] = "running"
    ended_at: str | None = None
    total: int | None = None  # operations the apply will carry out, once planned
    run_id: str | None = None  # the apply's run in the history, once it started one
    error: str | None = None
    summary: dict[str, int] | None = None  # the plan's changes per action
    notes: list[str] = field(default_factory=list)  # what apply said besides events (go-live, resolved pendings)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status != "running"

    def to_json(self) -> dict[str, Any]:
        """For `GET /api/runs/{id}`: the job without its events, plus their counts so far."""
        counts: dict[str, int] = {}
        for event in self.events:
            if not event.get("rollback"):
                counts[event["event"]] = counts.get(event["event"], 0) + 1
        return {
            "id": self.id,
            "action": self.action,
            "workspace": self.workspace,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "total": self.total,
            "done": counts.get("op:done", 0),
            "failed": counts.get("op:error", 0),
            "skipped": counts.get("op:skip", 0),
            "run_id": self.run_id,
            "error": self.error,
            "summary": self.summary,
            "notes": list(self.notes),
            "url": f"/runs/{self.id}",
            "events_url": f"/runs/{self.id}/events",
        }


class Busy(Exception):
    """An apply is already running; `job` is that one."""

    def __init__(self, job: Job) -> None:
        super().__init__(job.id)
        self.job = job


class _Subscriber:
    """One SSE client: a queue on its own event loop, fed from the job's thread."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue()

    def put(self, seq: int, event: dict[str, Any]) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (seq, event))


class _JobSink(EventSink):
    """The executor's events, recorded on the job and sent to its subscribers (no console, no file).

    Its apply:done is held back (`done`) until the job is over: go-live still runs after the walk.
    """

    def __init__(self, jobs: Jobs, job: Job) -> None:
        super().__init__(jsonl=None, progress=None)
        self._jobs = jobs
        self._job = job
        self.done: dict[str, Any] | None = None

    def begin(self, total: int) -> None:
        self._job.total = total
        self._job.run_id = self.run_id
        super().begin(total)

    def emit(self, event: Event) -> None:
        super().emit(event)
        if event.event == "apply:done":
            self.done = event.to_json()
        else:
            self._jobs.publish(self._job, event.to_json())


class Jobs:
    """The jobs of one dashboard. `project()` gives a fresh Project (its own store and lock) per job."""

    def __init__(self, project: Callable[[], Project], connect: Callable[[Project], Connect],
                 scrub: Callable[[str], str]) -> None:  # fmt: skip
        self._project = project
        self._connect = connect
        self._scrub = scrub  # takes credentials out of an unforeseen error's text
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._subscribers: dict[str, list[_Subscriber]] = {}

    def start(self, action: JobAction) -> Job:
        """Start a plan or an apply in the background; raises Busy when an apply is running."""
        project = self._project()
        with self._lock:
            running = self.running_apply()
            if action == "apply" and running is not None:
                raise Busy(running)
            job = Job(f"job-{secrets.token_hex(4)}", action, project.workspace)
            for old in [j for j in self._jobs.values() if j.finished][:-KEEP_FINISHED]:
                del self._jobs[old.id]
                del self._subscribers[old.id]
            self._jobs[job.id] = job
            self._subscribers[job.id] = []
        target = self._apply if action == "apply" else self._plan
        threading.Thread(target=target, args=(job, project), name=job.id, daemon=True).start()
        return job

    def running_apply(self) -> Job | None:
        return next((j for j in self._jobs.values() if j.action == "apply" and not j.finished), None)

    def live(self, run_or_job_id: str) -> Job | None:
        """The job with this id, or the running job that started the history run with this id."""
        return self._jobs.get(run_or_job_id) or next(
            (j for j in self._jobs.values() if j.run_id == run_or_job_id and not j.finished), None
        )

    def all(self) -> list[Job]:
        """Newest first."""
        return sorted(self._jobs.values(), key=lambda j: j.started_at, reverse=True)

    def subscribe(self, job: Job, after: int) -> tuple[list[tuple[int, dict[str, Any]]], _Subscriber | None]:
        """The events after index `after` with their indexes, and a subscriber for the ones to come
        (None: the job is over)."""
        with self._lock:
            missed = list(enumerate(job.events))[after + 1 :]
            if job.finished:
                return missed, None
            subscriber = _Subscriber()
            self._subscribers[job.id].append(subscriber)
            return missed, subscriber

    def unsubscribe(self, job: Job, subscriber: _Subscriber) -> None:
        with self._lock:
            if subscriber in self._subscribers.get(job.id, []):
                self._subscribers[job.id].remove(subscriber)

    def publish(self, job: Job, event: dict[str, Any]) -> None:
        with self._lock:
            seq = len(job.events)
            job.events.append(event)
            if event["event"] in FINAL_EVENTS:
                job.ended_at = now_iso()
                job.status = "failed" if job.error or event.get("message") == "failed" else "succeeded"
            for subscriber in self._subscribers.get(job.id, []):
                subscriber.put(seq, event)
            if job.finished:
                self._subscribers[job.id] = []

    def _apply(self, job: Job, project: Project) -> None:
        sink = _JobSink(self, job)
        try:
            # No prompt: the POST was the confirmation. Policies and prevent_destroy still refuse in apply.
            project.apply(connect=self._connect(project), events=sink,
                          confirm=lambda plan: self._planned(job, plan.summary, plan.has_changes),
                          notify=job.notes.append)  # fmt: skip
        except Exception as error:
            job.error = self._error_text(error)
        job.run_id = sink.run_id
        if sink.done is not None:
            self.publish(job, sink.done)
        else:  # nothing to do, or refused before the walk: the stream still ends with apply:done
            message = job.error or "nothing to do"
            self.publish(job, Event("apply:done", message=message, counts={}, run_id=sink.run_id).to_json())

    def _plan(self, job: Job, project: Project) -> None:
        message = "ok"
        try:
            plan = project.plan()
            self._planned(job, plan.summary, plan.has_changes)
        except Exception as error:
            job.error = message = self._error_text(error)
        # The keys of every other event, under its own name: a plan is not an apply.
        self.publish(job, {**Event("apply:done", message=message).to_json(), "event": "plan:done",
                           "summary": job.summary})  # fmt: skip

    def _error_text(self, error: Exception) -> str:
        """What the CLI would say: the message of an expected error; a bug in one line, without credentials."""
        if isinstance(error, (ReconcilerError, ProviderError)):
            return str(error)
        return self._scrub(f"internal error (a bug in reconciler): {type(error).__name__}: {error}")

    @staticmethod
    def _planned(job: Job, summary: dict[str, int], has_changes: bool) -> bool:
        job.summary = summary
        return has_changes
