"""The plan's dependency graph over changes: targeting and export.

Edges point from what must happen first to what waits for it: a parent's
create before its child's, a child's delete before its parent's.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable

import networkx as nx

from reconciler.errors import ReconcilerError
from reconciler.model import Action, Change


def change_graph(changes: Iterable[Change]) -> nx.DiGraph:
    changes = list(changes)
    graph: nx.DiGraph = nx.DiGraph()
    for change in changes:
        graph.add_node(change.address, change=change)
    for change in changes:
        for dependency in change.depends_on:
            if dependency not in graph:
                continue
            if change.action is Action.DELETE:
                graph.add_edge(change.address, dependency)  # children are deleted first
            else:
                graph.add_edge(dependency, change.address)
    return graph


def changed(changes: Iterable[Change]) -> list[Change]:
    """The changes that do something (a move counts): what `graph --changed-only` draws."""
    return [c for c in changes if c.action is not Action.NOOP or c.moved_from]


def restrict(changes: list[Change], patterns: Iterable[str]) -> list[Change]:
    """Only the changes matching `patterns` (addresses or globs like 'bs-main:*') and what they need.

    A create or update needs its dependencies; a delete needs the deletes of
    what depends on it.
    """
    graph = change_graph(changes)
    selected: set[str] = set()
    for pattern in patterns:
        matches = [a for a in graph if fnmatch.fnmatchcase(a, pattern)]
        if not matches:
            close = difflib.get_close_matches(pattern, list(graph), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else "; `reconciler state list` shows addresses"
            raise ReconcilerError(f"--target {pattern} matches no resource{hint}")
        selected.update(matches)
    needed = set(selected)
    for address in selected:
        needed |= nx.ancestors(graph, address)
    return [c for c in changes if c.address in needed]


def to_dot(graph: nx.DiGraph) -> str:
    lines = ["digraph plan {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    for address, data in graph.nodes(data=True):
        action = data["change"].action
        lines.append(f'  "{address}" [label="{_label(address, action)}", color="{_DOT_COLORS[action]}"];')
    for source, destination in graph.edges:
        lines.append(f'  "{source}" -> "{destination}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(graph: nx.DiGraph) -> str:
    ids = {address: f"n{i}" for i, address in enumerate(graph)}
    lines = ["flowchart LR"]
    for address, data in graph.nodes(data=True):
        label = _label(address, data["change"].action).replace('"', "#quot;")
        lines.append(f'  {ids[address]}["{label}"]:::{data["change"].action.value}')
    for source, destination in graph.edges:
        lines.append(f"  {ids[source]} --> {ids[destination]}")
    for action, color in _DOT_COLORS.items():
        lines.append(f"  classDef {action.value} stroke:{color}")
    return "\n".join(lines) + "\n"


MERMAID_LIMIT = 50_000  # characters: GitHub does not render a larger mermaid block


def draw_graph(changes: Iterable[Change], output_format: str, *, changed_only: bool = False) -> tuple[str, str | None]:
    """`reconciler graph`: the graph in "dot" or "mermaid", and a note when it is drawn other than asked."""
    graph = change_graph(changed(changes) if changed_only else changes)
    return (to_dot(graph), None) if output_format == "dot" else mermaid_within_limit(graph)


def mermaid_within_limit(graph: nx.DiGraph) -> tuple[str, str | None]:
    """The Mermaid graph of each resource, or, past MERMAID_LIMIT, by target and type with a note saying why."""
    mermaid = to_mermaid(graph)
    if len(mermaid) <= MERMAID_LIMIT:
        return mermaid, None
    note = (
        f"the graph of {graph.number_of_nodes()} resources is {len(mermaid) // 1000} KB of Mermaid, past GitHub's "
        f"{MERMAID_LIMIT // 1000} KB limit: drawn by target and type (--format dot draws each resource)"
    )
    return mermaid_by_type(graph), note


def mermaid_by_type(graph: nx.DiGraph) -> str:
    """The graph folded to one node per target and type, labelled with its counts per action.

    For plans whose graph of resources is past MERMAID_LIMIT: the order of work stays readable.
    """
    groups: dict[str, dict[Action, int]] = {}
    for address, data in graph.nodes(data=True):
        counts = groups.setdefault(_target_type(address), {})
        counts[data["change"].action] = counts.get(data["change"].action, 0) + 1
    ids = {group: f"g{i}" for i, group in enumerate(groups)}
    lines = ["flowchart LR"]
    for group, counts in groups.items():
        label = " ".join(f"{_SYMBOLS[a] or '='}{n}" for a, n in counts.items())
        style = f":::{next(iter(counts)).value}" if len(counts) == 1 else ""
        lines.append(f'  {ids[group]}["{group} {label}"]{style}')
    edges = {(_target_type(source), _target_type(destination)) for source, destination in graph.edges}
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in sorted(edges) if a != b]
    for action, color in _DOT_COLORS.items():
        lines.append(f"  classDef {action.value} stroke:{color}")
    return "\n".join(lines) + "\n"


def _target_type(address: str) -> str:
    """`bs-main:placement/c.k.z` -> `bs-main:placement`."""
    return address.split("/", 1)[0]


_SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.REPLACE: "-/+", Action.DELETE: "-", Action.NOOP: ""}
_DOT_COLORS = {
    Action.CREATE: "green",
    Action.UPDATE: "orange",
    Action.REPLACE: "red",
    Action.DELETE: "red",
    Action.NOOP: "gray",
}


def _label(address: str, action: Action) -> str:
    symbol = _SYMBOLS[action]
    return f"{symbol} {address}".strip()
