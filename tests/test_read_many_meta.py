"""MetaProvider.read_many / review_many / list_all through the emulated account edges, by the page.

Objects are made directly through the emulated Graph API (as someone working in Ads Manager
would), then read back both ways: read_many must answer exactly what read() answers per id, in
at most one GET per 50 objects (plus a few by id for the archived and deleted).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from reconciler.providers import meta as meta_provider
from reconciler.providers.base import Review
from reconciler.providers.meta import MetaProvider
from reconciler.sandbox.meta import routes
from tests import provider_kit as kit
from tests.conftest import png_bytes
from tests.test_provider_meta import TOKEN, adset_attrs, campaign_attrs, target
from tests.test_sandbox_meta import ACCOUNT, MP4, Graph

NUMBER = ACCOUNT.removeprefix("act_")


class Meta(Graph):
    """The emulated Graph with raw calls (Graph) and a provider on the same sandbox."""

    def provider(self) -> MetaProvider:
        return MetaProvider(target(), TOKEN, transport=self.transport)

    async def gets(self) -> int:
        return (await self.requests())["GET"]


def run(scenario: Callable[[Meta, MetaProvider], Awaitable[None]]) -> None:
    async def with_provider(sandbox: Meta) -> None:
        provider = sandbox.provider()
        try:
            await scenario(sandbox, provider)
        finally:
            await provider.aclose()

    kit.in_sandbox(with_provider, Meta)


async def each_read(p: MetaProvider, type_: str, recorded: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {id_: await p.read(type_, id_, attrs) for id_, attrs in recorded.items()}


async def counted(sb: Meta, call: Awaitable[Any]) -> tuple[Any, int]:
    before = await sb.gets()
    result = await call
    return result, await sb.gets() - before


def test_campaigns_over_several_pages_mixed_states_in_one_get_per_50() -> None:
    async def scenario(sb: Meta, p: MetaProvider) -> None:
        n = 230  # three chunks of 100 ids
        ids = [await sb.campaign(f"c{i}") for i in range(n)]
        recorded = {id_: campaign_attrs(f"c{i}") for i, id_ in enumerate(ids)}
        drifted, paused, deleted, archived = ids[3], ids[150], ids[7], ids[201]
        await sb.ok("POST", f"/{drifted}", json={"name": "renamed by hand"})
        await sb.ok("POST", f"/{paused}", json={"status": "PAUSED"})
        await sb.ok("DELETE", f"/{deleted}")
        await sb.ok("POST", f"/{archived}", json={"status": "ARCHIVED"})
        recorded[ids[0]] = campaign_attrs("c0", daily_budget=1000)  # a field it never had: unset

        many, gets = await counted(sb, p.read_many("campaign", recorded))
        assert many == await each_read(p, "campaign", recorded)
        assert list(many) == ids  # every id, in the order asked
        assert many[drifted]["name"] == "renamed by hand" and many[paused]["status"] == "PAUSED"
        assert many[deleted] is None and many[archived]["status"] == "ARCHIVED"
        assert many[ids[0]] == campaign_attrs("c0")  # Graph leaves unset fields out: unset, not carried over
        # Three filtered pages, then one GET by id each for the archived and the deleted one.
        assert gets == 3 + 2 <= math.ceil(n / 50) + 2

    run(scenario)


def test_every_type_reads_as_read_does() -> None:
    async def scenario(sb: Meta, p: MetaProvider) -> None:
        campaign = await sb.campaign("summer")
        adsets = {await sb.adset(campaign, f"s{i}"): adset_attrs(campaign, f"s{i}") for i in range(3)}
        first = next(iter(adsets))
        await sb.ok(
            "POST",
            f"/{first}",
            json={
                "daily_budget": 7000,
                "targeting": {
                    "geo_locations": {"countries": ["FR"]},
                    "targeting_automation": {"advantage_audience": 0},
                },
            },
        )
        hashes = [await sb.image(seed) for seed in range(3)]
        creatives = {await sb.creative(h, f"summer.b{i}"): h for i, h in enumerate(hashes)}
        ads = {await sb.ad(first, c, f"summer.b{i}"): c for i, c in enumerate(creatives)}
        await sb.ok("DELETE", f"/{ACCOUNT}/adimages", {"hash": hashes[2]})
        await sb.ok("POST", f"/{next(iter(ads))}", json={"status": "PAUSED"})
        video = (await sb.ok("POST", f"/{ACCOUNT}/advideos", {"name": "clip"}, files={"source": ("c.mp4", MP4)}))["id"]

        recorded_by_type: dict[str, dict[str, dict[str, Any]]] = {
            "adset": adsets,
            "adimage": {h: {"account_id": NUMBER, "name": "banner", "asset_sha256": "x"} for h in hashes},
            "adcreative": {c: {"account_id": NUMBER, "name": f"summer.b{i}"} for i, c in enumerate(creatives)},
            "ad": {
                a: {
                    "account_id": NUMBER,
                    "name": f"summer.b{i}",
                    "status": "ACTIVE",
                    "adset_id": first,
                    "creative": {"creative_id": c},
                }
                for i, (a, c) in enumerate(ads.items())
            },  # fmt: skip
            "advideo": {video: {"account_id": NUMBER, "name": "clip", "asset_sha256": "y"}, "1020999": {"name": "x"}},
        }
        for type_, recorded in recorded_by_type.items():
            many, gets = await counted(sb, p.read_many(type_, recorded))
            assert many == await each_read(p, type_, recorded), type_
            gone = 1 if type_ in ("advideo",) else 0  # the video that never existed is read by id
            assert gets == 1 + gone, type_
        assert (await p.read_many("adimage", recorded_by_type["adimage"]))[hashes[2]] is None
        # Drift shows (the update replaced targeting whole: age_min is gone), in the keys we manage only.
        assert (await p.read_many("adset", adsets))[first]["targeting"] == {
            "geo_locations": {"countries": ["FR"]},
            "targeting_automation": {"advantage_audience": 0},
        }
        assert await p.read_many("ad", {}) == {}

    run(scenario)


def test_read_many_follows_next_when_the_edge_caps_its_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    # An edge whose maximum limit is below what the provider asks: Graph answers shorter pages with
    # a `next` link (graph-api/results), and the provider must follow it, not stop at the short page.
    monkeypatch.setattr(routes, "MAX_LIMIT", 30)

    async def scenario(sb: Meta, p: MetaProvider) -> None:
        ids = [await sb.campaign(f"c{i}") for i in range(75)]
        recorded = {id_: campaign_attrs(f"c{i}") for i, id_ in enumerate(ids)}
        many, gets = await counted(sb, p.read_many("campaign", recorded))
        assert all(many[id_] == recorded[id_] for id_ in ids)
        assert gets == 3  # 30 + 30 + 15 of one filtered list
        listed, gets = await counted(sb, p.list_all("campaign"))
        assert sorted(obj.id for obj in listed) == sorted(ids) and gets == 3

    run(scenario)


def test_review_many_through_the_ads_edge() -> None:
    async def scenario(sb: Meta, p: MetaProvider) -> None:
        await sb.control("POST", "/review", {"name_contains": "bad", "status": "rejected",
                                               "reason": "Too much text"})  # fmt: skip
        await sb.control("POST", "/review", {"name_contains": "slow", "status": "pending"})
        campaign = await sb.campaign("summer")
        adset = await sb.adset(campaign)
        creative = await sb.creative(await sb.image())
        names = ["ok", "bad", "slow", "gone", *(f"more{i}" for i in range(60))]
        ads = {await sb.ad(adset, creative, f"summer.{name}"): name for name in names}
        gone = next(a for a, name in ads.items() if name == "gone")
        await sb.ok("DELETE", f"/{gone}")
        recorded = {a: {"account_id": NUMBER, "name": f"summer.{name}"} for a, name in ads.items()}

        many, gets = await counted(sb, p.review_many("ad", recorded))
        single = {a: await p.review("ad", a, attrs) for a, attrs in recorded.items()}
        assert many == single
        by_name = {ads[a]: review for a, review in many.items()}
        assert by_name["bad"] == Review("rejected", "Too much text") and by_name["slow"] == Review("pending")
        assert by_name["ok"] == Review("approved")
        assert gets == 1 + 1  # one page of 64 ids, then the deleted ad by id

        others, gets = await counted(sb, p.review_many("adset", {adset: {}}))
        assert others == {adset: None} and gets == 0

    run(scenario)


def test_list_all_pages_through_every_edge_and_leaves_out_deleted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meta_provider, "PAGE_SIZE", 10)

    async def scenario(sb: Meta, p: MetaProvider) -> None:
        campaigns = [await sb.campaign(f"c{i}") for i in range(23)]
        await sb.ok("DELETE", f"/{campaigns[5]}")
        await sb.ok("POST", f"/{campaigns[6]}", json={"status": "PAUSED"})
        adsets = [await sb.adset(campaigns[0], f"s{i}") for i in range(12)]
        hashes = [await sb.image(seed) for seed in range(11)]
        await sb.ok("DELETE", f"/{ACCOUNT}/adimages", {"hash": hashes[0]})
        creative = await sb.creative(hashes[1])
        ads = [await sb.ad(adsets[0], creative, f"a{i}") for i in range(3)]
        video = (await sb.ok("POST", f"/{ACCOUNT}/advideos", {"name": "clip"}, files={"source": ("c.mp4", MP4)}))["id"]

        listed, gets = await counted(sb, p.list_all("campaign"))
        assert sorted(obj.id for obj in listed) == sorted(set(campaigns) - {campaigns[5]})
        assert gets == 3  # 22 rows, 10 a page
        paused = next(obj for obj in listed if obj.id == campaigns[6])
        assert paused.row["status"] == "PAUSED" and paused.row["objective"] == "OUTCOME_TRAFFIC"
        assert {obj.id for obj in await p.list_all("adset")} == set(adsets)
        images = await p.list_all("adimage")
        assert {obj.id for obj in images} == set(hashes[1:])
        assert all(obj.row["width"] == 1 and obj.row["url"].startswith("http") for obj in images)
        assert {obj.id for obj in await p.list_all("adcreative")} == {creative}
        ad_rows = await p.list_all("ad")
        assert {obj.id for obj in ad_rows} == set(ads) and ad_rows[0].row["creative"] == {"id": creative}
        videos = await p.list_all("advideo")
        assert [obj.id for obj in videos] == [video] and await p.download(videos[0].row["source"]) == MP4
        (account,) = await p.list_all("adaccount")
        assert account.row["currency"] == "USD" and account.id == NUMBER
        # attributes_of reads a listed row as read() reads the object.
        attrs = campaign_attrs("c6", status="PAUSED")
        assert p.attributes_of("campaign", paused.row, attrs) == await p.read("campaign", campaigns[6], attrs)

    run(scenario)


def test_read_many_of_many_ad_sets_stays_under_one_get_per_50() -> None:
    async def scenario(sb: Meta, p: MetaProvider) -> None:
        campaign = await sb.campaign("big")
        ids = await asyncio.gather(*(sb.adset(campaign, f"s{i}") for i in range(160)))
        recorded = {id_: adset_attrs(campaign, f"s{i}") for i, id_ in enumerate(ids)}
        many, gets = await counted(sb, p.read_many("adset", recorded))
        assert many == {id_: {k: v for k, v in attrs.items()} for id_, attrs in recorded.items()}
        assert gets <= math.ceil(len(ids) / 50) and gets == 2

    run(scenario)


# --- the emulated edges page and filter as Graph does, and refuse what it refuses ---


def filtering(field: str, value: Any, operator: str = "IN") -> dict[str, str]:
    return {"filtering": json.dumps([{"field": field, "operator": operator, "value": value}])}


def test_edge_pages_forward_and_back_and_caps_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes, "MAX_LIMIT", 5)

    async def scenario(sb: Meta, p: MetaProvider) -> None:
        ids = [await sb.campaign(f"c{i}") for i in range(12)]
        first = await sb.ok("GET", f"/{ACCOUNT}/campaigns", {"limit": 1000})
        assert len(first["data"]) == 5 and "next" in first["paging"] and "previous" not in first["paging"]
        second = await sb.ok("GET", f"/{ACCOUNT}/campaigns", {"limit": 5, "after": first["paging"]["cursors"]["after"]})
        third = await sb.ok("GET", f"/{ACCOUNT}/campaigns", {"limit": 5, "after": second["paging"]["cursors"]["after"]})
        assert len(third["data"]) == 2 and "next" not in third["paging"] and "previous" in third["paging"]
        seen = [row["id"] for page in (first, second, third) for row in page["data"]]
        assert seen == ids[::-1]  # newest first, each once
        back = await sb.ok(
            "GET", f"/{ACCOUNT}/campaigns", {"limit": 5, "before": second["paging"]["cursors"]["before"]}
        )
        assert back["data"] == first["data"]
        # The next link is a whole request: following it as is gives the next page.
        followed = (await sb.http.get(first["paging"]["next"])).json()
        assert followed["data"] == second["data"]
        for bad in ({"limit": "ten"}, {"limit": -1}, {"limit": 0}, {"after": "x", "before": "y"}):
            assert (await sb.error("GET", f"/{ACCOUNT}/campaigns", bad))["code"] == 100, bad

    run(scenario)


def test_edge_filters_by_id_and_name_and_refuses_unknown_fields() -> None:
    async def scenario(sb: Meta, p: MetaProvider) -> None:
        ids = [await sb.campaign(f"c{i}") for i in range(6)]
        await sb.ok("POST", f"/{ids[1]}", json={"status": "ARCHIVED"})
        some = await sb.ok("GET", f"/{ACCOUNT}/campaigns", {**filtering("id", ids[:3]), "fields": "id,name,status"})
        # Archived objects are left out of edge reads unless filtered for.
        assert [row["id"] for row in some["data"]] == [ids[2], ids[0]]
        assert set(some["data"][0]) == {"id", "name", "status"}
        archived = await sb.ok("GET", f"/{ACCOUNT}/campaigns", {"effective_status": json.dumps(["ARCHIVED"])})
        assert [row["id"] for row in archived["data"]] == [ids[1]]
        named = await sb.ok("GET", f"/{ACCOUNT}/campaigns", filtering("name", "c4", "EQUAL"))
        assert [row["id"] for row in named["data"]] == [ids[4]]
        refused = [
            filtering("colour", ["red"]),  # no such field on a campaign
            filtering("id", ids[0]),  # IN needs an array
            filtering("id", ids, "LOOKS_LIKE"),
            {"filtering": "not json"},
            {"fields": "id,colour"},
        ]
        for params in refused:
            assert (await sb.error("GET", f"/{ACCOUNT}/campaigns", params))["code"] == 100, params

    run(scenario)


def test_uploads_are_served_at_their_urls_without_the_token() -> None:
    async def scenario(sb: Meta, p: MetaProvider) -> None:
        digest = await sb.image(seed=9)
        video = (await sb.ok("POST", f"/{ACCOUNT}/advideos", {"name": "clip"}, files={"source": ("c.mp4", MP4)}))["id"]
        (image,) = (await sb.ok("GET", f"/{ACCOUNT}/adimages", {"fields": "hash,url,width,height"}))["data"]
        assert (image["width"], image["height"]) == (1, 1)
        served = await sb.http.get(image["url"])  # no access_token
        assert served.status_code == 200 and served.content == png_bytes(9)
        assert served.headers["content-type"] == "image/png"
        rendered = await sb.ok("GET", f"/{video}", {"fields": "source,picture,title"})
        assert (await sb.http.get(rendered["source"])).content == MP4
        assert (await sb.http.get(rendered["picture"])).content.startswith(b"\x89PNG")
        await sb.ok("DELETE", f"/{ACCOUNT}/adimages", {"hash": digest})
        assert (await sb.http.get(image["url"])).status_code == 404

    run(scenario)
