"""The plan side of review-gated go-live: no I/O, only compiled resources and the recorded state.

Where the go-live fact lives: in the recorded status of each gated object. A gated object is
desired active only when the state records it active, which only the go-live step (enable.py)
writes once every ad of its campaign on that target passed review (or which it already was before
the campaign was gated: it is live already, and gating is about going live). Otherwise the desired
status is paused. So the plan stays honest without a new state field: before approval the desired
state says paused and matches what is recorded; after go-live the state says active and so does the
desired state, and the next plan shows no change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.model import Action, Change, Resource

if TYPE_CHECKING:
    from reconciler.state import State

# platform -> (status field, active value, paused value), on the types that carry it.
STATUS_FIELDS: dict[str, tuple[str, str, str]] = {
    "meta": ("status", "ACTIVE", "PAUSED"),
    "tiktok": ("operation_status", "ENABLE", "DISABLE"),
    "snapchat": ("status", "ACTIVE", "PAUSED"),
}
# The objects that can deliver, per platform: the campaign, its ad set / ad group / ad squad, its ads.
GATED_TYPES: dict[str, tuple[str, ...]] = {
    "meta": ("campaign", "adset", "ad"),
    "tiktok": ("campaign", "adgroup", "ad"),
    "snapchat": ("campaign", "adsquad", "ad"),
}
WAITING = "waiting for review"


@dataclass(frozen=True)
class Member:
    address: str
    type: str


@dataclass(frozen=True)
class Gate:
    """One gated campaign on one social target and the objects go-live enables, campaign first."""

    campaign: str  # the spec name
    target: str
    platform: str
    members: tuple[Member, ...]

    @property
    def status_field(self) -> tuple[str, str, str]:
        return STATUS_FIELDS[self.platform]

    @property
    def ads(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.type == "ad")

    def enable_order(self) -> list[Member]:
        """Ads first, then the ad set / ad group / ad squad, the campaign last: nothing spends half-enabled."""
        rank = {t: i for i, t in enumerate(reversed(GATED_TYPES[self.platform]))}
        return sorted(self.members, key=lambda m: rank[m.type])


def waiting_members(gate: Gate, desired: dict[str, Resource], state: State) -> list[Member]:
    """The members the specs want active that the state does not record active: they wait for review."""
    field_, active, _ = gate.status_field
    out = []
    for member in gate.members:
        resource = desired.get(member.address)
        if resource is None or resource.attributes.get(field_) != active:
            continue  # paused in the spec (`paused: true`): nothing to go live
        recorded = state.resources.get(member.address)
        if recorded is None or recorded.attributes.get(field_) != active:
            out.append(member)
    return out


def hold_for_review(
    resources: list[Resource], gates: list[Gate], state: State
) -> tuple[list[Resource], dict[str, str], list[str]]:
    """`resources` with every waiting member's status paused, the reason per held address, and one
    warning per gate still waiting (the plan's "waiting for review" marks)."""
    desired = {r.address: r for r in resources}
    held: dict[str, Resource] = {}
    reasons: dict[str, str] = {}
    warnings: list[str] = []
    for gate in gates:
        waiting = waiting_members(gate, desired, state)
        field_, _, paused = gate.status_field
        for member in waiting:
            resource = desired[member.address]
            held[member.address] = dataclasses.replace(resource, attributes={**resource.attributes, field_: paused})
            reasons[member.address] = WAITING
        if waiting:
            warnings.append(
                f"{gate.campaign} on {gate.target}: {WAITING} (activation: after_review): kept paused until "
                "every ad is approved; an apply then enables it"
            )
    return [held.get(r.address, r) for r in resources], reasons, warnings


def hold_replacements(changes: list[Change], gates: list[Gate]) -> list[Change]:
    """A replaced member of a gated campaign is a new object with a new review: made paused too.

    (hold_for_review cannot see it: the old object is recorded active.) Once the new one is
    recorded paused, go-live enables it when every ad is approved again.
    """
    status_of = {m.address: g.status_field for g in gates for m in g.members}
    out = []
    for change in changes:
        if change.action is Action.REPLACE and change.address in status_of and change.desired and change.after:
            field_, active, paused = status_of[change.address]
            if change.after.get(field_) == active:
                desired = dataclasses.replace(change.desired, attributes={**change.desired.attributes, field_: paused})
                change = dataclasses.replace(
                    change,
                    after={**change.after, field_: paused},
                    desired=desired,
                    changed_fields=tuple(dict.fromkeys((*change.changed_fields, field_))),
                    reason=f"{change.reason}; {WAITING}" if change.reason else WAITING,
                )
        out.append(change)
    return out
