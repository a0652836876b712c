"""The sandbox's TikTok API for Business v1.3 emulation, in-process through httpx.ASGITransport."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests import provider_kit as kit
from tests.conftest import png_bytes

TT = "/tiktok/open_api/v1.3"
TOKEN = "tt-token-1"
ADV = "7000000001"
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(64)


class Sandbox(kit.AsyncSandbox):
    """An in-process sandbox whose TikTok calls carry the Access-Token header."""

    platform = "tiktok"

    async def call(self, method: str, path: str, token: str | None = TOKEN, **kwargs: Any) -> dict[str, Any]:
        """The envelope of a TikTok call, which must come with HTTP 200."""
        headers = {"Access-Token": token} if token is not None else {}
        response = await self.http.request(method, TT + path, headers=headers, **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"code", "message", "request_id", "data"}
        return body

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        body = await self.call(method, path, **kwargs)
        assert body["code"] == 0, body
        return body["data"]

    async def error(self, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
        body = await self.call(method, path, **kwargs)
        assert body["code"] != 0 and body["data"] == {}, body
        return body["code"], body["message"]

    async def get(self, path: str, **params: Any) -> Any:
        query = {k: v if isinstance(v, str | int) else json.dumps(v) for k, v in params.items()}
        return await self.ok("GET", path, params={"advertiser_id": ADV, **query})

    async def campaign(self, name: str = "summer", **extra: Any) -> str:
        body = {
            "advertiser_id": ADV,
            "campaign_name": name,
            "objective_type": "TRAFFIC",
            "budget_mode": "BUDGET_MODE_INFINITE",
            **extra,
        }
        return (await self.ok("POST", "/campaign/create/", json=body))["campaign_id"]

    async def adgroup(self, campaign_id: str, name: str = "summer", **extra: Any) -> str:
        return (await self.ok("POST", "/adgroup/create/", json=adgroup_body(campaign_id, name, **extra)))["adgroup_id"]

    async def image(self, content: bytes | None = None, file_name: str = "banner") -> str:
        content = content if content is not None else png_bytes(1)
        data = await self.ok("POST", "/file/image/ad/upload/", **upload("image", content, file_name))
        return data["image_id"]

    async def ad(self, adgroup_id: str, image_id: str, name: str = "summer.banner", **extra: Any) -> dict[str, Any]:
        body = {"advertiser_id": ADV, "adgroup_id": adgroup_id, "creatives": [creative(image_id, name, **extra)]}
        data = await self.ok("POST", "/ad/create/", json=body)
        assert data["ad_ids"] == [data["creatives"][0]["ad_id"]]
        return data["creatives"][0]


def adgroup_body(campaign_id: str, name: str = "summer", **extra: Any) -> dict[str, Any]:
    return {
        "advertiser_id": ADV,
        "campaign_id": campaign_id,
        "adgroup_name": name,
        "budget_mode": "BUDGET_MODE_DAY",
        "budget": 50.0,
        "billing_event": "CPC",
        "optimization_goal": "CLICK",
        "pacing": "PACING_MODE_SMOOTH",
        "schedule_type": "SCHEDULE_START_END",
        "schedule_start_time": "2026-06-01 00:00:00",
        "schedule_end_time": "2026-08-31 23:59:59",
        "location_ids": ["6252001"],
        "age_groups": ["AGE_18_24", "AGE_25_34"],
        **extra,
    }


def creative(image_id: str, name: str = "summer.banner", **extra: Any) -> dict[str, Any]:
    return {
        "ad_name": name,
        "ad_format": "SINGLE_IMAGE",
        "ad_text": "Summer sale",
        "image_ids": [image_id],
        "identity_id": "acme-identity",
        "identity_type": "CUSTOMIZED_USER",
        "call_to_action": "LEARN_MORE",
        "landing_page_url": "https://acme.example/summer",
        **extra,
    }


def upload(type_: str, content: bytes, file_name: str, signature: str | None = None) -> dict[str, Any]:
    form = {
        "advertiser_id": ADV,
        "upload_type": "UPLOAD_BY_FILE",
        f"{type_}_signature": signature or hashlib.md5(content).hexdigest(),
        "file_name": file_name,
    }
    return {"data": form, "files": {f"{type_}_file": (f"{file_name}.bin", content, "application/octet-stream")}}


def run(scenario: Callable[[Sandbox], Awaitable[None]], **settings: Any) -> None:
    kit.in_sandbox(scenario, Sandbox, **settings)


# --- campaigns ---


def test_campaign_create_get_update_and_status() -> None:
    async def scenario(sb: Sandbox) -> None:
        campaign_id = await sb.campaign()
        assert len(campaign_id) == 19 and campaign_id.isdigit()
        other = await sb.campaign("winter", budget_mode="BUDGET_MODE_TOTAL", budget=500)
        assert int(other) > int(campaign_id)

        page = await sb.get("/campaign/get/", filtering={"campaign_ids": [campaign_id]})
        [row] = page["list"]
        assert page["page_info"] == {"page": 1, "page_size": 10, "total_number": 1, "total_page": 1}
        assert (row["campaign_name"], row["operation_status"], row["secondary_status"]) == (
            "summer",
            "ENABLE",
            "CAMPAIGN_STATUS_ENABLE",
        )
        assert [r["campaign_name"] for r in (await sb.get("/campaign/get/"))["list"]] == ["winter", "summer"]
        # The name filter is fuzzy: clients must compare names themselves.
        fuzzy = await sb.get("/campaign/get/", filtering={"campaign_name": "umm"})
        assert [r["campaign_id"] for r in fuzzy["list"]] == [campaign_id]

        updated = await sb.ok(
            "POST", "/campaign/update/", json={"advertiser_id": ADV, "campaign_id": other, "budget": 750.5}
        )
        assert updated["budget"] == 750.5 and updated["campaign_name"] == "winter"

        status = {"advertiser_id": ADV, "campaign_ids": [campaign_id], "operation_status": "DISABLE"}
        assert await sb.ok("POST", "/campaign/status/update/", json=status) == {
            "campaign_ids": [campaign_id],
            "status": "DISABLE",
        }
        [row] = (await sb.get("/campaign/get/", filtering={"campaign_ids": [campaign_id]}))["list"]
        assert (row["operation_status"], row["secondary_status"]) == ("DISABLE", "CAMPAIGN_STATUS_DISABLE")

    run(scenario)


def test_campaign_update_refuses_immutable_fields_and_the_status() -> None:
    async def scenario(sb: Sandbox) -> None:
        campaign_id = await sb.campaign()
        base = {"advertiser_id": ADV, "campaign_id": campaign_id}
        code, message = await sb.error("POST", "/campaign/update/", json={**base, "objective_type": "REACH"})
        assert (code, message) == (40002, "objective_type: cannot be changed after creation")
        code, message = await sb.error("POST", "/campaign/update/", json={**base, "operation_status": "DISABLE"})
        assert code == 40002 and message == "operation_status: cannot be updated here; use /campaign/status/update/"
        code, message = await sb.error("POST", "/campaign/update/", json={**base, "budget": 10})
        assert message == "budget: must not be set when budget_mode is BUDGET_MODE_INFINITE"
        code, message = await sb.error("POST", "/campaign/update/", json={**base, "currency": "USD"})
        assert message == "currency: Unknown field."
        # Repeating an immutable field's value is no change.
        assert await sb.ok("POST", "/campaign/update/", json={**base, "objective_type": "TRAFFIC"})

    run(scenario)


def test_delete_is_a_soft_irreversible_status_that_cascades() -> None:
    async def scenario(sb: Sandbox) -> None:
        campaign_id = await sb.campaign()
        adgroup_id = await sb.adgroup(campaign_id)
        ad = await sb.ad(adgroup_id, await sb.image())
        delete = {"advertiser_id": ADV, "campaign_ids": [campaign_id], "operation_status": "DELETE"}
        await sb.ok("POST", "/campaign/status/update/", json=delete)
        await sb.ok("POST", "/campaign/status/update/", json=delete)  # again: nothing changes

        assert (await sb.get("/campaign/get/", filtering={"campaign_ids": [campaign_id]}))["list"] == []
        asked = await sb.get("/campaign/get/", filtering={"secondary_status": "CAMPAIGN_STATUS_DELETE"})
        assert [r["secondary_status"] for r in asked["list"]] == ["CAMPAIGN_STATUS_DELETE"]
        assert len((await sb.get("/campaign/get/", filtering={"secondary_status": "CAMPAIGN_STATUS_ALL"}))["list"]) == 1
        # Its ad group and ad went with it.
        assert (await sb.get("/adgroup/get/"))["list"] == []
        ads = await sb.get("/ad/get/", filtering={"ad_ids": [ad["ad_id"]], "secondary_status": "AD_STATUS_ALL"})
        assert [r["secondary_status"] for r in ads["list"]] == ["AD_STATUS_DELETE"]
        assert await sb.objects("campaign") == {} and await sb.objects("ad") == {}
        deleted = {o["id"]: o["deleted"] for o in await sb.listing(type="campaign", include_deleted=1)}
        assert deleted[campaign_id] is True

        code, message = await sb.error(
            "POST", "/campaign/status/update/", json={**delete, "operation_status": "ENABLE"}
        )
        assert code == 40002 and "deletion cannot be undone" in message
        code, message = await sb.error(
            "POST", "/campaign/status/update/", json={**delete, "campaign_ids": ["1234567890123456789"]}
        )
        assert message == "campaign_ids: campaign 1234567890123456789 does not exist"
        # Updates of a deleted object are refused.
        code, _ = await sb.error(
            "POST", "/campaign/update/", json={"advertiser_id": ADV, "campaign_id": campaign_id, "campaign_name": "x"}
        )
        assert code == 40002

    run(scenario)


def test_request_id_makes_creates_idempotent_per_advertiser_and_endpoint() -> None:
    async def scenario(sb: Sandbox) -> None:
        first = await sb.campaign(request_id="123456789")
        assert await sb.campaign("renamed", request_id="123456789") == first
        assert await sb.campaign(request_id="987654321") != first
        other = {
            "advertiser_id": "7000000002",
            "campaign_name": "summer",
            "objective_type": "TRAFFIC",
            "budget_mode": "BUDGET_MODE_INFINITE",
            "request_id": "123456789",
        }
        assert (await sb.ok("POST", "/campaign/create/", json=other))["campaign_id"] != first
        # The same key on another endpoint is another request.
        adgroup_id = await sb.adgroup(first, request_id="123456789")
        assert await sb.adgroup(first, request_id="123456789") == adgroup_id
        assert len(await sb.objects("campaign")) == 3 and len(await sb.objects("adgroup")) == 1

        code, message = await sb.error(
            "POST", "/campaign/create/", json={**other, "request_id": "12345678901234567890"}
        )
        assert (code, message) == (40002, "request_id: must be a 64-bit integer sent as a string")

    run(scenario)


# --- ad groups ---


def test_adgroup_validation() -> None:
    async def scenario(sb: Sandbox) -> None:
        campaign_id = await sb.campaign()
        cases = {
            "adgroup_name: Missing data for required field.": {"adgroup_name": None},
            "budget: the daily budget must be at least 20.00 USD": {"budget": 19.99},
            "budget: must be greater than 0": {"budget": 0},
            "schedule_end_time: must be later than schedule_start_time": {"schedule_end_time": "2026-05-01 00:00:00"},
            "schedule_start_time: must be a time as YYYY-MM-DD HH:MM:SS": {"schedule_start_time": "2026-06-01"},
            "billing_event: must be one of CPA, CPC, CPM, CPV, GD, OCPM": {"billing_event": "OCPC"},
            "billing_event: optimization_goal CLICK is billed as CPC, not CPM": {"billing_event": "CPM"},
            "campaign_id: campaign 42 does not exist": {"campaign_id": "42"},
            "currency: Unknown field.": {"currency": "USD"},
        }
        for message, change in cases.items():
            body = {k: v for k, v in {**adgroup_body(campaign_id), **change}.items() if v is not None}
            assert await sb.error("POST", "/adgroup/create/", json=body) == (40002, message)
        assert await sb.objects("adgroup") == {}

        adgroup_id = await sb.adgroup(campaign_id, budget="20")
        base = {"advertiser_id": ADV, "adgroup_id": adgroup_id}
        row = await sb.ok("POST", "/adgroup/update/", json={**base, "budget": 60, "location_ids": ["2635167"]})
        assert (row["budget"], row["location_ids"], row["adgroup_name"]) == (60.0, ["2635167"], "summer")
        _, message = await sb.error("POST", "/adgroup/update/", json={**base, "billing_event": "CPM"})
        assert message == "billing_event: cannot be changed after creation"
        _, message = await sb.error("POST", "/adgroup/update/", json={**base, "budget": 5})
        assert message == "budget: the daily budget must be at least 20.00 USD"

        status = {"advertiser_id": ADV, "adgroup_ids": [adgroup_id], "operation_status": "DISABLE"}
        await sb.ok("POST", "/adgroup/status/update/", json=status)
        [row] = (await sb.get("/adgroup/get/", filtering={"campaign_ids": [campaign_id]}))["list"]
        assert (row["operation_status"], row["secondary_status"]) == ("DISABLE", "ADGROUP_STATUS_DISABLE")

    run(scenario)


# --- ads and reviews ---


def test_ads_create_update_and_review_outcomes() -> None:
    async def scenario(sb: Sandbox) -> None:
        adgroup_id = await sb.adgroup(await sb.campaign())
        image_id = await sb.image()
        ad = await sb.ad(adgroup_id, image_id)
        # Only fields the real ad/get/ has: the verdict is the secondary status, the reasons are elsewhere.
        assert ad["secondary_status"] == "AD_STATUS_DELIVERY_OK" and "review_reason" not in ad
        assert (ad["image_ids"], ad["adgroup_id"], ad["operation_status"]) == ([image_id], adgroup_id, "ENABLE")

        await sb.control("POST", "/review", {"name_contains": "summer", "status": "rejected", "reason": "Misleading"})
        [row] = (await sb.get("/ad/get/", filtering={"adgroup_ids": [adgroup_id]}))["list"]
        assert row["secondary_status"] == "AD_STATUS_AUDIT_DENY" and "review_reason" not in row
        info = await sb.get("/ad/review_info/", ad_ids=[ad["ad_id"]])
        assert info["ad_review_map"][ad["ad_id"]] == {
            "ad_id": ad["ad_id"],
            "is_approved": False,
            "review_status": "UNAVAILABLE",
            "reject_info": [{"reasons": ["Misleading"]}],
        }
        pending = await sb.ad(adgroup_id, image_id, "winter.banner")
        await sb.control("POST", "/review", {"name_contains": "winter", "status": "pending"})
        [row] = (await sb.get("/ad/get/", filtering={"ad_ids": [pending["ad_id"]]}))["list"]
        assert row["secondary_status"] == "AD_STATUS_AUDIT"

        new_image = await sb.image(png_bytes(2), "banner-v2")
        body = {
            "advertiser_id": ADV,
            "adgroup_id": adgroup_id,
            "creatives": [{"ad_id": ad["ad_id"], **creative(new_image, ad_text="Now 20% off")}],
        }
        data = await sb.ok("POST", "/ad/update/", json=body)
        assert data["ad_ids"] == [ad["ad_id"]]
        assert (data["creatives"][0]["image_ids"], data["creatives"][0]["ad_text"]) == ([new_image], "Now 20% off")

        body["creatives"][0]["ad_format"] = "SINGLE_VIDEO"
        assert await sb.error("POST", "/ad/update/", json=body) == (
            40002,
            "ad_format: cannot be changed after creation",
        )
        body["creatives"][0] = {"ad_id": ad["ad_id"], "operation_status": "DISABLE"}
        _, message = await sb.error("POST", "/ad/update/", json=body)
        assert message == "operation_status: cannot be updated here; use /ad/status/update/"
        other_group = await sb.adgroup(await sb.campaign("other"))
        body = {"advertiser_id": ADV, "adgroup_id": other_group, "creatives": [{"ad_id": ad["ad_id"]}]}
        _, message = await sb.error("POST", "/ad/update/", json=body)
        assert message == f"creatives.ad_id: ad {ad['ad_id']} is not in ad group {other_group}"

        status = {"advertiser_id": ADV, "ad_ids": [pending["ad_id"]], "operation_status": "DELETE"}
        await sb.ok("POST", "/ad/status/update/", json=status)
        assert list(await sb.objects("ad")) == [ad["ad_id"]]

    run(scenario)


def test_ad_validation() -> None:
    async def scenario(sb: Sandbox) -> None:
        adgroup_id = await sb.adgroup(await sb.campaign())
        image_id = await sb.image()
        cases = {
            "ad_text: must be at most 100 characters": {"ad_text": "x" * 101},
            "image_ids: image ad-site-i18n-sg/1 does not exist": {"image_ids": ["ad-site-i18n-sg/1"]},
            "image_ids: a SINGLE_IMAGE ad needs exactly one image": {"image_ids": []},
            "video_id: Missing data for required field (ad_format is SINGLE_VIDEO).": {"ad_format": "SINGLE_VIDEO"},
            "call_to_action: must be one of": {"call_to_action": "MORE"},
            "landing_page_url: must be an http(s) URL": {"landing_page_url": "acme.example"},
        }
        for message, change in cases.items():
            body = {"advertiser_id": ADV, "adgroup_id": adgroup_id, "creatives": [creative(image_id, **change)]}
            code, got = await sb.error("POST", "/ad/create/", json=body)
            assert code == 40002 and got.startswith(message), got
        good, bad = creative(image_id), creative(image_id, ad_name="")
        body = {"advertiser_id": ADV, "adgroup_id": adgroup_id, "creatives": [good, bad]}
        assert (await sb.error("POST", "/ad/create/", json=body))[1] == "ad_name: must be a non-empty string"
        assert await sb.objects("ad") == {}  # all or nothing
        body = {"advertiser_id": ADV, "adgroup_id": "999", "creatives": [good]}
        assert (await sb.error("POST", "/ad/create/", json=body))[1] == "adgroup_id: adgroup 999 does not exist"

    run(scenario)


# --- the asset library ---


def test_image_upload_info_search_and_delete() -> None:
    async def scenario(sb: Sandbox) -> None:
        content = png_bytes(5)
        wrong = upload("image", content, "banner", signature=hashlib.md5(b"other").hexdigest())
        assert await sb.error("POST", "/file/image/ad/upload/", **wrong) == (
            40002,
            "image_signature: does not match the MD5 of image_file",
        )
        not_image = upload("image", b"GIF89a-not-supported", "anim")
        assert await sb.error("POST", "/file/image/ad/upload/", **not_image) == (
            40002,
            "image_file: unsupported format",
        )
        data = await sb.ok("POST", "/file/image/ad/upload/", **upload("image", content, "banner"))
        image_id = data["image_id"]
        assert not image_id.isdigit()  # library ids are opaque strings
        assert (data["file_name"], data["signature"], data["size"], data["format"]) == (
            "banner",
            hashlib.md5(content).hexdigest(),
            len(content),
            "png",
        )
        stored = (await sb.objects("image"))[image_id]
        assert stored["signature"] == data["signature"]
        # The bytes are kept for the file URL only, never in an API answer.
        assert not any(key.startswith("sandbox_") for key in data) and data["image_url"].endswith(image_id)

        info = await sb.get("/file/image/ad/info/", image_ids=[image_id, "ad-site-i18n-sg/404"])
        assert [row["image_id"] for row in info["list"]] == [image_id]
        for n in range(3):
            await sb.image(png_bytes(10 + n), f"extra-{n}")
        page = await sb.get("/file/image/ad/search/", page=2, page_size=3)
        assert page["page_info"] == {"page": 2, "page_size": 3, "total_number": 4, "total_page": 2}
        assert [row["image_id"] for row in page["list"]] == [image_id]  # newest first
        code, _ = await sb.error("GET", "/file/image/ad/search/", params={"advertiser_id": ADV, "page_size": 101})
        assert code == 40002

        body = {"advertiser_id": ADV, "image_ids": [image_id, "ad-site-i18n-sg/404"]}
        assert await sb.ok("POST", "/creative/asset/delete/", json=body) == {
            "failed_image_ids": ["ad-site-i18n-sg/404"],
            "failed_video_ids": [],
        }
        assert (await sb.get("/file/image/ad/info/", image_ids=[image_id]))["list"] == []
        assert image_id not in await sb.objects("image")

    run(scenario)


def test_video_upload_answers_a_list() -> None:
    async def scenario(sb: Sandbox) -> None:
        data = await sb.ok("POST", "/file/video/ad/upload/", **upload("video", MP4, "teaser"))
        [row] = data
        assert row["video_id"].startswith("v") and row["format"] == "mp4" and row["file_name"] == "teaser"
        info = await sb.get("/file/video/ad/info/", video_ids=[row["video_id"]])
        assert [r["video_id"] for r in info["list"]] == [row["video_id"]]
        found = await sb.get("/file/video/ad/search/", filtering={"video_ids": [row["video_id"]]})
        assert found["page_info"]["total_number"] == 1
        adgroup_id = await sb.adgroup(await sb.campaign())
        video_ad = creative("", ad_format="SINGLE_VIDEO", image_ids=[], video_id=row["video_id"])
        body = {"advertiser_id": ADV, "adgroup_id": adgroup_id, "creatives": [video_ad]}
        [made] = (await sb.ok("POST", "/ad/create/", json=body))["creatives"]
        assert made["video_id"] == row["video_id"]

    run(scenario)


# --- advertisers, auth, parameters ---


def test_advertisers_are_provisioned_in_usd() -> None:
    async def scenario(sb: Sandbox) -> None:
        data = await sb.ok("GET", "/advertiser/info/", params={"advertiser_ids": json.dumps([ADV, "7000000009"])})
        assert [(a["advertiser_id"], a["currency"]) for a in data["list"]] == [(ADV, "USD"), ("7000000009", "USD")]
        code, message = await sb.error("GET", "/advertiser/info/", params={"advertiser_ids": "[not json"})
        assert (code, message) == (40002, "advertiser_ids: not valid JSON")
        code, message = await sb.error("POST", "/campaign/create/", json={"campaign_name": "x"})
        assert message == "advertiser_id: Missing data for required field."

    run(scenario)


def test_auth_errors_come_in_the_envelope_with_http_200() -> None:
    async def scenario(sb: Sandbox) -> None:
        # The official table's codes: 40104 EMPTY_ACCESS_TOKEN, 40105 INVALID_ACCESS_TOKEN.
        assert (await sb.error("GET", "/campaign/get/", token=None, params={"advertiser_id": ADV}))[0] == 40104
        await sb.control("POST", "/auth", {"platform": "tiktok", "valid_tokens": ["another"]})
        code, message = await sb.error("GET", "/campaign/get/", params={"advertiser_id": ADV})
        assert (code, message) == (40105, "Access token is incorrect or has been revoked.")
        assert (await sb.call("GET", "/campaign/get/", token="another", params={"advertiser_id": ADV}))["code"] == 0

    run(scenario)


def test_unknown_paths_keep_their_http_status() -> None:
    async def scenario(sb: Sandbox) -> None:
        response = await sb.http.get(TT + "/nothing/here/", headers={"Access-Token": TOKEN})
        assert response.status_code == 404 and response.json()["code"] == 40400
        response = await sb.http.get(TT + "/campaign/create/", headers={"Access-Token": TOKEN})
        assert response.status_code == 405 and response.json()["code"] == 40500

    run(scenario)


# --- faults from the shared middleware, in TikTok's style ---


def test_rate_limit_is_code_40100_with_http_200_and_no_retry_after() -> None:
    async def scenario(sb: Sandbox) -> None:
        await sb.control("POST", "/faults", {"platform": "tiktok", "rate_limit": 1})
        await sb.get("/campaign/get/")
        response = await sb.http.get(
            TT + "/campaign/get/", params={"advertiser_id": ADV}, headers={"Access-Token": TOKEN}
        )
        assert response.status_code == 200 and "retry-after" not in response.headers
        assert (response.json()["code"], response.json()["message"]) == (
            40100,
            "Too many requests. Please retry in some time.",
        )
        assert (await sb.control("GET", "/stats"))["rate_limited"] == 1

    run(scenario)


def test_transient_faults_reject_and_dropped_responses() -> None:
    async def scenario(sb: Sandbox) -> None:
        await sb.control("POST", "/faults", {"platform": "tiktok", "fault_rate": 1})
        assert await sb.error("GET", "/campaign/get/", params={"advertiser_id": ADV}) == (50000, "System error")
        await sb.control("POST", "/faults", {"platform": "tiktok", "fault_rate": 0})

        await sb.control("POST", "/faults", {"reject": [{"platform": "tiktok", "type": "campaign"}]})
        code, message = await sb.error(
            "POST",
            "/campaign/create/",
            json={
                "advertiser_id": ADV,
                "campaign_name": "x",
                "objective_type": "REACH",
                "budget_mode": "BUDGET_MODE_INFINITE",
            },
        )
        assert (code, message) == (40002, "campaign creation was rejected (sandbox fault injection)")
        await sb.control("POST", "/faults", {"reject": []})

        await sb.control("POST", "/faults", {"platform": "tiktok", "drop_response_rate": 1})
        with pytest.raises(httpx.RemoteProtocolError):
            await sb.campaign("lost")
        [lost] = (await sb.objects("campaign")).values()
        assert lost["campaign_name"] == "lost"  # the write happened

    run(scenario)
