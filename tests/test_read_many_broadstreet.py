"""BroadstreetProvider.read_many, list_all and review_many against the in-process sandbox.

Objects are made and changed directly through the emulated API (tests/broadstreet_api.py), then
read back a list call per parent; requests are counted with /__sandbox__/stats.
"""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from reconciler.providers.broadstreet import BroadstreetProvider
from tests import provider_kit as kit
from tests.broadstreet_api import NETWORK, TOKEN, BroadstreetApi, gets, requests
from tests.conftest import png_bytes

SMALL_CONSTANT = 6  # list calls for a deleted parent and single reads of deleted objects


def target() -> Any:
    return kit.sandbox_target(
        "bs-main", "broadstreet", {"network_id": NETWORK}, {"token_env": "BROADSTREET_API_TOKEN"}
    )


class Sandbox(kit.ProviderSandbox):
    platform = "broadstreet"

    def provider(self) -> BroadstreetProvider:
        return BroadstreetProvider(target(), TOKEN, transport=self.transport)


Recorded = dict[str, dict[str, dict[str, Any]]]  # type -> id -> recorded attributes


async def build(api: BroadstreetApi) -> Recorded:
    """An account of a few hundred objects, recorded as reconciler would record them."""
    recorded: Recorded = {t: {} for t in ("advertiser", "zone", "campaign", "advertisement", "placement")}
    advertisers = []
    for n in range(3):
        name = f"Advertiser {n}"
        id_ = await api.advertiser(name)
        advertisers.append(id_)
        recorded["advertiser"][id_] = {"name": name, "network_id": NETWORK}
    zones = []
    for n in range(2):
        id_ = await api.zone(f"Zone {n}", alias=f"zone-{n}")
        zones.append(id_)
        recorded["zone"][id_] = {"name": f"Zone {n}", "network_id": NETWORK, "alias": f"zone-{n}"}
    # 60 campaigns for each of the first two advertisers (more than a page of 50 of each), 2 for the third.
    campaigns: dict[str, list[str]] = {}
    for a, count in zip(advertisers, (60, 60, 2), strict=True):
        for n in range(count):
            name = f"c-{a}-{n}"
            id_ = await api.campaign(a, name)
            campaigns.setdefault(a, []).append(id_)
            recorded["campaign"][id_] = {
                "name": name,
                "advertiser_id": a,
                "start_date": "2026-06-01",
                "end_date": "2026-08-31",
                "paused": False,
            }
    ads: dict[str, list[str]] = {}
    for a, count in zip(advertisers[:2], (55, 45), strict=True):
        for n in range(count):
            name = f"ad-{a}-{n}"
            if n % 2:
                id_ = await api.static_ad(a, name, png_bytes(n), "https://acme.example/s")
                attrs = {"type": "static", "destination": "https://acme.example/s", "asset_sha256": f"sha-{n}"}
            else:
                id_ = await api.text_ad(a, name, f"Buy {n}", "https://acme.example/t")
                attrs = {"type": "text", "default_text": f"Buy {n}", "destination": "https://acme.example/t"}
            ads.setdefault(a, []).append(id_)
            recorded["advertisement"][id_] = {"name": name, "advertiser_id": a, **attrs}
    # Three campaigns of the first advertiser share its 55 ads (each ad in one of them), in both zones.
    for c_index, campaign_id in enumerate(campaigns[advertisers[0]][:3]):
        for n, ad_id in enumerate(ads[advertisers[0]]):
            if (n + c_index) % 3:
                continue
            for zone_id in zones:
                restrictions = "phone" if n % 4 == 0 else None  # one string or none (audit row 13)
                id_ = await api.placement(campaign_id, ad_id, zone_id, restrictions)
                recorded["placement"][id_] = {
                    "campaign_id": campaign_id,
                    "advertisement_id": ad_id,
                    "zone_id": zone_id,
                    "restrictions": restrictions,
                }
    return recorded


async def drift(api: BroadstreetApi, recorded: Recorded) -> dict[str, list[str]]:
    """Out-of-band changes: renamed, paused, deleted objects and a deleted parent. Returns the deleted ids."""
    advertisers = list(recorded["advertiser"])
    campaigns = list(recorded["campaign"])
    ads = list(recorded["advertisement"])
    placements = list(recorded["placement"])
    await api.ok("PUT", f"/advertisers/{advertisers[0]}", json={"name": "Renamed advertiser"})
    await api.ok("PUT", f"/zones/{list(recorded['zone'])[1]}", json={"alias": "moved-alias"})
    await api.ok("PUT", f"/campaigns/{campaigns[1]}", json={"name": "Renamed campaign"})
    await api.ok("PUT", f"/campaigns/{campaigns[70]}", json={"paused": True})
    await api.ok("PUT", f"/campaigns/{campaigns[71]}", json={"end_date": "2026-12-31"})
    deleted = {
        "campaign": [campaigns[5], campaigns[90]],
        "advertisement": [ads[3], ads[80]],
        "placement": [placements[0], placements[50]],
        "advertiser": [advertisers[2]],  # its two campaigns stay (the sandbox keeps children)
    }
    for type_, ids in deleted.items():
        for id_ in ids:
            if type_ == "placement":
                await api.delete_placement(id_)
            else:
                await api.ok("DELETE", f"/{type_}s/{id_}")
    return deleted


def test_read_many_matches_read_per_id_with_few_requests() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        api = BroadstreetApi(sb.http)
        recorded = await build(api)
        deleted = await drift(api, recorded)
        for type_, by_id in recorded.items():
            before = await requests(sb)
            many = await p.read_many(type_, by_id)
            sent = gets(before, await requests(sb))
            single = {id_: await p.read(type_, id_, attrs) for id_, attrs in by_id.items()}
            assert many == single, type_
            assert all(many[id_] is None for id_ in deleted.get(type_, ())), type_
            assert sum(v is None for v in many.values()) == len(deleted.get(type_, ())), type_
            if type_ == "placement":
                # Placements are listed by campaign only: one call per campaign that has recorded ones.
                assert sent == len({id_.split("/")[0] for id_ in by_id}) == 3
            else:
                assert sent <= math.ceil(len(by_id) / 50) + SMALL_CONSTANT, (type_, sent, len(by_id))
        # The drift shows, as read() shows it.
        campaigns = list(recorded["campaign"])
        live = await p.read_many("campaign", recorded["campaign"])
        assert live[campaigns[1]]["name"] == "Renamed campaign"  # type: ignore[index]
        assert live[campaigns[70]]["paused"] is True  # type: ignore[index]
        assert live[campaigns[71]]["end_date"] == "2026-12-31"  # type: ignore[index]
        assert live[campaigns[0]] == recorded["campaign"][campaigns[0]]  # untouched: as recorded
        # The orphaned campaigns (their advertiser deleted) are still read, one by one.
        orphans = campaigns[-2:]
        assert all(live[id_] is not None for id_ in orphans)

    Sandbox.run(scenario)


def test_read_many_sends_one_list_call_per_parent() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        api = BroadstreetApi(sb.http)
        recorded = await build(api)
        expected = {"advertiser": 1, "zone": 1, "campaign": 3, "advertisement": 2, "placement": 3}
        for type_, by_id in recorded.items():
            before = await requests(sb)
            live = await p.read_many(type_, by_id)
            assert gets(before, await requests(sb)) == expected[type_], type_
            assert all(live[id_] is not None for id_ in by_id)
        before = await requests(sb)
        assert await p.read_many("campaign", {}) == {}
        assert gets(before, await requests(sb)) == 0

    Sandbox.run(scenario)


def test_list_all_returns_every_live_object_and_leaves_out_deleted_ones() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        api = BroadstreetApi(sb.http)
        recorded = await build(api)
        deleted = await drift(api, recorded)
        # Another network's objects are never listed.
        other = BroadstreetApi(sb.http, network_id=86)
        stranger = await other.advertiser("Elsewhere")
        await other.campaign(stranger, "elsewhere")
        for type_, by_id in recorded.items():
            listed = await p.list_all(type_)
            ids = [item.id for item in listed]
            assert len(ids) == len(set(ids)), type_
            live = set(by_id) - set(deleted.get(type_, ()))
            if type_ in ("campaign", "advertisement"):
                # Listed through the live advertisers: children of the deleted one are out of reach.
                orphaned = {i for i, a in by_id.items() if a["advertiser_id"] in deleted["advertiser"]}
                live -= orphaned
            assert set(ids) == live, type_
            assert all(item.type == type_ for item in listed)
        campaign = next(i for i in await p.list_all("campaign") if i.id == list(recorded["campaign"])[70])
        assert campaign.row["paused"] is True  # paused objects are kept
        placement = (await p.list_all("placement"))[0]
        assert set(placement.row) >= {"campaign_id", "advertisement_id", "zone_id", "restrictions"}

    Sandbox.run(scenario)


def test_review_many_answers_without_a_request() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        api = BroadstreetApi(sb.http)
        advertiser = await api.advertiser("ACME")
        ad = await api.text_ad(advertiser, "t", "Hi", "https://acme.example")
        before = await requests(sb)
        assert await p.review_many("advertisement", {ad: {"name": "t"}, "404": {}}) == {ad: None, "404": None}
        assert await requests(sb) == before

    Sandbox.run(scenario)


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/advertisers", {}, 400, "network_id"),
        ("/zones", {}, 400, "network_id"),
        ("/campaigns", {}, 400, "advertiser_id"),
        ("/campaigns", {"advertiser_id": 10000, "zone_id": 50000}, 400, "not both"),
        ("/campaigns", {"advertiser_id": 99}, 404, "Not found"),
        ("/advertisements", {}, 400, "network_id"),
        ("/advertisements", {"network_id": NETWORK, "advertiser_id": 99}, 404, "Not found"),
        ("/placements", {}, 400, "campaign_id"),
        ("/placements", {"campaign_id": 99}, 404, "Not found"),
    ],
)
def test_sandbox_refuses_list_calls_the_api_refuses(
    path: str, params: dict[str, Any], status: int, message: str
) -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        api = BroadstreetApi(sb.http)
        advertiser = await api.advertiser("ACME")
        zone = await api.zone("Top")
        assert (advertiser, zone) == ("10000", "50000")
        response = await api.call("GET", path, params)
        assert response.status_code == status and message in response.json()["error"]
        # Without the token, nothing is listed.
        no_token = await sb.http.get(f"/broadstreet/api/1{path}", params=params)
        assert no_token.status_code == 401

    kit.in_sandbox(scenario)


def test_lists_filter_by_zone() -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        api = BroadstreetApi(sb.http)
        advertiser = await api.advertiser("ACME")
        top, side = await api.zone("Top"), await api.zone("Side")
        placed, other = await api.campaign(advertiser, "placed"), await api.campaign(advertiser, "other")
        ad = await api.text_ad(advertiser, "t", "Hi", "https://acme.example")
        unplaced = await api.text_ad(advertiser, "u", "Hi", "https://acme.example")
        await api.placement(placed, ad, top)
        in_top = await api.ok("GET", "/campaigns", {"zone_id": top})
        assert [str(c["id"]) for c in in_top["campaigns"]] == [placed]
        assert (await api.ok("GET", "/campaigns", {"zone_id": side}))["campaigns"] == []
        ads = await api.ok("GET", "/advertisements", {"network_id": NETWORK, "zone_id": top})
        assert [str(a["id"]) for a in ads["advertisements"]] == [ad]
        everything = await api.ok("GET", "/advertisements", {"network_id": NETWORK})
        assert {str(a["id"]) for a in everything["advertisements"]} == {ad, unplaced}
        assert other

    kit.in_sandbox(scenario)


class ShortRows(httpx.AsyncBaseTransport):
    """The sandbox behind a proxy that cuts ad list rows down to what BS-JOM's v1 docs show
    (no destination, no text), as the real list may: object reads stay whole."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method != "GET" or not request.url.path.endswith("/advertisements"):
            return response
        body = json.loads(await response.aread())
        for row in body["advertisements"]:
            row.pop("destination", None)
            row.pop("default_text", None)
        return httpx.Response(response.status_code, json=body)


def test_short_list_rows_are_completed_by_object_reads() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        api = BroadstreetApi(sb.http)
        advertiser = await api.advertiser("ACME")
        recorded = {}
        for n in range(3):
            id_ = await api.text_ad(advertiser, f"t{n}", f"Buy {n}", "https://acme.example/t")
            recorded[id_] = {"name": f"t{n}", "advertiser_id": advertiser, "type": "text", "default_text": f"Buy {n}",
                             "destination": "https://acme.example/t"}  # fmt: skip
        # Drift in a field the short rows leave out must still show.
        short = BroadstreetProvider(target(), TOKEN, transport=ShortRows(sb.transport))
        try:
            store = sb.app.state.sandbox.store
            first = next(iter(recorded))
            store.update("broadstreet", "advertisement", first, {"destination": "https://elsewhere.example"})
            live = await short.read_many("advertisement", recorded)
            assert live == {id_: await p.read("advertisement", id_, attrs) for id_, attrs in recorded.items()}
            assert live[first]["destination"] == "https://elsewhere.example"  # type: ignore[index]
            listed = await short.list_all("advertisement")
            assert all(item.row["default_text"] and item.row["destination"] for item in listed)
        finally:
            await short.aclose()

    Sandbox.run(scenario)
