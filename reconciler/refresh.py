"""Refresh: read the live objects so the plan can undo out-of-band edits.

The refreshed state is only an input to the planner, never written: an
out-of-band edit shows up as an update restoring the spec, an object
deleted out of band as a create.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace

from reconciler.providers.base import Provider, ProviderError
from reconciler.state import State


async def refresh(state: State, providers: Mapping[str, Provider], concurrency: int = 16) -> tuple[State, list[str]]:
    """A copy of `state` holding the live attributes, and one note per drifted object."""
    refreshed = state.copy()
    notes: list[str] = []
    gate = asyncio.Semaphore(concurrency)

    async def read_one(address: str) -> None:
        recorded = state.resources[address]
        provider = providers.get(recorded.target)
        if provider is None:  # the target left the specs: nothing to read it with
            return
        async with gate:
            try:
                live = await provider.read(recorded.type, recorded.id, recorded.attributes)
            except ProviderError as error:
                raise ProviderError(
                    error.error_class, f"refreshing {address}: {error.message}", status=error.status
                ) from None
        if live is None:
            del refreshed.resources[address]
            notes.append(f"{address} was deleted outside reconciler")
        elif live != recorded.attributes:
            before = recorded.attributes
            fields = sorted(k for k in live.keys() | before.keys() if live.get(k) != before.get(k))
            refreshed.resources[address] = replace(recorded, attributes=live)
            notes.append(f"{address} was changed outside reconciler: {', '.join(fields)}")

    await asyncio.gather(*(read_one(address) for address in sorted(state.resources)))
    return refreshed, sorted(notes)
