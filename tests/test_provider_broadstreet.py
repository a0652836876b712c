"""BroadstreetProvider against the sandbox: in-process (httpx.ASGITransport),
plus one test over real HTTP with uvicorn."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from reconciler.connect import SANDBOX_ROOT
from reconciler.model import Action, Asset, TargetConfig
from reconciler.providers import provider_from_target
from reconciler.providers.base import Applied, ErrorClass, ProviderError
from reconciler.providers.broadstreet import BroadstreetProvider
from reconciler.sandbox.app import create_app
from tests import provider_kit as kit
from tests.conftest import png_bytes
from tests.e2e import free_port

TOKEN = "bs-Tok3n-5ecret-7f2c9a"
NETWORK = 85


def target(origin: str = SANDBOX_ROOT, *, rate_limit: float | None = 1000.0) -> TargetConfig:
    settings = {"network_id": NETWORK}
    credentials = {"token_env": "BROADSTREET_API_TOKEN"}
    return kit.sandbox_target("bs-main", "broadstreet", settings, credentials, rate_limit=rate_limit, origin=origin)


op = kit.OpBuilder("bs-main")
assert_no_token = kit.leak_check(TOKEN)


class Sandbox(kit.ProviderSandbox):
    platform = "broadstreet"

    def provider(self, *, token: str = TOKEN, rate_limit: float | None = 1000.0) -> BroadstreetProvider:
        return BroadstreetProvider(target(rate_limit=rate_limit), token, transport=self.transport)


run = Sandbox.run


async def make_advertiser(p: BroadstreetProvider, name: str = "ACME Corp") -> str:
    return (await p.create(op("advertiser", {"name": name, "network_id": NETWORK}))).id


async def make_zone(p: BroadstreetProvider, name: str = "Leaderboard", alias: str = "home-lb") -> str:
    return (await p.create(op("zone", {"name": name, "alias": alias, "network_id": NETWORK}))).id


def campaign_attrs(advertiser_id: str, name: str = "summer", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "advertiser_id": advertiser_id,
        "start_date": "2026-06-01",
        "end_date": "2026-08-31",
        "paused": False,
        **extra,
    }


async def make_campaign(p: BroadstreetProvider, advertiser_id: str, name: str = "summer") -> str:
    return (await p.create(op("campaign", campaign_attrs(advertiser_id, name)))).id


def html_ad(advertiser_id: str, name: str = "teaser") -> dict[str, Any]:
    return {"name": name, "advertiser_id": advertiser_id, "type": "html", "html": "<b>Summer</b>"}


# --- create / read / update / find / delete, per type ---


def test_advertiser_lifecycle() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        attrs = {"name": "ACME Corp", "web_home_url": "https://acme.example", "network_id": NETWORK}
        applied = await p.create(op("advertiser", attrs))
        assert applied.attributes == attrs  # network_id stays an int, as the compiler wrote it
        assert (await sb.objects("advertiser"))[applied.id]["name"] == "ACME Corp"
        assert await p.read("advertiser", applied.id, attrs) == attrs
        assert await p.find(op("advertiser", attrs)) == applied.id

        renamed = {**attrs, "name": "ACME Inc"}
        update = op("advertiser", renamed, action=Action.UPDATE, id_=applied.id, changed=("name",))
        assert await p.update(update) == renamed
        assert await p.read("advertiser", applied.id, attrs) == renamed  # drift from the recorded attrs shows
        assert await p.find(op("advertiser", attrs)) is None  # the old name is gone

        await p.delete(op("advertiser", renamed, action=Action.DELETE, id_=applied.id))
        assert applied.id not in await sb.objects("advertiser")
        assert await p.read("advertiser", applied.id, renamed) is None
        assert await p.find(op("advertiser", renamed)) is None

    run(scenario)


def test_zone_lifecycle_and_find_by_alias_or_name() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        attrs = {"name": "Homepage leaderboard", "alias": "home-lb", "network_id": NETWORK}
        zone = await p.create(op("zone", attrs))
        assert zone.attributes == attrs
        assert (await sb.objects("zone"))[zone.id]["alias"] == "home-lb"
        # With an alias, the alias is the key: a renamed zone is still found.
        assert await p.find(op("zone", {**attrs, "name": "Renamed"})) == zone.id
        plain = await p.create(op("zone", {"name": "Sidebar", "network_id": NETWORK}))
        assert await p.find(op("zone", {"name": "Sidebar", "network_id": NETWORK})) == plain.id
        assert await p.find(op("zone", {"name": "Footer", "network_id": NETWORK})) is None

        moved = {**attrs, "name": "Top banner"}
        assert await p.update(op("zone", moved, action=Action.UPDATE, id_=zone.id, changed=("name",))) == moved
        assert await p.read("zone", zone.id, attrs) == moved

        await p.delete(op("zone", moved, action=Action.DELETE, id_=zone.id))
        assert await p.read("zone", zone.id, moved) is None
        assert await p.find(op("zone", moved)) is None

    run(scenario)


def test_campaign_lifecycle_with_overrides() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        advertiser_id = await make_advertiser(p)
        attrs = campaign_attrs(advertiser_id, weight=1.5, pacing_type="even")
        campaign = await p.create(op("campaign", attrs))
        assert campaign.attributes == attrs
        stored = (await sb.objects("campaign"))[campaign.id]
        assert (stored["advertiser_id"], stored["weight"], stored["paused"]) == (int(advertiser_id), 1.5, False)
        assert await p.read("campaign", campaign.id, attrs) == attrs
        assert await p.find(op("campaign", attrs)) == campaign.id

        changed = {**attrs, "end_date": "2026-09-30", "paused": True}
        update = op("campaign", changed, action=Action.UPDATE, id_=campaign.id, changed=("end_date", "paused"))
        assert await p.update(update) == changed
        assert (await sb.objects("campaign"))[campaign.id]["end_date"] == "2026-09-30"
        assert await p.read("campaign", campaign.id, attrs) == changed

        await p.delete(op("campaign", changed, action=Action.DELETE, id_=campaign.id))
        assert await p.read("campaign", campaign.id, changed) is None
        assert await p.find(op("campaign", changed)) is None

    run(scenario)


def test_static_advertisement_uploads_the_asset(tmp_path: Path) -> None:
    asset = kit.asset_file(tmp_path, png_bytes(7))
    digest = asset.sha256

    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        advertiser_id = await make_advertiser(p)
        attrs = {
            "name": "banner",
            "advertiser_id": advertiser_id,
            "type": "static",
            "destination": "https://acme.example/summer",
            "asset_sha256": digest,
        }
        ad = await p.create(op("advertisement", attrs, asset=asset))
        # The server answers type "StaticAdvertisement" and no hash: both come back in our terms.
        assert ad.attributes == attrs
        stored = (await sb.objects("advertisement"))[ad.id]
        assert stored["sandbox_active_sha256"] == digest  # the bytes went up as active_base64
        assert stored["type"] == "StaticAdvertisement"
        assert await p.read("advertisement", ad.id, attrs) == attrs
        assert await p.find(op("advertisement", attrs)) == ad.id

        await p.delete(op("advertisement", attrs, action=Action.DELETE, id_=ad.id))
        assert await p.read("advertisement", ad.id, attrs) is None
        assert await p.find(op("advertisement", attrs)) is None

    run(scenario)


def test_a_changed_or_missing_asset_is_refused(tmp_path: Path) -> None:
    on_disk = kit.asset_file(tmp_path, png_bytes(1))
    planned = Asset(on_disk.path, hashlib.sha256(png_bytes(2)).hexdigest(), "image/png")

    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        advertiser_id = await make_advertiser(p)
        attrs = {"name": "banner", "advertiser_id": advertiser_id, "type": "static", "destination": "https://a.example"}
        with pytest.raises(ProviderError, match="changed since the plan") as changed:
            await p.create(op("advertisement", attrs, asset=planned))
        gone = Asset(str(tmp_path / "nope.png"), planned.sha256, "image/png")
        with pytest.raises(ProviderError, match="cannot read asset") as missing:
            await p.create(op("advertisement", attrs, asset=gone))
        assert changed.value.error_class is missing.value.error_class is ErrorClass.VALIDATION
        assert await sb.objects("advertisement") == {}

    run(scenario)


def test_html_and_text_advertisements() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        advertiser_id = await make_advertiser(p)
        html = html_ad(advertiser_id)
        text = {
            "name": "tagline",
            "advertiser_id": advertiser_id,
            "type": "text",
            "default_text": "Summer sale",
            "destination": "https://acme.example/summer",
        }
        html_id = (await p.create(op("advertisement", html))).id
        text_ad = await p.create(op("advertisement", text))
        assert text_ad.attributes == text
        stored = await sb.objects("advertisement")
        assert stored[html_id]["sandbox_html"] == "<b>Summer</b>"  # received, though never given back
        assert stored[text_ad.id]["default_text"] == "Summer sale"
        # The response's `html` is the embed script, never mistaken for our markup.
        assert await p.read("advertisement", html_id, html) == html
        assert await p.read("advertisement", text_ad.id, text) == text
        assert await p.find(op("advertisement", html)) == html_id
        assert await p.find(op("advertisement", {**html, "type": "text"})) is None  # same name, other type

        with pytest.raises(ProviderError, match="cannot be changed in place") as info:
            await p.update(op("advertisement", html, action=Action.UPDATE, id_=html_id, changed=("html",)))
        assert info.value.error_class is ErrorClass.VALIDATION

    run(scenario)


def test_placement_lifecycle() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        advertiser_id = await make_advertiser(p)
        campaign_id = await make_campaign(p, advertiser_id)
        ad_id = (await p.create(op("advertisement", html_ad(advertiser_id)))).id
        zone_id = await make_zone(p)
        attrs = {
            "campaign_id": campaign_id,
            "advertisement_id": ad_id,
            "zone_id": zone_id,
            "restrictions": "mobile",  # one string, as the API documents (fidelity-audit.md row 13)
        }
        placement = await p.create(op("placement", attrs))
        assert placement == Applied(f"{campaign_id}/{ad_id}/{zone_id}", attrs)
        assert list(await sb.objects("placement")) == [placement.id]
        assert (await sb.objects("placement"))[placement.id]["restrictions"] == "mobile"
        assert await p.read("placement", placement.id, placement.attributes) == placement.attributes
        assert await p.find(op("placement", attrs)) == placement.id
        other_zone = await make_zone(p, "Sidebar", "side")
        assert await p.find(op("placement", {**attrs, "zone_id": other_zone})) is None

        await p.delete(op("placement", attrs, action=Action.DELETE, id_=placement.id))
        assert await sb.objects("placement") == {}
        assert await p.read("placement", placement.id, attrs) is None
        assert await p.find(op("placement", attrs)) is None

    run(scenario)


def test_read_of_a_placement_whose_campaign_is_gone_is_none() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        advertiser_id = await make_advertiser(p)
        campaign_id = await make_campaign(p, advertiser_id)
        ad_id = (await p.create(op("advertisement", html_ad(advertiser_id)))).id
        attrs = {
            "campaign_id": campaign_id,
            "advertisement_id": ad_id,
            "zone_id": await make_zone(p),
            "restrictions": None,  # none: not sent
        }
        placement = await p.create(op("placement", attrs))
        await p.delete(op("campaign", {}, action=Action.DELETE, id_=campaign_id))
        assert await p.read("placement", placement.id, attrs) is None
        assert await p.find(op("placement", attrs)) is None

    run(scenario)


def test_deleting_what_is_already_gone_succeeds() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        advertiser_id = await make_advertiser(p)
        await p.delete(op("advertiser", {}, action=Action.DELETE, id_=advertiser_id))
        await p.delete(op("advertiser", {}, action=Action.DELETE, id_=advertiser_id))
        await p.delete(op("zone", {}, action=Action.DELETE, id_="987654"))
        await p.delete(op("placement", {}, action=Action.DELETE, id_="1/2/3"))
        assert await sb.objects("advertiser") == {}

    run(scenario)


def test_find_returns_the_newest_match_within_the_parent_only() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        first = await make_advertiser(p, "Twin")
        second = await make_advertiser(p, "Twin")
        await p.create(op("advertiser", {"name": "Twin", "network_id": 86}))  # another network
        assert int(second) > int(first)
        assert await p.find(op("advertiser", {"name": "Twin", "network_id": NETWORK})) == second

        await make_campaign(p, first, "shared-name")
        assert await p.find(op("campaign", campaign_attrs(second, "shared-name"))) is None
        assert await p.find(op("advertisement", html_ad(second))) is None
        # A parent that no longer exists has no children.
        await p.delete(op("advertiser", {}, action=Action.DELETE, id_=first))
        assert await p.find(op("campaign", campaign_attrs(first, "shared-name"))) is None

    run(scenario)


# --- errors ---


def test_bad_token_is_an_auth_error() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        await sb.control("POST", "/auth", {"platform": "broadstreet", "valid_tokens": ["another-token"]})
        with pytest.raises(ProviderError) as info:
            await make_advertiser(p)
        exc = info.value
        assert (exc.error_class, exc.status, exc.transient) == (ErrorClass.AUTH, 401, False)
        assert "Invalid or missing access token" in str(exc)
        assert "access_token=***" in str(exc)
        assert_no_token(str(exc), repr(exc), repr(p))

    run(scenario)


def test_validation_error_names_the_field() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        advertiser_id = await make_advertiser(p)
        backwards = campaign_attrs(advertiser_id, end_date="2026-05-01")
        with pytest.raises(ProviderError) as info:
            await p.create(op("campaign", backwards))
        exc = info.value
        assert (exc.error_class, exc.status, exc.outcome_unknown) == (ErrorClass.VALIDATION, 422, False)
        assert "end_date: must be on or after start_date" in str(exc)
        assert str(exc).startswith(f"VALIDATION: POST /advertisers/{advertiser_id}/campaigns?access_token=***")
        assert_no_token(str(exc), repr(exc))

    run(scenario)


def test_rejected_type_is_a_validation_error() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        await sb.control("POST", "/faults", {"reject": [{"platform": "broadstreet", "type": "zone"}]})
        with pytest.raises(ProviderError, match="base: zone creation was rejected") as info:
            await make_zone(p)
        assert info.value.error_class is ErrorClass.VALIDATION

    run(scenario)


def test_429_is_a_rate_limit_error_with_retry_after() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        await sb.control("POST", "/faults", {"platform": "broadstreet", "rate_limit": 1})
        await make_advertiser(p)  # takes the one token
        with pytest.raises(ProviderError) as info:
            await make_advertiser(p)
        exc = info.value
        assert (exc.error_class, exc.status, exc.transient) == (ErrorClass.RATE_LIMIT, 429, True)
        assert exc.retry_after is not None and exc.retry_after >= 1
        assert not exc.outcome_unknown
        assert_no_token(str(exc))

    run(scenario)


def test_a_known_rate_limit_is_never_exceeded() -> None:
    async def main(sb: Sandbox) -> None:
        await sb.control("POST", "/faults", {"platform": "broadstreet", "rate_limit": 100})
        provider = sb.provider(rate_limit=100)
        try:
            started = time.monotonic()
            found = await asyncio.gather(
                *(provider.find(op("advertiser", {"name": f"a{i}", "network_id": NETWORK})) for i in range(120))
            )
            elapsed = time.monotonic() - started
        finally:
            await provider.aclose()
        stats = await sb.control("GET", "/stats")
        assert found == [None] * 120
        assert stats["rate_limited"] == 0 and stats["requests"]["broadstreet"]["GET"] == 120
        assert elapsed >= 1.15  # paced: the 120th request goes at 1.19 s

    kit.in_sandbox(main, Sandbox)


def test_platform_faults_are_network_errors() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        advertiser_id = await make_advertiser(p)
        await sb.control("POST", "/faults", {"platform": "broadstreet", "fault_rate": 1})
        with pytest.raises(ProviderError) as write:
            await make_zone(p)
        with pytest.raises(ProviderError) as read:
            await p.read("advertiser", advertiser_id, {})
        assert (write.value.error_class, write.value.status, write.value.transient) == (ErrorClass.NETWORK, 503, True)
        assert write.value.outcome_unknown  # a 5xx to a write may come after the work was done
        assert read.value.error_class is ErrorClass.NETWORK and not read.value.outcome_unknown
        assert_no_token(str(write.value), str(read.value))

    run(scenario)


def test_dropped_response_is_an_unknown_outcome_resolved_by_find() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        attrs = {"name": "Lost Corp", "network_id": NETWORK}
        await sb.control("POST", "/faults", {"platform": "broadstreet", "drop_response_rate": 1})
        with pytest.raises(ProviderError) as info:
            await p.create(op("advertiser", attrs))
        exc = info.value
        assert (exc.error_class, exc.outcome_unknown) == (ErrorClass.NETWORK, True)
        assert "may have been carried out" in str(exc)
        assert_no_token(str(exc), repr(exc))
        [made] = await sb.objects("advertiser")  # the write happened
        assert await p.find(op("advertiser", attrs)) == made  # reads are never dropped

    run(scenario)


# --- construction from a target ---


def test_provider_from_target_reads_the_token_from_the_environment() -> None:
    with pytest.raises(ProviderError) as info:
        provider_from_target(target(), {"OTHER": TOKEN})
    assert info.value.error_class is ErrorClass.AUTH
    assert info.value.message == "environment variable BROADSTREET_API_TOKEN is not set (target bs-main)"

    no_env = TargetConfig(name="bs-x", platform="broadstreet", settings={"network_id": 1})
    with pytest.raises(ProviderError, match=r"target bs-x has no credentials.token_env"):
        provider_from_target(no_env, {})
    with pytest.raises(ProviderError, match="no provider for platform 'myspace'"):
        provider_from_target(TargetConfig(name="m", platform="myspace"), {})

    async def main(sb: kit.AsyncSandbox) -> str:
        provider = provider_from_target(target(), {"BROADSTREET_API_TOKEN": TOKEN}, transport=sb.transport)
        try:
            assert provider.platform == "broadstreet"
            assert_no_token(repr(provider))
            return await make_advertiser(provider)  # type: ignore[arg-type]
        finally:
            await provider.aclose()

    assert kit.in_sandbox(main).isdigit()


# --- over real HTTP ---


@pytest.fixture
def served_sandbox() -> Iterator[str]:
    """The sandbox served by uvicorn on 127.0.0.1 in a thread; yields its origin."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_over_real_http_a_dropped_connection_is_an_unknown_outcome(served_sandbox: str) -> None:
    async def main() -> None:
        provider = BroadstreetProvider(target(served_sandbox), TOKEN)
        try:
            attrs = {"name": "Over the wire", "network_id": NETWORK}
            applied = await provider.create(op("advertiser", attrs))
            assert await provider.read("advertiser", applied.id, attrs) == attrs
            async with httpx.AsyncClient(base_url=served_sandbox) as control:
                await control.post("/__sandbox__/faults", json={"drop_response_rate": 1})
            lost = {"name": "Lost on the wire", "network_id": NETWORK}
            with pytest.raises(ProviderError) as info:
                await provider.create(op("advertiser", lost))
            assert (info.value.error_class, info.value.outcome_unknown) == (ErrorClass.NETWORK, True)
            assert_no_token(str(info.value))
            assert await provider.find(op("advertiser", lost)) is not None
        finally:
            await provider.aclose()

    asyncio.run(main())
