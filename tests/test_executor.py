"""The executor end to end: real BroadstreetProvider, in-process sandbox, LocalFileStore.

Plans are built by hand (the planner is tested elsewhere), from a few Broadstreet
resources: advertiser -> campaign, advertiser -> advertisement (html, no asset),
campaign + advertisement + zone -> placement.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from reconciler.apply import ApplyResult, EventSink, RetryPolicy, execute, render_summary, resolve_pending
from reconciler.apply.events import open_event_sink
from reconciler.apply.executor import CREATES_STAGED_PER_SLOT, infer_refs
from reconciler.model import Action, Change, Operation, Plan, RecordedResource, Resource, TargetConfig
from reconciler.providers.broadstreet import BroadstreetProvider
from reconciler.sandbox import create_app
from reconciler.state import LocalFileStore, PendingOperation

T = "bs"
TOKEN = "tok-very-secret-123"
TARGET = TargetConfig(
    T,
    "broadstreet",
    settings={"network_id": 85},
    credentials={"token_env": "BS_TOKEN"},
    api_base_url="http://sandbox/broadstreet/api/1",
    concurrency=8,
    rate_limit=10_000,  # the provider paces at the target's limit; these tests are about the executor
)
FAST = RetryPolicy(max_attempts=30, base=0.001, max_wait=0.01)
TYPES = ("advertiser", "zone", "campaign", "advertisement", "placement")


# --- building plans by hand ---


def res(type_: str, name: str, refs: dict[str, Resource] | None = None, **attributes: Any) -> Resource:
    refs = refs or {}
    if type_ != "placement":
        attributes = {"name": name, **attributes}
    ref_addresses = {field: r.address for field, r in refs.items()}
    return Resource(
        f"{T}:{type_}/{name}",
        T,
        "broadstreet",
        type_,
        name,
        attributes,
        ref_addresses,
        tuple(sorted(set(ref_addresses.values()))),
    )


def advertiser(name: str) -> Resource:
    return res("advertiser", name, network_id=85)


def zone(name: str) -> Resource:
    return res("zone", name, network_id=85, alias=name)


def campaign(name: str, parent: Resource, end: str = "2026-08-31") -> Resource:
    return res("campaign", name, {"advertiser_id": parent}, start_date="2026-06-01", end_date=end, paused=False)


def ad(name: str, parent: Resource, html: str = "<b>hi</b>") -> Resource:
    return res("advertisement", name, {"advertiser_id": parent}, type="html", html=html)


def placement(c: Resource, a: Resource, z: Resource) -> Resource:
    refs = {"campaign_id": c, "advertisement_id": a, "zone_id": z}
    return res("placement", f"{c.name}.{a.name}.{z.name}", refs, restrictions=None)  # none (audit row 13)


def family(n: int) -> list[Resource]:
    """n advertisers, each with a campaign, an ad and a placement in one shared zone."""
    top = zone("top")
    out = [top]
    for i in range(n):
        a = advertiser(f"acme{i}")
        c, d = campaign(f"summer{i}", a), ad(f"teaser{i}", a)
        out += [a, c, d, placement(c, d, top)]
    return out


def create(r: Resource) -> Change:
    return Change(r.address, T, r.type, Action.CREATE, None, r.attributes, (), r.depends_on, desired=r)


def update(r: Resource, old: RecordedResource, fields: tuple[str, ...]) -> Change:
    return Change(r.address, T, r.type, Action.UPDATE, old.attributes, r.attributes, fields, r.depends_on, "", r, old)


def replace_(r: Resource, old: RecordedResource) -> Change:
    return Change(r.address, T, r.type, Action.REPLACE, old.attributes, r.attributes, (), r.depends_on, "", r, old)


def delete(old: RecordedResource) -> Change:
    return Change(old.address, T, old.type, Action.DELETE, old.attributes, None, recorded=old)


def plan_of(changes: list[Change]) -> Plan:
    return Plan(changes, targets={T: TARGET})


# --- the world: one sandbox, one state, one provider ---


class InFlight:
    """ASGI wrapper counting Broadstreet requests being served at once."""

    def __init__(self, app: Any) -> None:
        self.app, self.now, self.peak = app, 0, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        counted = scope["type"] == "http" and scope["path"].startswith("/broadstreet/")
        if counted:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            if counted:
                self.now -= 1


class World:
    def __init__(self, tmp_path: Path, **sandbox: Any) -> None:
        self.app = InFlight(create_app(**sandbox))
        transport = httpx.ASGITransport(self.app)
        self.control = httpx.AsyncClient(transport=transport, base_url="http://sandbox")
        self.provider = BroadstreetProvider(TARGET, TOKEN, transport=transport)
        self.store = LocalFileStore(tmp_path)
        self.events = io.StringIO()

    async def apply(self, changes: list[Change], **options: Any) -> ApplyResult:
        options.setdefault("retry", FAST)
        with self.store.lock("apply"):
            return await execute(
                plan_of(changes),
                store=self.store,
                providers={T: self.provider},
                events=EventSink(jsonl=self.events),
                **options,
            )

    def event_log(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.events.getvalue().splitlines()]

    def recorded(self, r: Resource) -> RecordedResource:
        return self.store.read().resources[r.address]

    async def objects(self) -> list[dict[str, Any]]:
        response = await self.control.get("/__sandbox__/objects", params={"platform": "broadstreet"})
        return [o for o in response.json() if o["type"] in TYPES]

    async def faults(self, **settings: Any) -> None:
        response = await self.control.post("/__sandbox__/faults", json=settings)
        assert response.status_code == 200, response.text

    async def stats(self) -> dict[str, Any]:
        return (await self.control.get("/__sandbox__/stats")).json()

    async def close(self) -> None:
        await self.provider.aclose()
        await self.control.aclose()


def run(tmp_path: Path, scenario: Callable[[World], Awaitable[None]], **sandbox: Any) -> None:
    async def main() -> None:
        world = World(tmp_path, **sandbox)
        try:
            await scenario(world)
        finally:
            await world.close()

    asyncio.run(main())


async def assert_state_matches_sandbox(world: World, resources: list[Resource]) -> None:
    """Exactly one live object per resource, its id in state, its refs pointing at its parents' ids."""
    state = world.store.read()
    assert state.pending == {}
    assert set(state.resources) == {r.address for r in resources}
    objects = await world.objects()
    assert Counter(o["type"] for o in objects) == Counter(r.type for r in resources)  # zero duplicates
    live = {(o["type"], str(o["id"])): o["fields"] for o in objects}
    for r in resources:
        fields = live[(r.type, state.resources[r.address].id)]
        for field, parent in r.refs.items():
            assert str(fields[field]) == state.resources[parent].id, (r.address, field)


# --- tests ---


def test_first_apply_creates_everything_in_dependency_order(tmp_path: Path) -> None:
    resources = family(2)

    async def scenario(world: World) -> None:
        result = await world.apply([create(r) for r in resources])
        assert result.ok, render_summary(result)
        assert result.counts == {"done": len(resources), "failed": 0, "skipped": 0, "rolled_back": 0}
        await assert_state_matches_sandbox(world, resources)
        state = world.store.read()
        pl = resources[4]
        assert state.resources[pl.address].id == "/".join(
            state.resources[pl.refs[k]].id for k in ("campaign_id", "advertisement_id", "zone_id")
        )
        assert state.resources[pl.address].depends_on == pl.depends_on
        # Each operation's events: start then done; a parent is done before its child starts.
        log = world.event_log()
        position = {(e["event"], e["address"]): i for i, e in enumerate(log)}
        for r in resources:
            assert position[("op:start", r.address)] < position[("op:done", r.address)]
            for parent in r.depends_on:
                assert position[("op:done", parent)] < position[("op:start", r.address)]
        assert log[-1]["event"] == "apply:done" and log[-1]["counts"]["done"] == len(resources)
        assert {"event", "address", "action", "attempt", "duration_ms", "error_class", "message", "ts"} <= set(log[0])

    run(tmp_path, scenario)


def test_transient_faults_are_retried_until_everything_converges(tmp_path: Path) -> None:
    resources = family(4)

    async def scenario(world: World) -> None:
        result = await world.apply([create(r) for r in resources])
        assert result.ok, render_summary(result)
        await assert_state_matches_sandbox(world, resources)
        assert (await world.stats())["faults"] > 0
        retries = [e for e in world.event_log() if e["event"] == "op:retry"]
        assert retries and {e["error_class"] for e in retries} == {"NETWORK"}
        assert all(e["attempt"] >= 2 for e in retries)
        assert TOKEN not in world.events.getvalue()

    run(tmp_path, scenario, fault_rate=0.3, seed=7)


def test_lost_responses_never_duplicate_an_object(tmp_path: Path) -> None:
    resources = family(5)

    async def scenario(world: World) -> None:
        result = await world.apply([create(r) for r in resources])
        assert result.ok, render_summary(result)
        assert (await world.stats())["dropped"] > 0
        await assert_state_matches_sandbox(world, resources)  # object counts equal the plan
        adopted = [e for e in world.event_log() if e["event"] == "op:done" and "adopted" in (e["message"] or "")]
        assert adopted

    run(tmp_path, scenario, drop_response_rate=0.3, seed=3)


def test_a_permanent_failure_skips_only_its_dependents(tmp_path: Path) -> None:
    resources = family(2)
    ads = [r for r in resources if r.type == "advertisement"]
    placements = [r for r in resources if r.type == "placement"]

    async def scenario(world: World) -> None:
        await world.faults(reject=[{"platform": "broadstreet", "type": "advertisement"}])
        result = await world.apply([create(r) for r in resources])
        assert not result.ok
        failed = {o.address: o for o in result.failures}
        assert set(failed) == {a.address for a in ads}
        assert all(o.error_class == "VALIDATION" and o.attempts == 1 for o in failed.values())  # not retried
        skipped = {o.address: o.cause for o in result.outcomes.values() if o.status == "skipped"}
        assert set(skipped) == {p.address for p in placements}
        assert {skipped[p.address] for p in placements} == {f"create:{a.address}" for a in ads}
        done = [r for r in resources if r.type not in ("advertisement", "placement")]
        await assert_state_matches_sandbox(world, done)  # the independent branches went on; no pending left
        skip_events = [e for e in world.event_log() if e["event"] == "op:skip"]
        assert {e["address"] for e in skip_events} == {p.address for p in placements}
        summary = render_summary(result)
        assert "Apply failed" in summary and "VALIDATION" in summary
        for a, p in zip(ads, placements, strict=True):
            assert a.address in summary and f"skipped dependents: {p.address}" in summary

    run(tmp_path, scenario)


def test_stop_starts_nothing_after_the_first_failure(tmp_path: Path) -> None:
    acme = advertiser("acme")
    resources = [acme, campaign("summer", acme), zone("top"), *(zone(f"z{i}") for i in range(6))]

    async def scenario(world: World) -> None:
        # Latency: every call of the second run is sent before the rejection comes back.
        await world.faults(latency_ms=20, reject=[{"platform": "broadstreet", "type": "advertiser"}])
        result = await world.apply([create(r) for r in resources], on_error="stop", parallelism=2)
        assert [o.address for o in result.failures] == [acme.address]
        log = world.event_log()
        first_error = next(i for i, e in enumerate(log) if e["event"] == "op:error")
        assert not [e for e in log[first_error:] if e["event"] == "op:start"]
        started = {e["address"] for e in log if e["event"] == "op:start"}
        assert acme.address in started  # the deepest chain goes first
        not_started = {o.address for o in result.outcomes.values() if o.status == "skipped" and o.cause is None}
        assert not_started and not_started.isdisjoint(started)
        assert started | not_started == {r.address for r in resources} - {resources[1].address}
        assert result.outcomes[f"create:{resources[1].address}"].cause == f"create:{acme.address}"
        # The zones that were running when the advertiser failed finished and are recorded.
        await assert_state_matches_sandbox(world, [r for r in resources if r.address in started - {acme.address}])
        assert "Not started (the apply stopped after the first failure)" in render_summary(result)

    run(tmp_path, scenario, latency_ms=20)


def test_rollback_restores_the_previous_objects(tmp_path: Path) -> None:
    top, old_zone = zone("top"), zone("old")
    acme = advertiser("acme")
    summer, teaser = campaign("summer", acme), ad("teaser", acme)
    first = [top, old_zone, acme, summer, teaser, placement(summer, teaser, top)]

    async def scenario(world: World) -> None:
        assert (await world.apply([create(r) for r in first])).ok

        def shape(objects: list[dict[str, Any]]) -> Counter[str]:
            """The objects without their ids (rollback makes deleted ones again, under new ids)."""
            skip = {"advertiser_id", "campaign_id", "advertisement_id", "zone_id", "html", "path"}
            return Counter(
                json.dumps([o["type"], {k: v for k, v in o["fields"].items() if k not in skip}], sort_keys=True)
                for o in objects
            )

        before = await world.objects()
        # A second run: update the campaign, replace the ad (new content) and so its
        # placement, delete a zone; creating an advertiser fails (rejected) while the rest runs.
        teaser2 = ad("teaser", acme, html="<b>new</b>")
        changes = [
            update(campaign("summer", acme, end="2026-09-30"), world.recorded(summer), ("end_date",)),
            replace_(teaser2, world.recorded(teaser)),
            replace_(placement(summer, teaser2, top), world.recorded(first[-1])),
            delete(world.recorded(old_zone)),
            create(advertiser("other")),
        ]
        # Latency: every call of the second run is sent before the rejection comes back.
        await world.faults(latency_ms=20, reject=[{"platform": "broadstreet", "type": "advertiser"}])
        result = await world.apply(changes, on_error="rollback")
        assert [o.address for o in result.failures] == [f"{T}:advertiser/other"]
        assert result.undo_failures == []
        rolled_back = {o.key for o in result.outcomes.values() if o.status == "rolled_back"}
        assert "done" not in {o.status for o in result.outcomes.values()}  # every completed step was undone
        assert rolled_back >= {  # these are sent at once, before the failure (the new placement may be, too)
            f"update:{summer.address}",
            f"create:{teaser.address}",
            f"delete:{first[-1].address}",
            f"delete:{old_zone.address}",
        }
        after = await world.objects()
        assert shape(after) == shape(before)
        await assert_state_matches_sandbox(world, first)
        live_ad = next(o for o in after if o["type"] == "advertisement")
        assert str(live_ad["id"]) == world.recorded(teaser).id  # the old ad is current again
        assert world.recorded(summer).attributes["end_date"] == "2026-08-31"
        assert any(e.get("rollback") for e in world.event_log())

    run(tmp_path, scenario)


def test_replace_keeps_the_old_object_until_the_new_one_is_in_use(tmp_path: Path) -> None:
    top, acme = zone("top"), advertiser("acme")
    summer, teaser = campaign("summer", acme), ad("teaser", acme)
    first = [top, acme, summer, teaser, placement(summer, teaser, top)]

    async def scenario(world: World) -> None:
        assert (await world.apply([create(r) for r in first])).ok
        old_id = world.recorded(teaser).id
        teaser2 = ad("teaser", acme, html="<b>new</b>")
        second = [top, acme, summer, teaser2, placement(summer, teaser2, top)]
        result = await world.apply(
            [replace_(teaser2, world.recorded(teaser)), replace_(second[-1], world.recorded(first[-1]))]
        )
        assert result.ok, render_summary(result)
        log = [(e["event"], e["address"]) for e in world.event_log() if e["event"] in ("op:start", "op:done")]
        # The old ad was deleted last, after the placement had moved to the new one.
        assert log[-1] == ("op:done", f"{teaser.address}#deposed")
        assert world.recorded(teaser).id != old_id
        await assert_state_matches_sandbox(world, second)

    run(tmp_path, scenario)


def test_rate_limited_calls_wait_at_least_retry_after(tmp_path: Path) -> None:
    zones = [zone(f"z{i}") for i in range(8)]

    async def scenario(world: World) -> None:
        result = await world.apply([create(z) for z in zones])  # FAST backoff: at most 0.01s of its own
        assert result.ok, render_summary(result)
        await assert_state_matches_sandbox(world, zones)
        retries = [e for e in world.event_log() if e["event"] == "op:retry"]
        assert retries and {e["error_class"] for e in retries} == {"RATE_LIMIT"}
        waits = [float(e["message"].rsplit("retrying in ", 1)[1].rstrip("s")) for e in retries]
        assert min(waits) >= 1.0  # the sandbox's Retry-After is whole seconds, >= 1

    run(tmp_path, scenario, rate_limit=5)


def test_creates_are_journaled_while_waiting_for_a_slot_and_only_a_few_at_a_time(tmp_path: Path) -> None:
    zones = [zone(f"z{i}") for i in range(16)]

    async def scenario(world: World) -> None:
        pending_at_begin: list[int] = []
        begin = world.store.begin

        def counting_begin(op: PendingOperation) -> None:
            begin(op)
            pending_at_begin.append(len(world.store.read().pending))

        world.store.begin = counting_begin  # type: ignore[method-assign]
        result = await world.apply([create(z) for z in zones], target_concurrency={T: 2})
        assert result.ok
        assert world.app.peak == 2  # two requests in flight at most
        # Journaled ahead of the slots (more pending than requests in flight), but bounded.
        assert max(pending_at_begin) > world.app.peak
        assert max(pending_at_begin) == CREATES_STAGED_PER_SLOT * 2
        assert world.store.read().pending == {}
        assert gc.get_freeze_count() == 0  # the collector is back to normal after the walk

    run(tmp_path, scenario, latency_ms=30)


def test_parallel_steps_overlap_up_to_the_limits(tmp_path: Path) -> None:
    zones = [zone(f"z{i}") for i in range(12)]

    async def scenario(world: World) -> None:
        result = await world.apply([create(z) for z in zones[:6]], target_concurrency={T: 4})
        assert result.ok
        assert world.app.peak == 4
        world.app.peak = 0
        result = await world.apply([create(z) for z in zones[6:]], parallelism=3, target_concurrency={T: 5})
        assert result.ok
        assert world.app.peak == 3

    run(tmp_path, scenario, latency_ms=50)


def test_a_ref_without_an_id_fails_as_a_dependency_without_a_request(tmp_path: Path) -> None:
    acme = advertiser("acme")

    async def scenario(world: World) -> None:
        result = await world.apply([create(campaign("summer", acme))])
        (failure,) = result.failures
        assert failure.error_class == "DEPENDENCY" and acme.address in failure.message
        assert (await world.stats())["requests"].get("broadstreet", {}) == {}

    run(tmp_path, scenario)


def test_a_create_whose_outcome_stays_unknown_is_left_pending(tmp_path: Path) -> None:
    top = zone("top")

    async def scenario(world: World) -> None:
        await world.faults(fault_rate=1.0)  # every call answers 503: a write's outcome is unknown
        result = await world.apply([create(top)], retry=replace(FAST, max_attempts=3))
        (failure,) = result.failures
        # The create, then the lookup of its unknown outcome, whose own retries (the client's) give up:
        # the step does not retry them again (that would multiply the attempts during an outage).
        assert failure.error_class == "NETWORK" and failure.attempts == 2 and failure.message.startswith("GET ")
        assert set(world.store.read().pending) == {top.address}  # for the next apply to look up
        await world.faults(fault_rate=0.0)
        with world.store.lock("apply"):
            lines = await resolve_pending(world.store.read(), world.store, {T: world.provider}, retry=FAST)
        assert world.store.read().pending == {} and top.address not in world.store.read().resources
        assert lines == [f"{top.address}: an interrupted create had not been carried out; the plan will create it"]

    run(tmp_path, scenario)


def test_resolve_pending_adopts_what_exists_and_forgets_the_rest(tmp_path: Path) -> None:
    acme, lost, never = advertiser("acme"), advertiser("lost"), advertiser("never")

    async def scenario(world: World) -> None:
        assert (await world.apply([create(acme)])).ok
        # A create that reached the platform but was never recorded (the process died).
        made = await world.provider.create(
            Operation(lost.address, Action.CREATE, lost.type, lost.name, dict(lost.attributes))
        )
        with world.store.lock("apply"):
            for r in (lost, never):
                world.store.begin(PendingOperation(r.address, "create", r.type, T, r.name, dict(r.attributes)))
            world.store.begin(PendingOperation(acme.address, "update", "advertiser", T, "acme", {"name": "x"}))
            # A replace killed between keeping the old object aside and the create.
            old = world.recorded(acme)
            world.store.record(f"{acme.address}#deposed", replace(old, address=f"{acme.address}#deposed"))
            lines = await resolve_pending(world.store.read(), world.store, {T: world.provider}, retry=FAST)
        state = world.store.read()
        assert state.pending == {}
        assert state.resources[lost.address].id == made.id
        assert never.address not in state.resources
        assert f"{acme.address}#deposed" not in state.resources and acme.address in state.resources
        assert len(lines) == 4 and any(made.id in line for line in lines)

    run(tmp_path, scenario)


def test_progress_plain_lines_and_tty_line(tmp_path: Path) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    resources = family(1)

    async def scenario(world: World) -> None:
        plain, tty = io.StringIO(), Terminal()
        for stream, changes in ((plain, [create(r) for r in resources]), (tty, [create(zone("other"))])):
            with world.store.lock("apply"), open_event_sink(str(tmp_path / "events.jsonl"), console=stream) as sink:
                await execute(plan_of(changes), store=world.store, providers={T: world.provider}, events=sink)
        text = plain.getvalue()
        campaign_id = world.recorded(resources[2]).id
        assert f"created {resources[2].address} (id {campaign_id}) in " in text
        assert "\r" not in text and "Apply complete: 5 done in" in text
        drawn = tty.getvalue()
        # The rich bar, drawn when the walk starts and once more as it ends, then what was made, with its id.
        assert " 0/1 " in drawn and " 1/1 " in drawn and "in flight: " in drawn
        other = world.recorded(zone("other")).id
        assert f"{T}:zone/other: Creation complete after " in drawn and f"s [id={other}]\n" in drawn
        assert "Apply complete: 1 done in" in drawn
        lines = (tmp_path / "events.jsonl").read_text().splitlines()
        assert [json.loads(line)["event"] for line in lines].count("apply:done") == 2  # appended, not replaced

    run(tmp_path, scenario)


def test_infer_refs_finds_nested_ids_and_tells_coinciding_ids_apart_by_name() -> None:
    ids = {"m:adcreative/k": "77", "bs:campaign/c": "5", "bs:zone/z": "5", "bs:advertisement/a": "9"}
    attributes = {
        "creative": {"creative_id": "77"},
        "image_ids": ["9"],
        "campaign_id": "5",
        "zone_id": "5",
        "weight": 5,  # not a string: never an id
        "name": "c",
    }
    assert infer_refs(attributes, ids) == {
        "creative.creative_id": "m:adcreative/k",
        "image_ids.0": "bs:advertisement/a",
        "campaign_id": "bs:campaign/c",
        "zone_id": "bs:zone/z",
    }
