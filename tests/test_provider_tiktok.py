"""TikTokProvider against the in-process sandbox (httpx.ASGITransport)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from reconciler.model import Action, Asset, TargetConfig
from reconciler.providers import provider_from_target
from reconciler.providers.base import ErrorClass, ProviderError
from reconciler.providers.tiktok import TikTokProvider, upload_name
from reconciler.state import LocalFileStore
from tests import provider_kit as kit
from tests.conftest import png_bytes

TOKEN = "tt-Tok3n-5ecret-91be4d"
ADV = "7000000001"
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(64)
STATUS = "operation_status"


def target() -> TargetConfig:
    settings = {"advertiser_id": ADV, "identity_id": "acme-identity"}
    return kit.sandbox_target("tiktok-us", "tiktok", settings, {"token_env": "TIKTOK_ACCESS_TOKEN"})


op = kit.OpBuilder("tiktok-us", ("campaign_name", "adgroup_name", "ad_name", "file_name"))
assert_no_token = kit.leak_check(TOKEN)


class Sandbox(kit.ProviderSandbox):
    platform = "tiktok"

    def provider(self, *, token: str = TOKEN) -> TikTokProvider:
        return TikTokProvider(target(), token, transport=self.transport)


run = Sandbox.run


def campaign_attrs(name: str = "summer", advertiser: str = ADV, **extra: Any) -> dict[str, Any]:
    return {
        "advertiser_id": advertiser,
        "campaign_name": name,
        "objective_type": "TRAFFIC",
        "budget_mode": "BUDGET_MODE_INFINITE",
        "operation_status": "ENABLE",
        **extra,
    }


def adgroup_attrs(campaign_id: str, name: str = "summer", **extra: Any) -> dict[str, Any]:
    """As the compiler writes them (spec/compile.py), with the campaign ref resolved."""
    return {
        "advertiser_id": ADV,
        "adgroup_name": name,
        "placement_type": "PLACEMENT_TYPE_AUTOMATIC",
        "billing_event": "CPC",
        "optimization_goal": "CLICK",
        "pacing": "PACING_MODE_SMOOTH",
        "schedule_type": "SCHEDULE_START_END",
        "schedule_start_time": "2026-06-01 00:00:00",
        "schedule_end_time": "2026-08-31 23:59:59",
        "operation_status": "ENABLE",
        "budget_mode": "BUDGET_MODE_DAY",
        "budget": 50.0,
        "currency": "USD",
        "location_ids": ["6252001"],
        "age_groups": ["AGE_18_24", "AGE_25_34"],
        "campaign_id": campaign_id,
        **extra,
    }


def ad_attrs(adgroup_id: str, image_id: str, name: str = "summer.banner", **extra: Any) -> dict[str, Any]:
    return {
        "advertiser_id": ADV,
        "ad_name": name,
        "ad_format": "SINGLE_IMAGE",
        "ad_text": "Summer sale",
        "identity_id": "acme-identity",
        "identity_type": "CUSTOMIZED_USER",
        "landing_page_url": "https://acme.example/summer",
        "call_to_action": "LEARN_MORE",
        "operation_status": "ENABLE",
        "adgroup_id": adgroup_id,
        "image_ids": [image_id],
        **extra,
    }


def media_attrs(asset: Asset, file_name: str = "banner") -> dict[str, Any]:
    return {"advertiser_id": ADV, "file_name": file_name, "asset_sha256": asset.sha256}


async def make_campaign(p: TikTokProvider, name: str = "summer") -> str:
    return (await p.create(op("campaign", campaign_attrs(name)))).id


async def make_adgroup(p: TikTokProvider, campaign_id: str, name: str = "summer") -> str:
    return (await p.create(op("adgroup", adgroup_attrs(campaign_id, name)))).id


async def make_image(p: TikTokProvider, asset: Asset, file_name: str = "banner") -> str:
    return (await p.create(op("image", media_attrs(asset, file_name), asset=asset))).id


# --- create / read / update / find / delete, per type ---


def test_campaign_lifecycle_and_the_update_split() -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        attrs = campaign_attrs()
        applied = await p.create(op("campaign", attrs))
        assert applied.attributes == attrs and len(applied.id) == 19
        stored = (await sb.objects("campaign"))[applied.id]
        assert stored["sandbox_request_id"].isdigit()  # an idempotency key was sent
        assert await p.read("campaign", applied.id, attrs) == attrs
        assert await p.find(op("campaign", attrs)) == applied.id

        changed = {**attrs, "campaign_name": "summer-2026", "operation_status": "DISABLE"}
        before = await sb.requests()
        update = op("campaign", changed, action=Action.UPDATE, id_=applied.id, changed=("campaign_name", STATUS))
        assert await p.update(update) == changed
        assert (await sb.requests())["POST"] == before["POST"] + 2  # campaign/update/ + campaign/status/update/
        stored = (await sb.objects("campaign"))[applied.id]
        assert (stored["campaign_name"], stored["operation_status"]) == ("summer-2026", "DISABLE")
        assert await p.read("campaign", applied.id, attrs) == changed  # drift from the recorded attributes shows
        assert await p.find(op("campaign", attrs)) is None

        enabled = {**changed, "operation_status": "ENABLE"}
        before = await sb.requests()
        assert (
            await p.update(op("campaign", enabled, action=Action.UPDATE, id_=applied.id, changed=(STATUS,))) == enabled
        )
        assert (await sb.requests())["POST"] == before["POST"] + 1  # the status only

        await p.delete(op("campaign", enabled, action=Action.DELETE, id_=applied.id))
        assert applied.id not in await sb.objects("campaign")
        assert await p.read("campaign", applied.id, enabled) is None
        assert await p.find(op("campaign", enabled)) is None
        await p.delete(op("campaign", enabled, action=Action.DELETE, id_=applied.id))  # gone already: fine
        await p.delete(op("campaign", enabled, action=Action.DELETE, id_="1799999999999999999"))

    run(scenario)


def test_adgroup_lifecycle_checks_the_currency_once() -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        campaign_id = await make_campaign(p)
        attrs = adgroup_attrs(campaign_id)
        applied = await p.create(op("adgroup", attrs))
        assert applied.attributes == attrs
        stored = (await sb.objects("adgroup"))[applied.id]
        assert "currency" not in stored and stored["budget"] == 50.0 and stored["campaign_id"] == campaign_id
        assert await p.read("adgroup", applied.id, attrs) == attrs
        assert await p.find(op("adgroup", attrs)) == applied.id

        raised = {**attrs, "budget": 75.5, "location_ids": ["6252001", "2635167"]}
        before = await sb.requests()
        update = op("adgroup", raised, action=Action.UPDATE, id_=applied.id, changed=("budget", "location_ids"))
        assert await p.update(update) == raised
        assert await sb.requests() == {**before, "POST": before["POST"] + 1}  # no second advertiser/info
        assert await p.read("adgroup", applied.id, attrs) == raised

        await p.delete(op("adgroup", raised, action=Action.DELETE, id_=applied.id))
        assert await p.read("adgroup", applied.id, raised) is None
        assert await p.find(op("adgroup", raised)) is None

    run(scenario)


def test_a_budget_in_another_currency_is_refused_naming_both() -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        campaign_id = await make_campaign(p)
        with pytest.raises(ProviderError) as info:
            await p.create(op("adgroup", adgroup_attrs(campaign_id, currency="EUR")))
        exc = info.value
        assert exc.error_class is ErrorClass.VALIDATION
        assert "budget is in EUR but TikTok advertiser 7000000001 (target tiktok-us) bills in USD" in exc.message
        assert await sb.objects("adgroup") == {}

    run(scenario)


def test_image_upload_read_find_and_delete(tmp_path: Path) -> None:
    content = png_bytes(3)
    asset = kit.asset_file(tmp_path, content)

    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        attrs = media_attrs(asset)
        applied = await p.create(op("image", attrs, asset=asset))
        assert applied.attributes == attrs
        stored = (await sb.objects("image"))[applied.id]
        assert stored["signature"] == hashlib.md5(content).hexdigest()  # the bytes went up, MD5-signed
        assert await p.read("image", applied.id, attrs) == attrs
        assert await p.find(op("image", attrs, asset=asset)) == applied.id

        # The same name with other content (the old file of a replace) is not this image.
        other = kit.asset_file(tmp_path, png_bytes(4), "other.png")
        assert await p.find(op("image", media_attrs(other), asset=other)) is None

        with pytest.raises(ProviderError, match="cannot be changed in place") as info:
            await p.update(op("image", attrs, action=Action.UPDATE, id_=applied.id, changed=("asset_sha256",)))
        assert info.value.error_class is ErrorClass.VALIDATION

        await p.delete(op("image", attrs, action=Action.DELETE, id_=applied.id))
        assert await sb.objects("image") == {}
        assert await p.read("image", applied.id, attrs) is None
        assert await p.find(op("image", attrs, asset=asset)) is None
        await p.delete(op("image", attrs, action=Action.DELETE, id_=applied.id))  # gone already: fine

    run(scenario)


def test_video_upload_read_find_and_delete(tmp_path: Path) -> None:
    asset = kit.asset_file(tmp_path, MP4, "teaser.mp4", "video/mp4")

    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        attrs = media_attrs(asset, "teaser")
        applied = await p.create(op("video", attrs, asset=asset))
        assert applied.attributes == attrs and applied.id in await sb.objects("video")
        assert await p.read("video", applied.id, attrs) == attrs
        assert await p.find(op("video", attrs, asset=asset)) == applied.id
        await p.delete(op("video", attrs, action=Action.DELETE, id_=applied.id))
        assert await p.read("video", applied.id, attrs) is None

    run(scenario)


def test_a_changed_or_missing_asset_is_refused(tmp_path: Path) -> None:
    asset = kit.asset_file(tmp_path, png_bytes(1))
    planned = Asset(asset.path, hashlib.sha256(png_bytes(2)).hexdigest(), "image/png")

    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        with pytest.raises(ProviderError, match="changed since the plan") as changed:
            await p.create(op("image", media_attrs(planned), asset=planned))
        gone = Asset(str(tmp_path / "nope.png"), planned.sha256, "image/png")
        with pytest.raises(ProviderError, match="cannot read asset") as missing:
            await p.create(op("image", media_attrs(gone), asset=gone))
        assert changed.value.error_class is missing.value.error_class is ErrorClass.VALIDATION
        assert await sb.objects("image") == {}

    run(scenario)


def test_ad_lifecycle(tmp_path: Path) -> None:
    first = kit.asset_file(tmp_path, png_bytes(1), "a.png")
    second = kit.asset_file(tmp_path, png_bytes(2), "b.png")

    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        adgroup_id = await make_adgroup(p, await make_campaign(p))
        image_id = await make_image(p, first)
        attrs = ad_attrs(adgroup_id, image_id)
        applied = await p.create(op("ad", attrs))
        assert applied.attributes == attrs and len(applied.id) == 19
        assert await p.read("ad", applied.id, attrs) == attrs
        assert await p.find(op("ad", attrs)) == applied.id

        new_image = await make_image(p, second, "banner-v2")
        changed = {**attrs, "image_ids": [new_image], "operation_status": "DISABLE"}
        update = op("ad", changed, action=Action.UPDATE, id_=applied.id, changed=("image_ids", STATUS))
        assert await p.update(update) == changed
        stored = (await sb.objects("ad"))[applied.id]
        assert (stored["image_ids"], stored["operation_status"]) == ([new_image], "DISABLE")
        assert await p.read("ad", applied.id, attrs) == changed

        await p.delete(op("ad", changed, action=Action.DELETE, id_=applied.id))
        assert await p.read("ad", applied.id, changed) is None
        assert await p.find(op("ad", changed)) is None

    run(scenario)


def test_read_shows_the_review_outcome_is_not_drift(tmp_path: Path) -> None:
    asset = kit.asset_file(tmp_path, png_bytes(1))

    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        adgroup_id = await make_adgroup(p, await make_campaign(p))
        attrs = ad_attrs(adgroup_id, await make_image(p, asset))
        ad_id = (await p.create(op("ad", attrs))).id
        await sb.control("POST", "/review", {"name_contains": "summer", "status": "rejected", "reason": "Misleading"})
        assert (await sb.objects("ad"))[ad_id]["ad_name"] == "summer.banner"
        assert await p.read("ad", ad_id, attrs) == attrs  # our attributes only; the review is not a change

    run(scenario)


def test_find_never_returns_an_object_of_another_parent(tmp_path: Path) -> None:
    asset = kit.asset_file(tmp_path, png_bytes(1))

    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        first = await make_campaign(p, "twin")
        # Another provider (another apply): this one would answer from its idempotency key.
        again = sb.provider()
        second = await make_campaign(again, "twin")
        await again.aclose()
        await p.create(op("campaign", campaign_attrs("twin", "7000000002")))  # another advertiser
        await make_campaign(p, "twins")  # a longer name the fuzzy filter also matches
        assert int(second) > int(first)
        assert await p.find(op("campaign", campaign_attrs("twin"))) == second

        adgroup_id = await make_adgroup(p, first, "shared")
        assert await p.find(op("adgroup", adgroup_attrs(second, "shared"))) is None
        image_id = await make_image(p, asset)
        await p.create(op("ad", ad_attrs(adgroup_id, image_id, "shared.ad")))
        other_group = await make_adgroup(p, second, "other")
        assert await p.find(op("ad", ad_attrs(other_group, image_id, "shared.ad"))) is None

    run(scenario)


def test_find_pages_through_long_lists(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        for n in range(105):  # more than one page of library search (100)
            await make_image(p, kit.asset_file(tmp_path, png_bytes(n), f"{n}.png"), f"img-{n}")
        wanted = kit.asset_file(tmp_path, png_bytes(0), "0.png")
        found = await p.find(op("image", media_attrs(wanted, "img-0"), asset=wanted))
        # The library name carries the content's hash (unique names): the declared one is its prefix.
        assert found is not None
        assert (await sb.objects("image"))[found]["file_name"] == upload_name("img-0", png_bytes(0))

    run(scenario)


# --- errors ---


def test_bad_token_is_an_auth_error() -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        await sb.control("POST", "/auth", {"platform": "tiktok", "valid_tokens": ["another-token"]})
        with pytest.raises(ProviderError) as info:
            await make_campaign(p)
        exc = info.value
        assert (exc.error_class, exc.status, exc.transient) == (ErrorClass.AUTH, 200, False)
        assert "Access token is incorrect or has been revoked. (code 40105" in str(exc)
        assert_no_token(str(exc), repr(exc), repr(p))

    run(scenario)


def test_validation_error_names_the_field() -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        campaign_id = await make_campaign(p)
        with pytest.raises(ProviderError) as info:
            await p.create(op("adgroup", adgroup_attrs(campaign_id, budget=5.0)))
        exc = info.value
        assert (exc.error_class, exc.outcome_unknown) == (ErrorClass.VALIDATION, False)
        assert str(exc).startswith("VALIDATION: POST /adgroup/create/ returned HTTP 200: budget: the daily budget")
        assert "(code 40002, request_id " in str(exc)
        assert_no_token(str(exc), repr(exc))

    run(scenario)


def test_rejected_type_is_a_validation_error() -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        await sb.control("POST", "/faults", {"reject": [{"platform": "tiktok", "type": "campaign"}]})
        with pytest.raises(ProviderError, match="campaign creation was rejected") as info:
            await make_campaign(p)
        assert info.value.error_class is ErrorClass.VALIDATION

    run(scenario)


def test_code_40100_is_a_rate_limit_error_without_retry_after() -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        await sb.control("POST", "/faults", {"platform": "tiktok", "rate_limit": 1})
        await make_campaign(p)  # takes the one token
        with pytest.raises(ProviderError) as info:
            await make_campaign(p)
        exc = info.value
        assert (exc.error_class, exc.transient, exc.retry_after, exc.outcome_unknown) == (
            ErrorClass.RATE_LIMIT,
            True,
            None,
            False,
        )
        assert "code 40100" in str(exc)
        assert_no_token(str(exc))

    run(scenario)


def test_system_errors_are_network_errors() -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        campaign_id = await make_campaign(p)
        await sb.control("POST", "/faults", {"platform": "tiktok", "fault_rate": 1})
        with pytest.raises(ProviderError) as write:
            await make_campaign(p, "other")
        with pytest.raises(ProviderError) as read:
            await p.read("campaign", campaign_id, campaign_attrs())
        assert (write.value.error_class, write.value.transient) == (ErrorClass.NETWORK, True)
        assert write.value.outcome_unknown  # a system error may come after the work was done
        assert read.value.error_class is ErrorClass.NETWORK and not read.value.outcome_unknown
        assert "System error (code 50000" in str(write.value)
        assert_no_token(str(write.value), str(read.value))

    run(scenario)


def test_dropped_response_is_an_unknown_outcome_resolved_by_find_or_the_request_id(tmp_path: Path) -> None:
    asset = kit.asset_file(tmp_path, png_bytes(1))

    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        attrs = campaign_attrs("lost")
        await sb.control("POST", "/faults", {"platform": "tiktok", "drop_response_rate": 1})
        with pytest.raises(ProviderError) as info:
            await p.create(op("campaign", attrs))
        exc = info.value
        assert (exc.error_class, exc.outcome_unknown) == (ErrorClass.NETWORK, True)
        assert "may have been carried out" in str(exc)
        assert_no_token(str(exc), repr(exc))
        with pytest.raises(ProviderError) as upload:
            await make_image(p, asset)
        assert upload.value.outcome_unknown
        await sb.control("POST", "/faults", {"platform": "tiktok", "drop_response_rate": 0})

        [made] = await sb.objects("campaign")  # the write happened
        assert await p.find(op("campaign", attrs)) == made
        [image] = await sb.objects("image")
        assert await p.find(op("image", media_attrs(asset), asset=asset)) == image
        # Even a blind resend is harmless: the same request_id answers with the same campaign.
        assert (await p.create(op("campaign", attrs))).id == made
        assert list(await sb.objects("campaign")) == [made]

    run(scenario)


# --- construction from a target ---


def test_provider_from_target_reads_the_token_from_the_environment() -> None:
    with pytest.raises(ProviderError) as info:
        provider_from_target(target(), {"OTHER": TOKEN})
    assert info.value.message == "environment variable TIKTOK_ACCESS_TOKEN is not set (target tiktok-us)"

    async def main(sb: kit.AsyncSandbox) -> str:
        provider = provider_from_target(target(), {"TIKTOK_ACCESS_TOKEN": TOKEN}, transport=sb.transport)
        try:
            assert provider.platform == "tiktok"
            assert_no_token(repr(provider))
            return await make_campaign(provider)  # type: ignore[arg-type]
        finally:
            await provider.aclose()

    assert kit.in_sandbox(main).isdigit()


# --- end to end: the CLI's apply and plan with the in-process sandbox ---

SPECS = """\
kind: Target
name: tiktok-us
platform: tiktok
advertiser_id: "7000000001"
identity_id: acme-identity
credentials: {token_env: TIKTOK_ACCESS_TOKEN}
rate_limit: 500
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
---
kind: Creative
name: teaser
advertiser: acme
format: video/mp4
size: 1080x1920
asset: assets/teaser.mp4
click_url: https://acme.example/summer
call_to_action: SHOP_NOW
---
kind: Campaign
name: summer
advertiser: acme
start_date: 2026-06-01
end_date: 2026-08-31
targets: [tiktok-us]
creatives: [banner, teaser]
budget: {daily: 50.00, currency: USD}
objective: traffic
audience: {countries: [US], age_min: 18}
"""


def test_apply_plan_refresh_and_a_new_asset_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", TOKEN)
    kit.write_specs(tmp_path, SPECS, {"banner.png": png_bytes(1), "teaser.mp4": MP4})
    cli = kit.Cli(capsys, tmp_path, secrets=(TOKEN,))

    assert "Apply complete: 6 done" in cli.apply()  # campaign, ad group, image, video and two ads
    cli.assert_no_changes()
    cli.assert_no_drift()  # every live object reads back exactly as recorded

    state = LocalFileStore(tmp_path, sandbox=True).read()
    old_image = state.resources["tiktok-us:image/banner"].id
    (tmp_path / "specs" / "assets" / "banner.png").write_bytes(png_bytes(2))
    code, out = cli("plan", "--sandbox", "--detailed-exitcode")
    assert code == 2 and "tiktok-us:image/banner" in out and "tiktok-us:ad/summer.banner" in out
    cli.apply()
    cli.assert_no_drift()

    state = LocalFileStore(tmp_path, sandbox=True).read()
    assert not state.pending and state.resources["tiktok-us:image/banner"].id != old_image
    ad = state.resources["tiktok-us:ad/summer.banner"]
    assert ad.attributes["image_ids"] == [state.resources["tiktok-us:image/banner"].id]
    # No orphan: the live objects are exactly the recorded ones (the old image left the library).
    live = kit.saved_objects(tmp_path, "tiktok")
    assert {(o.type, o.id) for o in live if o.type != "advertiser"} == {
        (r.type, r.id) for r in state.resources.values()
    }
