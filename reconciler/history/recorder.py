"""Records one apply in the run history: who, where, from which commit, and every operation.

A Recorder is opened for each apply, under the state lock (as a context manager: an exception
ends the run). The run is started only once the plan is confirmed and has changes (an apply
with nothing to do, or declined, is not recorded); on start, runs that a killed apply left
without an end are given one (`interrupted`, found by this run). The executor tells the
Recorder of each operation as it finishes (apply/executor.py OperationLog), and each is
appended at once, so a killed run keeps what it did.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import socket
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from reconciler.apply.executor import ApplyResult, StepOutcome
from reconciler.apply.steps import Step
from reconciler.history.records import OperationRecord, RunEnd, RunStart, count_outcomes, new_run_id, now_iso
from reconciler.history.store import HistoryStore
from reconciler.model import Action, Plan, RecordedResource
from reconciler.plan.digest import plan_digest
from reconciler.state.store import StateStore


class Recorder:
    """The history of one apply, written as it happens."""

    def __init__(
        self,
        history: HistoryStore,
        *,
        workspace: str,
        project_dir: Path,
        plan_file: Path | None = None,
        sandbox: bool = False,
        notify: Callable[[str], None] = lambda line: None,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.history, self.workspace, self.project_dir = history, workspace, project_dir
        self.plan_file, self.sandbox, self.notify, self.environ = plan_file, sandbox, notify, environ
        self.run_id = ""  # given on start: after the newest run's id
        self.started = False
        self.finished = False
        self._operations: list[OperationRecord] = []  # kept for the end's counts when no result is known

    def start(self, plan: Plan) -> None:
        """Record the run's start; first, end the runs a killed apply left unfinished."""
        self.run_id = run_id = new_run_id(after=self.history.latest())
        for killed in self.history.unfinished():
            run = self.history.get(killed)
            ended_at = run.operations[-1].at if run.operations else run.start.started_at
            message = f"the apply was killed; found unfinished by run {self.run_id}"
            self.history.finish(killed, RunEnd(ended_at, "interrupted", count_outcomes(run.operations), message,
                                               found_by=self.run_id))  # fmt: skip
            self.notify(f"Run {killed} had been interrupted (its apply was killed): recorded as interrupted")
        self.history.start(
            RunStart(
                run_id=run_id,
                workspace=self.workspace,
                started_at=now_iso(),
                who=who(self.environ),
                where=where(self.environ),
                commit=spec_commit(self.project_dir, self.environ),
                plan_digest=plan_digest(plan),
                plan_file=self.plan_file.name if self.plan_file else None,
                overrides=tuple(o.to_json() for o in plan.overrides),
                planned={k: v for k, v in plan.summary.items() if k != "noop"},
                sandbox=self.sandbox,
            )
        )
        self.started = True

    def operation(
        self,
        step: Step,
        outcome: StepOutcome,
        before: RecordedResource | None,
        after: RecordedResource | None,
        *,
        rollback: bool = False,
    ) -> None:
        """apply/executor.py's OperationLog: append one finished operation."""
        action = "replace" if step.change.action is Action.REPLACE else outcome.action
        record = OperationRecord(
            address=outcome.address,
            action="rollback" if rollback else action,
            outcome="done" if outcome.status == "rolled_back" else outcome.status,
            at=now_iso(),
            id=outcome.id if outcome.id is not None else (after or before).id if (after or before) else None,
            attempts=outcome.attempts,
            duration_ms=round(outcome.duration_s * 1000),
            error_class=outcome.error_class,
            message=outcome.message,
            before=before,
            after=after,
            undoes=action if rollback else None,
        )
        self.append_operation(record)

    def append_operation(self, record: OperationRecord) -> None:
        self._operations.append(record)
        self.history.append(self.run_id, record)

    def finish(self, result: ApplyResult | None) -> None:
        """The end of the run: the executor's `result`, None when only go-live wrote (always a success)."""
        if result is None:
            self._end(RunEnd(now_iso(), "succeeded", count_outcomes(self._operations)))
            return
        outcome = "succeeded" if result.ok else "failed"
        message = "" if result.ok else "; ".join(f"{f.address}: {f.error_class}: {f.message}" for f in result.failures)
        if result.undo_failures:
            message += f"{'; ' if message else ''}{len(result.undo_failures)} step(s) could not be rolled back"
        counts = result.counts
        if went_live := sum(1 for o in self._operations if o.message == GO_LIVE):
            counts = {**counts, "done": counts["done"] + went_live}
        self._end(RunEnd(now_iso(), outcome, counts, message))

    def going_live(self, store: StateStore, plan: Plan) -> StateStore:
        """`store` for go-live (reconciler/golive) to write through: each object it enables is an operation of
        this run, which starts with the first one when the plan itself had nothing to do."""
        return _GoingLive(self, store, plan)  # type: ignore[return-value]  # a StateStore, by delegation

    def abort(self, error: BaseException) -> None:
        """The apply stopped on an error or an interrupt before the executor returned."""
        interrupted = isinstance(error, KeyboardInterrupt | SystemExit | asyncio.CancelledError)
        message = "interrupted (Ctrl+C)" if interrupted else f"{type(error).__name__}: {error}"
        self._end(RunEnd(now_iso(), "interrupted" if interrupted else "failed", count_outcomes(self._operations),
                         message))  # fmt: skip

    def _end(self, end: RunEnd) -> None:
        self.history.finish(self.run_id, end)
        self.finished = True

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        """A started run that an exception cut short gets its end too."""
        if error is not None and self.started and not self.finished:
            self.abort(error)


GO_LIVE = "went live: every ad of its campaign on this target was approved"


class _GoingLive:
    """A StateStore that records each write of go-live as an update of the run (see Recorder.going_live)."""

    def __init__(self, recorder: Recorder, store: StateStore, plan: Plan) -> None:
        self._recorder, self._store, self._plan = recorder, store, plan

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def record(self, address: str, resource: RecordedResource | None) -> None:
        before = self._store.read().resources.get(address)  # go-live writes a few objects, each after reading
        self._store.record(address, resource)
        if not self._recorder.started:
            self._recorder.start(self._plan)
        self._recorder.append_operation(
            OperationRecord(
                address,
                "update",
                "done",
                now_iso(),
                id=resource.id if resource else None,
                attempts=1,
                message=GO_LIVE,
                before=before,
                after=resource,
            )
        )


def who(environ: Mapping[str, str]) -> str:
    """GITHUB_ACTOR in GitHub Actions, else the OS user."""
    if environ.get("GITHUB_ACTOR"):
        return environ["GITHUB_ACTOR"]
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return f"uid {os.getuid()}"


def where(environ: Mapping[str, str]) -> str:
    """The GitHub Actions run's URL when there is one, else this host's name."""
    parts = [environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if all(parts):
        server, repository, run = parts
        return f"{str(server).rstrip('/')}/{repository}/actions/runs/{run}"
    return socket.gethostname()


def spec_commit(project_dir: Path, environ: Mapping[str, str]) -> str | None:
    """GITHUB_SHA, else `git rev-parse HEAD` in the project directory, else None (no git, not a repository)."""
    if environ.get("GITHUB_SHA"):
        return environ["GITHUB_SHA"]
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project_dir, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None
