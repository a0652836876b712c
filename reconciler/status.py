"""Campaign health: the platforms' review verdicts on each campaign's ads, and whether it is in sync.

A campaign on a target is
  critical  when an ad is rejected, or an operation on it was interrupted (apply resolves it);
  warning   when an ad awaits review, the specs hold changes not applied yet, or it is held paused
            for review (activation: after_review) and not live yet;
  healthy   otherwise.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal

import networkx as nx

from reconciler.model import Action, Plan, RecordedResource
from reconciler.providers.base import Provider, Review
from reconciler.state import State

Health = Literal["healthy", "warning", "critical"]


@dataclass(frozen=True)
class CampaignStatus:
    campaign: str
    target: str
    health: Health
    reviews: dict[str, int] = field(default_factory=dict)  # approved / pending / rejected -> count
    notes: tuple[str, ...] = ()


async def campaign_statuses(
    plan: Plan, state: State, providers: Mapping[str, Provider], held: Collection[str] = ()
) -> list[CampaignStatus]:
    """One status per campaign and target of the plan (the specs), reading each recorded ad's review.

    `held`: the campaign addresses kept paused for review (activation: after_review, not live yet).
    """
    graph: nx.DiGraph = nx.DiGraph()
    for change in plan.changes:
        graph.add_node(change.address)
        for dependency in change.depends_on:
            graph.add_edge(dependency, change.address)
    campaigns = [c for c in plan.changes if c.type == "campaign" and c.action is not Action.DELETE]
    members = {c.address: [c.address, *sorted(nx.descendants(graph, c.address))] for c in campaigns}
    recorded = [
        state.resources[a] for addresses in members.values() for a in addresses
        if a in state.resources and state.resources[a].target in providers
    ]  # fmt: skip
    reviews = await _reviews(recorded, providers)
    unapplied = {c.address for c in plan.changes if c.action is not Action.NOOP}
    return [
        _status(c.address, c.target, members[c.address], reviews, unapplied, state, c.address in held)
        for c in campaigns
    ]


async def _reviews(recorded: list[RecordedResource], providers: Mapping[str, Provider]) -> dict[str, Review | None]:
    """Each resource's review verdict, read a page at a time: one review_many per target and type."""
    groups: dict[tuple[str, str], dict[str, RecordedResource]] = defaultdict(dict)
    for resource in recorded:
        groups[resource.target, resource.type][resource.address] = resource

    async def read_group(target: str, type_: str, members: dict[str, RecordedResource]) -> dict[str, Review | None]:
        verdicts = await providers[target].review_many(type_, {r.id: r.attributes for r in members.values()})
        return {address: verdicts.get(r.id) for address, r in members.items()}

    found: dict[str, Review | None] = {}
    for verdicts in await asyncio.gather(*(read_group(t, type_, m) for (t, type_), m in groups.items())):
        found |= verdicts
    return found


def _status(
    campaign: str,
    target: str,
    addresses: list[str],
    reviews: Mapping[str, Review | None],
    unapplied: set[str],
    state: State,
    held: bool = False,
) -> CampaignStatus:
    counts = {"approved": 0, "pending": 0, "rejected": 0}
    critical: list[str] = []
    warning: list[str] = []
    for address in addresses:
        verdict = reviews.get(address)
        if verdict is not None:
            counts[verdict.status] += 1
            if verdict.status == "rejected":
                critical.append(f"{address} rejected" + (f": {verdict.reason}" if verdict.reason else ""))
            elif verdict.status == "pending":
                warning.append(f"{address} awaits review")
        if address in state.pending:
            critical.append(f"{address}: an interrupted {state.pending[address].action}; run apply to resolve it")
    changes = [a for a in addresses if a in unapplied]
    if changes:
        warning.append(f"{len(changes)} change{'s' * (len(changes) != 1)} not applied yet (see `reconciler plan`)")
    if held:
        # Not live yet: a warning even once every ad is approved, until an apply enables it.
        warning.append("kept paused until every ad is approved (activation: after_review); apply enables it")
    health: Health = "critical" if critical else "warning" if warning else "healthy"
    name = campaign.rsplit("/", 1)[1]
    return CampaignStatus(name, target, health, counts, tuple(critical + warning))
