"""Desired resources vs recorded state -> one Change per address.

A ref (an attribute holding another resource's platform id) counts as
changed when the referenced resource gets a new id in this plan (create or
replace) or when the recorded id differs from the state's. So a content
change propagates: a new image replaces the creative built from it, which
updates (or replaces) the ad pointing at that creative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

import networkx as nx

from reconciler.errors import ReconcilerError
from reconciler.model import Action, Change, RecordedResource, Resource, ref_field, resolve_refs
from reconciler.resource_types import RESOURCE_TYPES, ResourceType


def diff(
    desired: Iterable[Resource],
    recorded: Mapping[str, RecordedResource],
    moves: Mapping[str, str] | None = None,
) -> list[Change]:
    """Changes for every desired and every recorded address, in apply order.

    Creates, updates and replaces come parents first; deletes follow,
    children first. `moves` (new address -> recorded address) diffs a
    renamed object against its old record instead of deleting and creating it.
    """
    moves = moves or {}
    by_address = {r.address: r for r in desired}
    # What each desired address has on record: its own entry, or the one it moves from.
    on_record = dict(recorded) | {new: recorded[old] for new, old in moves.items()}
    new_ids: set[str] = set()  # addresses that get a new platform id in this plan
    changes: list[Change] = []
    for address in _dependency_order(by_address):
        resource = by_address[address]
        change = _diff_one(resource, on_record.get(address), on_record, new_ids)
        if address in moves:
            change = replace(change, moved_from=moves[address])
        if change.action in (Action.CREATE, Action.REPLACE):
            new_ids.add(address)
        changes.append(change)
    moved = set(moves.values())
    gone = {a: r for a, r in recorded.items() if a not in by_address and a not in moved}
    for address in reversed(_recorded_order(gone)):
        old = gone[address]
        changes.append(
            Change(
                address=address,
                target=old.target,
                type=old.type,
                action=Action.DELETE,
                before=old.attributes,
                after=None,
                depends_on=old.depends_on,
                reason="no longer in the specs" if "#" not in address else "replaced object left from an earlier apply",
                recorded=old,
            )
        )
    return changes


def _diff_one(
    resource: Resource,
    old: RecordedResource | None,
    recorded: Mapping[str, RecordedResource],
    new_ids: set[str],
) -> Change:
    def known_id(address: str) -> str | None:
        if address in new_ids:
            return None
        entry = recorded.get(address)
        return entry.id if entry else None

    after, _ = resolve_refs(resource.attributes, resource.refs, known_id)
    common = {
        "address": resource.address,
        "target": resource.target,
        "type": resource.type,
        "after": after,
        "depends_on": resource.depends_on,
        "desired": resource,
    }
    if old is None:
        return Change(action=Action.CREATE, before=None, **common)
    resource_type = _resource_type(resource)
    changed = {key for key in after.keys() | old.attributes.keys() if after.get(key) != old.attributes.get(key)}
    moved = {ref_field(path) for path, address in resource.refs.items() if address in new_ids}
    changed |= moved
    if not changed:
        return Change(action=Action.NOOP, before=old.attributes, recorded=old, **common)
    if changed <= resource_type.labels:  # a label alone: the object stays as created (ResourceType.labels)
        return Change(action=Action.NOOP, before=old.attributes, recorded=old, **common | {"after": old.attributes})
    fields = tuple(sorted(changed))
    forcing = [f for f in fields if resource_type.requires_replace(f)]
    if forcing:
        reason = "cannot change in place: " + ", ".join(forcing)
        if moved & set(forcing):
            parents = sorted({a for p, a in resource.refs.items() if a in new_ids and ref_field(p) in forcing})
            reason += " (new " + ", ".join(parents) + ")"
        return Change(
            action=Action.REPLACE, before=old.attributes, changed_fields=fields, reason=reason, recorded=old, **common
        )
    return Change(action=Action.UPDATE, before=old.attributes, changed_fields=fields, recorded=old, **common)


def _resource_type(resource: Resource) -> ResourceType:
    resource_type = RESOURCE_TYPES.get((resource.platform, resource.type))
    if resource_type is None:
        raise ReconcilerError(f"{resource.address}: {resource.platform} has no resource type {resource.type!r}")
    return resource_type


def _dependency_order(resources: Mapping[str, Resource]) -> list[str]:
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(resources)
    for address, resource in resources.items():
        for dependency in resource.depends_on:
            if dependency not in resources:
                raise ReconcilerError(f"{address} depends on {dependency}, which is not in the specs")
            graph.add_edge(dependency, address)
    return _topological(graph)


def _recorded_order(recorded: Mapping[str, RecordedResource]) -> list[str]:
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(recorded)
    for address, entry in recorded.items():
        for dependency in entry.depends_on:
            if dependency in recorded:
                graph.add_edge(dependency, address)
    return _topological(graph)


def _topological(graph: nx.DiGraph) -> list[str]:
    """Parents first; ties broken by address so plans are deterministic."""
    try:
        return list(nx.lexicographical_topological_sort(graph))
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(graph)
        path = " -> ".join([edge[0] for edge in cycle] + [cycle[0][0]])
        raise ReconcilerError(f"dependency cycle: {path}; break it by removing one of these references") from None
