"""TikTok reads by the page: read_many, review_many and list_all against the emulated API, requests counted."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import httpx

from reconciler.providers.tiktok import TikTokProvider
from tests import provider_kit as kit
from tests.conftest import png_bytes

TOKEN = "tt-read-many-token"
ADV = "7000000077"
IDENTITY = "acme-identity"
API = "/tiktok/open_api/v1.3"


def mp4(seed: int) -> bytes:
    return b"\x00\x00\x00\x18ftypmp42" + seed.to_bytes(4, "big") + bytes(60)


class Sandbox(kit.ProviderSandbox):
    platform = "tiktok"

    def provider(self) -> TikTokProvider:
        settings = {"advertiser_id": ADV, "identity_id": IDENTITY}
        target = kit.sandbox_target("tiktok-us", "tiktok", settings, {"token_env": "TIKTOK_ACCESS_TOKEN"})
        return TikTokProvider(target, TOKEN, transport=self.transport)

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The whole envelope of a direct API call."""
        response = await self.http.request(method, API + path, headers={"Access-Token": TOKEN}, **kwargs)
        assert response.status_code == 200
        return response.json()

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        body = await self.call(method, path, **kwargs)
        assert body["code"] == 0, body
        return body["data"]

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        query = {k: v if isinstance(v, str | int) else json.dumps(v) for k, v in params.items()}
        return await self.call("GET", path, params={"advertiser_id": ADV, **query})

    async def gets(self) -> int:
        return (await self.requests())["GET"]

    # --- objects made directly through the API; each returns (id, the attributes a state would record) ---

    async def campaign(self, name: str) -> tuple[str, dict[str, Any]]:
        attrs = {
            "advertiser_id": ADV,
            "campaign_name": name,
            "objective_type": "TRAFFIC",
            "budget_mode": "BUDGET_MODE_INFINITE",
            "operation_status": "ENABLE",
        }
        return str((await self.ok("POST", "/campaign/create/", json=attrs))["campaign_id"]), attrs

    async def adgroup(self, campaign_id: str, name: str) -> tuple[str, dict[str, Any]]:
        attrs = {
            "advertiser_id": ADV,
            "campaign_id": campaign_id,
            "adgroup_name": name,
            "placement_type": "PLACEMENT_TYPE_AUTOMATIC",
            "billing_event": "CPC",
            "optimization_goal": "CLICK",
            "pacing": "PACING_MODE_SMOOTH",
            "schedule_type": "SCHEDULE_FROM_NOW",
            "schedule_start_time": "2026-06-01 00:00:00",
            "operation_status": "ENABLE",
            "budget_mode": "BUDGET_MODE_DAY",
            "budget": 50.0,
            "location_ids": ["6252001"],
            "age_groups": ["AGE_18_24"],
        }
        data = await self.ok("POST", "/adgroup/create/", json=attrs)
        return str(data["adgroup_id"]), {**attrs, "currency": "USD"}

    async def upload(self, type_: str, content: bytes, file_name: str) -> tuple[str, dict[str, Any]]:
        form = {
            "advertiser_id": ADV,
            "upload_type": "UPLOAD_BY_FILE",
            "file_name": file_name,
            f"{type_}_signature": hashlib.md5(content).hexdigest(),
        }
        files = {f"{type_}_file": (file_name, content, "application/octet-stream")}
        data = await self.ok("POST", f"/file/{type_}/ad/upload/", data=form, files=files)
        row = data[0] if isinstance(data, list) else data
        sha = hashlib.sha256(content).hexdigest()
        return str(row[f"{type_}_id"]), {"advertiser_id": ADV, "file_name": file_name, "asset_sha256": sha}

    async def ads(self, adgroup_id: str, image_id: str, names: list[str]) -> dict[str, dict[str, Any]]:
        """Ads of one ad group, 20 a request (TikTok's most): id -> recorded attributes."""
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(names), 20):
            creatives = [
                {
                    "ad_name": name,
                    "ad_format": "SINGLE_IMAGE",
                    "ad_text": "Hello",
                    "image_ids": [image_id],
                    "identity_id": IDENTITY,
                    "identity_type": "CUSTOMIZED_USER",
                    "call_to_action": "LEARN_MORE",
                    "landing_page_url": "https://acme.example/",
                    "operation_status": "ENABLE",
                }
                for name in names[start : start + 20]
            ]
            body = {"advertiser_id": ADV, "adgroup_id": adgroup_id, "creatives": creatives}
            data = await self.ok("POST", "/ad/create/", json=body)
            for ad_id, creative in zip(data["ad_ids"], creatives, strict=True):
                out[str(ad_id)] = {"advertiser_id": ADV, "adgroup_id": adgroup_id, **creative}
        return out

    async def status(self, type_: str, ids: list[str], status: str) -> None:
        body = {"advertiser_id": ADV, f"{type_}_ids": ids, "operation_status": status}
        await self.ok("POST", f"/{type_}/status/update/", json=body)


run = Sandbox.run


async def same_as_read(provider: TikTokProvider, type_: str, recorded: dict[str, dict[str, Any]]) -> dict[str, Any]:
    many = await provider.read_many(type_, recorded)
    singles = {id_: await provider.read(type_, id_, attrs) for id_, attrs in recorded.items()}
    assert many == singles
    assert list(many) == list(recorded)
    return many


def test_read_many_campaigns_untouched_drifted_paused_deleted_over_several_requests() -> None:
    async def scenario(sb: Sandbox, provider: TikTokProvider) -> None:
        recorded = dict([await sb.campaign(f"c{i}") for i in range(230)])
        ids = list(recorded)
        await sb.ok(
            "POST",
            "/campaign/update/",
            json={"advertiser_id": ADV, "campaign_id": ids[3], "campaign_name": "renamed in Ads Manager"},
        )
        await sb.status("campaign", ids[10:20], "DISABLE")
        await sb.status("campaign", ids[20:25], "DELETE")
        recorded["1899999999999999999"] = dict(recorded[ids[0]])  # never existed

        before = await sb.gets()
        many = await provider.read_many("campaign", recorded)
        sent = await sb.gets() - before
        # 3 requests of 100 ids, and one read() for the id TikTok does not know at all.
        assert sent <= math.ceil(len(recorded) / 50) and sent == 4, sent
        assert many[ids[3]]["campaign_name"] == "renamed in Ads Manager"
        assert {many[i]["operation_status"] for i in ids[10:20]} == {"DISABLE"}
        assert all(many[i] is None for i in ids[20:25]) and many["1899999999999999999"] is None
        assert many[ids[0]] == recorded[ids[0]]
        await same_as_read(provider, "campaign", recorded)

    run(scenario)


def test_read_many_adgroups_ads_and_media() -> None:
    async def scenario(sb: Sandbox, provider: TikTokProvider) -> None:
        campaign, _ = await sb.campaign("c")
        groups = dict([await sb.adgroup(campaign, f"g{i}") for i in range(3)])
        group_ids = list(groups)
        await sb.ok("POST", "/adgroup/update/", json={"advertiser_id": ADV, "adgroup_id": group_ids[1], "budget": 75})
        images = dict([await sb.upload("image", png_bytes(i), f"img{i}") for i in range(130)])
        videos = dict([await sb.upload("video", mp4(i), f"vid{i}") for i in range(70)])
        image_ids = list(images)
        ads = await sb.ads(group_ids[0], image_ids[0], [f"ad{i}" for i in range(150)])
        ad_ids = list(ads)
        await sb.status("ad", ad_ids[:5], "DISABLE")
        await sb.status("ad", ad_ids[5:7], "DELETE")
        await sb.ok("POST", "/creative/asset/delete/", json={"advertiser_id": ADV, "image_ids": image_ids[:2]})

        for type_, recorded, expected_requests in (
            ("adgroup", groups, 1),
            ("ad", ads, 2),  # 150 ads: 100 + 50
            ("image", images, 2 + 2),  # 130 images: 100 + 30, then read() of the 2 deleted ones
            ("video", videos, 2),  # 70 videos: 60 + 10
        ):
            before = await sb.gets()
            many = await provider.read_many(type_, recorded)
            sent = await sb.gets() - before
            assert sent == expected_requests, (type_, sent)
            assert sent <= math.ceil(len(recorded) / 50) + 2
            await same_as_read(provider, type_, recorded)
            if type_ == "adgroup":
                assert many[group_ids[1]]["budget"] == 75.0 and many[group_ids[0]] == groups[group_ids[0]]
            if type_ == "ad":
                assert {many[i]["operation_status"] for i in ad_ids[:5]} == {"DISABLE"}
                assert many[ad_ids[5]] is None and many[ad_ids[6]] is None
                assert many[ad_ids[9]] == ads[ad_ids[9]]
            if type_ == "image":
                assert many[image_ids[0]] is None and many[image_ids[2]] == images[image_ids[2]]

    run(scenario)


def test_read_many_asks_only_for_managed_fields() -> None:
    async def scenario(sb: Sandbox, provider: TikTokProvider) -> None:
        campaign, attrs = await sb.campaign("c")
        seen: list[httpx.Request] = []
        original = sb.transport.handle_async_request

        async def spy(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return await original(request)

        sb.transport.handle_async_request = spy  # type: ignore[method-assign]
        await provider.read_many("campaign", {campaign: attrs})
        (request,) = seen
        fields = json.loads(request.url.params["fields"])
        assert set(fields) == {"campaign_id", "secondary_status", *attrs}
        filtering = json.loads(request.url.params["filtering"])
        assert filtering["campaign_ids"] == [campaign]

    run(scenario)


def test_review_many_matches_review_and_other_types_send_nothing() -> None:
    async def scenario(sb: Sandbox, provider: TikTokProvider) -> None:
        await sb.control("POST", "/review", {"name_contains": "held", "status": "pending"})
        await sb.control("POST", "/review", {"name_contains": "bad", "status": "rejected", "reason": "Misleading"})
        campaign, campaign_attrs = await sb.campaign("c")
        group, _ = await sb.adgroup(campaign, "g")
        image, _ = await sb.upload("image", png_bytes(1), "img")
        names = [f"held{i}" if i % 3 == 0 else f"bad{i}" if i % 3 == 1 else f"fine{i}" for i in range(120)]
        ads = await sb.ads(group, image, names)
        await sb.status("ad", list(ads)[:2], "DELETE")

        before = await sb.gets()
        verdicts = await provider.review_many("ad", ads)
        # 2 pages of ids, one ad/review_info/ for the 39 rejected ones' reasons, and review() of the 2 deleted
        # ads the default filter leaves out
        assert await sb.gets() - before == 2 + 1 + 2
        assert verdicts == {id_: await provider.review("ad", id_, attrs) for id_, attrs in ads.items()}
        statuses = [verdicts[i].status for i in list(ads)[2:]]  # type: ignore[union-attr]
        assert statuses.count("pending") == 39 and statuses.count("rejected") == 39
        assert {v.reason for v in verdicts.values() if v and v.status == "rejected"} == {"Misleading"}

        before = await sb.gets()
        assert await provider.review_many("campaign", {campaign: campaign_attrs}) == {campaign: None}
        assert await sb.gets() == before

    run(scenario)


def test_list_all_every_page_without_deleted_objects() -> None:
    async def scenario(sb: Sandbox, provider: TikTokProvider) -> None:
        images = dict([await sb.upload("image", png_bytes(i), f"img{i}") for i in range(205)])
        image_ids = list(images)
        await sb.ok("POST", "/creative/asset/delete/", json={"advertiser_id": ADV, "image_ids": image_ids[:5]})
        videos = dict([await sb.upload("video", mp4(i), f"vid{i}") for i in range(3)])
        campaigns = dict([await sb.campaign(f"c{i}") for i in range(6)])
        campaign_ids = list(campaigns)
        await sb.status("campaign", campaign_ids[:1], "DELETE")
        await sb.status("campaign", campaign_ids[1:2], "DISABLE")
        group, _ = await sb.adgroup(campaign_ids[2], "g")
        ads = await sb.ads(group, image_ids[10], ["a1", "a2"])

        before = await sb.gets()
        listed = await provider.list_all("image")
        assert await sb.gets() - before == 2  # 200 live images, 100 a page
        assert sorted(o.id for o in listed) == sorted(image_ids[5:])
        assert all(o.type == "image" and o.row["image_url"] for o in listed)
        assert {o.id for o in await provider.list_all("video")} == set(videos)
        listed_campaigns = await provider.list_all("campaign")
        assert {o.id for o in listed_campaigns} == set(campaign_ids[1:])  # the paused one is kept
        assert {o.id for o in await provider.list_all("adgroup")} == {group}
        assert {o.id for o in await provider.list_all("ad")} == set(ads)
        (advertiser,) = await provider.list_all("advertiser")
        assert advertiser.id == ADV and advertiser.row["currency"] == "USD"

    run(scenario)


def test_sandbox_refuses_what_tiktok_refuses_on_list_calls() -> None:
    async def scenario(sb: Sandbox, provider: TikTokProvider) -> None:
        campaign, _ = await sb.campaign("c")

        async def code(path: str, **params: Any) -> tuple[int, str]:
            body = await sb.get(path, **params)
            return body["code"], body["message"]

        assert (await code("/campaign/get/", page_size=1001))[0] == 40002
        assert (await code("/campaign/get/", page_size=0))[0] == 40002
        assert (await code("/ad/get/", page=0))[0] == 40002
        assert (await code("/campaign/get/", page_size=1000))[0] == 0
        ids = [str(1_800_000_000_000_000_000 + i) for i in range(101)]
        assert await code("/campaign/get/", filtering={"campaign_ids": ids}) == (
            40002,
            "filtering.campaign_ids: must hold 1 to 100 ids",
        )
        assert (await code("/campaign/get/", filtering={"campaign_ids": ids[:100]}))[0] == 0
        assert (await code("/adgroup/get/", filtering={"adgroup_ids": []}))[0] == 40002
        assert (await code("/campaign/get/", fields=["campaign_id", "no_such_field"]))[0] == 40002
        assert (await code("/file/image/ad/info/", image_ids=[f"i{n}" for n in range(101)]))[0] == 40002
        assert (await code("/file/video/ad/info/", video_ids=[f"v{n}" for n in range(61)]))[0] == 40002
        assert (await code("/file/video/ad/search/", page_size=101))[0] == 40002
        assert (await code("/file/image/ad/search/", page_size=100))[0] == 0

        # page_info and fields as TikTok answers them
        for i in range(4):
            await sb.campaign(f"more{i}")
        body = await sb.get("/campaign/get/", page=2, page_size=2, fields=["campaign_id", "campaign_name"])
        assert body["data"]["page_info"] == {"page": 2, "page_size": 2, "total_number": 5, "total_page": 3}
        assert all(set(row) == {"campaign_id", "campaign_name"} for row in body["data"]["list"])
        assert len(body["data"]["list"]) == 2

    run(scenario)


def test_sandbox_serves_uploaded_bytes_at_the_info_urls_without_the_token() -> None:
    async def scenario(sb: Sandbox, provider: TikTokProvider) -> None:
        image, _ = await sb.upload("image", png_bytes(9), "img")
        video, _ = await sb.upload("video", mp4(9), "vid")
        image_row = (await sb.get("/file/image/ad/info/", image_ids=[image]))["data"]["list"][0]
        video_row = (await sb.get("/file/video/ad/info/", video_ids=[video]))["data"]["list"][0]
        assert (image_row["width"], image_row["height"]) == (1, 1)
        plain = await sb.http.get(image_row["image_url"])  # no Access-Token
        assert plain.status_code == 200 and plain.content == png_bytes(9)
        assert plain.headers["content-type"] == "image/png"
        assert await provider.download(video_row["preview_url"]) == mp4(9)
        await sb.ok("POST", "/creative/asset/delete/", json={"advertiser_id": ADV, "image_ids": [image]})
        assert (await sb.http.get(image_row["image_url"])).status_code == 404

    run(scenario)
