"""MetaProvider against the sandbox, in-process (httpx.ASGITransport), and one apply end to end."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.model import Action, Asset, TargetConfig
from reconciler.providers import http, provider_from_target
from reconciler.providers.base import ErrorClass, ProviderError
from reconciler.providers.meta import MetaProvider
from tests import provider_kit as kit
from tests.conftest import png_bytes

TOKEN = "EAAB-meta-Tok3n-5ecret-9d1e"
ACCOUNT = "1234567890"
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(48)


def target() -> TargetConfig:
    settings = {"ad_account_id": f"act_{ACCOUNT}", "page_id": "998877"}
    return kit.sandbox_target("meta-us", "meta", settings, {"token_env": "META_ACCESS_TOKEN"})


op = kit.OpBuilder("meta-us")
assert_no_token = kit.leak_check(TOKEN)


class Sandbox(kit.ProviderSandbox):
    platform = "meta"

    def provider(self, *, token: str = TOKEN) -> MetaProvider:
        return MetaProvider(target(), token, transport=self.transport)

    async def graph(self, method: str, path: str, **params: str) -> Any:
        """A raw Graph call, as someone editing the account by hand would make."""
        url = target().api_base_url + path
        return (await self.http.request(method, url, params={"access_token": TOKEN, **params})).json()


run = Sandbox.run


def campaign_attrs(name: str = "summer", **extra: Any) -> dict[str, Any]:
    return {
        "account_id": ACCOUNT,
        "name": name,
        "objective": "OUTCOME_TRAFFIC",
        "status": "ACTIVE",
        "buying_type": "AUCTION",
        "special_ad_categories": [],
        "is_adset_budget_sharing_enabled": False,
        **extra,
    }


def adset_attrs(campaign_id: str, name: str = "summer", **extra: Any) -> dict[str, Any]:
    return {
        "account_id": ACCOUNT,
        "name": name,
        "status": "ACTIVE",
        "billing_event": "IMPRESSIONS",
        "optimization_goal": "LINK_CLICKS",
        "start_time": "2026-06-01T00:00:00+0000",
        "end_time": "2026-08-31T23:59:59+0000",
        "daily_budget": 5000,
        "currency": "USD",
        "targeting": {
            "geo_locations": {"countries": ["US"]},
            "age_min": 18,
            "targeting_automation": {"advantage_audience": 0},
        },
        "campaign_id": campaign_id,
        **extra,
    }


def creative_attrs(image_hash: str, name: str = "summer.banner") -> dict[str, Any]:
    link = {
        "link": "https://acme.example/summer",
        "name": "Summer sale",
        "call_to_action": {"type": "SHOP_NOW", "value": {"link": "https://acme.example/summer"}},
        "image_hash": image_hash,
    }
    return {"account_id": ACCOUNT, "name": name, "object_story_spec": {"page_id": "998877", "link_data": link}}


async def make_image(
    p: MetaProvider, tmp_path: Path, name: str = "banner", seed: int = 0
) -> tuple[str, dict[str, Any]]:
    asset = kit.asset_file(tmp_path, png_bytes(seed), f"{name}.png")
    attrs = {"account_id": ACCOUNT, "name": name, "asset_sha256": asset.sha256}
    return (await p.create(op("adimage", attrs, asset=asset))).id, attrs


async def make_chain(p: MetaProvider, tmp_path: Path) -> dict[str, str]:
    campaign = (await p.create(op("campaign", campaign_attrs()))).id
    adset = (await p.create(op("adset", adset_attrs(campaign)))).id
    image, _ = await make_image(p, tmp_path)
    creative = (await p.create(op("adcreative", creative_attrs(image)))).id
    return {"campaign": campaign, "adset": adset, "image": image, "creative": creative}


def ad_attrs(adset_id: str, creative_id: str, name: str = "summer.banner") -> dict[str, Any]:
    return {
        "account_id": ACCOUNT,
        "name": name,
        "status": "ACTIVE",
        "adset_id": adset_id,
        "creative": {"creative_id": creative_id},
    }


# --- create / read / update / find / delete, per type ---


def test_campaign_lifecycle() -> None:
    async def scenario(sb: Sandbox, p: MetaProvider) -> None:
        attrs = campaign_attrs()
        applied = await p.create(op("campaign", attrs))
        assert applied.id.isdigit() and applied.attributes == attrs
        assert (await sb.objects("campaign"))[applied.id]["objective"] == "OUTCOME_TRAFFIC"
        assert await p.read("campaign", applied.id, attrs) == attrs
        assert await p.find(op("campaign", attrs)) == applied.id

        paused = {**attrs, "status": "PAUSED", "name": "summer-2"}
        assert (
            await p.update(op("campaign", paused, action=Action.UPDATE, id_=applied.id, changed=("status",))) == paused
        )
        # Only the changed field was sent: the name on the platform is still the old one.
        assert await p.read("campaign", applied.id, attrs) == {**attrs, "status": "PAUSED"}

        await p.delete(op("campaign", attrs, action=Action.DELETE, id_=applied.id))
        assert await sb.objects("campaign") == {}
        assert await p.read("campaign", applied.id, attrs) is None  # Graph still shows it, as DELETED
        assert await p.find(op("campaign", attrs)) is None
        await p.delete(op("campaign", attrs, action=Action.DELETE, id_=applied.id))  # twice is fine
        await p.delete(op("campaign", attrs, action=Action.DELETE, id_="120201999999999999"))  # never existed

    run(scenario)


def test_adset_reads_back_in_our_vocabulary_and_drift_shows() -> None:
    async def scenario(sb: Sandbox, p: MetaProvider) -> None:
        campaign = (await p.create(op("campaign", campaign_attrs()))).id
        attrs = adset_attrs(campaign)
        adset = await p.create(op("adset", attrs))
        stored = (await sb.objects("adset"))[adset.id]
        assert "currency" not in stored and "account_id" in stored  # ours, not sent
        # Graph answers "5000" for the budget and its own time format: a read equals the record exactly.
        assert await p.read("adset", adset.id, attrs) == attrs
        assert await p.find(op("adset", attrs)) == adset.id
        other = (await p.create(op("campaign", campaign_attrs("other")))).id
        assert await p.find(op("adset", {**attrs, "campaign_id": other})) is None  # same name, other parent

        await sb.graph("POST", f"/{adset.id}", daily_budget="9000")  # edited by hand
        assert await p.read("adset", adset.id, attrs) == {**attrs, "daily_budget": 9000}
        changed = {
            **attrs,
            "daily_budget": 6000,
            "targeting": {"geo_locations": {"countries": ["CA"]}, "targeting_automation": {"advantage_audience": 0}},
        }
        update = op("adset", changed, action=Action.UPDATE, id_=adset.id, changed=("daily_budget", "targeting"))
        assert await p.update(update) == changed
        assert await p.read("adset", adset.id, attrs) == changed

        with pytest.raises(ProviderError, match="campaign_id of AdSet .* cannot be changed") as moved:
            await p.update(op("adset", changed, action=Action.UPDATE, id_=adset.id, changed=("campaign_id",)))
        assert moved.value.error_class is ErrorClass.VALIDATION

    run(scenario)


def test_images_upload_by_hash_and_are_deleted_by_hash(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: MetaProvider) -> None:
        image, attrs = await make_image(p, tmp_path, seed=4)
        assert image == hashlib.md5(png_bytes(4)).hexdigest()  # the platform id is Graph's image hash
        assert (await sb.objects("adimage"))[f"{ACCOUNT}:{image}"]["name"] == "banner"
        assert await p.read("adimage", image, attrs) == attrs
        assert await p.find(op("adimage", attrs)) == image
        other = kit.asset_file(tmp_path, png_bytes(5), "other.png")
        # With the file at hand, an image of that name but other bytes is not ours.
        assert await p.find(op("adimage", attrs, asset=other)) is None

        with pytest.raises(ProviderError, match="cannot be changed") as update:
            await p.update(op("adimage", attrs, action=Action.UPDATE, id_=image, changed=("name",)))
        assert update.value.error_class is ErrorClass.VALIDATION

        await p.delete(op("adimage", attrs, action=Action.DELETE, id_=image))
        assert await sb.objects("adimage") == {}
        assert await p.read("adimage", image, attrs) is None
        assert await p.find(op("adimage", attrs)) is None
        await p.delete(op("adimage", attrs, action=Action.DELETE, id_=image))

    run(scenario)


def test_videos_upload_multipart_and_read_their_title_as_name(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: MetaProvider) -> None:
        asset = kit.asset_file(tmp_path, MP4, "clip.mp4", "video/mp4")
        attrs = {"account_id": ACCOUNT, "name": "clip", "asset_sha256": asset.sha256}
        video = await p.create(op("advideo", attrs, asset=asset))
        stored = (await sb.objects("advideo"))[video.id]
        assert (stored["title"], stored["sandbox_sha256"]) == ("clip", asset.sha256)
        assert await p.read("advideo", video.id, attrs) == attrs
        assert await p.find(op("advideo", attrs)) == video.id

        renamed = {**attrs, "name": "clip-2"}
        await p.update(op("advideo", renamed, action=Action.UPDATE, id_=video.id, changed=("name",)))
        assert await p.read("advideo", video.id, attrs) == renamed

        await p.delete(op("advideo", renamed, action=Action.DELETE, id_=video.id))
        assert await p.read("advideo", video.id, renamed) is None  # gone: Graph answers code 100, subcode 33
        assert await p.find(op("advideo", renamed)) is None

    run(scenario)


def test_creative_and_ad_lifecycle(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: MetaProvider) -> None:
        ids = await make_chain(p, tmp_path)
        creative = creative_attrs(ids["image"])
        assert await p.read("adcreative", ids["creative"], creative) == creative
        assert await p.find(op("adcreative", creative)) == ids["creative"]

        attrs = ad_attrs(ids["adset"], ids["creative"])
        ad = await p.create(op("ad", attrs))
        # Graph reads the creative back as {"id": ...}: in our terms it is {"creative_id": ...} again.
        assert await p.read("ad", ad.id, attrs) == attrs
        assert await p.find(op("ad", attrs)) == ad.id
        other_adset = (await p.create(op("adset", adset_attrs(ids["campaign"], "twin")))).id
        assert await p.find(op("ad", {**attrs, "adset_id": other_adset})) is None

        image, _ = await make_image(p, tmp_path, "banner-2", seed=9)
        swapped_creative = (await p.create(op("adcreative", creative_attrs(image, "summer.banner-2")))).id
        swapped = {**attrs, "creative": {"creative_id": swapped_creative}}
        await p.update(op("ad", swapped, action=Action.UPDATE, id_=ad.id, changed=("creative",)))
        assert await p.read("ad", ad.id, attrs) == swapped

        await sb.control("POST", "/review", {"name_contains": "summer", "status": "rejected", "reason": "Text"})
        assert await p.read("ad", ad.id, swapped) == swapped  # the review is not an attribute

        await p.delete(op("ad", swapped, action=Action.DELETE, id_=ad.id))
        await p.delete(op("adcreative", creative, action=Action.DELETE, id_=ids["creative"]))
        assert await p.read("ad", ad.id, swapped) is None
        assert await p.read("adcreative", ids["creative"], creative) is None
        assert await p.find(op("ad", swapped)) is None

    run(scenario)


def test_find_follows_pages_and_takes_the_newest_twin() -> None:
    async def scenario(sb: Sandbox, p: MetaProvider) -> None:
        ids = [(await p.create(op("campaign", campaign_attrs("twin")))).id for _ in range(3)]
        assert await p.find(op("campaign", campaign_attrs("twin"))) == max(ids, key=int)
        first, second = ids[0], ids[1]
        ours = (await p.create(op("adset", adset_attrs(first, "s")))).id
        for _ in range(120):  # newer namesakes under another campaign fill the first page of 100
            await p.create(op("adset", adset_attrs(second, "s")))
        assert await p.find(op("adset", adset_attrs(first, "s"))) == ours

    run(scenario)


# --- uploads and currency ---


def test_a_changed_or_missing_asset_is_refused(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: MetaProvider) -> None:
        planned = kit.asset_file(tmp_path, png_bytes(1))
        (tmp_path / "banner.png").write_bytes(png_bytes(2))
        attrs = {"account_id": ACCOUNT, "name": "banner", "asset_sha256": planned.sha256}
        with pytest.raises(ProviderError, match="changed since the plan") as changed:
            await p.create(op("adimage", attrs, asset=planned))
        gone = Asset(str(tmp_path / "nope.mp4"), planned.sha256, "video/mp4")
        with pytest.raises(ProviderError, match="cannot read asset") as missing:
            await p.create(op("advideo", attrs, asset=gone))
        assert changed.value.error_class is missing.value.error_class is ErrorClass.VALIDATION
        assert await sb.objects("adimage") == {} and await sb.objects("advideo") == {}

    run(scenario)


def test_budget_currency_must_be_the_accounts_and_is_checked_once() -> None:
    async def scenario(sb: Sandbox, p: MetaProvider) -> None:
        campaign = (await p.create(op("campaign", campaign_attrs()))).id
        with pytest.raises(ProviderError) as info:
            await p.create(op("adset", adset_attrs(campaign, currency="EUR")))
        assert info.value.error_class is ErrorClass.VALIDATION
        assert "in EUR but ad account act_1234567890 bills in USD" in str(info.value)
        assert await sb.objects("adset") == {}
        await asyncio.gather(*(p.create(op("adset", adset_attrs(campaign, f"s{i}"))) for i in range(3)))
        stats = await sb.control("GET", "/stats")
        assert stats["requests"]["meta"]["GET"] == 1  # the account's currency, asked once

    run(scenario)


# --- errors ---


def test_bad_token_is_an_auth_error_without_the_token() -> None:
    async def scenario(sb: Sandbox, p: MetaProvider) -> None:
        await sb.control("POST", "/auth", {"platform": "meta", "valid_tokens": ["another-token"]})
        with pytest.raises(ProviderError) as info:
            await p.create(op("campaign", campaign_attrs()))
        exc = info.value
        assert (exc.error_class, exc.status, exc.transient) == (ErrorClass.AUTH, 400, False)
        assert "Invalid OAuth access token. (code 190, fbtrace_id " in str(exc)
        assert "access_token=***" in str(exc)
        assert_no_token(str(exc), repr(exc), repr(p))

    run(scenario)


def test_validation_error_carries_graphs_user_message() -> None:
    async def scenario(sb: Sandbox, p: MetaProvider) -> None:
        campaign = (await p.create(op("campaign", campaign_attrs()))).id
        no_place = adset_attrs(campaign, targeting={"age_min": 18})
        with pytest.raises(ProviderError) as info:
            await p.create(op("adset", no_place))
        exc = info.value
        assert (exc.error_class, exc.status, exc.outcome_unknown) == (ErrorClass.VALIDATION, 400, False)
        assert str(exc).startswith(f"VALIDATION: POST /act_{ACCOUNT}/adsets?access_token=*** returned HTTP 400: ")
        assert "Invalid parameter - Location required: targeting.geo_locations needs" in str(exc)
        assert "(code 100, subcode 1487390, fbtrace_id " in str(exc)
        await sb.control("POST", "/faults", {"reject": [{"platform": "meta", "type": "adcreative"}]})
        with pytest.raises(ProviderError, match="creation was rejected") as rejected:
            await p.create(op("adcreative", creative_attrs("0" * 32)))
        assert rejected.value.error_class is ErrorClass.VALIDATION
        assert_no_token(str(exc), str(rejected.value))

    run(scenario)


def test_rate_limit_codes_wait_as_the_usage_header_says(monkeypatch: pytest.MonkeyPatch) -> None:
    # One attempt: the 60 s wait is what is checked here, not waited for.
    monkeypatch.setattr(http, "DEFAULT_RETRY", http.RetryPolicy(max_attempts=1))

    async def scenario(sb: Sandbox, p: MetaProvider) -> None:
        await sb.control("POST", "/faults", {"platform": "meta", "rate_limit": 1})
        # Another client takes the one token: this provider saw no usage header to slow down for.
        await sb.http.get(f"/meta/v26.0/act_{ACCOUNT}/campaigns", params={"access_token": TOKEN})
        with pytest.raises(ProviderError) as info:
            await p.create(op("campaign", campaign_attrs()))
        exc = info.value
        assert (exc.error_class, exc.status, exc.transient) == (ErrorClass.RATE_LIMIT, 400, True)
        assert exc.retry_after == 1.0  # "0 minutes" to regain access: at least a second
        assert "User request limit reached" in str(exc) and not exc.outcome_unknown
        # A limit of one request per 100 s: Graph says "1 minute", the provider waits 60 s. (A fresh
        # provider: this one now holds its requests back for the second it was told to wait.)
        await sb.control("POST", "/faults", {"platform": "meta", "rate_limit": 0.01})
        fresh = sb.provider()
        try:
            with pytest.raises(ProviderError) as slow:
                await fresh.read("campaign", "1", {})
        finally:
            await fresh.aclose()
        assert (slow.value.error_class, slow.value.retry_after) == (ErrorClass.RATE_LIMIT, 60.0)
        assert_no_token(str(exc), str(slow.value))

    run(scenario)


def test_transient_faults_are_network_errors() -> None:
    async def scenario(sb: Sandbox, p: MetaProvider) -> None:
        campaign = (await p.create(op("campaign", campaign_attrs()))).id
        await sb.control("POST", "/faults", {"platform": "meta", "fault_rate": 1})
        with pytest.raises(ProviderError) as write:
            await p.create(op("campaign", campaign_attrs("other")))
        with pytest.raises(ProviderError) as read:
            await p.read("campaign", campaign, campaign_attrs())
        assert (write.value.error_class, write.value.status, write.value.transient) == (ErrorClass.NETWORK, 500, True)
        assert "Service temporarily unavailable (code 2" in str(write.value)
        assert write.value.outcome_unknown  # a 5xx to a write may come after the work was done
        assert read.value.error_class is ErrorClass.NETWORK and not read.value.outcome_unknown
        assert_no_token(str(write.value), str(read.value))

    run(scenario)


def test_dropped_response_is_an_unknown_outcome_resolved_by_find(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: MetaProvider) -> None:
        await sb.control("POST", "/faults", {"platform": "meta", "drop_response_rate": 1})
        attrs = campaign_attrs("lost")
        with pytest.raises(ProviderError) as info:
            await p.create(op("campaign", attrs))
        exc = info.value
        assert (exc.error_class, exc.outcome_unknown) == (ErrorClass.NETWORK, True)
        assert "may have been carried out" in str(exc)
        assert_no_token(str(exc), repr(exc))
        [made] = await sb.objects("campaign")  # the write happened
        assert await p.find(op("campaign", attrs)) == made  # reads are never dropped

        asset = kit.asset_file(tmp_path, png_bytes(8), "lost.png")
        image = {"account_id": ACCOUNT, "name": "lost", "asset_sha256": asset.sha256}
        with pytest.raises(ProviderError) as upload:
            await p.create(op("adimage", image, asset=asset))
        assert upload.value.outcome_unknown
        assert await p.find(op("adimage", image, asset=asset)) == hashlib.md5(png_bytes(8)).hexdigest()

    run(scenario)


def test_provider_from_target_reads_the_token_from_the_environment() -> None:
    with pytest.raises(ProviderError, match="environment variable META_ACCESS_TOKEN is not set") as info:
        provider_from_target(target(), {})
    assert info.value.error_class is ErrorClass.AUTH

    async def main(sb: kit.AsyncSandbox) -> str:
        provider = provider_from_target(target(), {"META_ACCESS_TOKEN": TOKEN}, transport=sb.transport)
        try:
            assert provider.platform == "meta" and TOKEN not in repr(provider)
            return (await provider.create(op("campaign", campaign_attrs()))).id
        finally:
            await provider.aclose()

    assert kit.in_sandbox(main).isdigit()


# --- end to end through the executor and the CLI ---

SPEC = """\
kind: Target
name: meta-us
platform: meta
ad_account_id: act_1234567890
page_id: "998877"
credentials: {token_env: META_ACCESS_TOKEN}
---
kind: Advertiser
name: acme
display_name: ACME Corp
---
kind: Creative
name: banner
advertiser: acme
format: image/png
size: 728x90
asset: assets/banner.png
click_url: https://acme.example/summer
headline: Summer sale
call_to_action: SHOP_NOW
---
kind: Creative
name: clip
advertiser: acme
format: video/mp4
size: 1080x1080
asset: assets/clip.mp4
click_url: https://acme.example/clip
---
kind: Campaign
name: summer
advertiser: acme
start_date: 2026-06-01
end_date: 2026-08-31
targets: [meta-us]
creatives: [banner, clip]
budget: {daily: 50.00, currency: USD}
objective: traffic
audience: {countries: [US], age_min: 18}
"""


def sandbox_objects(project: Path) -> dict[str, set[str]]:
    """Live Meta objects the --sandbox runs left in their data file: type -> ids."""
    live: dict[str, set[str]] = {}
    for obj in kit.saved_objects(project, "meta"):
        if obj.type != "adaccount":
            live.setdefault(obj.type, set()).add(obj.id)
    return live


def test_apply_plan_refresh_and_asset_replacement_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("META_ACCESS_TOKEN", raising=False)  # --sandbox needs no secret
    kit.write_specs(tmp_path, SPEC, {"banner.png": png_bytes(3), "clip.mp4": MP4})
    reconciler = kit.Cli(capsys, tmp_path)

    assert "Apply complete: 8 done" in reconciler.apply()
    live = sandbox_objects(tmp_path)
    assert {t: len(ids) for t, ids in live.items()} == {
        "campaign": 1, "adset": 1, "adimage": 1, "advideo": 1, "adcreative": 2, "ad": 2,
    }  # fmt: skip
    state = json.loads((tmp_path / "state" / "default.sandbox.json").read_text())
    recorded = {(r["type"], r["id"]) for r in state["resources"].values()}
    assert {(t, i.split(":")[-1]) for t, ids in live.items() for i in ids} == recorded

    reconciler.assert_no_changes()
    reconciler.assert_no_drift()  # a read of every object equals what was recorded

    (tmp_path / "specs" / "assets" / "banner.png").write_bytes(png_bytes(4))
    code, out = reconciler("plan", "--sandbox", "--detailed-exitcode")
    assert code == 2 and "1 to update, 2 to replace" in out  # image and creative replaced, ad swapped
    reconciler.apply()
    reconciler.assert_no_drift()
    after = sandbox_objects(tmp_path)
    assert after["adimage"] == {f"{ACCOUNT}:{hashlib.md5(png_bytes(4)).hexdigest()}"}  # the old image is gone
    assert len(after["adcreative"]) == 2 and after["adcreative"] != live["adcreative"]
    assert after["ad"] == live["ad"] and after["adset"] == live["adset"]  # updated in place, no orphan
