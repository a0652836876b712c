"""Carry out a Plan: an async walk of its step graph (DESIGN.md sections 4 and 7).

A step starts as soon as every step it waits for has succeeded (no level by
level batching), within a per-target and a global concurrency limit. A step
downstream of a failure is skipped, not attempted ("upstream failed", as in
Terraform's walker). State is written after every single call, and a create is
recorded as pending before it is sent, so a crash at any point leaves a state
from which the next apply neither duplicates nor orphans an object.

Transient errors are retried with exponential backoff and full jitter, never
sooner than the platform's Retry-After. A create whose outcome is unknown (the
response was lost) is never resent blind: the object is looked up first and
adopted if it exists.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, TypeVar

import networkx as nx

from reconciler.apply.events import Event, EventSink
from reconciler.apply.steps import Step, base_address, build_steps, deposed_address
from reconciler.errors import ReconcilerError
from reconciler.model import Action, Lifecycle, Operation, Plan, RecordedResource, Resource, resolve_refs, split_address
from reconciler.providers.base import ErrorClass, Provider, ProviderError
from reconciler.providers.http import OPERATION_ATTEMPT, RetryPolicy
from reconciler.resource_types import resource_type
from reconciler.state import PendingOperation, State, StateStore

T = TypeVar("T")
OnError = Literal["continue", "stop", "rollback"]
Status = Literal["done", "failed", "skipped", "rolled_back"]

# Calls in flight per target when neither the caller nor the target sets it.
# Broadstreet matches the provider's connection pool (providers/broadstreet.py).
DEFAULT_TARGET_CONCURRENCY = {"broadstreet": 4, "meta": 4, "tiktok": 4, "snapchat": 4}
FALLBACK_TARGET_CONCURRENCY = 4
CREATES_STAGED_PER_SLOT = 2  # creates journaled as pending per call slot of their target, at most
INTERNAL = "INTERNAL"  # error class of a failure on this machine (a bug, the state file), not the platform's


@dataclass(frozen=True)
class StepOutcome:
    """What became of one step."""

    key: str
    address: str  # the state address acted on
    action: str  # create | update | delete | pause (a delete that pauses)
    status: Status
    id: str | None = None  # the platform id made or changed
    attempts: int = 0
    duration_s: float = 0.0
    error_class: str | None = None
    message: str = ""
    cause: str | None = None  # skipped: the failed step upstream; None when the apply stopped first


@dataclass(frozen=True)
class UndoFailure:
    """A completed step that rollback could not undo."""

    key: str
    address: str
    action: str  # the step's action (the one that could not be undone)
    error_class: str
    message: str


@dataclass
class ApplyResult:
    outcomes: dict[str, StepOutcome]  # by step key, in a dependency order
    duration_s: float
    undo_failures: list[UndoFailure] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("done", "failed", "skipped", "rolled_back"), 0)
        for outcome in self.outcomes.values():
            counts[outcome.status] += 1
        return counts

    @property
    def ok(self) -> bool:
        return not self.failures and not self.undo_failures

    @property
    def failures(self) -> list[StepOutcome]:
        return [o for o in self.outcomes.values() if o.status == "failed"]

    def skipped_because(self, key: str) -> list[StepOutcome]:
        """The steps skipped because step `key` failed."""
        return [o for o in self.outcomes.values() if o.status == "skipped" and o.cause == key]


class OperationLog(Protocol):
    """Told of each step as it finishes (and of each undo of rollback), with the state entry of its
    address before and after it: the run history (reconciler/history) keeps them."""

    def operation(
        self,
        step: Step,
        outcome: StepOutcome,
        before: RecordedResource | None,
        after: RecordedResource | None,
        *,
        rollback: bool = False,
    ) -> None: ...


async def execute(
    plan: Plan,
    *,
    store: StateStore,
    providers: Mapping[str, Provider],
    parallelism: int = 10,
    target_concurrency: Mapping[str, int] | None = None,
    on_error: OnError = "continue",
    events: EventSink,
    retry: RetryPolicy | None = None,
    history: OperationLog | None = None,
) -> ApplyResult:
    """Apply `plan`. The caller holds the store's lock and closes the providers.

    `providers` and `target_concurrency` are keyed by target name.
    """
    graph = build_steps(plan)
    targets = {graph.nodes[key]["step"].change.target for key in graph}
    if missing := sorted(targets - set(providers)):
        raise ReconcilerError(f"no provider for target {', '.join(missing)}: it must be configured in the specs")
    state = await asyncio.to_thread(store.read)
    # Moves first, each one durable record: a crash after them leaves every id at its new address,
    # and the next plan finishes the updates.
    for change in plan.changes:
        if change.moved_from and change.moved_from in state.resources and change.address not in state.resources:
            await asyncio.to_thread(store.move, change.moved_from, change.address)
    await record_lifecycles(plan, store)
    state = await asyncio.to_thread(store.read)
    for target in sorted(targets):
        # Recorded before any of its objects: deleting them later needs it, even once the target left the specs.
        if target in plan.targets and state.targets.get(target) != plan.targets[target]:
            await asyncio.to_thread(store.record_target, plan.targets[target])
    limits = {target: _target_limit(target, plan, target_concurrency or {}) for target in targets}
    run = _Run(graph, state, store, providers, events, retry or RetryPolicy(), on_error, parallelism, limits, history)
    # The plan, the state and the graph live until the end of the walk: kept out of the
    # collector's view, a full collection no longer pauses every call in flight to scan them.
    gc.freeze()
    try:
        return await run.run()
    finally:
        gc.unfreeze()


async def record_lifecycles(plan: Plan, store: StateStore) -> None:
    """Record the lifecycle of each unchanged object whose documents' lifecycle changed (state only,
    nothing is sent), so that prevent_destroy still holds once a document is removed from the specs.
    The other changes record theirs with their own write."""
    state = await asyncio.to_thread(store.read)
    for change in plan.changes:
        current = state.resources.get(change.address)
        if change.action is not Action.NOOP or change.desired is None or current is None:
            continue
        if current.lifecycle != change.desired.lifecycle:
            await asyncio.to_thread(store.record, change.address, replace(current, lifecycle=change.desired.lifecycle))


def _target_limit(target: str, plan: Plan, overrides: Mapping[str, int]) -> int:
    """Calls in flight for `target`: the caller's setting, else the target's, else its platform's default."""
    config = plan.targets.get(target)
    platform = config.platform if config else ""
    return (
        overrides.get(target)
        or (config.concurrency if config else None)
        or DEFAULT_TARGET_CONCURRENCY.get(platform, FALLBACK_TARGET_CONCURRENCY)
    )


class _NotStarted(Exception):
    """The apply stopped before this step's first call."""


@dataclass
class _Call:
    """One provider call being made, for its events."""

    address: str
    action: str
    target: str
    rollback: bool = False
    attempts: int = 0
    started: float = 0.0


@dataclass(frozen=True)
class _Completed:
    """A step done in this run, and what its state entry held before (for rollback)."""

    step: Step
    before: RecordedResource | None


class _Run:
    def __init__(
        self,
        graph: nx.DiGraph,
        state: State,
        store: StateStore,
        providers: Mapping[str, Provider],
        events: EventSink,
        retry: RetryPolicy,
        on_error: OnError,
        parallelism: int,
        target_limits: Mapping[str, int],
        history: OperationLog | None = None,
    ) -> None:
        self.graph, self.store, self.providers = graph, store, providers
        self.events, self.retry, self.on_error, self.history = events, retry, on_error, history
        # Our own copy of the state, kept in step with every write we make: ref
        # ids are looked up here rather than re-reading the store for each call.
        self.resources = dict(state.resources)
        # How many addresses record each object (target, type, id): see shared().
        self.recorded_objects = Counter(_object_key(r) for r in state.resources.values())
        self.start_ids = {address: r.id for address, r in state.resources.items()}
        self.outcomes: dict[str, StepOutcome] = {}
        self.completed: list[_Completed] = []
        self.stopping = False
        self.forgotten: set[str] = set()  # addresses deleted from the state only (the platform cannot)
        self.paused: set[str] = set()  # addresses paused and dropped from the state (delete_mode "pause")
        self.global_slots = asyncio.Semaphore(max(1, parallelism))
        self.target_slots = {target: asyncio.Semaphore(max(1, limit)) for target, limit in target_limits.items()}
        # Creates journal their pending entry before they wait for a slot, so a slot is held only
        # while a request is in flight; this bounds how many wait, journaled, per target.
        self.create_staging = {
            target: asyncio.Semaphore(CREATES_STAGED_PER_SLOT * max(1, limit))
            for target, limit in target_limits.items()
        }

    def step(self, key: str) -> Step:
        return self.graph.nodes[key]["step"]

    async def run(self) -> ApplyResult:
        started = time.monotonic()
        self.events.begin(len(self.graph))
        await self.walk()
        undo_failures = await self.rollback() if self.on_error == "rollback" and self.failed() else []
        order = nx.lexicographical_topological_sort(self.graph)
        result = ApplyResult({key: self.outcomes[key] for key in order}, time.monotonic() - started, undo_failures)
        self.events.finish(result)
        return result

    def failed(self) -> bool:
        return any(o.status == "failed" for o in self.outcomes.values())

    # -- the walk ----------------------------------------------------------------------------------------

    async def walk(self) -> None:
        graph = self.graph
        waiting = {key: graph.in_degree(key) for key in graph}
        # Longest chain of steps from each step on: start those first when several are ready.
        height: dict[str, int] = {}
        for key in reversed(list(nx.topological_sort(graph))):
            height[key] = 1 + max((height[s] for s in graph.successors(key)), default=0)
        running: dict[str, asyncio.Task[None]] = {}
        # Finished steps arrive here (asyncio.wait over thousands of tasks would cost O(n) per wake-up).
        finished: asyncio.Queue[str] = asyncio.Queue()

        def launch(keys: list[str]) -> None:
            for key in sorted(keys, key=lambda k: (-height[k], k)):
                task = asyncio.create_task(self.run_step(self.step(key)))
                task.add_done_callback(lambda _, key=key: finished.put_nowait(key))
                running[key] = task

        launch([key for key, count in waiting.items() if count == 0])
        try:
            while running:
                key = await finished.get()
                running.pop(key).result()  # run_step handles failures; this re-raises only cancellation
                ready = []
                status = self.outcomes[key].status
                if status == "failed":
                    self.skip_downstream(key)
                elif status == "done":
                    for successor in graph.successors(key):
                        waiting[successor] -= 1
                        if waiting[successor] == 0 and not self.stopping and successor not in self.outcomes:
                            ready.append(successor)
                launch(ready)
        finally:
            for task in running.values():
                task.cancel()
        for key in nx.lexicographical_topological_sort(graph):
            if key not in self.outcomes:
                self.skip(self.step(key), "not started: the apply stopped after a failure", cause=None)

    def skip_downstream(self, failed: str) -> None:
        for key in nx.descendants(self.graph, failed):
            if key not in self.outcomes:
                self.skip(self.step(key), f"upstream failed: {self.outcomes[failed].address}", cause=failed)

    def skip(self, step: Step, message: str, *, cause: str | None) -> None:
        self.outcomes[step.key] = StepOutcome(
            step.key, step.state_address, step.action.value, "skipped", message=message, cause=cause
        )
        self.log(step, self.outcomes[step.key], self.resources.get(step.state_address))
        self.events.emit(Event("op:skip", step.state_address, step.action.value, message=message))

    def log(self, step: Step, outcome: StepOutcome, before: RecordedResource | None, *, rollback: bool = False) -> None:
        if self.history is not None:
            self.history.operation(step, outcome, before, self.resources.get(outcome.address), rollback=rollback)

    async def run_step(self, step: Step) -> None:
        # A delete that pauses says so in its events: "paused X", not "deleted X".
        action = (
            "pause"
            if step.action is Action.DELETE and step.change.delete_mode == "pause" and not step.deposed
            else step.action.value
        )
        call = _Call(step.state_address, action, step.change.target)
        before = self.resources.get(step.state_address)
        try:
            if step.action is Action.CREATE:
                id_, note = await self.create(step, call)
            elif step.action is Action.UPDATE:
                id_, note = await self.update(step, call), ""
            else:
                id_, note = None, await self.delete(step, call)
        except _NotStarted:
            self.skip(step, "not started: the apply stopped after a failure", cause=None)
            return
        except ProviderError as exc:
            self.fail(step, call, before, exc.error_class.value, exc.message)
            return
        except Exception as exc:  # a bug or a state write failing: stop, whatever the policy
            self.stopping = True
            self.fail(step, call, before, INTERNAL, f"{type(exc).__name__}: {exc}")
            return
        self.completed.append(_Completed(step, before))
        duration = time.monotonic() - call.started if call.started else 0.0
        self.outcomes[step.key] = StepOutcome(
            step.key, call.address, call.action, "done", id_, call.attempts, duration, message=note
        )
        self.log(step, self.outcomes[step.key], before)
        self.events.emit(self.event("op:done", call, id=id_, message=note or None))

    def fail(
        self, step: Step, call: _Call, before: RecordedResource | None, error_class: str, message: str
    ) -> None:
        if self.on_error != "continue":
            self.stopping = True
        duration = time.monotonic() - call.started if call.started else 0.0
        self.outcomes[step.key] = StepOutcome(
            step.key, call.address, call.action, "failed", None, call.attempts, duration, error_class, message
        )
        self.log(step, self.outcomes[step.key], before)
        self.events.emit(self.event("op:error", call, error_class=error_class, message=message))

    # -- one provider call, retried ----------------------------------------------------------------------

    async def call(self, call: _Call, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt()` within the target's and the global slots, retrying transient errors.

        Slots are held only during an attempt, never during a backoff wait.
        """

        async def once() -> T:
            async with self.target_slots[call.target], self.global_slots:
                if call.attempts == 0:
                    self.check_not_stopping(call)
                    call.started = time.monotonic()
                    self.events.emit(self.event("op:start", call))
                call.attempts += 1
                numbered = OPERATION_ATTEMPT.set(call.attempts)  # the request log's attempt of a write
                try:
                    return await attempt()
                finally:
                    OPERATION_ATTEMPT.reset(numbered)

        def on_retry(next_attempt: int, error: ProviderError, wait: float) -> None:
            self.events.emit(
                self.event(
                    "op:retry",
                    call,
                    attempt=next_attempt,
                    error_class=error.error_class.value,
                    message=f"{error.message}; retrying in {wait:.2f}s",
                )
            )

        return await self.retry.retrying(on_retry)(once)

    def check_not_stopping(self, call: _Call) -> None:
        """Raise _NotStarted when the apply is stopping (rollback's own calls still go ahead)."""
        if self.stopping and not call.rollback:
            raise _NotStarted

    def event(self, name: Any, call: _Call, **fields: Any) -> Event:
        fields.setdefault("attempt", call.attempts)
        duration = round((time.monotonic() - call.started) * 1000) if call.started else None
        return Event(name, call.address, call.action, duration_ms=duration, rollback=call.rollback, **fields)

    # -- state -------------------------------------------------------------------------------------------

    async def write(self, address: str, resource: RecordedResource | None) -> None:
        """Durably record `address` (None: gone), then mirror it."""
        old = self.resources.get(address)
        if old is not None and resource is not None and self.loses_track(old, resource):
            raise ReconcilerError(f"refusing to record {resource.id} at {address} over {old.id}: it would be lost")
        await asyncio.to_thread(self.store.record, address, resource)
        if (old := self.resources.pop(address, None)) is not None:
            self.recorded_objects[_object_key(old)] -= 1
        if resource is not None:
            self.resources[address] = resource
            self.recorded_objects[_object_key(resource)] += 1

    def loses_track(self, old: RecordedResource, new: RecordedResource) -> bool:
        """Whether recording `new` over `old` drops the last record of a live object."""
        return old.id != new.id and self.recorded_objects[_object_key(old)] < 2

    def resolve(self, desired: Resource) -> dict[str, Any]:
        """The desired attributes with each ref path set to its parent's current platform id."""
        attributes, missing = resolve_refs(desired.attributes, desired.refs, self.id_of)
        if missing:
            raise ProviderError(
                ErrorClass.DEPENDENCY,
                f"{', '.join(missing)} (referenced by {desired.address}) has no platform id in the state: "
                "it was not created",
            )
        return attributes

    def id_of(self, address: str) -> str | None:
        resource = self.resources.get(address)
        return resource.id if resource else None

    # -- the three calls ---------------------------------------------------------------------------------

    async def create(self, step: Step, call: _Call) -> tuple[str, str]:
        """Make the desired object of `step`; returns (id, note)."""
        change, desired = step.change, step.change.desired
        assert desired is not None
        attributes = self.resolve(desired)
        op = Operation(step.address, Action.CREATE, desired.type, desired.name, attributes, asset=desired.asset)
        replacing = change.recorded.id if change.recorded is not None else None
        if change.action is Action.CREATE and replacing is not None and self.id_of(step.address) == replacing:
            # The plan's refresh found this object deleted on the platform: its record goes, it is made anew.
            self.check_not_stopping(call)
            await self.write(step.address, None)
        applied, note = await self.create_object(
            step.address, desired.target, desired.depends_on, op, call, replacing=replacing, lifecycle=desired.lifecycle
        )
        return applied.id, note

    async def create_object(
        self,
        address: str,
        target: str,
        depends_on: tuple[str, ...],
        op: Operation,
        call: _Call,
        *,
        replacing: str | None = None,
        lifecycle: Lifecycle | None = None,
    ) -> tuple[RecordedResource, str]:
        """Create `op`'s object and record it at `address`, crash-safely; returns (record, note).

        `replacing` is the id of the object this create replaces, if any: only that
        one may be recorded at `address` already, and it is first moved to
        `ADDR#deposed`, so its id is never lost. The create is journaled as pending
        before it is sent, and a create whose outcome is unknown is resolved by
        looking the object up, never by sending it again blind.
        """
        provider = self.providers[target]
        old = self.resources.get(address)
        self.check_slot_free(address, old, replacing)
        unknown = False  # the last attempt may have created the object

        async def attempt() -> tuple[str, dict[str, Any], str]:
            nonlocal unknown
            if unknown:
                found = await provider.find(op)
                if found is not None and found not in self.ids_at(address):
                    return found, op.attributes, "adopted: it was made by an attempt whose response was lost"
                unknown = False  # it was not made: safe to send again
            try:
                applied = await provider.create(op)
            except ProviderError as exc:
                unknown = exc.outcome_unknown
                raise
            return applied.id, applied.attributes, ""

        async with self.create_staging[target]:
            self.check_not_stopping(call)
            if old is not None:
                await self.write(deposed_address(address), replace(old, address=deposed_address(address)))
            pending = PendingOperation(
                address, "create", op.type, target, op.name, op.attributes, depends_on=depends_on
            )
            await asyncio.to_thread(self.store.begin, pending)
            try:
                id_, attributes, note = await self.call(call, attempt)
            except (ProviderError, _NotStarted):
                if not unknown:
                    # It was not made: drop the pending entry, and undo the depose.
                    await asyncio.to_thread(self.store.forget_pending, address)
                    if old is not None:
                        await self.write(deposed_address(address), None)
                # Unknown outcome: the pending entry stays for the next apply to resolve by lookup.
                raise
            recorded = RecordedResource(address, id_, op.type, target, attributes, depends_on, lifecycle)
            await self.write(address, recorded)
        return recorded, note

    def check_slot_free(self, address: str, old: RecordedResource | None, replacing: str | None) -> None:
        """Refuse, before anything is sent, a create whose record would overwrite a live object's.

        A plan made against another state than this one (a hand-edited or forged
        plan file) could otherwise create an object again and lose track of the first.
        """
        if old is not None and old.id != replacing:
            raise ProviderError(
                ErrorClass.CONFLICT,
                f"{address} is already recorded with id {old.id}, which this plan does not replace; "
                "nothing was sent. The plan was not made against this state: make a new plan and apply that",
            )
        deposed = self.resources.get(deposed_address(address))
        if old is not None and deposed is not None:
            raise ProviderError(
                ErrorClass.CONFLICT,
                f"{address}: the object {deposed.id} of an earlier replace still waits for its delete at "
                f"{deposed.address}; nothing was sent. Make a new plan (it deletes that one first) and apply that",
            )

    def ids_at(self, address: str) -> set[str]:
        """Ids of old objects of `address` (its entry and its deposed one): never adopted as new."""
        base = base_address(address)
        return {r.id for a in (base, deposed_address(base)) if (r := self.resources.get(a)) is not None}

    async def update(self, step: Step, call: _Call) -> str:
        desired = step.change.desired
        current = self.resources.get(step.address)
        assert desired is not None
        if current is None:
            raise ProviderError(ErrorClass.DEPENDENCY, f"{step.address} is not in the state: nothing to update")
        self.check_recorded(step, current)
        attributes = self.resolve(desired)
        op = Operation(
            step.address,
            Action.UPDATE,
            desired.type,
            desired.name,
            attributes,
            id=current.id,
            changed_fields=step.change.changed_fields,
            asset=desired.asset,
        )
        applied = await self.call(call, lambda: self.providers[desired.target].update(op))
        await self.write(
            step.address,
            replace(current, attributes=applied, depends_on=desired.depends_on, lifecycle=desired.lifecycle),
        )
        return current.id

    async def delete(self, step: Step, call: _Call) -> str:
        """Delete the object of `step`; returns a note when it could only be forgotten."""
        current = self.resources.get(step.state_address)
        if current is None:  # already gone from the state: nothing to delete
            return ""
        self.check_recorded(step, current)
        if step.change.delete_mode == "pause" and not step.deposed:
            return await self.pause(current, call)
        shared, deletable = self.shared(current), self.deletable(current)
        if shared or not deletable:
            # Only the record goes (undone by recording it again): another address still uses the
            # object, or the platform cannot delete it.
            self.check_not_stopping(call)
            self.forgotten.add(current.address)
            await self.write(current.address, None)
            if shared:
                return ""
            platform = self.providers[current.target].platform
            return f"forgotten, not deleted: {platform} has no delete for a {current.type}; it stays in the library"
        await self.delete_object(current, call)
        return ""

    async def pause(self, current: RecordedResource, call: _Call) -> str:
        """A delete that keeps history (plan/lifecycle.py): pause the object through the provider's
        update, then drop it from the state. Undone by setting the status back and recording it again."""
        provider = self.providers[current.target]
        pause = resource_type(provider.platform, current.type).pause
        if pause is None:  # a forged plan file: this type has no pause
            raise ProviderError(ErrorClass.VALIDATION, f"{current.address}: a {current.type} cannot be paused")
        field_, value = pause
        name = split_address(current.address)[2]
        op = Operation(
            current.address,
            Action.UPDATE,
            current.type,
            name,
            {**current.attributes, field_: value},
            id=current.id,
            changed_fields=(field_,),
        )

        async def attempt() -> bool:
            try:
                await provider.update(op)
            except ProviderError as exc:
                # Gone already (deleted outside reconciler): it spends nothing, its record can go.
                if exc.transient or await provider.read(current.type, current.id, current.attributes) is not None:
                    raise
                return False
            return True

        paused = await self.call(call, attempt)
        if paused:
            self.paused.add(current.address)  # rollback sets the status back
        else:
            self.forgotten.add(current.address)  # rollback only records it again
        await self.write(current.address, None)
        if not paused:
            return "already gone on the platform: dropped from the state"
        return f"not deleted: dropped from the state, it keeps its reporting on {provider.platform}"

    def deletable(self, current: RecordedResource) -> bool:
        return resource_type(self.providers[current.target].platform, current.type).deletable

    @staticmethod
    def check_recorded(step: Step, current: RecordedResource) -> None:
        """Refuse to update or delete another object than the one the plan showed."""
        planned = step.change.recorded
        if planned is not None and planned.id != current.id:
            raise ProviderError(
                ErrorClass.CONFLICT,
                f"{current.address} is recorded with id {current.id}, but the plan was made for id {planned.id}; "
                "nothing was sent. Make a new plan and apply that",
            )

    async def delete_object(self, current: RecordedResource, call: _Call) -> None:
        if not self.shared(current):
            if not self.deletable(current):
                raise _CannotUndo(
                    f"kept {current.id}: {self.providers[current.target].platform} has no delete for a "
                    f"{current.type}; it stays recorded, and the next apply keeps it while the specs want it"
                )
            name = split_address(base_address(current.address))[2]
            op = Operation(current.address, Action.DELETE, current.type, name, current.attributes, id=current.id)
            await self.call(call, lambda: self.providers[current.target].delete(op))
        await self.write(current.address, None)

    def shared(self, current: RecordedResource) -> bool:
        """Whether another address records the same object: content-addressed uploads (a Meta image's id
        is its hash) are one object for every creative with the same bytes, so only the last goes."""
        return self.recorded_objects[_object_key(current)] > 1

    # -- rollback ----------------------------------------------------------------------------------------

    async def rollback(self) -> list[UndoFailure]:
        """Undo this run's completed steps, last first; returns what could not be undone."""
        failures: list[UndoFailure] = []
        undo = list(reversed(self.completed))
        for position, completed in enumerate(undo):
            step = completed.step
            before = self.resources.get(step.state_address)
            try:
                await self.undo(completed)
            except ProviderError as exc:
                failures.append(self.undo_failure(step, exc.error_class.value, exc.message, before))
                continue
            except _CannotUndo as exc:
                failures.append(self.undo_failure(step, ErrorClass.DEPENDENCY.value, str(exc), before))
                continue
            except Exception as exc:  # a bug or a state write failing: touch nothing more
                failures.append(self.undo_failure(step, INTERNAL, f"{type(exc).__name__}: {exc}", before))
                failures += [
                    self.undo_failure(c.step, INTERNAL, "not attempted: rollback stopped after the failure above",
                                      self.resources.get(c.step.state_address))  # fmt: skip
                    for c in undo[position + 1 :]
                ]
                break
            self.outcomes[step.key] = replace(self.outcomes[step.key], status="rolled_back")
            self.log(step, self.outcomes[step.key], before, rollback=True)
        return failures

    def undo_failure(
        self, step: Step, error_class: str, message: str, before: RecordedResource | None
    ) -> UndoFailure:
        failed = StepOutcome(step.key, step.state_address, step.action.value, "failed", None, 0, 0.0, error_class,
                             message)  # fmt: skip
        self.log(step, failed, before, rollback=True)
        return UndoFailure(step.key, step.state_address, step.action.value, error_class, message)

    async def undo(self, completed: _Completed) -> None:
        step, before = completed.step, completed.before
        address = step.state_address
        if step.action is Action.CREATE:
            made = self.resources[address]
            deposed = self.resources.get(deposed_address(address))
            if before is not None and deposed is None:
                raise _CannotUndo(f"kept the new object {made.id}: the old one it replaced could not be restored")
            await self.delete_object(made, _Call(address, "delete", made.target, rollback=True))
            if before is not None and deposed is not None:  # the replaced object becomes current again
                await self.write(address, replace(deposed, address=address))
                await self.write(deposed.address, None)
            return
        assert before is not None
        attributes = self.restore_refs(before)
        if step.action is Action.UPDATE:
            name = split_address(address)[2]
            current = self.resources[address]
            op = Operation(
                address,
                Action.UPDATE,
                before.type,
                name,
                attributes,
                id=current.id,
                changed_fields=step.change.changed_fields,
            )
            call = _Call(address, "update", before.target, rollback=True)
            applied = await self.call(call, lambda: self.providers[before.target].update(op))
            await self.write(address, replace(before, attributes=applied))
            return
        if address in self.forgotten:  # it was never deleted on the platform: recording it again undoes it
            await self.write(address, before)
            return
        if address in self.paused:  # paused, not deleted: its status goes back, and its record
            pause = resource_type(self.providers[before.target].platform, before.type).pause
            assert pause is not None
            field_ = pause[0]
            op = Operation(
                address,
                Action.UPDATE,
                before.type,
                split_address(address)[2],
                attributes,
                id=before.id,
                changed_fields=(field_,),
            )
            call = _Call(address, "update", before.target, rollback=True)
            try:
                await self.call(call, lambda: self.providers[before.target].update(op))
            except ProviderError:
                # It stays paused (its parent or creative may be gone): recorded as it is on the platform,
                # so that the next plan shows the update that sets it going again, never a second object.
                await self.write(address, replace(before, attributes={**before.attributes, field_: pause[1]}))
                raise
            await self.write(address, before)
            return
        # A delete: make the object again from what was recorded. An asset is not
        # recorded, so an uploaded image or video cannot come back this way.
        name = split_address(base_address(address))[2]
        op = Operation(address, Action.CREATE, before.type, name, attributes)
        call = _Call(address, "create", before.target, rollback=True)
        await self.create_object(address, before.target, before.depends_on, op, call, lifecycle=before.lifecycle)

    def restore_refs(self, before: RecordedResource) -> dict[str, Any]:
        """`before`'s attributes with refs pointing at the current ids of the objects they pointed
        at when the run began (which rollback may have made again, under new ids)."""
        deps = [base_address(d) for d in before.depends_on]
        refs = infer_refs(before.attributes, {d: self.start_ids[d] for d in deps if d in self.start_ids})

        def restored_id(address: str) -> str | None:
            # A replaced parent's old object waits at ADDR#deposed until rollback makes it current again.
            return self.id_of(deposed_address(address)) or self.id_of(address) or self.start_ids[address]

        return resolve_refs(before.attributes, refs, restored_id)[0]


def _object_key(resource: RecordedResource) -> tuple[str, str, str]:
    return resource.target, resource.type, resource.id


class _CannotUndo(Exception):
    """Rollback decided not to undo a step."""


def infer_refs(attributes: Mapping[str, Any], ids: Mapping[str, str]) -> dict[str, str]:
    """Which attribute paths hold the id of which address: {path: address}.

    Recorded attributes keep resolved ids, not the refs they came from. A string
    value equal to exactly one address's id is a ref to it; when several ids are
    equal (ids of different types may coincide), the one whose type starts the
    attribute's name wins, ignoring underscores ("ad_squad_id" -> adsquad).
    """
    refs = {}
    for path, value in _leaves(attributes):
        if not isinstance(value, str):
            continue
        matches = [address for address, id_ in ids.items() if id_ == value]
        if len(matches) > 1:
            name = next(p for p in reversed(path.split(".")) if not p.isdigit()).replace("_", "").lower()
            matches = [a for a in matches if name.startswith(split_address(a)[1].replace("_", "").lower())]
        if len(matches) == 1:
            refs[path] = matches[0]
    return refs


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every non-container value; list items by index ("image_ids.0")."""
    if isinstance(value, Mapping):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        yield path, value
        return
    for key, item in items:
        yield from _leaves(item, f"{path}.{key}" if path else str(key))
