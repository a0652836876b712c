"""Settle what an interrupted apply left pending, before the next plan is made.

A pending create may or may not have reached the platform (the process was
killed, or the response was lost and retries ran out). The object is looked up
by what was being sent (same name within the same parent): if it exists it is
adopted into the state, otherwise the entry is dropped and the plan will create
it. Pending updates and deletes are dropped: the next diff redoes them if they
are still needed, and both are idempotent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from reconciler.apply.steps import DEPOSED_SUFFIX, base_address, deposed_address
from reconciler.errors import ReconcilerError
from reconciler.model import Action, Operation, RecordedResource
from reconciler.providers.base import Provider, ProviderError
from reconciler.providers.http import RetryPolicy
from reconciler.state import PendingOperation, State, StateStore


async def resolve_pending(
    state: State,
    store: StateStore,
    providers: Mapping[str, Provider],
    *,
    retry: RetryPolicy | None = None,
) -> list[str]:
    """Resolve every pending entry of `state` (read under the lock); returns what was done, one line each.

    Raises ReconcilerError when a pending create cannot be looked up: planning
    without knowing whether it exists could create it twice.
    """
    resources = dict(state.resources)
    lines = []
    for address, pending in sorted(state.pending.items()):
        if pending.action != "create":
            await asyncio.to_thread(store.forget_pending, address)
            lines.append(f"{address}: an interrupted {pending.action} was dropped; the plan redoes it if needed")
            continue
        found = await _look_up(pending, providers, retry or RetryPolicy())
        base = base_address(address)
        old_ids = {r.id for a in (base, deposed_address(base)) if (r := resources.get(a)) is not None}
        if found is None or found in old_ids:
            await asyncio.to_thread(store.forget_pending, address)
            lines.append(f"{address}: an interrupted create had not been carried out; the plan will create it")
            continue
        adopted = RecordedResource(address, found, pending.type, pending.target, pending.attributes, pending.depends_on)
        await asyncio.to_thread(store.record, address, adopted)
        resources[address] = adopted
        lines.append(f"{address}: an interrupted create had been carried out; adopted id {found}")
    # A replace killed between keeping the old object aside and creating the new
    # one leaves the old object both current and deposed: it is just current.
    for address, resource in sorted(resources.items()):
        current = resources.get(base_address(address))
        if address.endswith(DEPOSED_SUFFIX) and current is not None and current.id == resource.id:
            await asyncio.to_thread(store.record, address, None)
            lines.append(f"{address}: dropped, it is the same object as {current.address}")
    return lines


async def _look_up(pending: PendingOperation, providers: Mapping[str, Provider], retry: RetryPolicy) -> str | None:
    provider = providers.get(pending.target)
    if provider is None:
        raise ReconcilerError(
            f"{pending.address}: an interrupted create for target {pending.target} must be looked up, but that "
            "target is no longer configured. Add the target back to the specs, or drop the entry with "
            f"`reconciler state rm {pending.address}` if you are sure it was never created."
        )
    op = Operation(pending.address, Action.CREATE, pending.type, pending.name, pending.attributes)
    try:
        return await retry.retrying()(provider.find, op)
    except ProviderError as exc:
        raise ReconcilerError(
            f"{pending.address}: could not check whether an interrupted create was carried out ({exc}). "
            "Nothing was planned, so nothing can be created twice; fix the cause and run again."
        ) from None
