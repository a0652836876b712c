"""Refresh: read the live objects so the plan can undo out-of-band edits.

Objects are read a page at a time: one read_many per target and type, which
the providers serve from their list endpoints. The refreshed state is only an
input to the planner, never written: an out-of-band edit shows up as an update
restoring the spec, an object deleted out of band as a create.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace

from reconciler.model import RecordedResource
from reconciler.providers.base import Provider, ProviderError
from reconciler.state import State


async def refresh(state: State, providers: Mapping[str, Provider]) -> tuple[State, list[str]]:
    """A copy of `state` holding the live attributes, and one note per drifted object."""
    refreshed = state.copy()
    notes: list[str] = []
    groups: dict[tuple[str, str], list[RecordedResource]] = defaultdict(list)
    for address in sorted(state.resources):
        recorded = state.resources[address]
        if recorded.target in providers:  # a target that left the specs has nothing to read it with
            groups[recorded.target, recorded.type].append(recorded)

    async def read_group(target: str, type_: str, members: list[RecordedResource]) -> None:
        # Two addresses may share an id (a replaced object's deposed record): read it once.
        by_id = {r.id: r.attributes for r in members}
        try:
            live = await providers[target].read_many(type_, by_id)
        except ProviderError as error:
            raise ProviderError(
                error.error_class, f"refreshing {target} {type_} objects: {error.message}", status=error.status
            ) from None
        for recorded in members:
            _note(recorded, live.get(recorded.id), refreshed, notes)

    await asyncio.gather(*(read_group(t, type_, members) for (t, type_), members in groups.items()))
    return refreshed, sorted(notes)


def _note(recorded: RecordedResource, live: dict | None, refreshed: State, notes: list[str]) -> None:
    address = recorded.address
    if live is None:
        del refreshed.resources[address]
        notes.append(f"{address} was deleted outside reconciler")
    elif live != recorded.attributes:
        before = recorded.attributes
        fields = sorted(k for k in live.keys() | before.keys() if live.get(k) != before.get(k))
        refreshed.resources[address] = replace(recorded, attributes=live)
        notes.append(f"{address} was changed outside reconciler: {', '.join(fields)}")
