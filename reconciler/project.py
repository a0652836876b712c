"""One project directory (specs/ + state/) and the pipeline run over it.

The CLI calls these functions and only renders their results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.model import Plan
from reconciler.plan import build_plan
from reconciler.spec.compile import Compiled, compile_specs
from reconciler.spec.loader import load_specs
from reconciler.state import LocalFileStore, State


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

    def compile(self, variables: Mapping[str, str] | None = None) -> Compiled:
        return compile_specs(load_specs(self.directory, dict(variables or {})))

    def plan(
        self,
        variables: Mapping[str, str] | None = None,
        target_patterns: Sequence[str] = (),
        state: State | None = None,
    ) -> Plan:
        compiled = self.compile(variables)
        return build_plan(compiled, state if state is not None else self.store.read(), target_patterns)
