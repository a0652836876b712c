"""`reconciler state import ADDRESS ID`: adopt one existing object for a declared address (Terraform's import)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from reconciler.connect import Connection, open_providers
from reconciler.errors import ReconcilerError
from reconciler.model import RecordedResource, Resource, TargetConfig, resolve_refs
from reconciler.plan import plan_targets
from reconciler.spec.compile import compile_specs
from reconciler.spec.loader import load_specs
from reconciler.state import State, StateStore


def import_one(
    directory: Path,
    store: StateStore,
    connect: Callable[[Mapping[str, TargetConfig]], Connection],
    endpoint_of: Callable[[TargetConfig], str],
    address: str,
    platform_id: str,
    *,
    variables: Mapping[str, Any] | None = None,
) -> RecordedResource:
    """Read object `platform_id` and record it at `address` with its live attributes."""
    compiled = compile_specs(load_specs(directory, dict(variables or {})))
    resource = next((r for r in compiled.resources if r.address == address), None)
    if resource is None:
        raise ReconcilerError(
            f"{address} is not declared by the specs: write its spec first (`reconciler plan` lists the addresses "
            "they derive), or use `reconciler import` to write specs for what runs"
        )
    with store.lock("state import"):
        state = store.read()
        _check_free(state, address, platform_id, resource)
        targets, _ = plan_targets(compiled.targets, state, endpoint_of)
        target = targets[resource.target]
        live = asyncio.run(_read(connect({target.name: target}), resource, platform_id, state))
        if live is None:
            raise ReconcilerError(
                f"target {target.name} has no {resource.type} with id {platform_id} (or it was deleted); "
                "nothing was recorded"
            )
        if state.targets.get(target.name) != target:
            store.record_target(target)
        recorded = RecordedResource(address, platform_id, resource.type, resource.target, live, resource.depends_on)
        store.record(address, recorded)
    return recorded


def _check_free(state: State, address: str, platform_id: str, resource: Resource) -> None:
    if address in state.resources:
        raise ReconcilerError(
            f"{address} is already recorded, with id {state.resources[address].id}; "
            f"`reconciler state rm {address}` first to adopt another object"
        )
    for other in state.resources.values():
        if other.target == resource.target and other.type == resource.type and other.id == platform_id:
            raise ReconcilerError(
                f"{resource.type} {platform_id} on {resource.target} is already recorded as {other.address}; "
                f"one object has one address (`reconciler state mv {other.address} {address}` renames it)"
            )


async def _read(connection: Connection, resource: Resource, platform_id: str, state: State) -> dict[str, Any] | None:
    # Parents are the ids the state records for them: a parent not recorded yet reads as unset.
    expected, _ = resolve_refs(resource.attributes, resource.refs, state.id_of)
    async with open_providers(connection, [resource.target]) as providers:
        return await providers[resource.target].read(resource.type, platform_id, expected)
