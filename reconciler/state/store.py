"""Recorded state: the types every backend shares and the StateStore protocol.

The JSON shape produced by `State.to_json` is the state file contract of
DESIGN.md section 4; `State.from_json` validates it so that a hand-edited
file fails with a message naming the bad field instead of a traceback.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from reconciler.errors import ReconcilerError
from reconciler.model import RecordedResource, TargetConfig, split_address

FORMAT_VERSION = 1
# The endpoint of every target of a `--sandbox` run: the in-process emulator, reached by no URL.
SANDBOX_ENDPOINT = "sandbox:in-process"

PendingAction = Literal["create", "update", "delete"]
PENDING_ACTIONS: tuple[str, ...] = ("create", "update", "delete")


def utc_now_iso() -> str:
    """The current time as ISO 8601 UTC, e.g. '2026-06-01T12:00:00Z'."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class PendingOperation:
    """An operation about to be sent to a platform whose outcome is not yet recorded.

    If the process dies after `begin` and before `record`, the next apply finds
    it here and looks the object up instead of blindly repeating a create.
    """

    address: str
    action: PendingAction
    type: str
    target: str
    name: str
    attributes: dict[str, Any]  # the resolved attributes being sent
    started_at: str = field(default_factory=utc_now_iso)
    depends_on: tuple[str, ...] = ()  # recorded with the object if the lookup adopts it

    def __post_init__(self) -> None:
        split_address(self.address)
        if self.action not in PENDING_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(PENDING_ACTIONS)}, not {self.action!r}")

    def to_json(self) -> dict[str, Any]:
        """The state file entry (the address is its key, so it is not repeated)."""
        return {
            "action": self.action,
            "type": self.type,
            "target": self.target,
            "name": self.name,
            "attributes": self.attributes,
            "started_at": self.started_at,
            "depends_on": list(self.depends_on),
        }

    @classmethod
    def from_json(cls, address: str, data: Any) -> PendingOperation:
        """Validate and build; raises ValueError naming the bad field."""
        where = f"pending[{address!r}]"
        _check_keys(
            data,
            where,
            required={"action", "type", "target", "name", "started_at"},
            optional={"attributes", "depends_on"},
        )
        fields = {key: _string(data, key, where) for key in ("type", "target", "name", "started_at")}
        attributes = _object(data.get("attributes", {}), f"{where}.attributes")
        depends_on = data.get("depends_on", [])
        if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
            raise ValueError(f"{where}.depends_on: expected a list of addresses")
        try:  # address and action are checked by __post_init__
            return cls(
                address=address,
                action=data["action"],
                attributes=attributes,
                depends_on=tuple(depends_on),
                **fields,
            )
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None


def resource_from_json(address: str, data: Any) -> RecordedResource:
    """Validate one `resources` entry and build it; raises ValueError naming the bad field."""
    where = f"resources[{address!r}]"
    _check_keys(data, where, required={"id", "type", "target"}, optional={"attributes", "depends_on", "lifecycle"})
    if isinstance(data["id"], bool) or not isinstance(data["id"], str | int) or data["id"] == "":
        raise ValueError(f"{where}.id: must be the platform's id as a non-empty string")
    _string(data, "type", where)
    _string(data, "target", where)
    _object(data.get("attributes", {}), f"{where}.attributes")
    depends_on = data.get("depends_on", [])
    if not isinstance(depends_on, list) or not all(isinstance(a, str) for a in depends_on):
        raise ValueError(f"{where}.depends_on: must be a list of resource addresses")
    if "lifecycle" in data:
        _object(data["lifecycle"], f"{where}.lifecycle")
    return RecordedResource.from_json(_address(address, where), data)


def target_from_json(name: str, data: Any) -> TargetConfig:
    """Validate one `targets` entry; raises ValueError naming the bad field."""
    try:
        return TargetConfig.from_json(name, data)
    except ValueError as exc:
        raise ValueError(f"targets[{name!r}]: {exc}") from None


@dataclass
class State:
    """Everything recorded for one workspace."""

    lineage: str  # uuid fixed when the state is created; tells two unrelated states apart
    serial: int  # +1 on every write
    resources: dict[str, RecordedResource] = field(default_factory=dict)
    pending: dict[str, PendingOperation] = field(default_factory=dict)
    # The configuration each target last applied with: its objects are deleted with it once
    # the target leaves the specs, and an account or platform change of the target is refused.
    targets: dict[str, TargetConfig] = field(default_factory=dict)
    # The endpoint each target's objects were written through (an API's URL, or SANDBOX_ENDPOINT):
    # a run that would reach them through another one is refused (see plan_targets).
    endpoints: dict[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> State:
        """A state that has never been written: fresh lineage, serial 0."""
        return cls(lineage=str(uuid.uuid4()), serial=0)

    def id_of(self, address: str) -> str | None:
        """The platform id recorded for `address`, or None if it is not in state."""
        resource = self.resources.get(address)
        return resource.id if resource else None

    def copy(self) -> State:
        """A copy whose dicts can be changed without touching this one (entries are immutable)."""
        return State(
            self.lineage,
            self.serial,
            dict(self.resources),
            dict(self.pending),
            dict(self.targets),
            dict(self.endpoints),
        )

    def targets_in_use(self) -> set[str]:
        """Names of the targets that recorded or pending objects belong to."""
        return {r.target for r in self.resources.values()} | {p.target for p in self.pending.values()}

    def to_json(self) -> dict[str, Any]:
        in_use = self.targets_in_use()
        return {
            "format_version": FORMAT_VERSION,
            "lineage": self.lineage,
            "serial": self.serial,
            "resources": {address: r.to_json() for address, r in self.resources.items()},
            "pending": {address: p.to_json() for address, p in self.pending.items()},
            # Only targets that still have objects: a removed target's entry goes with its last object.
            "targets": {name: t.to_json() for name, t in self.targets.items() if name in in_use},
            "endpoints": {name: e for name, e in self.endpoints.items() if name in in_use},
        }

    @classmethod
    def from_json(cls, data: Any) -> State:
        """Validate a decoded state file; raises ValueError saying what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("the top level must be a JSON object")
        version = data.get("format_version")
        if version != FORMAT_VERSION or isinstance(version, bool):
            raise ValueError(
                f"format_version {version!r} is not supported: this reconciler reads format_version "
                f"{FORMAT_VERSION}; use the reconciler version that wrote the file"
            )
        required, optional = {"format_version", "lineage", "serial"}, {"resources", "pending", "targets", "endpoints"}
        _check_keys(data, "state", required=required, optional=optional)
        lineage = _string(data, "lineage", "state")
        serial = data["serial"]
        if isinstance(serial, bool) or not isinstance(serial, int) or serial < 0:
            raise ValueError(f"serial: must be a non-negative integer, not {serial!r}")
        resources = _object(data.get("resources", {}), "resources")
        pending = _object(data.get("pending", {}), "pending")
        targets = _object(data.get("targets", {}), "targets")
        endpoints = _object(data.get("endpoints", {}), "endpoints")
        for name in endpoints:
            _string(endpoints, name, "endpoints")
        return cls(
            lineage=lineage,
            serial=serial,
            resources={a: resource_from_json(a, entry) for a, entry in resources.items()},
            pending={a: PendingOperation.from_json(a, entry) for a, entry in pending.items()},
            targets={name: target_from_json(name, entry) for name, entry in targets.items()},
            endpoints=dict(endpoints),
        )


class StateLockedError(ReconcilerError):
    """Another process holds the workspace lock. `remedy`: what to do if that process is gone."""

    def __init__(
        self,
        lock_path: str,
        host: str,
        pid: int | None,
        operation: str,
        since: str,
        *,
        user: str | None = None,
        remedy: str | None = None,
        waited: float = 0.0,
    ) -> None:
        self.lock_path, self.host, self.pid, self.operation, self.since = lock_path, host, pid, operation, since
        self.user = user
        remedy = remedy or f"remove the stale lock: rm {lock_path}"
        by_user = f" by user {user}" if user else ""
        after = f" (waited {waited:g}s for it)" if waited else ""
        super().__init__(
            f"the state is locked by pid {pid if pid is not None else '?'} on host {host} "
            f"for {operation!r} since {since}{by_user}{after}. Wait for it to finish (--lock-timeout DURATION waits). "
            f"If that process is gone (crashed or killed on another machine), {remedy}"
        )


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) a workspace lock, as its holder recorded it."""

    host: str
    pid: int | None
    user: str | None
    operation: str
    since: str
    alive: bool  # False: its process is gone (the lock is stale)

    def describe(self) -> str:
        by_user = f", user {self.user}" if self.user else ""
        pid = self.pid if self.pid is not None else "?"
        return f"pid {pid} on host {self.host}{by_user}, {self.operation!r} since {self.since}"

    def locked_error(self, lock_path: str, remedy: str | None, waited: float) -> StateLockedError:
        return StateLockedError(
            lock_path, self.host, self.pid, self.operation, self.since, user=self.user, remedy=remedy, waited=waited
        )


def lock_attempts(timeout: float) -> Iterator[None]:
    """One item before each attempt to take a lock; ends once `timeout` seconds have passed.

    There is always a first attempt; the pause between attempts grows from 50 ms to 1 s.
    """
    start, pause = time.monotonic(), 0.05
    while True:
        yield None
        waited = time.monotonic() - start
        if waited >= timeout:
            return
        time.sleep(min(pause, timeout - waited))
        pause = min(pause * 2, 1.0)


class JournaledWrites:
    """The StateStore write methods, shared by the stores: each check, then one journal record via `_write`.

    A store provides `workspace`, `_mutex` (guarding the state in memory), `_locked_state()` (that state,
    or an error outside the lock) and `_write(op, address, value)` (durable when it returns).
    """

    workspace: str
    _mutex: threading.Lock

    def _locked_state(self) -> State:
        raise NotImplementedError

    def _write(
        self, op: str, address: str, value: PendingOperation | RecordedResource | TargetConfig | str | None = None
    ) -> None:
        raise NotImplementedError

    def begin(self, op: PendingOperation) -> None:
        """Durably record that `op` is about to be sent."""
        self._write("begin", op.address, op)

    def record(self, address: str, resource: RecordedResource | None) -> None:
        """Durably record an operation's result (None: the object is gone); clears its pending entry."""
        if resource is not None and resource.address != address:
            raise ValueError(f"record({address!r}) given the resource of {resource.address!r}")
        self._write("record", address, resource)

    def forget_pending(self, address: str) -> None:
        """Drop the pending entry of `address`; nothing is written if there is none."""
        with self._mutex:
            if address not in self._locked_state().pending:
                return
        self._write("forget_pending", address)

    def record_target(self, target: TargetConfig) -> None:
        """Durably record the configuration `target` applies with, and the endpoint this run reaches it through."""
        self._write("target", target.name, target)

    def remove(self, address: str) -> None:
        """Drop `address` (resource and pending entry) from state without touching the platform."""
        with self._mutex:
            state = self._locked_state()
            if address not in state.resources and address not in state.pending:
                raise ReconcilerError(f"{address} is not in the state of workspace {self.workspace!r}")
        self._write("remove", address)

    def move(self, old: str, new: str) -> None:
        """Record the object at `old` under `new` instead, in one journal record (`state mv`, Moved)."""
        old_target, old_type, _ = split_address(old)
        new_target, new_type, _ = split_address(new)
        if (old_target, old_type) != (new_target, new_type):
            raise ReconcilerError(
                f"cannot move {old} to {new}: a move keeps the target and type ({old_target}:{old_type}); "
                "only the name may change"
            )
        with self._mutex:
            state = self._locked_state()
            if old not in state.resources:
                raise ReconcilerError(f"{old} is not in the state of workspace {self.workspace!r}")
            if new in state.resources:
                raise ReconcilerError(f"{new} is already recorded (id {state.resources[new].id}); nothing was moved")
            if old in state.pending or new in state.pending:
                raise ReconcilerError(f"{old} or {new} has an operation of unknown outcome: apply first")
        self._write("move", old, new)


@runtime_checkable
class StateStore(Protocol):
    """Where recorded state lives. Writes are only allowed while `lock()` is held."""

    def read(self) -> State:
        """The current state; no lock needed. A workspace never written gives State.empty()."""
        ...

    def lock(self, operation: str, timeout: float | None = None) -> contextlib.AbstractContextManager[None]:
        """Exclusive workspace lock for a whole apply; raises StateLockedError, naming the holder, if it
        is still held after `timeout` seconds (0: at once; None: the store's lock_timeout)."""
        ...

    def lock_holder(self) -> LockHolder | None:
        """Who holds the workspace lock, or held it and left it behind; None when it is free."""
        ...

    def break_lock(self) -> str | None:
        """Remove the workspace lock whoever holds it (`state unlock --force`); returns a sentence saying
        what was done, or None when there was no lock."""
        ...

    def begin(self, op: PendingOperation) -> None:
        """Durably record that `op` is about to be sent (on stable storage when this returns)."""
        ...

    def record(self, address: str, resource: RecordedResource | None) -> None:
        """Durably record an operation's result (None: the object is gone); clears its pending entry."""
        ...

    def forget_pending(self, address: str) -> None:
        """Drop the pending entry of `address` (no-op if there is none)."""
        ...

    def record_target(self, target: TargetConfig) -> None:
        """Durably record the configuration a target applies with (before the first write of its objects),
        and the endpoint this run reaches it through."""
        ...

    def remove(self, address: str) -> None:
        """Drop `address` from state without touching the platform (`state rm`)."""
        ...

    def move(self, old: str, new: str) -> None:
        """Record the object at `old` under `new` in one durable write; refuses another target or type,
        an unrecorded `old` or a recorded `new`."""
        ...

    def replace(self, state: State) -> None:
        """Make `state` (lineage, serial and all) the workspace's state in one durable write (push, pull)."""
        ...

    def compact(self) -> None:
        """Fold any write-ahead log into the state snapshot."""
        ...


def _check_keys(data: Any, where: str, required: set[str], optional: set[str]) -> None:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: must be a JSON object")
    missing = sorted(required - data.keys())
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(data.keys() - required - optional)
    if unknown:
        allowed = ", ".join(sorted(required | optional))
        raise ValueError(f"{where}: unknown field {', '.join(unknown)} (allowed: {allowed})")


def _string(data: dict[str, Any], key: str, where: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}.{key}: must be a non-empty string")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: must be a JSON object")
    return value


def _address(address: str, where: str) -> str:
    try:
        split_address(address)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return address
