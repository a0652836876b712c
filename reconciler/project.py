"""One project directory (specs/ + state/) and the pipeline run over it.

The CLI calls these functions and only renders their results.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.apply import ApplyResult, EventSink, execute, resolve_pending
from reconciler.apply.executor import OnError, record_lifecycles
from reconciler.connect import Connection, open_providers
from reconciler.errors import ReconcilerError
from reconciler.golive import Gate, waiting_members
from reconciler.golive.enable import GoLive, go_live
from reconciler.history import HistoryStore, Recorder, open_history
from reconciler.model import Action, Plan, TargetConfig
from reconciler.plan import build_plan, check_fresh, check_targets, plan_targets
from reconciler.plan.digest import check_digest
from reconciler.plan.planfile import read_plan_file
from reconciler.policy.evaluate import check_overrides, frozen, gate, refuse_violations
from reconciler.policy.violations import Override
from reconciler.providers import endpoint_of
from reconciler.refresh import refresh
from reconciler.spec.compile import Compiled, compile_specs
from reconciler.spec.files import FileRefused, regular_file
from reconciler.spec.loader import load_specs
from reconciler.state import State, StateStore
from reconciler.state.backend import open_store
from reconciler.state.local import workspace_files
from reconciler.state.store import SANDBOX_ENDPOINT
from reconciler.status import CampaignStatus, campaign_statuses

# Builds the connection to use for a set of targets: live APIs or the sandbox.
Connect = Callable[[Mapping[str, TargetConfig]], Connection]


@dataclass(frozen=True)
class Project:
    """`sandbox`: runs against the in-process emulator, with a state of their own."""

    directory: Path
    workspace: str = "default"
    sandbox: bool = False
    state_url: str | None = None  # a database holding the state (reconciler/state/backend.py); None: state/
    lock_timeout: float = 0.0  # seconds to wait for the workspace lock

    def __post_init__(self) -> None:
        if not (self.directory / "specs").is_dir():
            raise ReconcilerError(
                f"{self.directory}: no specs/ directory here; run reconciler in a project directory "
                "or point at one with -C DIR"
            )

    @functools.cached_property
    def store(self) -> StateStore:
        """One store per project object: its lock and its writes must be the same object's."""
        return open_store(
            self.directory,
            self.workspace,
            sandbox=self.sandbox,
            endpoint_of=self.endpoint,
            url=self.state_url,
            lock_timeout=self.lock_timeout,
        )

    def endpoint(self, target: TargetConfig) -> str:
        """The endpoint this project's runs reach `target` through (recorded in the state, compared by plans)."""
        if self.sandbox:
            return SANDBOX_ENDPOINT  # whatever the spec's api_base_url: the connection replaces it
        return endpoint_of(target)

    @functools.cached_property
    def history(self) -> HistoryStore:
        """The run history of this workspace (of its `--sandbox` runs when sandbox), beside its state."""
        return open_history(self.directory, self.workspace, sandbox=self.sandbox, url=self.state_url)

    @property
    def sandbox_data(self) -> Path:
        """Where `--sandbox` keeps the emulator's objects between runs."""
        return workspace_files(self.directory, self.workspace).emulator

    def compile(self, variables: Mapping[str, str] | None = None) -> Compiled:
        return compile_specs(load_specs(self.directory, dict(variables or {})))

    def plan(
        self,
        variables: Mapping[str, str] | None = None,
        target_patterns: Sequence[str] = (),
        *,
        state: State | None = None,
        refresh_with: Connect | None = None,
        prune: bool = False,
        overrides: Sequence[Override] = (),
    ) -> Plan:
        """Plan the specs against the recorded state; with `refresh_with`, against the live objects.

        The plan carries the violations of the specs' policies (and the `overrides` of this run).
        """
        compiled = self.compile(variables)
        check_overrides(compiled.policies, overrides)  # a usage error before any request
        state = state if state is not None else self.store.read()
        plan_targets(compiled.targets, state, self.endpoint)  # refuses a moved target before any request
        connection = refresh_with(compiled.targets) if refresh_with is not None else None
        plan = self._plan(compiled, state, target_patterns, connection, prune=prune)
        return gate(plan, compiled.policies, compiled.campaign_labels, overrides)

    def status(self, connect: Connect, variables: Mapping[str, str] | None = None) -> list[CampaignStatus]:
        """Per campaign and target: review verdicts read from the platforms, and health."""
        compiled = self.compile(variables)
        state = self.store.read()
        # Only read, never applied: a plan that prevent_destroy would refuse still tells the statuses.
        plan = build_plan(compiled, state, endpoint_of=self.endpoint, refuse_protected=False)
        desired = {r.address: r for r in compiled.resources}
        held = {
            m.address for g in compiled.gates if waiting_members(g, desired, state) for m in g.members
            if m.type == "campaign"
        }  # fmt: skip
        return asyncio.run(_statuses(plan, state, connect(compiled.targets), held))

    def apply(
        self,
        *,
        connect: Connect,
        events: EventSink,
        confirm: Callable[[Plan], bool],
        notify: Callable[[str], None],
        plan_file: Path | None = None,
        variables: Mapping[str, str] | None = None,
        target_patterns: Sequence[str] = (),
        refresh: bool = False,
        parallelism: int = 10,
        on_error: OnError = "continue",
        prune: bool = False,
        wait_for_review: float | None = None,
        overrides: Sequence[Override] = (),
        expect_digest: str | None = None,
    ) -> ApplyResult | None:
        """Plan (or load a saved plan) and carry it out, holding the state lock throughout.

        `confirm` sees the plan first (it shows it, and says no when there is nothing to do);
        returns None when it declined or there was nothing to do. Then, unless declined, the
        campaigns with activation: after_review go live where every ad passed review
        (reconciler/golive), waiting up to `wait_for_review` seconds for the verdicts.
        A plan that breaks a policy (judged now, with the specs' policies, a saved plan's
        overrides and `overrides`) is refused before anything is sent.
        """
        declined = False

        def confirming(plan: Plan) -> bool:
            nonlocal declined
            proceed = confirm(plan)
            declined = not proceed and plan.has_changes
            return proceed

        store = self.store
        recorder = Recorder(self.history, workspace=self.workspace, project_dir=self.directory, plan_file=plan_file,
                            sandbox=self.sandbox, notify=notify)  # fmt: skip
        with store.lock("apply"), recorder:
            compiled = self.compile(variables)
            check_overrides(compiled.policies, overrides)
            if plan_file is not None:
                plan, connection = self._saved_plan(plan_file, compiled, connect, overrides)
            else:
                plan, connection = self._fresh_plan(compiled, connect, notify, target_patterns, refresh, prune,
                                                    overrides)  # fmt: skip
            check_digest(plan, expect_digest)  # what was reviewed is what is applied, or nothing
            result = asyncio.run(
                _execute(plan, connection, store, events, confirming, parallelism, on_error, recorder)
            )
            rolled_back = on_error == "rollback" and result is not None and not result.ok
            if not declined and not rolled_back:  # a rolled-back run makes nothing live
                self._take_live(plan, compiled, connection, recorder, notify, target_patterns, wait_for_review)
            if recorder.started:
                recorder.finish(result)
            return result

    def _saved_plan(
        self, plan_file: Path, compiled: Compiled, connect: Connect, overrides: Sequence[Override]
    ) -> tuple[Plan, Connection]:
        """A plan from `plan --out`, checked against the state, the specs' targets and policies as they are now."""
        state = self.store.read()
        targets, _ = plan_targets(compiled.targets, state, self.endpoint)
        plan = read_plan_file(plan_file)
        if state.pending:
            raise ReconcilerError(
                "the state holds operations whose outcome is unknown (an earlier apply was interrupted); "
                "run `reconciler apply` without a plan file to resolve them, then plan again"
            )
        check_fresh(plan, state, str(plan_file))
        check_targets(plan, targets, str(plan_file))
        _check_assets_inside(plan, self.directory, str(plan_file))
        # Judged again: the clock moved (a freeze may have begun) and the policies are the specs' now.
        gate(plan, compiled.policies, compiled.campaign_labels, [*plan.overrides, *overrides])
        refuse_violations(plan, str(plan_file))
        return plan, connect(plan.targets)

    def _fresh_plan(
        self,
        compiled: Compiled,
        connect: Connect,
        notify: Callable[[str], None],
        target_patterns: Sequence[str],
        refresh: bool,
        prune: bool,
        overrides: Sequence[Override],
    ) -> tuple[Plan, Connection]:
        """Plan now, after resolving what an interrupted apply left pending (by lookup, never resent)."""
        store = self.store
        state = store.read()
        targets, _ = plan_targets(compiled.targets, state, self.endpoint)
        connection = connect(targets)
        if state.pending:
            for line in asyncio.run(_resolve(state, connection, store)):
                notify(line)
            state = store.read()
        plan = self._plan(compiled, state, target_patterns, connection if refresh else None, prune=prune)
        gate(plan, compiled.policies, compiled.campaign_labels, overrides)
        refuse_violations(plan)
        return plan, connection

    def _take_live(
        self,
        plan: Plan,
        compiled: Compiled,
        connection: Connection,
        recorder: Recorder,
        notify: Callable[[str], None],
        target_patterns: Sequence[str],
        wait_for_review: float | None,
    ) -> None:
        """Enable the campaigns with activation: after_review whose ads all passed review (reconciler/golive)."""
        gates = compiled.gates
        if target_patterns:  # --target: only the gated campaigns this plan reaches
            planned = {c.address for c in plan.changes}
            gates = [g for g in gates if any(m.address in planned for m in g.members)]
        held = [g for g in gates if frozen(compiled.policies, compiled.campaign_labels, g.campaign, g.target,
                                           plan.overrides)]  # fmt: skip
        for g in held:
            notify(f"{g.campaign} on {g.target}: not taken live, a policy freeze window is in effect")
        gates = [g for g in gates if g not in held]
        if not gates:
            return
        going_live = recorder.going_live(self.store, plan)  # what goes live is recorded as this run's
        outcomes = asyncio.run(_go_live(gates, compiled, connection, going_live, notify, wait_for_review))
        failed = [o.line() for o in outcomes if o.outcome == "failed"]
        if failed:
            raise ReconcilerError("; ".join(failed) + ". Run `reconciler apply` again to retry")

    def _plan(
        self,
        compiled: Compiled,
        state: State,
        target_patterns: Sequence[str],
        refresh_from: Connection | None,
        *,
        prune: bool = False,
    ) -> Plan:
        """The plan; with `refresh_from`, against the live objects read through it, drift noted as warnings."""
        notes: list[str] = []
        gone = {}
        if refresh_from is not None:
            recorded = state.resources
            state, notes = asyncio.run(_refresh(state, refresh_from))
            gone = {address: r for address, r in recorded.items() if address not in state.resources}
        plan = build_plan(compiled, state, target_patterns, gone, endpoint_of=self.endpoint, prune=prune)
        plan.warnings[:0] = notes
        return plan


def _check_assets_inside(plan: Plan, directory: Path, source: str) -> None:
    """Refuse a saved plan that would upload a file the specs could not name (the specs' one file rule)."""
    root = directory.resolve()
    for change in plan.changes:
        asset = change.desired.asset if change.desired else None
        if asset is None:
            continue
        try:
            regular_file(root, Path(asset.path))
        except FileRefused as refused:
            raise ReconcilerError(
                f"{source}: {change.address} would upload {asset.path}, which {refused.reason}. Nothing was sent. "
                "Make a new plan here with `reconciler plan --out FILE`."
            ) from None


async def _resolve(state: State, connection: Connection, store: StateStore) -> list[str]:
    names = {p.target for p in state.pending.values() if p.target in connection.targets}
    async with open_providers(connection, names) as providers:
        return await resolve_pending(state, store, providers)


async def _execute(
    plan: Plan,
    connection: Connection,
    store: StateStore,
    events: EventSink,
    confirm: Callable[[Plan], bool],
    parallelism: int,
    on_error: OnError,
    recorder: Recorder,
) -> ApplyResult | None:
    if not confirm(plan):
        if not plan.has_changes:  # nothing to send; a changed lifecycle is still recorded (state only)
            await record_lifecycles(plan, store)
        return None
    recorder.start(plan)
    events.run_id = recorder.run_id
    names = {c.target for c in plan.changes if c.action is not Action.NOOP}
    limits = {name: t.concurrency for name, t in plan.targets.items() if t.concurrency}
    async with open_providers(connection, names) as providers:
        return await execute(
            plan,
            store=store,
            providers=providers,
            parallelism=parallelism,
            target_concurrency=limits,
            on_error=on_error,
            events=events,
            history=recorder,
        )


async def _go_live(
    gates: list[Gate],
    compiled: Compiled,
    connection: Connection,
    store: StateStore,
    notify: Callable[[str], None],
    wait: float | None,
) -> list[GoLive]:
    names = {g.target for g in gates if g.target in connection.targets}
    desired = {r.address: r for r in compiled.resources}
    async with open_providers(connection, names) as providers:
        return await go_live(gates, desired, store, providers, notify, wait)


async def _statuses(plan: Plan, state: State, connection: Connection, held: set[str]) -> list[CampaignStatus]:
    names = {r.target for r in state.resources.values() if r.target in connection.targets}
    async with open_providers(connection, names) as providers:
        return await campaign_statuses(plan, state, providers, held)


async def _refresh(state: State, connection: Connection) -> tuple[State, list[str]]:
    names = {r.target for r in state.resources.values() if r.target in connection.targets}
    async with open_providers(connection, names) as providers:
        return await refresh(state, providers)
