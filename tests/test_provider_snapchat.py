"""SnapchatProvider against the in-process sandbox (httpx.ASGITransport), and one
apply through the CLI with a Snapchat-only project."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.model import Action, Asset, TargetConfig
from reconciler.providers import provider_from_target
from reconciler.providers import snapchat as snapchat_module
from reconciler.providers.base import ErrorClass, ProviderError
from reconciler.providers.snapchat import OAuthCredentials, SnapchatProvider
from tests import provider_kit as kit
from tests.conftest import png_bytes

ACCOUNT = "8f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
OTHER_ACCOUNT = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
REFRESH_TOKEN = "snap-Refresh-5ecret-91ab"
CLIENT_SECRET = "snap-Client-5ecret-c3d4"
ISSUED = "sandbox-snap-"  # every access token the sandbox issues starts so
ENV = {"SNAP_REFRESH": REFRESH_TOKEN, "SNAP_ID": "app-id", "SNAP_SECRET": CLIENT_SECRET}
START, END = "2026-06-01T00:00:00.000Z", "2026-08-31T23:59:59.000Z"


def target(*, credentials: dict[str, str] | None = None) -> TargetConfig:
    oauth = {"refresh_token_env": "SNAP_REFRESH", "client_id_env": "SNAP_ID", "client_secret_env": "SNAP_SECRET"}
    return kit.sandbox_target("snap-us", "snapchat", {"ad_account_id": ACCOUNT}, credentials or oauth)


op = kit.OpBuilder("snap-us")
assert_no_secret = kit.leak_check(REFRESH_TOKEN, CLIENT_SECRET, ISSUED)


class Sandbox(kit.ProviderSandbox):
    platform = "snapchat"

    def provider(self, access_token: str | None = None) -> SnapchatProvider:
        credentials = OAuthCredentials(REFRESH_TOKEN, "app-id", CLIENT_SECRET, access_token)
        return SnapchatProvider(target(), credentials, transport=self.transport)


run = Sandbox.run


def campaign_attrs(name: str = "summer", account: str = ACCOUNT, **extra: Any) -> dict[str, Any]:
    return {
        "ad_account_id": account,
        "name": name,
        "status": "ACTIVE",
        "objective": "WEB_CONVERSION",
        "buy_model": "AUCTION",
        "start_time": START,
        "end_time": END,
        **extra,
    }


def squad_attrs(campaign_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "summer",
        "type": "SNAP_ADS",
        "status": "ACTIVE",
        "billing_event": "IMPRESSION",
        "optimization_goal": "SWIPES",
        "bid_strategy": "AUTO_BID",
        "placement_v2": {"config": "AUTOMATIC"},
        "start_time": START,
        "end_time": END,
        "daily_budget_micro": 50_000_000,
        "currency": "USD",
        "targeting": {"geos": [{"country_code": "us"}], "demographics": [{"min_age": 18}]},
        "campaign_id": campaign_id,
        **extra,
    }


def image(tmp_path: Path, seed: int = 0) -> Asset:
    return kit.asset_file(tmp_path, png_bytes(seed), f"banner-{seed}.png")


def media_attrs(asset: Asset, name: str = "banner") -> dict[str, Any]:
    return {"ad_account_id": ACCOUNT, "name": name, "type": "IMAGE", "asset_sha256": asset.sha256}


def creative_attrs(media_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "ad_account_id": ACCOUNT,
        "name": "summer.banner",
        "type": "WEB_VIEW",
        "brand_name": "ACME Corp",
        "headline": "Summer sale",
        "call_to_action": "MORE",
        "web_view_properties": {"url": "https://acme.example/summer"},
        "top_snap_media_id": media_id,
        **extra,
    }


def ad_attrs(squad_id: str, creative_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "summer.banner",
        "type": "REMOTE_WEBPAGE",
        "status": "ACTIVE",
        "ad_squad_id": squad_id,
        "creative_id": creative_id,
        **extra,
    }


async def make_chain(p: SnapchatProvider, tmp_path: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """A campaign, ad squad, media, creative and ad: type -> (id, attributes)."""
    made: dict[str, tuple[str, dict[str, Any]]] = {}

    async def create(type_: str, attrs: dict[str, Any], asset: Asset | None = None) -> str:
        applied = await p.create(op(type_, attrs, asset=asset))
        assert applied.attributes == attrs  # ids stay strings, ours (hash, currency) carried through
        made[type_] = (applied.id, attrs)
        return applied.id

    campaign_id = await create("campaign", campaign_attrs())
    squad_id = await create("adsquad", squad_attrs(campaign_id))
    asset = image(tmp_path)
    media_id = await create("media", media_attrs(asset), asset)
    creative_id = await create("creative", creative_attrs(media_id))
    await create("ad", ad_attrs(squad_id, creative_id))
    return made


# --- create / read / find / update / delete of every type ---


def test_every_type_is_created_read_and_found(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        made = await make_chain(p, tmp_path)
        for type_, (id_, attrs) in made.items():
            assert await p.read(type_, id_, attrs) == attrs, type_
            assert await p.find(op(type_, attrs)) == id_, type_
            assert id_ in await sb.objects(type_)
        media = (await sb.objects("media"))[made["media"][0]]
        # The bytes went up as a file named by their hash, which find() relies on.
        assert media["media_status"] == "READY"
        assert media["sandbox_sha256"] == made["media"][1]["asset_sha256"]
        assert media["file_name"] == made["media"][1]["asset_sha256"] + ".png"
        squad = (await sb.objects("adsquad"))[made["adsquad"][0]]
        assert "currency" not in squad and squad["daily_budget_micro"] == 50_000_000  # ours is never sent

    run(scenario)


def test_updates_put_the_full_object(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        made = await make_chain(p, tmp_path)
        campaign_id, campaign = made["campaign"]
        paused = {**campaign, "status": "PAUSED"}
        assert await p.update(op("campaign", paused, action=Action.UPDATE, id_=campaign_id)) == paused
        assert await p.read("campaign", campaign_id, campaign) == paused  # drift from the recorded attrs shows

        squad_id, squad = made["adsquad"]
        smaller = {k: v for k, v in squad.items() if k != "targeting"} | {"daily_budget_micro": 20_000_000}
        assert await p.update(op("adsquad", smaller, action=Action.UPDATE, id_=squad_id)) == smaller
        stored = (await sb.objects("adsquad"))[squad_id]
        assert "targeting" not in stored and stored["daily_budget_micro"] == 20_000_000  # a full replace

        creative_id, creative = made["creative"]
        renamed = {**creative, "name": "summer.banner-v2"}
        assert await p.update(op("creative", renamed, action=Action.UPDATE, id_=creative_id)) == renamed

        # An ad can move to another creative in place.
        other_creative = await p.create(op("creative", creative_attrs(creative["top_snap_media_id"], headline="New")))
        ad_id, ad = made["ad"]
        moved = {**ad, "creative_id": other_creative.id}
        assert await p.update(op("ad", moved, action=Action.UPDATE, id_=ad_id)) == moved
        assert (await sb.objects("ad"))[ad_id]["creative_id"] == other_creative.id

        media_id, media = made["media"]
        with pytest.raises(ProviderError, match="cannot be changed in place") as info:
            await p.update(op("media", media, action=Action.UPDATE, id_=media_id))
        assert info.value.error_class is ErrorClass.VALIDATION

    run(scenario)


def test_deletes_are_soft_and_media_and_creatives_stay(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        made = await make_chain(p, tmp_path)
        for type_ in ("ad", "adsquad", "campaign"):
            id_, attrs = made[type_]
            await p.delete(op(type_, attrs, action=Action.DELETE, id_=id_))
            assert id_ not in await sb.objects(type_)
            assert await p.read(type_, id_, attrs) is None  # deleted ones are hidden
            assert await p.find(op(type_, attrs)) is None
            await p.delete(op(type_, attrs, action=Action.DELETE, id_=id_))  # already gone: fine
        deletes = (await sb.requests())["DELETE"]
        for type_ in ("creative", "media"):
            id_, attrs = made[type_]
            with pytest.raises(ProviderError, match=f"Snapchat has no delete for {type_}s"):
                await p.delete(op(type_, attrs, action=Action.DELETE, id_=id_))
            assert id_ in await sb.objects(type_)  # no delete on the platform: kept in the library
        assert (await sb.requests())["DELETE"] == deletes  # and nothing was sent

    run(scenario)


def test_find_never_returns_another_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        first = (await p.create(op("campaign", campaign_attrs("twin")))).id
        second = (await p.create(op("campaign", campaign_attrs("twin")))).id
        await p.create(op("campaign", campaign_attrs("twin", OTHER_ACCOUNT)))
        assert await p.find(op("campaign", campaign_attrs("twin"))) == second != first  # the newest
        assert await p.find(op("campaign", campaign_attrs("nobody"))) is None
        assert await p.find(op("adsquad", squad_attrs(first))) is None

        # Old creatives and media keep their names: their content must match too.
        old, new = image(tmp_path, 1), image(tmp_path, 2)
        old_media = (await p.create(op("media", media_attrs(old), asset=old))).id
        assert await p.find(op("media", media_attrs(new))) is None
        new_media = (await p.create(op("media", media_attrs(new), asset=new))).id
        assert await p.find(op("media", media_attrs(new))) == new_media
        assert await p.find(op("media", media_attrs(old))) == old_media
        await p.create(op("creative", creative_attrs(old_media)))
        assert await p.find(op("creative", creative_attrs(new_media))) is None
        assert await p.find(op("creative", creative_attrs(old_media, headline="Other"))) is None

        # Lists are read page by page.
        monkeypatch.setattr(snapchat_module, "PAGE_SIZE", 50)
        for i in range(52):
            await p.create(op("campaign", campaign_attrs(f"c{i}", status="PAUSED")))
        last = (await p.create(op("campaign", campaign_attrs("last")))).id
        assert await p.find(op("campaign", campaign_attrs("last"))) == last

    run(scenario)


# --- media uploads ---


def test_a_changed_or_missing_asset_is_refused_before_sending(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        asset = image(tmp_path)
        Path(asset.path).write_bytes(png_bytes(9))
        with pytest.raises(ProviderError, match="changed since the plan") as changed:
            await p.create(op("media", media_attrs(asset), asset=asset))
        with pytest.raises(ProviderError, match="has no asset file") as missing:
            await p.create(op("media", media_attrs(asset)))
        assert changed.value.error_class is missing.value.error_class is ErrorClass.VALIDATION
        assert await sb.requests() == {}  # not even a token request

    run(scenario)


def test_a_failed_upload_leaves_an_empty_media_that_the_next_attempt_fills(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        asset = image(tmp_path)
        wrong = Asset(asset.path, asset.sha256, "video/mp4")
        with pytest.raises(ProviderError, match="is a VIDEO but media") as info:
            await p.create(op("media", media_attrs(asset), asset=wrong))
        assert info.value.error_class is ErrorClass.VALIDATION
        [(empty_id, empty)] = (await sb.objects("media")).items()
        assert empty["media_status"] == "PENDING_UPLOAD"
        assert await p.find(op("media", media_attrs(asset))) is None  # an empty media is nobody's

        applied = await p.create(op("media", media_attrs(asset), asset=asset))
        assert applied.id == empty_id
        assert [m["media_status"] for m in (await sb.objects("media")).values()] == ["READY"]

    run(scenario)


# --- currency ---


def test_a_budget_in_another_currency_is_refused() -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        campaign_id = (await p.create(op("campaign", campaign_attrs()))).id
        with pytest.raises(ProviderError) as info:
            await p.create(op("adsquad", squad_attrs(campaign_id, currency="EUR")))
        exc = info.value
        assert exc.error_class is ErrorClass.VALIDATION
        assert "EUR" in exc.message and "USD" in exc.message and ACCOUNT in exc.message
        assert await sb.objects("adsquad") == {}

        gets = (await sb.requests())["GET"]
        await p.create(op("adsquad", squad_attrs(campaign_id)))
        await p.create(op("adsquad", squad_attrs(campaign_id, name="second")))
        assert (await sb.requests())["GET"] == gets  # the account's currency is read once

    run(scenario)


def test_a_rejected_type_is_a_validation_error() -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        campaign_id = (await p.create(op("campaign", campaign_attrs()))).id
        await sb.control("POST", "/faults", {"reject": [{"platform": "snapchat", "type": "adsquad"}]})
        with pytest.raises(ProviderError, match="adsquad creation was rejected") as info:
            await p.create(op("adsquad", squad_attrs(campaign_id)))
        exc = info.value
        assert (exc.error_class, exc.status, exc.outcome_unknown) == (ErrorClass.VALIDATION, 400, False)

        await sb.control("POST", "/faults", {"reject": []})
        squad_id = (await p.create(op("adsquad", squad_attrs(campaign_id)))).id
        too_small = squad_attrs(campaign_id, daily_budget_micro=1_000_000)
        with pytest.raises(ProviderError, match="daily_budget_micro must be at least 5000000") as info:
            await p.update(op("adsquad", too_small, action=Action.UPDATE, id_=squad_id))
        assert info.value.error_class is ErrorClass.VALIDATION

    run(scenario)


# --- auth ---


def test_an_expired_access_token_is_renewed_once() -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        campaign_id = (await p.create(op("campaign", campaign_attrs()))).id
        await sb.control("POST", "/auth", {"platform": "snapchat", "expire_access_tokens": True})
        before = await sb.requests()
        assert await p.read("campaign", campaign_id, campaign_attrs()) == campaign_attrs()
        after = await sb.requests()
        assert (after["GET"] - before["GET"], after["POST"] - before["POST"]) == (2, 1)  # 401, token, retry

        # Calls refused at the same time share one renewal.
        await sb.control("POST", "/auth", {"platform": "snapchat", "expire_access_tokens": True})
        reads = await asyncio.gather(*(p.read("campaign", campaign_id, campaign_attrs()) for _ in range(5)))
        assert reads == [campaign_attrs()] * 5
        assert (await sb.requests())["POST"] - after["POST"] == 1
        after = await sb.requests()

        # When the refresh is refused too, the call fails as AUTH: one token request, no second retry.
        await sb.control(
            "POST", "/auth", {"platform": "snapchat", "valid_tokens": ["another"], "expire_access_tokens": True}
        )
        with pytest.raises(ProviderError) as info:
            await p.read("campaign", campaign_id, campaign_attrs())
        final = await sb.requests()
        assert (final["GET"] - after["GET"], final["POST"] - after["POST"]) == (1, 1)
        exc = info.value
        assert (exc.error_class, exc.transient, exc.outcome_unknown) == (ErrorClass.AUTH, False, False)
        assert "cannot get a Snapchat access token" in exc.message and "invalid_grant" in exc.message
        assert_no_secret(str(exc), repr(exc), repr(p))

    run(scenario)


def test_a_bad_refresh_token_is_an_auth_error_on_a_write() -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        await sb.control("POST", "/auth", {"platform": "snapchat", "valid_tokens": ["another"]})
        with pytest.raises(ProviderError) as info:
            await p.create(op("campaign", campaign_attrs()))
        exc = info.value
        assert (exc.error_class, exc.status, exc.outcome_unknown) == (ErrorClass.AUTH, 400, False)
        assert str(exc).startswith("AUTH: cannot get a Snapchat access token: POST /snapchat/login/oauth2/")
        assert_no_secret(str(exc), repr(exc))
        assert await sb.objects("campaign") == {}

    run(scenario)


def test_the_access_token_is_renewed_before_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        clock = [1000.0]
        monkeypatch.setattr(snapchat_module, "monotonic", lambda: clock[0])
        campaign_id = (await p.create(op("campaign", campaign_attrs()))).id
        before = await sb.requests()
        clock[0] += 1000  # 1000 s into the token's 1800 s: not yet
        await p.read("campaign", campaign_id, {})
        clock[0] += 600  # 1600 s: within the last 5 minutes
        await p.read("campaign", campaign_id, {})
        after = await sb.requests()
        # One token request and no refused call: renewed ahead of time.
        assert (after["GET"] - before["GET"], after["POST"] - before["POST"]) == (2, 1)

    run(scenario)


def test_a_given_access_token_is_used_until_refused() -> None:
    async def main(sb: Sandbox) -> None:
        provider = provider_from_target(
            target(credentials={**target().credentials, "token_env": "SNAP_TOKEN"}),
            {**ENV, "SNAP_TOKEN": "stale-access-token"},
            transport=sb.transport,
        )
        try:
            assert provider.platform == "snapchat"
            assert "stale-access-token" not in repr(provider)
            applied = await provider.create(op("campaign", campaign_attrs()))
            assert applied.id in await sb.objects("campaign")
            assert await sb.requests() == {"POST": 3}  # refused, token, retried
        finally:
            await provider.aclose()

    kit.in_sandbox(main, Sandbox)


def test_provider_from_target_reads_the_credentials_from_the_environment() -> None:
    with pytest.raises(ProviderError) as info:
        provider_from_target(target(), {**ENV, "SNAP_SECRET": ""})
    assert info.value.error_class is ErrorClass.AUTH
    assert info.value.message == "environment variable SNAP_SECRET is not set (target snap-us)"
    with pytest.raises(ProviderError, match=r"target snap-us has no credentials.refresh_token_env"):
        provider_from_target(target(credentials={"client_id_env": "SNAP_ID"}), ENV)


# --- rate limits, faults, lost responses ---


def test_429_is_a_rate_limit_error_without_retry_after() -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        await p.find(op("campaign", campaign_attrs()))  # holds a token now
        await sb.control("POST", "/faults", {"platform": "snapchat", "rate_limit": 1})
        await p.find(op("campaign", campaign_attrs()))  # takes the one request of this second
        with pytest.raises(ProviderError) as info:
            await p.create(op("campaign", campaign_attrs()))
        exc = info.value
        assert (exc.error_class, exc.status, exc.transient, exc.retry_after) == (ErrorClass.RATE_LIMIT, 429, True, None)
        assert not exc.outcome_unknown and "E1008" in exc.message
        assert_no_secret(str(exc))

    run(scenario)


def test_platform_faults_are_network_errors() -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        campaign_id = (await p.create(op("campaign", campaign_attrs()))).id
        await sb.control("POST", "/faults", {"platform": "snapchat", "fault_rate": 1})
        with pytest.raises(ProviderError) as write:
            await p.create(op("campaign", campaign_attrs("other")))
        with pytest.raises(ProviderError) as read:
            await p.read("campaign", campaign_id, {})
        assert (write.value.error_class, write.value.status, write.value.transient) == (ErrorClass.NETWORK, 503, True)
        assert write.value.outcome_unknown  # a 5xx to a write may come after the work was done
        assert read.value.error_class is ErrorClass.NETWORK and not read.value.outcome_unknown
        assert_no_secret(str(write.value), str(read.value))

        # A failed token request is never an unknown outcome, even on the way to a create.
        fresh = sb.provider()
        try:
            with pytest.raises(ProviderError, match="cannot get a Snapchat access token") as token:
                await fresh.create(op("campaign", campaign_attrs("third")))
        finally:
            await fresh.aclose()
        assert (token.value.error_class, token.value.outcome_unknown) == (ErrorClass.NETWORK, False)

    run(scenario)


def test_dropped_response_is_an_unknown_outcome_resolved_by_find(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        await p.find(op("campaign", campaign_attrs()))  # holds a token now
        await sb.control("POST", "/faults", {"platform": "snapchat", "drop_response_rate": 1})
        with pytest.raises(ProviderError) as info:
            await p.create(op("campaign", campaign_attrs()))
        exc = info.value
        assert (exc.error_class, exc.outcome_unknown) == (ErrorClass.NETWORK, True)
        assert "may have been carried out" in str(exc)
        assert_no_secret(str(exc), repr(exc))
        [made] = await sb.objects("campaign")  # the write happened
        assert await p.find(op("campaign", campaign_attrs())) == made  # reads are never dropped

        # A media whose creation was lost: not found (it is empty), and the retry fills that same one.
        asset = image(tmp_path)
        with pytest.raises(ProviderError) as lost:
            await p.create(op("media", media_attrs(asset), asset=asset))
        assert lost.value.outcome_unknown
        assert await p.find(op("media", media_attrs(asset))) is None
        await sb.control("POST", "/faults", {"platform": "snapchat", "drop_response_rate": 0})
        applied = await p.create(op("media", media_attrs(asset), asset=asset))
        assert list(await sb.objects("media")) == [applied.id]

    run(scenario)


# --- end to end through the CLI ---

SPEC = """\
kind: Target
name: snap-us
platform: snapchat
ad_account_id: 8f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
rate_limit: 200
credentials: {refresh_token_env: SNAP_REFRESH, client_id_env: SNAP_ID, client_secret_env: SNAP_SECRET}
---
kind: Advertiser
name: acme
display_name: ACME Corp
---
kind: Creative
name: banner
advertiser: acme
format: image/png
size: 1080x1920
asset: assets/banner.png
click_url: https://acme.example/summer
headline: Summer sale
---
kind: Campaign
name: summer
advertiser: acme
start_date: 2026-06-01
end_date: 2026-08-31
targets: [snap-us]
creatives: [banner]
budget: {daily: 50.00, currency: USD}
objective: traffic
audience: {countries: [US], age_min: 18}
"""


def test_apply_converges_and_a_new_asset_replaces_the_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ENV:
        monkeypatch.delenv(variable, raising=False)  # --sandbox fills in placeholders
    kit.write_specs(tmp_path, SPEC, {"banner.png": png_bytes(1)})
    reconciler = kit.Cli(capsys, tmp_path)

    assert "Apply complete: 5 done" in reconciler.apply()
    reconciler.assert_no_changes()
    reconciler.assert_no_drift()

    (tmp_path / "specs" / "assets" / "banner.png").write_bytes(png_bytes(2))
    code, out = reconciler("plan", "--sandbox", "--detailed-exitcode")
    assert code == 2 and "Plan: 0 to create, 1 to update, 2 to replace, 0 to delete." in out
    reconciler.apply()
    reconciler.assert_no_drift()

    state = json.loads((tmp_path / "state" / "default.sandbox.json").read_text())
    recorded = {(r["type"], r["id"]) for r in state["resources"].values()}

    objects = [o for o in kit.saved_objects(tmp_path, "snapchat") if o.type != "adaccount"]
    leftovers = [(o.type, o.fields["name"]) for o in objects if (o.type, o.id) not in recorded]
    # Nothing but the replaced media and creative, which Snapchat cannot delete: they stay in the library.
    assert sorted(leftovers) == [("creative", "summer.banner"), ("media", "banner")]
    assert recorded <= {(o.type, o.id) for o in objects}
    new_media = next(r for r in state["resources"].values() if r["type"] == "media")
    assert new_media["attributes"]["asset_sha256"] == hashlib.sha256(png_bytes(2)).hexdigest()
