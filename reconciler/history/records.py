"""What the history keeps of one apply: plain data and its JSON lines.

A run is a start line, one line per operation as it finished, and an end line.
A run whose end line is missing was killed; the next recorded apply appends an
end saying so (outcome `interrupted`, `found_by` that run's id).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.model import RecordedResource

RUN_ID_RE = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")
OUTCOMES = ("succeeded", "failed", "interrupted")


def new_run_id(after: str | None = None, now: datetime | None = None) -> str:
    """`20261202T051500Z-3fa2c1`: sorts by start time, and after `after` (the newest run so far), so that
    two runs begun within one second still sort in the order they ran (runs are serialized by the lock)."""
    run_id = f"{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
    if after is None or run_id > after:
        return run_id
    stamp, _, tail = after.partition("-")
    return f"{stamp}-{(int(tail, 16) + 1) % 0x1000000:06x}"


def now_iso() -> str:
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    """`moment` as the history writes times: UTC, milliseconds, `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class RunStart:
    """Who applied what, from where."""

    run_id: str
    workspace: str
    started_at: str
    who: str
    where: str
    commit: str | None
    plan_digest: str
    plan_file: str | None = None
    overrides: tuple[dict[str, str], ...] = ()  # {"policy", "reason"} of each overridden soft policy
    planned: dict[str, int] = field(default_factory=dict)  # the plan's changes per action
    sandbox: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "start",
            "run_id": self.run_id,
            "workspace": self.workspace,
            "started_at": self.started_at,
            "who": self.who,
            "where": self.where,
            "commit": self.commit,
            "plan_digest": self.plan_digest,
            "plan_file": self.plan_file,
            "overrides": list(self.overrides),
            "planned": self.planned,
            "sandbox": self.sandbox,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunStart:
        return cls(
            run_id=data["run_id"],
            workspace=data["workspace"],
            started_at=data["started_at"],
            who=data["who"],
            where=data["where"],
            commit=data.get("commit"),
            plan_digest=data["plan_digest"],
            plan_file=data.get("plan_file"),
            overrides=tuple(data.get("overrides") or ()),
            planned=dict(data.get("planned") or {}),
            sandbox=bool(data.get("sandbox")),
        )


@dataclass(frozen=True)
class OperationRecord:
    """One operation of a run, as it finished.

    `action`: create | update | replace (either half of one) | delete | pause | rollback (`undoes` the
    action it undid). `outcome`: done | failed | skipped. `before` and `after`: the state entry of
    `address` before and after it (None: not recorded).
    """

    address: str
    action: str
    outcome: str
    at: str
    id: str | None = None
    attempts: int = 0
    duration_ms: int = 0
    error_class: str | None = None
    message: str = ""
    before: RecordedResource | None = None
    after: RecordedResource | None = None
    undoes: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "operation",
            "address": self.address,
            "action": self.action,
            "outcome": self.outcome,
            "at": self.at,
            "id": self.id,
            "attempts": self.attempts,
            "duration_ms": self.duration_ms,
            "error_class": self.error_class,
            "message": self.message,
            "before": self.before.to_json() if self.before else None,
            "after": self.after.to_json() if self.after else None,
        }
        if self.undoes:
            data["undoes"] = self.undoes
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OperationRecord:
        address = data["address"]
        return cls(
            address=address,
            action=data["action"],
            outcome=data["outcome"],
            at=data["at"],
            id=data.get("id"),
            attempts=int(data.get("attempts") or 0),
            duration_ms=int(data.get("duration_ms") or 0),
            error_class=data.get("error_class"),
            message=data.get("message") or "",
            before=_resource(address, data.get("before")),
            after=_resource(address, data.get("after")),
            undoes=data.get("undoes"),
        )

    def changed_fields(self) -> list[str]:
        """The top-level attributes that differ between before and after (all of them on a create or delete)."""
        before = self.before.attributes if self.before else {}
        after = self.after.attributes if self.after else {}
        return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


@dataclass(frozen=True)
class RunEnd:
    ended_at: str
    outcome: str  # one of OUTCOMES
    counts: dict[str, int] = field(default_factory=dict)  # operations per outcome
    message: str = ""  # why a run failed or was interrupted, when not an operation's error
    found_by: str | None = None  # interrupted: the run that found it unfinished

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "end",
            "ended_at": self.ended_at,
            "outcome": self.outcome,
            "counts": self.counts,
            "message": self.message,
        }
        if self.found_by:
            data["found_by"] = self.found_by
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunEnd:
        return cls(
            ended_at=data["ended_at"],
            outcome=data["outcome"],
            counts=dict(data.get("counts") or {}),
            message=data.get("message") or "",
            found_by=data.get("found_by"),
        )


@dataclass(frozen=True)
class Run:
    """One run as read back: its start, its operations so far, and its end (None: unfinished)."""

    start: RunStart
    operations: list[OperationRecord]
    end: RunEnd | None

    @property
    def run_id(self) -> str:
        return self.start.run_id

    @property
    def outcome(self) -> str:
        return self.end.outcome if self.end else "unfinished"

    @property
    def counts(self) -> dict[str, int]:
        """Operations per outcome: the end's, else counted from the operations recorded so far."""
        if self.end is not None and self.end.counts:
            return self.end.counts
        return count_outcomes(self.operations)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.start.to_json(),
            "type": "run",
            "outcome": self.outcome,
            "ended_at": self.end.ended_at if self.end else None,
            "counts": self.counts,
            "message": self.end.message if self.end else "",
            "found_by": self.end.found_by if self.end else None,
            "operations": [o.to_json() for o in self.operations],
        }


def count_outcomes(operations: list[OperationRecord]) -> dict[str, int]:
    counts = dict.fromkeys(("done", "failed", "skipped"), 0)
    for operation in operations:
        counts[operation.outcome] = counts.get(operation.outcome, 0) + 1
    return counts


def _resource(address: str, data: Any) -> RecordedResource | None:
    return RecordedResource.from_json(address, data) if isinstance(data, dict) else None
