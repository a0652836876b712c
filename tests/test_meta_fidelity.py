"""Meta as Graph v26 takes it (fidelity audit rows 1-4, 9, 16, 18-20, time zones, usage pacing).

Each rule is checked three ways: what compile sends, the emulator refusing the old request with
Graph's own error, and the provider (or the `reconciler` command) against the emulator.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.model import TargetConfig
from reconciler.providers import meta as meta_provider
from reconciler.providers.meta import MetaProvider, usage_pause
from reconciler.sandbox.meta import validation
from reconciler.spec.compile import compile_specs
from reconciler.spec.loader import load_specs
from tests import provider_kit as kit
from tests.conftest import png_bytes
from tests.e2e import Sandbox, run_reconciler
from tests.test_import_meta import MOVIE
from tests.test_sandbox_meta import ACCOUNT, API, TOKEN, Graph

NUMBER = ACCOUNT.removeprefix("act_")
PIXEL = "424242424242"

SPEC = """\
kind: Target
name: meta-{name}
platform: meta
ad_account_id: act_{account}
page_id: "998877"
timezone: {zone}
pixel_id: "{pixel}"
api_base_url: {url}
rate_limit: 1000
credentials: {{token_env: META_ACCESS_TOKEN}}
---
kind: Advertiser
name: acme
display_name: ACME Corp
web_home_url: https://acme.example
---
kind: Creative
name: banner
advertiser: acme
format: image/png
size: 1x1
asset: assets/banner.png
click_url: https://acme.example/summer
headline: Summer sale
---
kind: Creative
name: clip
advertiser: acme
format: video/mp4
size: 640x360
asset: assets/clip.mp4
click_url: https://acme.example/clip
headline: Watch the summer
body: Thirty seconds of sun
call_to_action: WATCH_MORE
---
kind: Campaign
name: summer
advertiser: acme
start_date: 2026-06-01
end_date: 2026-06-30
targets: [meta-{name}]
creatives: [banner, clip]
budget: {{daily: 50.00, currency: USD}}
objective: conversions
conversion_event: INITIATE_CHECKOUT
audience: {{countries: [US], age_min: 21, advantage_audience: true}}
"""


def write_project(directory: Path, *, name: str, account: str, zone: str, url: str = "") -> Path:
    (directory / "specs" / "assets").mkdir(parents=True)
    (directory / "state").mkdir()
    (directory / "specs" / "assets" / "banner.png").write_bytes(png_bytes(7))
    (directory / "specs" / "assets" / "clip.mp4").write_bytes(MOVIE)
    text = SPEC.format(name=name, account=account, zone=zone, pixel=PIXEL, url=url or "null")
    (directory / "specs" / "main.yaml").write_text(text)
    return directory


def compiled(directory: Path) -> dict[str, dict[str, Any]]:
    return {r.address.split(":", 1)[1]: r.attributes for r in compile_specs(load_specs(directory)).resources}


# --- what compile sends ---


def test_compile_sends_what_graph_v26_requires(tmp_path: Path) -> None:
    out = compiled(write_project(tmp_path, name="la", account="555", zone="America/Los_Angeles"))
    assert out["campaign/summer"]["is_adset_budget_sharing_enabled"] is False  # row 1: the budget is the ad set's
    adset = out["adset/summer"]
    assert adset["targeting"]["targeting_automation"] == {"advantage_audience": 1}  # row 2, from the audience
    assert adset["promoted_object"] == {"pixel_id": PIXEL, "custom_event_type": "INITIATED_CHECKOUT"}  # Graph's name
    assert (adset["start_time"], adset["end_time"]) == ("2026-06-01T00:00:00-0700", "2026-06-30T23:59:59-0700")
    video = out["adcreative/summer.clip"]["object_story_spec"]["video_data"]
    assert video["title"] == "Watch the summer" and "name" not in video  # row 3
    assert set(video) <= validation.VIDEO_DATA_KEYS
    link = out["adcreative/summer.banner"]["object_story_spec"]["link_data"]
    assert link["name"] == "Summer sale" and set(link) <= validation.LINK_DATA_KEYS


def test_a_campaign_budget_override_sends_no_sharing_flag(tmp_path: Path) -> None:
    write_project(tmp_path, name="la", account="555", zone="UTC")
    spec = tmp_path / "specs" / "main.yaml"
    spec.write_text(spec.read_text() + "overrides: {meta: {campaign: {daily_budget: 9000}}}\n")
    assert "is_adset_budget_sharing_enabled" not in compiled(tmp_path)["campaign/summer"]


# --- the emulator refuses the old requests, as Graph does ---


def test_emulator_refuses_what_graph_v26_refuses() -> None:
    async def scenario(g: Graph) -> None:
        path = f"/{ACCOUNT}/campaigns"
        body = {"name": "x", "objective": "OUTCOME_TRAFFIC", "special_ad_categories": []}
        error = await g.error("POST", path, json=body)
        assert (error["code"], error["error_user_title"]) == (100, "Budget sharing required")
        assert await g.ok("POST", path, json={**body, "daily_budget": 900})  # a campaign budget needs no flag

        campaign = await g.campaign()
        old = {"geo_locations": {"countries": ["US"]}, "age_min": 18}
        error = await g.error("POST", f"/{ACCOUNT}/adsets", json=_adset(campaign, targeting=old))
        assert (error["code"], error["error_subcode"]) == (100, validation.ADVANTAGE_AUDIENCE_SUBCODE)
        assert error["error_user_title"] == "Advantage Audience Flag Required"

        sales = await g.campaign("sales", objective="OUTCOME_SALES")
        error = await g.error("POST", f"/{ACCOUNT}/adsets", json=_adset(sales, optimization_goal="OFFSITE_CONVERSIONS"))
        assert error["error_user_title"] == "Promoted object required"
        promoted = {"pixel_id": PIXEL, "custom_event_type": "PURCHASE"}
        assert await g.ok(
            "POST",
            f"/{ACCOUNT}/adsets",
            json=_adset(sales, optimization_goal="OFFSITE_CONVERSIONS", promoted_object=promoted),
        )

        video = await _video(g)
        story = {"video_id": video, "message": "m", "call_to_action": _cta()}
        error = await _creative_error(g, {**story, "name": "Old headline", "image_url": "https://cdn.example/t.jpg"})
        assert error["message"] == '(#100) Invalid keys "name" were found in param "object_story_spec[video_data]".'
        error = await _creative_error(g, {**story, "title": "Headline"})
        assert (error["code"], error["error_subcode"]) == (100, 1443226)
        assert "image_hash or image_url" in error["error_user_msg"]
        assert await g.ok("POST", f"/{ACCOUNT}/adcreatives", json=_story({**story, "image_hash": await g.image()}))

    kit.in_sandbox(scenario, Graph)


def test_a_new_video_stays_in_processing_for_the_set_time() -> None:
    async def scenario(g: Graph) -> None:
        await g.control("POST", "/faults", {"platform": "meta", "video_processing_ms": 600})
        video = await _video(g)
        status = (await g.ok("GET", f"/{video}", {"fields": "status"}))["status"]
        assert status["video_status"] == "processing" and status["processing_progress"] < 100
        story = {"video_id": video, "title": "t", "call_to_action": _cta(), "image_url": "https://cdn.example/t.jpg"}
        assert (await _creative_error(g, story))["error_user_title"] == "Video not ready"
        time.sleep(0.7)
        assert (await g.ok("GET", f"/{video}", {"fields": "status"}))["status"]["video_status"] == "ready"
        assert await g.ok("POST", f"/{ACCOUNT}/adcreatives", json=_story(story))

    kit.in_sandbox(scenario, Graph)


def test_valid_read_fields_answer_and_usage_headers_name_the_account() -> None:
    async def scenario(g: Graph) -> None:
        ids = await g.chain()
        adset = await g.ok("GET", f"/{ids['adset']}", {"fields": "budget_remaining,issues_info,recommendations"})
        assert adset == {"id": ids["adset"], "budget_remaining": "5000"}  # no issues: Graph leaves them out
        assert (await g.ok("GET", f"/{ids['ad']}", {"fields": "issues_info"})) == {"id": ids["ad"]}
        # Any field the SDK lists reads (unset ones left out); one it does not list is still #100.
        assert await g.ok("GET", f"/{ids['campaign']}", {"fields": "spend_cap,source_campaign_id,can_use_spend_cap"})
        assert (await g.error("GET", f"/{ids['campaign']}", {"fields": "colour"}))["code"] == 100
        for goal in ("CLICKS", "REPLIES"):  # not Graph's (v26 has neither)
            assert await g.error("POST", f"/{ACCOUNT}/adsets", json=_adset(ids["campaign"], optimization_goal=goal))
        await g.control("POST", "/faults", {"platform": "meta", "rate_limit": 2})
        response = await g.call("GET", f"/{ids['adset']}", {"fields": "name"})
        buc = json.loads(response.headers["X-Business-Use-Case-Usage"])
        assert list(buc) == [NUMBER] and buc[NUMBER][0]["type"] == "ads_management"
        assert json.loads(response.headers["X-Ad-Account-Usage"])["acc_id_util_pct"] == buc[NUMBER][0]["call_count"]
        for _ in range(3):
            response = await g.call("GET", f"/{ACCOUNT}/campaigns")
        assert response.json()["error"]["code"] == 17  # throttled: the header still names the account
        assert list(json.loads(response.headers["X-Business-Use-Case-Usage"])) == [NUMBER]

    kit.in_sandbox(scenario, Graph)


# --- the provider ---


def provider_target(zone: str = "UTC") -> TargetConfig:
    settings = {"ad_account_id": ACCOUNT, "page_id": "998877", "timezone": zone}
    return kit.sandbox_target("meta-us", "meta", settings, {"token_env": "META_ACCESS_TOKEN"})


class Meta(Graph):
    def provider(self, zone: str = "UTC") -> MetaProvider:
        return MetaProvider(provider_target(zone), TOKEN, transport=self.transport)


op = kit.OpBuilder("meta-us")


def test_provider_waits_for_the_video_and_adds_its_picture_as_thumbnail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meta_provider, "VIDEO_POLL_FIRST", 0.05)

    async def scenario(g: Meta) -> None:
        await g.control("POST", "/faults", {"platform": "meta", "video_processing_ms": 400})
        p = g.provider()
        video = await _video(g)
        spec = {"page_id": "998877", "video_data": {"video_id": video, "title": "t", "call_to_action": _cta()}}
        attrs = {"account_id": NUMBER, "name": "summer.clip", "object_story_spec": spec}
        started = time.monotonic()
        made = await p.create(op("adcreative", attrs))
        assert time.monotonic() - started >= 0.3  # it waited for the video rather than failing
        stored = (await g.objects("adcreative"))[made.id]["object_story_spec"]["video_data"]
        assert stored["image_url"].endswith(f"/picture/{video}")  # the video's own frame
        # Graph's keys on read (the thumbnail) are not drift: no replace of the creative.
        assert await p.read("adcreative", made.id, attrs) == attrs
        await p.aclose()

    kit.in_sandbox(scenario, Meta)


EXPECTED_REVIEWS = {
    "ACTIVE": "approved", "PAUSED": "approved", "ADSET_PAUSED": "approved", "CAMPAIGN_PAUSED": "approved",
    "ARCHIVED": "approved", "DELETED": "approved", "PREAPPROVED": "approved",
    "PENDING_REVIEW": "pending", "IN_PROCESS": "pending", "PENDING_BILLING_INFO": "pending",
    "DISAPPROVED": "rejected", "WITH_ISSUES": "rejected",
}  # fmt: skip


def test_review_maps_every_ad_effective_status_the_emulator_emits() -> None:
    assert set(EXPECTED_REVIEWS) == validation.AD_EFFECTIVE_STATUSES

    async def scenario(g: Meta) -> None:
        p = g.provider()
        campaign = await g.campaign()
        adset = await g.adset(campaign)
        creative = await g.creative(await g.image())
        for status, verdict in EXPECTED_REVIEWS.items():
            name = f"ad-{status.lower()}"
            rule = {"name_contains": name, "status": verdict, "reason": f"because {status}", "platform_status": status}
            await g.control("POST", "/review", rule)
            ad = await g.ad(adset, creative, name)
            review = await p.review("ad", ad, {})
            assert review is not None and review.status == verdict, status
            if verdict == "rejected":
                assert review.reason == f"because {status}"
        await p.aclose()

    kit.in_sandbox(scenario, Meta)


def test_usage_headers_slow_the_provider_before_it_is_throttled() -> None:
    async def scenario(g: Meta) -> None:
        p = g.provider()
        campaign = await g.campaign()
        await g.control("POST", "/faults", {"platform": "meta", "rate_limit": 4})
        started = time.monotonic()
        for _ in range(12):  # three times the burst, at the target's own 1000/s
            assert await p.read("campaign", campaign, {"name": "summer"})
        stats = await g.control("GET", "/stats")
        assert stats["rate_limited"] == 0  # paced by the headers, never throttled
        assert time.monotonic() - started >= 1.5  # 12 requests at 4/s after a burst of 4
        await p.aclose()

    kit.in_sandbox(scenario, Meta)


def test_usage_pause_waits_out_the_regain_time_and_reads_this_accounts_entry() -> None:
    def response(buc: dict[str, Any], ad_account: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"X-Business-Use-Case-Usage": json.dumps(buc)}
        if ad_account is not None:
            headers["X-Ad-Account-Usage"] = json.dumps(ad_account)
        return httpx.Response(200, headers=headers)

    entry = {"type": "ads_management", "call_count": 10, "total_cputime": 5, "total_time": 5}
    assert usage_pause(response({NUMBER: [entry]}), NUMBER) is None  # far from the limit
    busy = {**entry, "call_count": 95}
    assert usage_pause(response({"999": [busy], NUMBER: [entry]}), NUMBER) is None  # another account's usage
    slow = usage_pause(response({NUMBER: [busy]}, {"acc_id_util_pct": 95, "reset_time_duration": 100}), NUMBER)
    assert slow is not None and 60 < slow < 100
    regain = {**entry, "estimated_time_to_regain_access": 3}
    assert usage_pause(response({NUMBER: [regain]}), NUMBER) == 180.0


def test_a_time_zone_other_than_the_accounts_stops_every_write_before_it_is_sent() -> None:
    async def scenario(g: Meta) -> None:
        p = g.provider("Asia/Tokyo")  # the account is in UTC
        attrs = {"account_id": NUMBER, "name": "summer", "objective": "OUTCOME_TRAFFIC", "status": "ACTIVE"}
        for action in (p.create(op("campaign", attrs)), p.delete(op("campaign", attrs, id_="1"))):
            with pytest.raises(Exception, match="Asia/Tokyo.*act_1234567890 is in UTC"):
                await action
        assert (await g.requests())["POST"] == 0 and (await g.requests())["DELETE"] == 0
        await p.aclose()

    kit.in_sandbox(scenario, Meta)


# --- through the command, against `reconciler sandbox serve` ---


@pytest.mark.parametrize(
    ("zone", "start", "end"),
    [
        ("America/Los_Angeles", "2026-06-01T07:00:00+0000", "2026-07-01T06:59:59+0000"),
        ("Asia/Tokyo", "2026-05-31T15:00:00+0000", "2026-06-30T14:59:59+0000"),
    ],
)
def test_apply_into_an_account_of_another_zone_then_refresh_is_clean(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zone: str, start: str, end: str
) -> None:
    monkeypatch.setenv("META_ACCESS_TOKEN", TOKEN)
    sandbox.control("POST", "faults", json={"platform": "meta", "video_processing_ms": 300})
    sandbox.control("POST", "accounts", json={"platform": "meta", "id": "act_555", "timezone": zone, "currency": "USD"})
    project = write_project(tmp_path, name="la", account="555", zone=zone, url=f"{sandbox.url}{API}")
    done = run_reconciler(project, "apply", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    objects = {(o["type"], o["fields"].get("name")): o["fields"] for o in sandbox.objects("meta")}
    adset = objects[("adset", "summer")]
    assert (adset["start_time"], adset["end_time"]) == (start, end)  # the instants of local midnight and 23:59:59
    assert adset["promoted_object"]["custom_event_type"] == "INITIATED_CHECKOUT"
    read = httpx.get(
        f"{sandbox.url}{API}/act_555/adsets", params={"access_token": TOKEN, "fields": "start_time"}, timeout=10
    ).json()["data"][0]
    assert read["start_time"] == "2026-06-01T00:00:00" + ("-0700" if zone == "America/Los_Angeles" else "+0900")
    assert objects[("campaign", "summer")]["is_adset_budget_sharing_enabled"] is False
    planned = run_reconciler(project, "plan", "--refresh", "--detailed-exitcode")
    assert planned.returncode == 0, planned.stdout + planned.stderr

    # What reconciler made imports back, conversions included (the target names the pixel), as whole local days.
    again = tmp_path / "again"
    (again / "specs").mkdir(parents=True)
    target = (project / "specs" / "main.yaml").read_text().split("---")[0]
    (again / "specs" / "targets.yaml").write_text(target)
    done = run_reconciler(again, "import")
    assert done.returncode == 0, done.stdout + done.stderr
    imported = (again / "specs" / "imported" / "meta-la.yaml").read_text()
    assert "conversion_event: INITIATE_CHECKOUT" in imported and "start_date: 2026-06-01" in imported
    assert "start_time" not in imported and "advantage_audience: true" in imported
    for refresh in ((), ("--refresh",)):
        planned = run_reconciler(again, "plan", "--detailed-exitcode", *refresh)
        assert planned.returncode == 0, planned.stdout + planned.stderr


def test_a_zone_mismatch_stops_the_target_before_any_write(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("META_ACCESS_TOKEN", TOKEN)
    account = {"platform": "meta", "id": "act_557", "timezone": "Asia/Tokyo", "currency": "USD"}
    shown = sandbox.control("POST", "accounts", json=account)
    assert (shown["id"], shown["timezone_name"], shown["timezone_offset_hours_utc"]) == ("act_557", "Asia/Tokyo", 9)
    project = write_project(tmp_path, name="la", account="557", zone="America/Los_Angeles", url=f"{sandbox.url}{API}")
    done = run_reconciler(project, "apply", "--auto-approve")
    assert done.returncode != 0
    assert "America/Los_Angeles" in done.stdout + done.stderr and "Asia/Tokyo" in done.stdout + done.stderr
    assert sandbox.writes("meta") == 0


# --- the SDK as an oracle (test time only) ---


def test_emulator_enums_and_compiled_fields_are_the_sdks() -> None:
    pytest.importorskip("facebook_business")
    from facebook_business.adobjects.ad import Ad
    from facebook_business.adobjects.adcreative import AdCreative
    from facebook_business.adobjects.adcreativelinkdata import AdCreativeLinkData
    from facebook_business.adobjects.adcreativevideodata import AdCreativeVideoData
    from facebook_business.adobjects.adpromotedobject import AdPromotedObject
    from facebook_business.adobjects.adset import AdSet
    from facebook_business.adobjects.campaign import Campaign
    from facebook_business.adobjects.targeting import Targeting
    from facebook_business.apiconfig import ads_api_config

    def values(enum: type) -> set[str]:
        return {v for k, v in vars(enum).items() if not k.startswith("_")}

    assert API.endswith(ads_api_config["API_VERSION"]) and meta_provider.DEFAULT_BASE_URL.endswith(API[5:])
    assert values(AdSet.OptimizationGoal) == validation.OPTIMIZATION_GOALS
    assert values(AdSet.DestinationType) == validation.DESTINATION_TYPES
    assert values(AdCreative.CallToActionType) == validation.CALL_TO_ACTION_TYPES
    assert values(AdCreativeVideoData.Field) == validation.VIDEO_DATA_KEYS
    assert values(AdCreativeLinkData.Field) == validation.LINK_DATA_KEYS
    assert values(Ad.EffectiveStatus) == validation.AD_EFFECTIVE_STATUSES
    assert values(AdPromotedObject.CustomEventType) >= validation.CUSTOM_EVENT_TYPES
    assert {"issues_info", "budget_remaining", "recommendations"} <= values(AdSet.Field)
    assert "is_adset_budget_sharing_enabled" in values(Campaign.Field)
    assert "targeting_automation" in values(Targeting.Field)
    from reconciler.spec.compile import META_CUSTOM_EVENTS

    assert set(META_CUSTOM_EVENTS.values()) <= values(AdPromotedObject.CustomEventType)


# --- helpers ---


def _cta() -> dict[str, Any]:
    return {"type": "WATCH_MORE", "value": {"link": "https://acme.example/clip"}}


def _story(video_data: dict[str, Any]) -> dict[str, Any]:
    return {"name": "c", "object_story_spec": {"page_id": "998877", "video_data": video_data}}


async def _creative_error(g: Graph, video_data: dict[str, Any]) -> dict[str, Any]:
    return await g.error("POST", f"/{ACCOUNT}/adcreatives", json=_story(video_data))


async def _video(g: Graph) -> str:
    reply = await g.ok("POST", f"/{ACCOUNT}/advideos", {"name": "clip"}, files={"source": ("c.mp4", MOVIE)})
    return str(reply["id"])


def _adset(campaign: str, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "s",
        "campaign_id": campaign,
        "billing_event": "IMPRESSIONS",
        "optimization_goal": "LINK_CLICKS",
        "daily_budget": 5000,
        "targeting": {"geo_locations": {"countries": ["US"]}, "targeting_automation": {"advantage_audience": 0}},
        "start_time": "2026-06-01T00:00:00+0000",
        "end_time": "2026-08-31T23:59:59+0000",
        **extra,
    }
    return body


def test_conversions_import_only_with_the_targets_pixel() -> None:
    from reconciler.importer import meta as importer
    from reconciler.importer.model import CONVERSIONS_NOT_IMPORTED, Account, Names
    from tests.test_import_meta import spec_target

    async def scenario(g: Meta) -> None:
        p = g.provider()
        sales = await g.campaign("sales", objective="OUTCOME_SALES")
        promoted = {"pixel_id": "777", "custom_event_type": "CONTENT_VIEW"}
        await g.ok(
            "POST",
            f"/{ACCOUNT}/adsets",
            json=_adset(
                sales,
                optimization_goal="OFFSITE_CONVERSIONS",
                promoted_object=promoted,
                targeting={"geo_locations": {"countries": ["US"]}, "age_min": 18,
                           "targeting_automation": {"advantage_audience": 0}},
            ),
        )  # fmt: skip
        listed = {type_: await p.list_all(type_) for type_ in importer.TYPES}

        async def reasons(pixel: str | None) -> dict[str, str]:
            target = spec_target().model_copy(update={"pixel_id": pixel})
            mapped = await importer.map_objects(Account(target, listed, {}, Names({}), p.download))
            return {s.name: s.reason for s in mapped.skipped if s.type == "campaign"}

        assert (await reasons(None))["sales"] == CONVERSIONS_NOT_IMPORTED
        assert "pixel 777, not the target's pixel_id 888" in (await reasons("888"))["sales"]
        assert "sales" not in await reasons("777")
        target = spec_target().model_copy(update={"pixel_id": "777"})
        mapped = await importer.map_objects(Account(target, listed, {}, Names({}), p.download))
        document = next(u.document for u in mapped.units if u.document["kind"] == "Campaign")
        assert (document["objective"], document["conversion_event"]) == ("conversions", "VIEW_CONTENT")
        await p.aclose()

    kit.in_sandbox(scenario, Meta)
