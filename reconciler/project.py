"""One project directory (specs/ + state/) and the pipeline run over it.

The CLI calls these functions and only renders their results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.connect import Connection, open_providers
from reconciler.errors import ReconcilerError
from reconciler.model import Plan, TargetConfig
from reconciler.plan import build_plan
from reconciler.refresh import refresh
from reconciler.spec.compile import Compiled, compile_specs
from reconciler.spec.loader import load_specs
from reconciler.state import LocalFileStore, State

# Builds the connection to use for a set of targets: live APIs or the sandbox.
Connect = Callable[[Mapping[str, TargetConfig]], Connection]


@dataclass(frozen=True)
class Project:
    directory: Path
    workspace: str = "default"

    def __post_init__(self) -> None:
        if not (self.directory / "specs").is_dir():
            raise ReconcilerError(
                f"{self.directory}: no specs/ directory here; run reconciler in a project directory "
                "or point at one with -C DIR"
            )

    @property
    def store(self) -> LocalFileStore:
        return LocalFileStore(self.directory, self.workspace)

    @property
    def sandbox_data(self) -> Path:
        """Where `--sandbox` keeps the emulator's objects between runs."""
        return self.directory / "state" / f"sandbox-{self.workspace}.json"

    def compile(self, variables: Mapping[str, str] | None = None) -> Compiled:
        return compile_specs(load_specs(self.directory, dict(variables or {})))

    def plan(
        self,
        variables: Mapping[str, str] | None = None,
        target_patterns: Sequence[str] = (),
        *,
        state: State | None = None,
        refresh_with: Connect | None = None,
    ) -> Plan:
        """Plan the specs against the recorded state; with `refresh_with`, against the live objects."""
        compiled = self.compile(variables)
        state = state if state is not None else self.store.read()
        notes: list[str] = []
        if refresh_with is not None:
            state, notes = asyncio.run(_refresh(state, refresh_with(compiled.targets)))
        plan = build_plan(compiled, state, target_patterns)
        plan.warnings[:0] = notes
        return plan


async def _refresh(state: State, connection: Connection) -> tuple[State, list[str]]:
    names = {r.target for r in state.resources.values() if r.target in connection.targets}
    async with open_providers(connection, names) as providers:
        return await refresh(state, providers)
