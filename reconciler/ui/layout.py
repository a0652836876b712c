"""The plan's dependency graph laid out for an inline SVG: columns by dependency depth.

Laid out here, on the server, so the page needs no graph library (nothing is fetched
from the internet). Each column holds the changes whose longest chain of prerequisites
has the same length; edges are drawn left to right, from what must happen first.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from reconciler.model import Change
from reconciler.plan.graph import change_graph, changed

COLUMN = 300  # px between columns
ROW = 34  # px between rows
NODE_WIDTH = 260
NODE_HEIGHT = 24
MARGIN = 10
MAX_NODES = 400  # past this the drawing says how many it left out: a picture of 5,000 boxes helps nobody


@dataclass(frozen=True)
class Node:
    address: str
    label: str  # the address, cut to fit the box
    action: str  # create | update | replace | delete | noop (a move)
    x: int
    y: int


@dataclass(frozen=True)
class Edge:
    path: str  # SVG path data


@dataclass(frozen=True)
class Drawing:
    nodes: list[Node]
    edges: list[Edge]
    width: int
    height: int
    left_out: int  # changes not drawn (over MAX_NODES)
    changed_only: bool


def layout(changes: list[Change], *, changed_only: bool = True) -> Drawing:
    """The drawing of `changes` (only those that do something, unless `changed_only` is False)."""
    shown = changed(changes) if changed_only else changes
    left_out = max(0, len(shown) - MAX_NODES)
    graph = change_graph(shown[:MAX_NODES])
    nodes: dict[str, Node] = {}
    height = 0
    for column, generation in enumerate(nx.topological_generations(graph)):
        for row, address in enumerate(sorted(generation)):
            action = graph.nodes[address]["change"].action.value
            x, y = MARGIN + column * COLUMN, MARGIN + row * ROW
            nodes[address] = Node(address, _fit(address), action, x, y)
            height = max(height, y + NODE_HEIGHT + MARGIN)
    edges = [Edge(_curve(nodes[a], nodes[b])) for a, b in graph.edges]
    width = max((n.x + NODE_WIDTH + MARGIN for n in nodes.values()), default=0)
    return Drawing(list(nodes.values()), edges, width, height, left_out, changed_only)


def _fit(address: str, chars: int = 36) -> str:
    return address if len(address) <= chars else "…" + address[-(chars - 1) :]


def _curve(a: Node, b: Node) -> str:
    x1, y1 = a.x + NODE_WIDTH, a.y + NODE_HEIGHT // 2
    x2, y2 = b.x, b.y + NODE_HEIGHT // 2
    bend = max(20, (x2 - x1) // 2)
    return f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"
