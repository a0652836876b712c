"""The planner: desired resources + recorded state -> Plan. Knows no HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from reconciler.errors import ReconcilerError
from reconciler.model import Action, Plan, RecordedResource
from reconciler.plan.diff import diff
from reconciler.plan.graph import restrict
from reconciler.spec.compile import Compiled

if TYPE_CHECKING:
    from reconciler.state import State


def build_plan(
    compiled: Compiled,
    state: State,
    target_patterns: Sequence[str] = (),
    gone: Mapping[str, RecordedResource] | None = None,
) -> Plan:
    """The plan of `compiled` against `state`.

    `gone`: recorded objects a refresh found deleted on the platform (and left out of
    `state`); a create at such an address carries the old record, so that apply
    replaces exactly that record and no other.
    """
    changes = diff(compiled.resources, state.resources)
    if gone:
        changes = [
            replace(c, recorded=gone[c.address], reason=c.reason or "deleted outside reconciler")
            if c.action is Action.CREATE and c.address in gone
            else c
            for c in changes
        ]
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


def check_fresh(plan: Plan, state: State, source: str) -> None:
    """Refuse a saved plan made against another state, or before the state last changed."""
    if plan.lineage is not None and plan.lineage != state.lineage:
        raise ReconcilerError(
            f"{source} does not match the state (lineage {plan.lineage} vs {state.lineage}): it was made for "
            "another project or workspace. Make a new plan here with `reconciler plan --out FILE`."
        )
    if plan.lineage is None and state.serial:
        raise ReconcilerError(
            f"{source} is stale: it was made before this workspace had a state, and the state has been written "
            f"since (now serial {state.serial}); it would create again what is now recorded. Make a new plan with "
            "`reconciler plan --out FILE`, review it, and apply that."
        )
    if plan.serial != state.serial:
        raise ReconcilerError(
            f"{source} is stale: the state changed since it was made (serial {plan.serial}, now {state.serial}). "
            "Make a new plan with `reconciler plan --out FILE`, review it, and apply that."
        )
