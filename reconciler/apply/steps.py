"""A Plan as a graph of Steps: the single provider calls apply makes, and what each waits for.

A change becomes zero, one or two steps: noop none; create, update and delete
one; replace two (a create of the new object and a delete of the old one).
Edges point from a step to the steps that must wait for it:

- creates and updates run after the create/update steps of what they depend on;
- deleting an old object runs after the deletes of everything recorded as
  depending on it (children first), and after the updates and creates of
  dependents that move off it;
- a replace is create-before-destroy by default: the old object is kept in
  state as `ADDR#deposed` while the new one is made, then deleted; types whose
  replace_mode is destroy_before_create delete the old object first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx

from reconciler.errors import ReconcilerError
from reconciler.model import Action, Change, Plan
from reconciler.resource_types import resource_type

DEPOSED_SUFFIX = "#deposed"


def deposed_address(address: str) -> str:
    """Where the old object of a create-before-destroy replace waits in state for its delete."""
    return address + DEPOSED_SUFFIX


def base_address(address: str) -> str:
    """'A#deposed' -> 'A'; any other address unchanged."""
    return address.removesuffix(DEPOSED_SUFFIX)


@dataclass(frozen=True)
class Step:
    """One provider call of the apply."""

    key: str  # "create:ADDR", "update:ADDR", "delete:ADDR", "delete:ADDR#deposed"
    address: str  # the change's address
    action: Action  # CREATE, UPDATE or DELETE
    change: Change
    deposed: bool = False  # deletes the old object of a create-before-destroy replace

    @property
    def state_address(self) -> str:
        """The state entry this step acts on."""
        return deposed_address(self.address) if self.deposed else self.address


class StepCycleError(ReconcilerError):
    """The steps cannot be ordered."""


def _destroy_first(change: Change, plan: Plan) -> bool:
    """True when this replace deletes the old object before creating the new one."""
    assert change.desired is not None
    if resource_type(change.desired.platform, change.type).replace_mode == "destroy_before_create":
        return True
    # The deposed slot is taken by a leftover of an earlier run that this plan
    # deletes: rather than keep two old objects, fall back to delete-then-create.
    return any(c.address == deposed_address(change.address) for c in plan.changes)


def build_steps(plan: Plan) -> nx.DiGraph:
    """The step graph of `plan` (node attribute `step`). Raises StepCycleError on a cycle."""
    graph = nx.DiGraph()
    makes: dict[str, str] = {}  # address -> key of the step that makes its desired object exist
    removes: dict[str, list[tuple[str, bool]]] = defaultdict(list)  # address -> (delete key, dbc?)

    def add(step: Step) -> str:
        graph.add_node(step.key, step=step)
        return step.key

    for change in plan.changes:
        address = change.address
        if change.action is Action.CREATE:
            makes[address] = add(Step(f"create:{address}", address, Action.CREATE, change))
        elif change.action is Action.UPDATE:
            makes[address] = add(Step(f"update:{address}", address, Action.UPDATE, change))
        elif change.action is Action.DELETE:
            removes[address].append((add(Step(f"delete:{address}", address, Action.DELETE, change)), False))
        elif change.action is Action.REPLACE:
            create = add(Step(f"create:{address}", address, Action.CREATE, change))
            makes[address] = create
            if _destroy_first(change, plan):
                delete = add(Step(f"delete:{address}", address, Action.DELETE, change))
                graph.add_edge(delete, create)
                removes[address].append((delete, True))
            else:
                key = f"delete:{deposed_address(address)}"
                delete = add(Step(key, address, Action.DELETE, change, deposed=True))
                graph.add_edge(create, delete)
                removes[address].append((delete, False))

    # Creates and updates wait for what they depend on.
    for change in plan.changes:
        if change.address in makes and change.desired is not None:
            for dependency in change.desired.depends_on:
                if dependency in makes:
                    graph.add_edge(makes[dependency], makes[change.address])

    # Deleting an old object waits for its recorded dependents.
    dependents: dict[str, list[str]] = defaultdict(list)
    for change in plan.changes:
        if change.recorded is not None and change.action is not Action.NOOP:
            for dependency in change.recorded.depends_on:
                dependents[base_address(dependency)].append(change.address)
    for address, deletes in removes.items():
        for delete, destroy_first in deletes:
            for dependent in dependents[base_address(address)]:
                for dependent_delete, _ in removes.get(dependent, ()):
                    graph.add_edge(dependent_delete, delete)
                # A dependent moving off the old object must have moved first; not
                # possible when the old object goes before its replacement exists.
                if not destroy_first and dependent in makes:
                    graph.add_edge(makes[dependent], delete)

    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return graph
    path = " -> ".join([edge[0] for edge in cycle] + [cycle[0][0]])
    raise StepCycleError(
        f"the plan cannot be applied: its steps form a cycle ({path}). "
        "Break the dependency between these resources in the specs, or apply the change in two steps."
    )
