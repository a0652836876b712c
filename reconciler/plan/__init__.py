"""The planner: desired resources + recorded state -> Plan. Knows no HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reconciler.model import Plan
from reconciler.plan.diff import diff
from reconciler.plan.graph import restrict
from reconciler.spec.compile import Compiled

if TYPE_CHECKING:
    from reconciler.state import State


def build_plan(compiled: Compiled, state: State, target_patterns: Sequence[str] = ()) -> Plan:
    changes = diff(compiled.resources, state.resources)
    warnings = list(compiled.warnings)
    for address, pending in sorted(state.pending.items()):
        warnings.append(
            f"{address}: a {pending.action} begun at {pending.started_at} has an unknown outcome; "
            "apply looks the object up and adopts it before doing anything else"
        )
    if target_patterns:
        changes = restrict(changes, target_patterns)
        warnings.append(
            "Resource targeting is in effect: only "
            + ", ".join(target_patterns)
            + " and what they depend on are planned. Plan without --target before relying on the result."
        )
    return Plan(
        changes=changes,
        warnings=warnings,
        # A state never written has no lineage yet (Terraform's first plan): compared on serial only.
        lineage=state.lineage if state.serial else None,
        serial=state.serial,
        targets=compiled.targets,
    )
