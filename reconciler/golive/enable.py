"""The apply side of review-gated go-live: after the executor's walk, enable what passed review.

For each gated campaign and target whose objects still wait (hold.waiting_members), read the
review of every ad of that campaign on that target (one review_many per target); when all are
approved, enable the waiting objects through the providers' update path, ads first and the campaign
last, each journaled like any other update (begin, then record the attributes the platform took).
A rejected ad keeps the campaign paused; a pending one leaves it for `--wait-for-review` or a
later apply.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from reconciler.golive.hold import Gate, Member, waiting_members
from reconciler.model import Action, Operation, Resource, split_address
from reconciler.providers.base import Provider, ProviderError
from reconciler.state.store import PendingOperation, StateStore

Outcome = Literal["went live", "pending", "rejected", "failed"]
FIRST_POLL_S = 1.0  # then doubling: reviews take minutes to hours, a poll a second would only burn quota
MAX_POLL_S = 60.0


@dataclass(frozen=True)
class GoLive:
    gate: Gate
    outcome: Outcome
    detail: str

    def line(self) -> str:
        where = f"{self.gate.campaign} on {self.gate.target}"
        if self.outcome == "went live":
            return f"{where}: every ad approved; went live ({self.detail})"
        if self.outcome == "pending":
            return f"{where}: waiting for review ({self.detail}); kept paused"
        if self.outcome == "rejected":
            return f"{where}: stays paused: {self.detail}"
        return f"{where}: go-live failed: {self.detail}"


async def go_live_once(
    gates: list[Gate], desired: Mapping[str, Resource], store: StateStore, providers: Mapping[str, Provider]
) -> list[GoLive]:
    """One pass over the gates still waiting; a gate already live is left out of the answer."""
    results = []
    for gate in gates:
        if gate.target not in providers:
            continue
        state = store.read()
        waiting = waiting_members(gate, dict(desired), state)
        if not waiting:
            continue
        results.append(await _one(gate, waiting, store, providers[gate.target]))
    return results


async def _one(gate: Gate, waiting: list[Member], store: StateStore, provider: Provider) -> GoLive:
    state = store.read()
    recorded = {m.address: state.resources.get(m.address) for m in gate.ads}
    missing = [a for a, r in recorded.items() if r is None]
    if missing:
        return GoLive(gate, "pending", f"{len(missing)} ad{'s' * (len(missing) != 1)} not created yet")
    ads = {a: r for a, r in recorded.items() if r is not None}
    try:
        verdicts = await provider.review_many("ad", {r.id: r.attributes for r in ads.values()})
    except ProviderError as error:
        return GoLive(gate, "failed", f"reading reviews: {error}")
    rejected = []
    approved = 0
    for address, resource in sorted(ads.items()):
        verdict = verdicts.get(resource.id)
        if verdict is None or verdict.status == "pending":
            continue
        if verdict.status == "rejected":
            rejected.append(f"{address} rejected" + (f": {verdict.reason}" if verdict.reason else ""))
        else:
            approved += 1
    if rejected:
        return GoLive(gate, "rejected", "; ".join(rejected))
    if approved < len(ads):
        return GoLive(gate, "pending", f"{approved} of {len(ads)} ads approved")
    field_, active, _ = gate.status_field
    order = [m for m in gate.enable_order() if m in waiting]
    for member in order:
        current = store.read().resources[member.address]
        attributes = {**current.attributes, field_: active}
        name = split_address(member.address)[2]
        op = Operation(member.address, Action.UPDATE, member.type, name, attributes, id=current.id,
                       changed_fields=(field_,))  # fmt: skip
        store.begin(
            PendingOperation(
                member.address, "update", member.type, current.target, name, attributes, depends_on=current.depends_on
            )  # fmt: skip
        )
        try:
            applied = await provider.update(op)
        except ProviderError as error:
            if not error.outcome_unknown:  # refused: nothing changed; an unknown outcome stays for apply to resolve
                store.forget_pending(member.address)
            return GoLive(gate, "failed", f"enabling {member.address}: {error}")
        store.record(member.address, dataclasses.replace(current, attributes=applied))
    return GoLive(gate, "went live", f"enabled {len(order)} object{'s' * (len(order) != 1)}")


async def go_live(
    gates: list[Gate],
    desired: Mapping[str, Resource],
    store: StateStore,
    providers: Mapping[str, Provider],
    notify: Callable[[str], None],
    wait_s: float | None = None,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[GoLive]:
    """Enable what passed review; with `wait_s`, poll (with backoff) until no gate is pending or the time is up."""
    deadline = clock() + (wait_s or 0)
    delay = FIRST_POLL_S
    done: list[GoLive] = []
    while True:
        results = await go_live_once(gates, desired, store, providers)
        settled = [r for r in results if r.outcome != "pending"]
        for result in settled:
            notify(result.line())
        done += settled
        pending = [r for r in results if r.outcome == "pending"]
        left = deadline - clock()
        if not pending or wait_s is None or left <= 0:
            for result in pending:
                notify(result.line() + ("; a later apply enables it once approved" if wait_s is None
                                        else f"; gave up after {format_duration(wait_s)}"))  # fmt: skip
            return done + pending
        pause = min(delay, left)
        summary = ", ".join(f"{r.gate.campaign} on {r.gate.target} ({r.detail})" for r in pending)
        notify(f"Waiting for review: {summary}; next check in {pause:.0f}s, {format_duration(left)} left")
        await sleep(pause)
        delay = min(delay * 2, MAX_POLL_S)


def format_duration(seconds: float) -> str:
    """Seconds as Terraform writes durations: 90 -> '1m30s'."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """A duration as Terraform writes them ('40s', '5m', '1h30m', '500ms'): seconds. ValueError otherwise."""
    import re

    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration: write it as Terraform does, e.g. 40s, 5m, 1h30m")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r}: a duration must be more than 0s")
    return seconds
