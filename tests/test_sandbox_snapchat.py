"""The Snapchat emulator: OAuth, envelopes, validation, media uploads, soft deletes, reviews, faults.

In-process through httpx.ASGITransport.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests import provider_kit as kit
from tests.conftest import png_bytes

API = "/snapchat/v1"
TOKEN_URL = "/snapchat/login/oauth2/access_token"
ACCOUNT = "8f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
OTHER_ACCOUNT = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
START, END = "2026-06-01T00:00:00.000Z", "2026-08-31T23:59:59.000Z"
REFRESH = {"grant_type": "refresh_token", "client_id": "app-id", "client_secret": "app-secret", "refresh_token": "rt"}


class Sandbox(kit.AsyncSandbox):
    """An in-process sandbox holding a Snapchat access token."""

    platform = "snapchat"
    token = ""

    async def login(self, **form: str) -> httpx.Response:
        response = await self.http.post(TOKEN_URL, data={**REFRESH, **form})
        if response.status_code == 200:
            self.token = response.json()["access_token"]
        return response

    async def api(self, method: str, path: str, *, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token if token is None else token}"}
        return await self.http.request(method, API + path, headers=headers, **kw)

    async def create(self, parent: str, plural: str, *items: dict[str, Any]) -> httpx.Response:
        return await self.api("POST", f"/{parent}/{plural}", json={plural: list(items)})

    async def made(self, parent: str, plural: str, singular: str, item: dict[str, Any]) -> dict[str, Any]:
        response = await self.create(parent, plural, item)
        assert response.status_code == 200, response.text
        [result] = response.json()[plural]
        assert result["sub_request_status"] == "SUCCESS"
        return result[singular]

    async def campaign(self, name: str = "summer", **extra: Any) -> dict[str, Any]:
        item = {"ad_account_id": ACCOUNT, "name": name, "status": "ACTIVE", "start_time": START, **extra}
        return await self.made(f"adaccounts/{ACCOUNT}", "campaigns", "campaign", item)

    async def adsquad(self, campaign_id: str, **extra: Any) -> dict[str, Any]:
        return await self.made(f"campaigns/{campaign_id}", "adsquads", "adsquad", squad(campaign_id, **extra))

    async def media(self, name: str = "banner", type_: str = "IMAGE", account: str = ACCOUNT) -> dict[str, Any]:
        item = {"ad_account_id": account, "name": name, "type": type_}
        return await self.made(f"adaccounts/{account}", "media", "media", item)

    async def upload(self, media_id: str, data: bytes, name: str = "banner.png", kind: str = "image/png") -> Any:
        return await self.api("POST", f"/media/{media_id}/upload", files={"file": (name, data, kind)})

    async def ready_media(self, account: str = ACCOUNT) -> str:
        media_id = (await self.media(account=account))["id"]
        assert (await self.upload(media_id, png_bytes())).status_code == 200
        return media_id

    async def creative(self, media_id: str, **extra: Any) -> dict[str, Any]:
        return await self.made(f"adaccounts/{ACCOUNT}", "creatives", "creative", creative(media_id, **extra))

    async def ad(self, squad_id: str, creative_id: str, name: str = "summer.banner") -> dict[str, Any]:
        item = {"ad_squad_id": squad_id, "creative_id": creative_id, "name": name, "type": "REMOTE_WEBPAGE"}
        return await self.made(f"adsquads/{squad_id}", "ads", "ad", item)


def squad(campaign_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "name": "summer",
        "type": "SNAP_ADS",
        "billing_event": "IMPRESSION",
        "optimization_goal": "SWIPES",
        "bid_strategy": "AUTO_BID",
        "daily_budget_micro": 50_000_000,
        "placement_v2": {"config": "AUTOMATIC"},
        **extra,
    }


def creative(media_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "ad_account_id": ACCOUNT,
        "name": "summer.banner",
        "type": "WEB_VIEW",
        "brand_name": "ACME Corp",
        "headline": "Summer sale",
        "call_to_action": "MORE",
        "top_snap_media_id": media_id,
        "web_view_properties": {"url": "https://acme.example/summer"},
        **extra,
    }


def run(scenario: Callable[[Sandbox], Awaitable[None]], *, login: bool = True) -> None:
    async def logged_in(sandbox: Sandbox) -> None:
        if login:
            assert (await sandbox.login()).status_code == 200
        await scenario(sandbox)

    kit.in_sandbox(logged_in, Sandbox)


def item_error(response: httpx.Response, plural: str) -> str:
    """The one failed item's reason, checking the failed-batch shape on the way."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["request_status"] == "ERROR" and body["request_id"]
    [item] = body[plural]
    assert item["sub_request_status"] == "ERROR"
    return item["sub_request_error_reason"]


def api_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["request_status"], body["error_code"]) == ("ERROR", code)
    assert body["request_id"] and body["display_message"]
    return body["debug_message"]


# --- OAuth ---


def test_the_refresh_grant_issues_access_tokens_that_the_api_requires() -> None:
    async def scenario(sb: Sandbox) -> None:
        assert api_error(await sb.api("GET", f"/adaccounts/{ACCOUNT}", token="made-up"), 401, "E3002")
        r = await sb.http.get(API + f"/adaccounts/{ACCOUNT}")
        assert api_error(r, 401, "E3002")  # no Authorization header at all

        r = await sb.login()
        body = r.json()
        assert r.status_code == 200
        assert {k: body[k] for k in ("token_type", "expires_in", "refresh_token", "scope")} == {
            "token_type": "Bearer",
            "expires_in": 1800,
            "refresh_token": "rt",
            "scope": "snapchat-marketing-api",
        }
        first = body["access_token"]
        assert (await sb.api("GET", f"/adaccounts/{ACCOUNT}")).status_code == 200
        await sb.login()
        assert sb.token != first
        assert (await sb.api("GET", f"/adaccounts/{ACCOUNT}", token=first)).status_code == 200  # both stay valid

    run(scenario, login=False)


def test_bad_grants_are_oauth_errors() -> None:
    async def scenario(sb: Sandbox) -> None:
        r = await sb.login(grant_type="authorization_code")
        assert (r.status_code, r.json()["error"]) == (400, "unsupported_grant_type")
        r = await sb.login(client_secret="")
        assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
        r = await sb.login(refresh_token="")
        assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
        assert r.json()["error_description"]

        # valid_tokens restrict the refresh tokens the token endpoint takes.
        await sb.control("POST", "/auth", {"platform": "snapchat", "valid_tokens": ["the-refresh-token"]})
        r = await sb.login()
        assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
        assert (await sb.login(refresh_token="the-refresh-token")).status_code == 200

    run(scenario, login=False)


def test_expired_access_tokens_fail_until_a_refresh() -> None:
    async def scenario(sb: Sandbox) -> None:
        old = sb.token
        await sb.control("POST", "/auth", {"platform": "snapchat", "expire_access_tokens": True})
        message = api_error(await sb.api("GET", f"/adaccounts/{ACCOUNT}"), 401, "E3002")
        assert "expired" in message
        await sb.login()
        assert (await sb.api("GET", f"/adaccounts/{ACCOUNT}")).status_code == 200
        assert (await sb.api("GET", f"/adaccounts/{ACCOUNT}", token=old)).status_code == 401
        await sb.control("POST", "/reset")
        assert (await sb.api("GET", f"/adaccounts/{ACCOUNT}")).status_code == 401  # reset forgets issued tokens

    run(scenario)


# --- ad accounts ---


def test_ad_accounts_are_provisioned_in_usd_on_first_use() -> None:
    async def scenario(sb: Sandbox) -> None:
        r = await sb.api("GET", f"/adaccounts/{ACCOUNT}")
        body = r.json()
        assert body["request_status"] == "SUCCESS"
        [item] = body["adaccounts"]
        assert item["sub_request_status"] == "SUCCESS"
        assert (item["adaccount"]["id"], item["adaccount"]["currency"]) == (ACCOUNT, "USD")
        assert [o["id"] for o in await sb.listing(type="adaccount")] == [ACCOUNT]
        assert api_error(await sb.api("GET", "/adaccounts/not-a-uuid"), 404, "E3003")

    run(scenario)


# --- campaigns: create, list, get, full-object PUT, soft delete ---


def test_campaign_lifecycle() -> None:
    async def scenario(sb: Sandbox) -> None:
        made = await sb.campaign(end_time="2026-08-31T23:59:59Z", daily_budget_micro=20_000_000)
        assert len(made["id"]) == 36 and made["id"].count("-") == 4
        assert made["end_time"] == END  # echoed in the API's own time format
        assert (made["objective"], made["buy_model"]) == ("BRAND_AWARENESS", "AUCTION")  # documented defaults
        assert made["created_at"].endswith("Z")

        r = await sb.api("GET", f"/campaigns/{made['id']}")
        assert r.json()["campaigns"] == [{"sub_request_status": "SUCCESS", "campaign": made}]
        r = await sb.api("GET", f"/adaccounts/{ACCOUNT}/campaigns")
        assert [c["campaign"]["id"] for c in r.json()["campaigns"]] == [made["id"]]

        # PUT sends the full object: a field left out is dropped.
        full = {k: made[k] for k in ("id", "ad_account_id", "name", "start_time", "objective")}
        r = await sb.api("PUT", f"/adaccounts/{ACCOUNT}/campaigns", json={"campaigns": [{**full, "status": "PAUSED"}]})
        assert r.status_code == 200, r.text
        updated = r.json()["campaigns"][0]["campaign"]
        assert updated["status"] == "PAUSED" and "daily_budget_micro" not in updated and "end_time" not in updated
        assert updated["created_at"] == made["created_at"]
        moved = {**full, "status": "PAUSED", "objective": "ENGAGEMENT"}
        r = await sb.api("PUT", f"/adaccounts/{ACCOUNT}/campaigns", json={"campaigns": [moved]})
        assert "objective cannot be changed" in item_error(r, "campaigns")

        r = await sb.api("DELETE", f"/campaigns/{made['id']}")
        assert r.status_code == 200 and r.json()["request_status"] == "SUCCESS"
        assert api_error(await sb.api("GET", f"/campaigns/{made['id']}"), 404, "E3003")
        assert api_error(await sb.api("DELETE", f"/campaigns/{made['id']}"), 404, "E3003")
        assert (await sb.api("GET", f"/adaccounts/{ACCOUNT}/campaigns")).json()["campaigns"] == []
        # Soft delete: readable with read_deleted_entities=true, and in the control API with include_deleted.
        r = await sb.api("GET", f"/campaigns/{made['id']}", params={"read_deleted_entities": "true"})
        assert r.json()["campaigns"][0]["campaign"]["deleted"] is True
        r = await sb.api("GET", f"/adaccounts/{ACCOUNT}/campaigns", params={"read_deleted_entities": "true"})
        assert [c["campaign"]["deleted"] for c in r.json()["campaigns"]] == [True]
        assert await sb.listing(type="campaign") == []
        assert [o["deleted"] for o in await sb.listing(type="campaign", include_deleted=1)] == [True]
        r = await sb.api("PUT", f"/adaccounts/{ACCOUNT}/campaigns", json={"campaigns": [full]})
        assert "does not exist" in item_error(r, "campaigns")

    run(scenario)


def test_campaign_validation() -> None:
    async def scenario(sb: Sandbox) -> None:
        base = {"ad_account_id": ACCOUNT, "name": "c", "status": "ACTIVE", "start_time": START}
        cases = {
            "status is required": {k: v for k, v in base.items() if k != "status"},
            "status must be one of ACTIVE, PAUSED": {**base, "status": "RUNNING"},
            "start_time must be an ISO 8601 time": {**base, "start_time": "June 1st"},
            "end_time must be after start_time": {**base, "end_time": "2026-05-01T00:00:00.000Z"},
            "objective must be one of": {**base, "objective": "TRAFFIC"},
            "name must be at most 375 characters": {**base, "name": "x" * 376},
            "does not match the adaccount in the path": {**base, "ad_account_id": OTHER_ACCOUNT},
        }
        for reason, item in cases.items():
            assert reason in item_error(await sb.create(f"adaccounts/{ACCOUNT}", "campaigns", item), "campaigns")
        r = await sb.api("POST", f"/adaccounts/{ACCOUNT}/campaigns", json={"campaign": base})
        assert "campaigns" in api_error(r, 400, "E4002")
        r = await sb.http.post(
            API + f"/adaccounts/{ACCOUNT}/campaigns",
            content=b"{not json",
            headers={"Authorization": f"Bearer {sb.token}", "content-type": "application/json"},
        )
        assert "not valid JSON" in api_error(r, 400, "E4002")
        assert await sb.listing(type="campaign") == []

    run(scenario)


def test_a_batch_with_a_bad_item_is_a_partial_failure() -> None:
    async def scenario(sb: Sandbox) -> None:
        good = {"ad_account_id": ACCOUNT, "name": "good", "status": "ACTIVE", "start_time": START}
        r = await sb.create(f"adaccounts/{ACCOUNT}", "campaigns", good, {**good, "name": ""})
        assert r.status_code == 400
        body = r.json()
        assert body["request_status"] == "ERROR"
        assert [i["sub_request_status"] for i in body["campaigns"]] == ["SUCCESS", "ERROR"]
        assert body["campaigns"][1]["sub_request_error_reason"] == "name must be a non-empty string"
        assert [o["fields"]["name"] for o in await sb.listing(type="campaign")] == ["good"]

    run(scenario)


def test_list_pagination_follows_next_link() -> None:
    async def scenario(sb: Sandbox) -> None:
        item = {"ad_account_id": ACCOUNT, "status": "PAUSED", "start_time": START}
        r = await sb.create(f"adaccounts/{ACCOUNT}", "campaigns", *({**item, "name": f"c{i}"} for i in range(60)))
        assert r.status_code == 200
        first = (await sb.api("GET", f"/adaccounts/{ACCOUNT}/campaigns", params={"limit": 50})).json()
        assert len(first["campaigns"]) == 50
        link = httpx.URL(first["paging"]["next_link"])
        assert link.path == f"{API}/adaccounts/{ACCOUNT}/campaigns" and link.params["limit"] == "50"
        second = (await sb.api("GET", f"/adaccounts/{ACCOUNT}/campaigns", params=link.params)).json()
        names = [c["campaign"]["name"] for c in first["campaigns"] + second["campaigns"]]
        assert names == [f"c{i}" for i in range(60)] and second["paging"] == {}
        r = await sb.api("GET", f"/adaccounts/{ACCOUNT}/campaigns", params={"limit": 10})
        assert "between 50 and 1000" in api_error(r, 400, "E4002")

    run(scenario)


# --- ad squads ---


def test_adsquad_lifecycle_and_validation() -> None:
    async def scenario(sb: Sandbox) -> None:
        campaign_id = (await sb.campaign())["id"]
        made = await sb.adsquad(campaign_id, targeting={"geos": [{"country_code": "us"}]})
        assert made["status"] == "ACTIVE" and made["campaign_id"] == campaign_id
        path = f"campaigns/{campaign_id}"
        cases = {
            "daily_budget_micro must be at least 5000000": squad(campaign_id, daily_budget_micro=4_999_999),
            "daily_budget_micro must be an integer": squad(campaign_id, daily_budget_micro="50"),
            "give exactly one of daily_budget_micro or lifetime_budget_micro": squad(
                campaign_id, lifetime_budget_micro=10_000_000
            ),
            "billing_event must be one of IMPRESSION": squad(campaign_id, billing_event="CPC"),
            "optimization_goal must be one of": squad(campaign_id, optimization_goal="CLICKS"),
            "placement_v2 is required": {k: v for k, v in squad(campaign_id).items() if k != "placement_v2"},
            # The old request, a bare bid_micro, and a capped strategy without its cap (fidelity-audit row 10).
            "bid_strategy is required with a bid_micro": {
                **{k: v for k, v in squad(campaign_id).items() if k != "bid_strategy"},
                "bid_micro": 1_000_000,
            },
            "bid_strategy is required: one of AUTO_BID": {
                k: v for k, v in squad(campaign_id).items() if k != "bid_strategy"
            },
            "bid_micro is required for bid_strategy LOWEST_COST_WITH_MAX_BID": squad(
                campaign_id, bid_strategy="LOWEST_COST_WITH_MAX_BID"
            ),
            "bid_micro is required for bid_strategy TARGET_COST": squad(campaign_id, bid_strategy="TARGET_COST"),
            "bid_strategy must be one of AUTO_BID, LOWEST_COST_WITH_MAX_BID, TARGET_COST": squad(
                campaign_id, bid_strategy="MAX_BID"
            ),
            # A pixel goal without the pixel (conversions).
            "pixel_id is required for optimization_goal PIXEL_PURCHASE": squad(
                campaign_id, optimization_goal="PIXEL_PURCHASE"
            ),
        }
        for reason, item in cases.items():
            assert reason in item_error(await sb.create(path, "adsquads", item), "adsquads")

        r = await sb.api("PUT", f"/{path}/adsquads", json={"adsquads": [{**squad(campaign_id), "id": made["id"]}]})
        assert r.status_code == 200 and "targeting" not in r.json()["adsquads"][0]["adsquad"]
        other = (await sb.campaign("other"))["id"]
        r = await sb.api("PUT", f"/campaigns/{other}/adsquads", json={"adsquads": [{**squad(other), "id": made["id"]}]})
        assert f"does not exist under campaign {other}" in item_error(r, "adsquads")  # no re-parenting

        r = await sb.api("GET", f"/{path}/adsquads")
        assert [s["adsquad"]["id"] for s in r.json()["adsquads"]] == [made["id"]]
        assert (await sb.api("DELETE", f"/adsquads/{made['id']}")).status_code == 200
        assert (await sb.api("GET", f"/{path}/adsquads")).json()["adsquads"] == []
        r = await sb.create("campaigns/5b2c3d4e-0000-4000-8000-000000000000", "adsquads", squad(campaign_id))
        assert api_error(r, 404, "E3003")  # an unknown parent

    run(scenario)


# --- media and creatives ---


def test_media_is_created_empty_then_uploaded() -> None:
    async def scenario(sb: Sandbox) -> None:
        media = await sb.media()
        assert media["media_status"] == "PENDING_UPLOAD" and media["type"] == "IMAGE"
        reason = item_error(await sb.create(f"adaccounts/{ACCOUNT}", "creatives", creative(media["id"])), "creatives")
        assert "is not READY" in reason

        r = await sb.upload(media["id"], b"\x00\x00\x00 ftypmp42", name="clip.mp4", kind="video/mp4")
        assert "is a VIDEO but media" in api_error(r, 400, "E4002")
        r = await sb.upload(media["id"], png_bytes(), name="c0ffee.png", kind="application/octet-stream")
        assert r.status_code == 200, r.text
        result = r.json()["result"]
        assert (result["id"], result["media_status"], result["file_name"]) == (media["id"], "READY", "c0ffee.png")
        assert "sandbox_sha256" not in result  # sandbox-only facts stay out of the API
        stored = (await sb.listing(type="media"))[0]["fields"]
        assert stored["sandbox_size"] == len(png_bytes())
        assert "already" in api_error(await sb.upload(media["id"], png_bytes(1)), 400, "E4002")

        r = await sb.api("GET", f"/media/{media['id']}")
        assert r.json()["media"][0]["media"]["media_status"] == "READY"
        r = await sb.api("GET", f"/adaccounts/{ACCOUNT}/media")
        assert [m["media"]["id"] for m in r.json()["media"]] == [media["id"]]
        # Media can be neither deleted nor changed.
        assert api_error(await sb.api("DELETE", f"/media/{media['id']}"), 405, "E4002")
        assert (await sb.api("PUT", f"/adaccounts/{ACCOUNT}/media", json={"media": []})).status_code == 405
        r = await sb.create(f"adaccounts/{ACCOUNT}", "media", {"ad_account_id": ACCOUNT, "name": "m", "type": "GIF"})
        assert "type must be one of VIDEO, IMAGE, LENS_PACKAGE" in item_error(r, "media")

    run(scenario)


def test_creatives_check_their_media_and_cannot_be_deleted() -> None:
    async def scenario(sb: Sandbox) -> None:
        media_id = await sb.ready_media()
        made = await sb.creative(media_id)
        assert made["top_snap_media_id"] == media_id
        foreign = await sb.ready_media(OTHER_ACCOUNT)
        path = f"adaccounts/{ACCOUNT}"
        cases = {
            "is not a media of this ad account": creative(foreign),
            "top_snap_media_id must be a UUID": creative("nope"),
            "web_view_properties.url is required": creative(media_id, web_view_properties={}),
            "brand_name must be at most 32 characters": creative(media_id, brand_name="B" * 33),
            "headline is required": {k: v for k, v in creative(media_id).items() if k != "headline"},
        }
        for reason, item in cases.items():
            assert reason in item_error(await sb.create(path, "creatives", item), "creatives")

        renamed = {**creative(media_id, name="renamed"), "id": made["id"]}
        r = await sb.api("PUT", f"/{path}/creatives", json={"creatives": [renamed]})
        assert r.json()["creatives"][0]["creative"]["name"] == "renamed"
        other_media = await sb.ready_media()
        swapped = {**renamed, "top_snap_media_id": other_media}
        r = await sb.api("PUT", f"/{path}/creatives", json={"creatives": [swapped]})
        assert "top_snap_media_id cannot be changed" in item_error(r, "creatives")
        assert api_error(await sb.api("DELETE", f"/creatives/{made['id']}"), 405, "E4002")

    run(scenario)


# --- ads and review ---


def test_ads_and_their_review_status() -> None:
    async def scenario(sb: Sandbox) -> None:
        campaign_id = (await sb.campaign())["id"]
        squad_id = (await sb.adsquad(campaign_id))["id"]
        creative_id = (await sb.creative(await sb.ready_media()))["id"]
        ad = await sb.ad(squad_id, creative_id)
        assert (ad["review_status"], ad["status"]) == ("APPROVED", "ACTIVE")
        assert "review_status_reasons" not in ad

        await sb.control("POST", "/review", {"name_contains": "summer", "status": "rejected", "reason": "Misleading"})
        r = await sb.api("GET", f"/ads/{ad['id']}")  # rules apply to existing ads too
        view = r.json()["ads"][0]["ad"]
        assert (view["review_status"], view["review_status_reasons"]) == ("REJECTED", ["Misleading"])
        await sb.control("POST", "/review", {"name_contains": "pending", "status": "pending"})
        assert (await sb.ad(squad_id, creative_id, "summer.pending"))["review_status"] == "PENDING"
        r = await sb.api("GET", f"/adsquads/{squad_id}/ads")
        assert [a["ad"]["review_status"] for a in r.json()["ads"]] == ["REJECTED", "PENDING"]

        item = {"ad_squad_id": squad_id, "creative_id": creative_id, "name": "x", "type": "SNAP_AD"}
        reason = item_error(await sb.create(f"adsquads/{squad_id}", "ads", item), "ads")
        assert reason == "an ad with a WEB_VIEW creative must have type REMOTE_WEBPAGE"
        item = {**item, "type": "REMOTE_WEBPAGE", "creative_id": "5b2c3d4e-0000-4000-8000-000000000000"}
        assert "is not a creative of this ad account" in item_error(
            await sb.create(f"adsquads/{squad_id}", "ads", item), "ads"
        )

        assert (await sb.api("DELETE", f"/ads/{ad['id']}")).status_code == 200
        assert [o["fields"]["name"] for o in await sb.listing(type="ad")] == ["summer.pending"]

    run(scenario)


# --- faults, in Snapchat's own style ---


def test_faults_answer_in_snapchat_style() -> None:
    async def scenario(sb: Sandbox) -> None:
        await sb.control("POST", "/faults", {"platform": "snapchat", "rate_limit": 1})
        assert (await sb.api("GET", f"/adaccounts/{ACCOUNT}")).status_code == 200
        r = await sb.api("GET", f"/adaccounts/{ACCOUNT}")
        assert api_error(r, 429, "E1008") and "retry-after" not in r.headers  # no Retry-After (research 4.5)

        await sb.control("POST", "/faults", {"platform": "snapchat", "rate_limit": None, "fault_rate": 1})
        assert api_error(await sb.api("GET", f"/adaccounts/{ACCOUNT}"), 503, "E1001")

        await sb.control("POST", "/faults", {"platform": "snapchat", "fault_rate": 0})
        await sb.control("POST", "/faults", {"reject": [{"platform": "snapchat", "type": "campaign"}]})
        r = await sb.create(
            f"adaccounts/{ACCOUNT}",
            "campaigns",
            {"ad_account_id": ACCOUNT, "name": "c", "status": "ACTIVE", "start_time": START},
        )
        assert "campaign creation was rejected" in item_error(r, "campaigns")
        assert api_error(await sb.api("GET", "/nowhere"), 404, "E3003")
        stats = await sb.control("GET", "/stats")
        assert stats["rate_limited"] == 1 and stats["faults"] == 1
        assert stats["requests"]["snapchat"]["POST"] >= 2  # the token request counts too

    run(scenario)
