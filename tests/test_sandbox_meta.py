"""The Meta Graph API v25.0 emulator, in-process through httpx.ASGITransport."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests import provider_kit as kit
from tests.conftest import png_bytes

API = "/meta/v26.0"
TOKEN = "meta-tok-123"
ACCOUNT = "act_1234567890"
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(48)


class Graph(kit.AsyncSandbox):
    """An in-process sandbox with Graph calls that carry the token."""

    platform = "meta"

    async def call(
        self, method: str, path: str, params: dict[str, Any] | None = None, token: str | None = TOKEN, **kw: Any
    ) -> httpx.Response:
        query = {**({"access_token": token} if token is not None else {}), **(params or {})}
        return await self.http.request(method, API + path, params=query, **kw)

    async def ok(self, method: str, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        response = await self.call(method, path, params, **kw)
        assert response.status_code == 200, response.text
        return response.json()

    async def error(self, method: str, path: str, params: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """The `error` object of a refused call (Graph answers 400 for everything but transient faults)."""
        response = await self.call(method, path, params, **kw)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["fbtrace_id"] and error["type"]
        return error

    # --- a valid object of each type ---

    async def campaign(self, name: str = "summer", **extra: Any) -> str:
        body = {
            "name": name,
            "objective": "OUTCOME_TRAFFIC",
            "special_ad_categories": [],
            "is_adset_budget_sharing_enabled": False,
            **extra,
        }
        return (await self.ok("POST", f"/{ACCOUNT}/campaigns", json=body))["id"]

    async def adset(self, campaign_id: str, name: str = "summer", **extra: Any) -> str:
        body = {
            "name": name,
            "campaign_id": campaign_id,
            "billing_event": "IMPRESSIONS",
            "optimization_goal": "LINK_CLICKS",
            "daily_budget": 5000,
            "targeting": {
                "geo_locations": {"countries": ["US"]},
                "age_min": 18,
                "targeting_automation": {"advantage_audience": 0},
            },
            "start_time": "2026-06-01T00:00:00+0000",
            "end_time": "2026-08-31T23:59:59+0000",
            **extra,
        }
        return (await self.ok("POST", f"/{ACCOUNT}/adsets", json=body))["id"]

    async def image(self, seed: int = 0) -> str:
        reply = await self.ok(
            "POST", f"/{ACCOUNT}/adimages", files={"filename": ("banner", png_bytes(seed), "image/png")}
        )
        return reply["images"]["banner"]["hash"]

    async def creative(self, image_hash: str, name: str = "summer.banner", **link: Any) -> str:
        spec = {"page_id": "998877", "link_data": {"link": "https://acme.example", "image_hash": image_hash, **link}}
        return (await self.ok("POST", f"/{ACCOUNT}/adcreatives", json={"name": name, "object_story_spec": spec}))["id"]

    async def ad(self, adset_id: str, creative_id: str, name: str = "summer.banner", **extra: Any) -> str:
        body = {"name": name, "adset_id": adset_id, "creative": {"creative_id": creative_id}, **extra}
        return (await self.ok("POST", f"/{ACCOUNT}/ads", json=body))["id"]

    async def chain(self, name: str = "summer.banner") -> dict[str, str]:
        """Campaign, ad set, image, creative and ad, all valid."""
        campaign = await self.campaign()
        adset = await self.adset(campaign)
        creative = await self.creative(await self.image())
        return {"campaign": campaign, "adset": adset, "creative": creative, "ad": await self.ad(adset, creative, name)}


def run(scenario: Callable[[Graph], Awaitable[None]]) -> None:
    kit.in_sandbox(scenario, Graph)


def filtering(field: str, value: Any, operator: str = "EQUAL") -> dict[str, str]:
    return {"filtering": json.dumps([{"field": field, "operator": operator, "value": value}])}


# --- ad accounts ---


def test_ad_accounts_are_provisioned_on_first_use_in_usd() -> None:
    async def scenario(g: Graph) -> None:
        account = await g.ok("GET", f"/{ACCOUNT}", {"fields": "currency,name,account_status"})
        assert account == {"currency": "USD", "name": "Sandbox ad account 1234567890", "account_status": 1}
        assert await g.ok("GET", "/act_42") == {"id": "act_42", "account_id": "42"}
        assert (await g.error("GET", "/act_nope"))["error_subcode"] == 33

    run(scenario)


# --- campaigns ---


def test_campaign_create_from_a_form_body_read_update_delete() -> None:
    async def scenario(g: Graph) -> None:
        form = {
            "name": "summer",
            "objective": "OUTCOME_TRAFFIC",
            "special_ad_categories": "[]",
            "status": "PAUSED",
            "is_adset_budget_sharing_enabled": "false",
        }
        created = await g.ok("POST", f"/{ACCOUNT}/campaigns", data=form)  # nested values JSON-encoded, as the SDK
        assert list(created) == ["id"] and created["id"].isdigit()
        id_ = created["id"]
        fields = "name,objective,status,effective_status,buying_type,special_ad_categories,account_id"
        assert await g.ok("GET", f"/{id_}", {"fields": fields}) == {
            "id": id_,
            "name": "summer",
            "objective": "OUTCOME_TRAFFIC",
            "status": "PAUSED",
            "effective_status": "PAUSED",
            "buying_type": "AUCTION",
            "special_ad_categories": [],
            "account_id": "1234567890",
        }
        assert await g.ok("GET", f"/{id_}") == {"id": id_, "name": "summer"}  # default fields

        assert await g.ok("POST", f"/{id_}", data={"status": "ACTIVE", "name": "summer-2"}) == {"success": True}
        assert await g.ok("GET", f"/{id_}", {"fields": "name,status"}) == {
            "id": id_,
            "name": "summer-2",
            "status": "ACTIVE",
        }

        assert await g.ok("DELETE", f"/{id_}") == {"success": True}
        read = await g.ok("GET", f"/{id_}", {"fields": "status,effective_status"})
        assert read == {"id": id_, "status": "DELETED", "effective_status": "DELETED"}  # still readable
        assert await g.objects("campaign") == {}
        assert (await g.objects("campaign", include_deleted=True))[id_]["name"] == "summer-2"
        assert await g.ok("DELETE", f"/{id_}") == {"success": True}  # deleting again is fine
        error = await g.error("POST", f"/{id_}", data={"name": "x"})
        assert error["error_user_title"] == "Object deleted"

    run(scenario)


def test_campaign_validation_errors_name_the_field() -> None:
    async def scenario(g: Graph) -> None:
        path = f"/{ACCOUNT}/campaigns"
        missing = await g.error("POST", path, json={"name": "x", "objective": "OUTCOME_TRAFFIC"})
        assert missing["message"] == "(#100) The parameter special_ad_categories is required"
        assert (missing["code"], missing["type"]) == (100, "OAuthException")
        bad_enum = await g.error("POST", path, json={"name": "x", "objective": "SALES", "special_ad_categories": []})
        assert bad_enum["message"].startswith("(#100) param objective must be one of {APP_INSTALLS,")
        unknown = await g.error("POST", path, json={"name": "x", "objective": "OUTCOME_SALES", "colour": "red"})
        assert unknown["message"] == "(#100) Param colour is not a valid parameter for Campaign"
        lifetime = await g.error(
            "POST",
            path,
            json={"name": "x", "objective": "OUTCOME_SALES", "special_ad_categories": [], "lifetime_budget": 9},
        )
        assert (lifetime["code"], lifetime["error_user_msg"]) == (100, "A lifetime_budget needs stop_time.")
        # A dry run checks and makes nothing.
        dry = {
            "name": "x",
            "objective": "OUTCOME_SALES",
            "special_ad_categories": [],
            "is_adset_budget_sharing_enabled": False,
            "execution_options": ["validate_only"],
        }
        assert await g.ok("POST", path, json=dry) == {"success": True}
        assert await g.objects("campaign") == {}
        campaign = await g.campaign()
        fixed = await g.error("POST", f"/{campaign}", data={"buying_type": "RESERVED"})
        assert "buying_type of Campaign" in fixed["error_user_msg"] and "cannot be changed" in fixed["error_user_msg"]
        nonexisting = await g.error("GET", f"/{campaign}", {"fields": "name,colour"})
        assert nonexisting["message"] == "(#100) Tried accessing nonexisting field (colour) on node type (Campaign)"

    run(scenario)


# --- ad sets ---


def test_adset_budgets_read_back_as_strings_and_parents_are_checked() -> None:
    async def scenario(g: Graph) -> None:
        campaign = await g.campaign()
        adset = await g.adset(campaign, start_time="2026-06-01T02:00:00+02:00")
        read = await g.ok(
            "GET", f"/{adset}", {"fields": "daily_budget,targeting,start_time,campaign_id,effective_status"}
        )
        assert read == {
            "id": adset,
            "daily_budget": "5000",  # quirk: money comes back as a numeric string
            "targeting": {
                "geo_locations": {"countries": ["US"], "location_types": ["home", "recent"]},  # added by Graph
                "age_min": 18,
                "targeting_automation": {"advantage_audience": 0},
            },
            "start_time": "2026-06-01T00:00:00+0000",  # the same instant, in the account's time zone
            "campaign_id": campaign,
            "effective_status": "ACTIVE",
        }
        await g.ok("POST", f"/{campaign}", data={"status": "PAUSED"})
        assert (await g.ok("GET", f"/{adset}", {"fields": "effective_status"}))["effective_status"] == "CAMPAIGN_PAUSED"

        other_account = (
            await g.ok(
                "POST",
                "/act_99/campaigns",
                json={
                    "name": "o",
                    "objective": "OUTCOME_SALES",
                    "special_ad_categories": [],
                    "is_adset_budget_sharing_enabled": False,
                },
            )
        )["id"]
        cases = {
            "lifetime_budget": ({"daily_budget": None, "lifetime_budget": 1000, "end_time": None}, "needs end_time"),
            "both budgets": ({"lifetime_budget": 1000}, "not both"),
            "no location": ({"targeting": {"age_min": 18}}, "needs at least one location"),
            "age": (
                {
                    "targeting": {
                        "geo_locations": {"countries": ["US"]},
                        "age_min": 70,
                        "targeting_automation": {"advantage_audience": 0},
                    }
                },
                "targeting.age_min",
            ),
            "bid cap": ({"bid_strategy": "COST_CAP"}, "needs a bid_amount"),
            "other account": ({"campaign_id": other_account}, "is not a live Campaign of ad account act_1234567890"),
            "no campaign": ({"campaign_id": "120201999999999999"}, "campaign_id 120201999999999999 is not a live"),
        }
        for extra, expected in cases.values():
            error = await g.error("POST", f"/{ACCOUNT}/adsets", json=_adset_body(campaign, **extra))
            assert expected in error["error_user_msg"], error
        cbo = await g.campaign("cbo", daily_budget=10000)
        error = await g.error("POST", f"/{ACCOUNT}/adsets", json=_adset_body(cbo))
        assert error["error_user_title"] == "Budget set on campaign"
        assert await g.ok("POST", f"/{ACCOUNT}/adsets", json=_adset_body(cbo, daily_budget=None))
        fixed = await g.error("POST", f"/{adset}", json={"campaign_id": cbo})
        assert fixed["error_user_title"] == "Field cannot be changed"
        assert await g.ok(
            "POST",
            f"/{adset}",
            data={
                "daily_budget": "7000",
                "targeting": json.dumps(
                    {"geo_locations": {"countries": ["CA"]}, "targeting_automation": {"advantage_audience": 0}}
                ),
            },
        )
        read = await g.ok("GET", f"/{adset}", {"fields": "daily_budget,targeting"})
        assert read["daily_budget"] == "7000" and read["targeting"] == {
            "geo_locations": {"countries": ["CA"], "location_types": ["home", "recent"]},
            "targeting_automation": {"advantage_audience": 0},
        }

    run(scenario)


def _adset_body(campaign: str, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "s",
        "campaign_id": campaign,
        "billing_event": "IMPRESSIONS",
        "daily_budget": 5000,
        "targeting": {"geo_locations": {"countries": ["US"]}, "targeting_automation": {"advantage_audience": 0}},
        "start_time": "2026-06-01T00:00:00+0000",
        "end_time": "2026-08-31T23:59:59+0000",
        **extra,
    }
    return {k: v for k, v in body.items() if v is not None}


# --- images and videos ---


def test_images_are_addressed_by_the_md5_of_their_bytes() -> None:
    async def scenario(g: Graph) -> None:
        data = png_bytes(5)
        digest = hashlib.md5(data).hexdigest()
        as_bytes = await g.ok("POST", f"/{ACCOUNT}/adimages", data={"bytes": base64.b64encode(data).decode()})
        assert as_bytes["images"]["bytes"]["hash"] == digest
        as_file = await g.ok("POST", f"/{ACCOUNT}/adimages", files={"filename": ("hero.png", data, "image/png")})
        assert as_file["images"]["hero.png"]["hash"] == digest  # same bytes, same image
        assert list(await g.objects("adimage")) == [f"1234567890:{digest}"]

        listed = await g.ok(
            "GET", f"/{ACCOUNT}/adimages", {"hashes": json.dumps([digest]), "fields": "hash,name,status"}
        )
        assert listed["data"] == [{"hash": digest, "name": "bytes", "status": "ACTIVE"}]
        assert (await g.ok("GET", f"/{ACCOUNT}/adimages", {"name": "nope"}))["data"] == []

        assert await g.ok("DELETE", f"/{ACCOUNT}/adimages", {"hash": digest}) == {"success": True}
        listed = await g.ok("GET", f"/{ACCOUNT}/adimages", {"hashes": json.dumps([digest]), "fields": "hash,status"})
        assert listed["data"] == [{"hash": digest, "status": "DELETED"}]
        assert (await g.ok("GET", f"/{ACCOUNT}/adimages"))["data"] == []
        assert (await g.error("DELETE", f"/{ACCOUNT}/adimages", {"hash": "0" * 32}))["error_subcode"] == 33
        not_image = await g.error("POST", f"/{ACCOUNT}/adimages", files={"filename": ("a.txt", b"hello", "text/plain")})
        assert not_image["error_user_title"] == "Image format not supported"

    run(scenario)


def test_videos_upload_read_list_and_delete() -> None:
    async def scenario(g: Graph) -> None:
        reply = await g.ok(
            "POST", f"/{ACCOUNT}/advideos", data={"name": "clip"}, files={"source": ("clip.mp4", MP4, "video/mp4")}
        )
        video = reply["id"]
        read = await g.ok("GET", f"/{video}", {"fields": "title,status"})
        assert read == {"id": video, "title": "clip", "status": {"video_status": "ready", "processing_progress": 100}}
        listed = await g.ok("GET", f"/{ACCOUNT}/advideos", {"title": "clip"})
        assert listed["data"] == [{"id": video, "title": "clip"}]
        assert await g.ok("POST", f"/{video}", data={"name": "clip-2"}) == {"success": True}
        assert (await g.ok("GET", f"/{video}", {"fields": "title"}))["title"] == "clip-2"
        assert await g.ok("DELETE", f"/{video}") == {"success": True}
        assert (await g.error("GET", f"/{video}"))["error_subcode"] == 33  # a deleted video is gone
        missing = await g.error("POST", f"/{ACCOUNT}/advideos", data={"name": "x"})
        assert missing["message"].startswith("(#100) The parameter source is required")
        not_video = await g.error(
            "POST", f"/{ACCOUNT}/advideos", files={"source": ("x.mp4", b"not a video at all", "video/mp4")}
        )
        assert not_video["error_user_title"] == "Video format not supported"

    run(scenario)


# --- creatives and ads ---


def test_creative_checks_its_image_and_call_to_action_and_only_renames() -> None:
    async def scenario(g: Graph) -> None:
        image = await g.image()
        creative = await g.creative(
            image, call_to_action={"type": "SHOP_NOW", "value": {"link": "https://acme.example"}}
        )
        read = await g.ok("GET", f"/{creative}", {"fields": "name,object_story_spec,status"})
        assert read["object_story_spec"]["link_data"]["image_hash"] == image and read["status"] == "ACTIVE"
        unknown_image = await g.error(
            "POST",
            f"/{ACCOUNT}/adcreatives",
            json={"object_story_spec": {"page_id": "1", "link_data": {"link": "https://a", "image_hash": "f" * 32}}},
        )
        assert "image_hash" in unknown_image["error_user_msg"]
        bad_action = await g.error(
            "POST",
            f"/{ACCOUNT}/adcreatives",
            json={
                "object_story_spec": {
                    "page_id": "1",
                    "link_data": {"link": "https://a", "call_to_action": {"type": "MORE"}},
                }
            },
        )
        assert bad_action["error_user_title"] == "Invalid call to action"
        unknown_video = await g.error(
            "POST",
            f"/{ACCOUNT}/adcreatives",
            json={"object_story_spec": {"page_id": "1", "video_data": {"video_id": "1"}}},
        )
        assert "video_id 1 is not a video" in unknown_video["error_user_msg"]
        assert await g.ok("POST", f"/{creative}", data={"name": "renamed"}) == {"success": True}
        content = await g.error("POST", f"/{creative}", json={"object_story_spec": {"page_id": "2"}})
        assert content["error_user_title"] == "Field cannot be changed"

    run(scenario)


def test_ad_reads_its_creative_as_id_and_its_review_as_effective_status() -> None:
    async def scenario(g: Graph) -> None:
        ids = await g.chain()
        ad = ids["ad"]
        fields = {"fields": "creative,campaign_id,adset_id,status,effective_status,ad_review_feedback"}
        assert await g.ok("GET", f"/{ad}", fields) == {
            "id": ad,
            "creative": {"id": ids["creative"]},  # quirk: sent as {"creative_id": ...}
            "campaign_id": ids["campaign"],
            "adset_id": ids["adset"],
            "status": "ACTIVE",
            "effective_status": "ACTIVE",
        }
        await g.control("POST", "/review", {"name_contains": "summer", "status": "pending"})
        assert (await g.ok("GET", f"/{ad}", fields))["effective_status"] == "PENDING_REVIEW"
        await g.ok("POST", f"/{ad}", data={"status": "PAUSED"})
        # A paused ad is still in review (activation: after_review waits on it): the review shows first.
        assert (await g.ok("GET", f"/{ad}", fields))["effective_status"] == "PENDING_REVIEW"
        await g.control("POST", "/review", {"name_contains": "summer", "status": "approved"})
        assert (await g.ok("GET", f"/{ad}", fields))["effective_status"] == "PAUSED"
        await g.control("POST", "/review", {"name_contains": "banner", "status": "rejected", "reason": "Too much text"})
        read = await g.ok("GET", f"/{ad}", fields)
        assert read["effective_status"] == "DISAPPROVED"
        assert read["ad_review_feedback"] == {"global": {"reason": "Too much text"}}

        moved = await g.error("POST", f"/{ad}", data={"adset_id": ids["adset"]})
        assert moved["error_user_title"] == "Field cannot be changed"
        no_creative = await g.error("POST", f"/{ad}", json={"creative": {"creative_id": "120203999999999999"}})
        assert "creative.creative_id" in no_creative["error_user_msg"]
        swapped = await g.creative(await g.image(1), "other")
        assert await g.ok("POST", f"/{ad}", data={"creative": json.dumps({"creative_id": swapped})})
        assert (await g.ok("GET", f"/{ad}", fields))["creative"] == {"id": swapped}
        assert (await g.error("POST", f"/{ACCOUNT}/ads", json={"name": "x", "adset_id": ids["adset"], "creative": {}}))[
            "message"
        ] == ("(#100) param creative must contain creative_id")

    run(scenario)


def test_deleting_a_campaign_deletes_its_adsets_and_ads_and_lists_skip_them() -> None:
    async def scenario(g: Graph) -> None:
        ids = await g.chain()
        keep = await g.campaign("other")
        await g.ok("POST", f"/{ids['ad']}", data={"status": "DELETED"})  # status=DELETED is a delete too
        assert (await g.ok("GET", f"/{ids['ad']}", {"fields": "status"}))["status"] == "DELETED"
        await g.ok("DELETE", f"/{ids['campaign']}")
        assert (await g.ok("GET", f"/{ids['adset']}", {"fields": "effective_status"}))["effective_status"] == "DELETED"
        listed = await g.ok("GET", f"/{ACCOUNT}/campaigns", {"fields": "id,name"})
        assert listed["data"] == [{"id": keep, "name": "other"}]
        deleted = await g.ok("GET", f"/{ACCOUNT}/campaigns", filtering("effective_status", ["DELETED"], "IN"))
        assert [row["id"] for row in deleted["data"]] == [ids["campaign"]]
        assert await g.objects("adset") == {} and await g.objects("ad") == {}

    run(scenario)


def test_lists_filter_by_name_and_page_with_cursors() -> None:
    async def scenario(g: Graph) -> None:
        made = [await g.campaign(f"c{i}") for i in range(5)]
        await g.campaign("c1")  # a twin
        named = await g.ok("GET", f"/{ACCOUNT}/campaigns", filtering("name", "c1"))
        assert [row["name"] for row in named["data"]] == ["c1", "c1"]
        first = await g.ok("GET", f"/{ACCOUNT}/campaigns", {"limit": 4, **filtering("name", "c", "CONTAIN")})
        assert len(first["data"]) == 4 and "after=" in first["paging"]["next"]
        rest = await g.ok("GET", f"/{ACCOUNT}/campaigns", {"limit": 4, "after": first["paging"]["cursors"]["after"]})
        assert "next" not in rest["paging"]
        seen = [row["id"] for row in first["data"] + rest["data"]]
        assert sorted(seen) == sorted([*made, seen[0]]) and len(set(seen)) == 6  # newest first, each once
        assert int(seen[0]) > int(seen[-1])
        other = await g.ok("GET", "/act_5/campaigns")
        assert other == {"data": []}

    run(scenario)


# --- auth, faults ---


def test_auth_errors_are_code_190_with_http_400() -> None:
    async def scenario(g: Graph) -> None:
        assert (await g.error("GET", f"/{ACCOUNT}", token=None))["code"] == 190
        await g.control("POST", "/auth", {"platform": "meta", "valid_tokens": ["good"]})
        error = await g.error("GET", f"/{ACCOUNT}")
        assert (error["code"], error["message"]) == (190, "Invalid OAuth access token.")
        headers = {"Authorization": "Bearer good"}
        assert (await g.call("GET", f"/{ACCOUNT}", token=None, headers=headers)).status_code == 200
        assert (
            await g.call("POST", f"/{ACCOUNT}/campaigns", token=None, data={"access_token": "good"})
        ).status_code == 400
        await g.control("POST", "/auth", {"platform": "meta", "valid_tokens": None, "expire_access_tokens": True})
        expired = await g.error("GET", f"/{ACCOUNT}")
        assert (expired["code"], expired["error_subcode"]) == (190, 463)

    run(scenario)


def test_rate_limit_transient_fault_and_reject_in_graph_style() -> None:
    async def scenario(g: Graph) -> None:
        await g.control("POST", "/faults", {"platform": "meta", "rate_limit": 1})
        await g.ok("GET", f"/{ACCOUNT}")
        limited = await g.call("GET", f"/{ACCOUNT}")
        assert limited.status_code == 400
        error = limited.json()["error"]
        assert (error["code"], error["error_subcode"]) == (17, 2446079)
        usage = json.loads(limited.headers["X-Business-Use-Case-Usage"])
        [entry] = next(iter(usage.values()))
        assert entry["estimated_time_to_regain_access"] == 0  # whole minutes: under one here
        await g.control("POST", "/faults", {"platform": "meta", "rate_limit": None, "fault_rate": 1})
        failed = await g.call("GET", f"/{ACCOUNT}")
        assert failed.status_code == 500
        assert failed.json()["error"] | {"fbtrace_id": ""} == {
            "message": "Service temporarily unavailable",
            "type": "OAuthException",
            "code": 2,
            "is_transient": True,
            "fbtrace_id": "",
        }
        await g.control(
            "POST",
            "/faults",
            {"platform": "meta", "fault_rate": 0, "reject": [{"platform": "meta", "type": "campaign"}]},
        )
        rejected = await g.error("POST", f"/{ACCOUNT}/campaigns", json={"name": "x"})
        assert (rejected["code"], rejected["error_user_title"]) == (100, "Creation rejected")
        stats = await g.control("GET", "/stats")
        assert stats["rate_limited"] == 1 and stats["faults"] == 1 and stats["requests"]["meta"]["GET"] == 3

    run(scenario)


def test_unknown_paths_and_methods_never_look_like_a_missing_object() -> None:
    async def scenario(g: Graph) -> None:
        assert (await g.error("GET", f"/{ACCOUNT}/campaigns/extra"))["code"] == 2500
        put = await g.error("PUT", f"/{ACCOUNT}/campaigns")
        assert put["code"] == 100 and "error_subcode" not in put
        edge = await g.error("GET", f"/{ACCOUNT}/pixels")
        assert edge["message"] == "(#100) Tried accessing nonexisting field (pixels) on node type (AdAccount)"
        assert "error_subcode" not in await g.error("DELETE", f"/{ACCOUNT}/campaigns")

    run(scenario)
