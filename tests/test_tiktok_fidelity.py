"""TikTok as the real API has it (fidelity-audit rows 6, 7, 8, 17, 21 and issue 10's conversions and time zones):
what compile and the provider send, what the emulator refuses, and the codes of the official table end to end."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import SpecError
from reconciler.providers.base import ErrorClass, ProviderError
from reconciler.providers.tiktok import TikTokProvider, declared_name, upload_name
from reconciler.sandbox import tiktok as emulator
from reconciler.spec.compile import TIKTOK_CONVERSION_EVENTS, TIKTOK_OBJECTIVES, compile_specs
from reconciler.spec.loader import load_specs
from tests import provider_kit as kit
from tests.conftest import png_bytes
from tests.e2e import Sandbox as ServerSandbox
from tests.e2e import run_reconciler, sandbox_server
from tests.test_provider_tiktok import (
    ADV,
    MP4,
    Sandbox,
    ad_attrs,
    adgroup_attrs,
    campaign_attrs,
    make_adgroup,
    make_campaign,
    make_image,
    media_attrs,
    op,
)

ROOT = Path(__file__).resolve().parent.parent
run = Sandbox.run
API = "/tiktok/open_api/v1.3"
HEADERS = {"Access-Token": "tt-fidelity"}


async def call(sb: kit.AsyncSandbox, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = await sb.http.request(method, API + path, headers=HEADERS, **kwargs)
    assert response.status_code == 200  # TikTok answers errors in the envelope
    return response.json()


# --- compile (rows 6, conversions) ---


def tiktok_project(tmp_path: Path, campaign: str, *, creatives: str = "[summer-vertical]", target: str = "") -> Path:
    (tmp_path / "specs").mkdir(parents=True)
    shutil.copytree(ROOT / "specs" / "assets", tmp_path / "specs" / "assets")
    (tmp_path / "specs" / "main.yaml").write_text(
        "kind: Target\nname: tiktok-us\nplatform: tiktok\nadvertiser_id: '7000000042'\nidentity_id: acme-identity\n"
        f"credentials: {{token_env: TIKTOK_ACCESS_TOKEN}}\n{target}"
        "---\nkind: Advertiser\nname: acme\ndisplay_name: ACME\n"
        "---\nkind: Creative\nname: summer-vertical\nadvertiser: acme\nformat: video/mp4\nsize: 1080x1920\n"
        "asset: assets/summer-vertical.mp4\nclick_url: https://acme.example/summer\nbody: Summer\n"
        "---\nkind: Creative\nname: banner\nadvertiser: acme\nformat: image/jpeg\nsize: 300x250\n"
        "asset: assets/summer-300x250.jpg\nclick_url: https://acme.example/summer\n"
        "---\nkind: Campaign\nname: summer\nadvertiser: acme\nstart_date: 2026-06-01\nend_date: 2026-08-31\n"
        f"targets: [tiktok-us]\ncreatives: {creatives}\nbudget: {{daily: 50, currency: USD}}\n"
        f"audience: {{countries: [US]}}\n{campaign}"
    )
    return tmp_path


def compiled(project: Path) -> dict[str, dict[str, Any]]:
    return {r.address: r.attributes for r in compile_specs(load_specs(project)).resources}


def test_engagement_compiles_to_video_views_engaged_view_billed_cpv(tmp_path: Path) -> None:
    resources = compiled(tiktok_project(tmp_path, "objective: engagement\n"))
    assert resources["tiktok-us:campaign/summer"]["objective_type"] == "VIDEO_VIEWS"
    adgroup = resources["tiktok-us:adgroup/summer"]
    assert (adgroup["optimization_goal"], adgroup["billing_event"]) == ("ENGAGED_VIEW", "CPV")
    # Every compiled pairing is one the emulator accepts.
    for objective_type, goal, billing in TIKTOK_OBJECTIVES.values():
        assert goal in emulator.OBJECTIVE_GOALS[objective_type] and emulator.GOAL_BILLING_EVENTS[goal] == billing


def test_engagement_shows_videos_only(tmp_path: Path) -> None:
    project = tiktok_project(tmp_path, "objective: engagement\n", creatives="[summer-vertical, banner]")
    with pytest.raises(SpecError, match="creative banner is image/jpeg"):
        compile_specs(load_specs(project))


def test_conversions_carry_the_pixel_and_tiktoks_event(tmp_path: Path) -> None:
    project = tiktok_project(
        tmp_path, "objective: conversions\nconversion_event: ADD_TO_CART\n", target="pixel_id: '7300000000000000001'\n"
    )
    adgroup = compiled(project)["tiktok-us:adgroup/summer"]
    assert (adgroup["optimization_goal"], adgroup["billing_event"]) == ("CONVERT", "OCPM")
    assert (adgroup["pixel_id"], adgroup["optimization_event"]) == ("7300000000000000001", "ON_WEB_CART")
    assert set(TIKTOK_CONVERSION_EVENTS.values()) <= set(emulator.PIXEL_EVENTS)


# --- the emulator refuses what TikTok refuses (rows 6, 21, conversions) ---


def test_the_emulator_refuses_invalid_objective_goal_and_billing_pairings() -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        async def adgroup_error(objective: str, **fields: Any) -> tuple[int, str]:
            campaign = await p.create(op("campaign", campaign_attrs(objective, objective_type=objective)))
            body = {k: v for k, v in adgroup_attrs(campaign.id, **fields).items() if k != "currency"}
            answer = await call(sb, "POST", "/adgroup/create/", json=body)
            return answer["code"], answer["message"]

        # The old engagement mapping: ENGAGEMENT / ENGAGED_VIEW / CPM.
        code, message = await adgroup_error("ENGAGEMENT", optimization_goal="ENGAGED_VIEW", billing_event="CPM")
        assert code == 40002 and "ENGAGED_VIEW is not available for objective_type ENGAGEMENT" in message
        code, message = await adgroup_error("VIDEO_VIEWS", optimization_goal="ENGAGED_VIEW", billing_event="CPM")
        assert (code, message) == (40002, "billing_event: optimization_goal ENGAGED_VIEW is billed as CPV, not CPM")
        code, message = await adgroup_error("WEB_CONVERSIONS", optimization_goal="CONVERT", billing_event="OCPM")
        assert (code, message) == (
            40002,
            "pixel_id: Missing data for required field (optimization_goal is CONVERT).",
        )
        code, message = await adgroup_error(
            "WEB_CONVERSIONS", optimization_goal="CONVERT", billing_event="OCPM", pixel_id="7300000000000000001"
        )
        assert code == 40002 and message.startswith("optimization_event: Missing data")
        assert (await adgroup_error("TRAFFIC", billing_event="OCPC"))[1].startswith("billing_event: must be one of")
        assert await adgroup_error("VIDEO_VIEWS", optimization_goal="ENGAGED_VIEW", billing_event="CPV") == (0, "OK")
        converts = await adgroup_error(
            "WEB_CONVERSIONS",
            optimization_goal="CONVERT",
            billing_event="OCPM",
            pixel_id="7300000000000000001",
            optimization_event="SHOPPING",
        )
        assert converts == (0, "OK")
        # SHOP_PURCHASES is no CampaignObjectiveType value; CHECK_AVAILABILITY is a CallToAction one.
        body = {k: v for k, v in campaign_attrs(objective_type="SHOP_PURCHASES").items()}
        assert (await call(sb, "POST", "/campaign/create/", json=body))["code"] == 40002
        assert "CHECK_AVAILABILITY" in emulator.CALLS_TO_ACTION

    run(scenario)


def test_emulator_enums_are_the_sdks() -> None:
    """When the official SDK is installed (test-time oracle only), its return codes are the emulator's."""
    sdk = pytest.importorskip("business_api_client.tiktok_business.tiktok_code")
    codes = sdk.NumericErrorCodes
    assert emulator.PARTIAL_OK == codes.ERROR_CODE_PARTIAL_OK
    assert emulator.EMPTY_TOKEN == codes.ERROR_CODE_EMPTY_ACCESS_TOKEN
    assert emulator.BAD_TOKEN == codes.ERROR_CODE_INVALID_ACCESS_TOKEN
    assert emulator.DUPLICATED_MATERIAL_NAME == codes.ERROR_CODE_DUPLICATED_MATERIAL_NAME
    assert emulator.RATE_LIMITED == codes.ERROR_CODE_REQUEST_TOO_FREQUENT
    from reconciler.providers import tiktok as provider

    throttles = {codes.ERROR_CODE_REQUEST_TOO_FREQUENT, codes.ERROR_CODE_REQUEST_FREQUENCY_LIMITED}
    assert throttles == provider.RATE_LIMIT_CODES
    assert provider.WRITE_CONFLICT_CODE == codes.ERROR_CODE_WRITE_CONFLICT
    assert {
        codes.ERROR_CODE_PERMISSION_ERROR,
        codes.ERROR_CODE_ACCESS_TOKEN_EXPIRE,
        codes.ERROR_CODE_EMPTY_ACCESS_TOKEN,
        codes.ERROR_CODE_INVALID_ACCESS_TOKEN,
    } == provider.AUTH_CODES


# --- unique material names (row 8) ---


def test_library_names_are_unique_and_a_replacement_upload_gets_its_own(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        old = kit.asset_file(tmp_path, png_bytes(1), "old.png")
        new = kit.asset_file(tmp_path, png_bytes(2), "new.png")
        old_id = await make_image(p, old, "banner")
        # The replacement, made while the old file still exists (create before destroy): no 40911.
        created = await p.create(op("image", media_attrs(new, "banner"), asset=new))
        names = {i: f["file_name"] for i, f in (await sb.objects("image")).items()}
        assert names == {old_id: upload_name("banner", png_bytes(1)), created.id: upload_name("banner", png_bytes(2))}
        assert created.attributes["file_name"] == "banner"  # the suffix is ours: no drift, no change
        assert await p.read("image", created.id, media_attrs(new, "banner")) == media_attrs(new, "banner")
        assert declared_name(names[created.id], png_bytes(2)) == "banner"
        assert await p.find(op("image", media_attrs(new, "banner"), asset=new)) == created.id

        # The old request, the declared name as it is, twice: TikTok's 40911.
        for expected in (0, 40911):
            files = {"image_file": ("banner.png", png_bytes(3), "image/png")}
            form = {"advertiser_id": ADV, "file_name": "plain", "image_signature": _md5(png_bytes(3))}
            path = f"{API}/file/image/ad/upload/"
            answer = (await sb.http.post(path, headers=HEADERS, data=form, files=files)).json()
            assert answer["code"] == expected, answer
        assert answer["message"] == "Duplicated material name: plain"
        files = {"video_file": ("v.mp4", MP4, "video/mp4")}
        form = {"advertiser_id": ADV, "file_name": "plain", "video_signature": _md5(MP4)}
        answer = (await sb.http.post(f"{API}/file/video/ad/upload/", headers=HEADERS, data=form, files=files)).json()
        assert answer["code"] == 0  # UNCONFIRMED: names are taken as unique per type (images, videos)

    run(scenario)


def _md5(content: bytes) -> str:
    import hashlib

    return hashlib.md5(content).hexdigest()


# --- the official return codes, end to end (row 7) ---


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (40100, ErrorClass.RATE_LIMIT),
        (40132, ErrorClass.RATE_LIMIT),
        (40202, ErrorClass.RATE_LIMIT),  # a write conflict: nothing was made, wait and send again
        (40001, ErrorClass.AUTH),
        (40102, ErrorClass.AUTH),
        (40104, ErrorClass.AUTH),
        (40105, ErrorClass.AUTH),
        (40002, ErrorClass.VALIDATION),
        (50002, ErrorClass.NETWORK),
    ],
)
def test_return_codes_are_classified_as_the_official_table_says(code: int, error_class: ErrorClass) -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        await sb.control("POST", "/faults", {"reject": [{"platform": "tiktok", "type": "campaign", "code": code}]})
        with pytest.raises(ProviderError) as info:
            await make_campaign(p)
        assert info.value.error_class is error_class and f"code {code}" in info.value.message
        assert info.value.transient is (error_class in (ErrorClass.RATE_LIMIT, ErrorClass.NETWORK))
        if error_class is ErrorClass.RATE_LIMIT:
            assert not info.value.outcome_unknown  # TikTok refused it: safe to send again, no lookup first

    run(scenario)


def test_partial_success_is_checked_per_item(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        campaign_id = await make_campaign(p)
        adgroup_id = await make_adgroup(p, campaign_id)
        image_id = await make_image(p, kit.asset_file(tmp_path, png_bytes(1)), "banner")
        await sb.control("POST", "/faults", {"reject": [{"platform": "tiktok", "type": "ad", "code": 20001}]})
        with pytest.raises(ProviderError) as info:
            await p.create(op("ad", ad_attrs(adgroup_id, image_id)))
        # Not "unexpected response" nor an unknown outcome: the one item of the call was not made.
        assert info.value.error_class is ErrorClass.VALIDATION and not info.value.outcome_unknown
        assert "TikTok made no ad" in info.value.message and "code 20001" in info.value.message
        assert await sb.objects("ad") == {}

    run(scenario)


def test_a_retried_write_conflict_goes_through_on_the_next_attempt() -> None:
    """40202 through the executor's retry policy: the step succeeds once the conflict is gone."""

    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        from reconciler.providers.http import RetryPolicy

        await sb.control("POST", "/faults", {"reject": [{"platform": "tiktok", "type": "campaign", "code": 40202}]})
        attempts = 0

        async def create() -> str:
            nonlocal attempts
            attempts += 1
            if attempts == 2:
                await sb.control("POST", "/faults", {"reject": []})
            return await make_campaign(p)

        policy = RetryPolicy(max_attempts=3, base=0.01, max_wait=0.02)
        campaign_id = await policy.retrying()(create)
        assert attempts == 2 and campaign_id in await sb.objects("campaign")  # refused once, then made

    run(scenario)


# --- review (row 17) ---


def test_rejection_reasons_come_from_review_info_and_ads_carry_real_fields_only(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: TikTokProvider) -> None:
        await sb.control("POST", "/review", {"name_contains": "bad", "status": "rejected", "reason": "Misleading"})
        await sb.control("POST", "/review", {"name_contains": "held", "status": "pending"})
        adgroup_id = await make_adgroup(p, await make_campaign(p))
        image_id = await make_image(p, kit.asset_file(tmp_path, png_bytes(1)), "banner")
        ads = {}
        for name in ("bad.ad", "held.ad", "fine.ad"):
            attrs = ad_attrs(adgroup_id, image_id, name)
            ads[name] = ((await p.create(op("ad", attrs))).id, attrs)
        rows = (await call(sb, "GET", "/ad/get/", params={"advertiser_id": ADV}))["data"]["list"]
        statuses = {r["secondary_status"] for r in rows}
        assert statuses == {"AD_STATUS_AUDIT_DENY", "AD_STATUS_AUDIT", "AD_STATUS_DELIVERY_OK"}
        assert all(set(r) <= emulator.ROW_FIELDS["ad"] | set(emulator.SCHEMAS["ad"]) for r in rows)
        verdicts = {name: await p.review("ad", id_, attrs) for name, (id_, attrs) in ads.items()}
        assert [(v.status, v.reason) for v in verdicts.values() if v] == [
            ("rejected", "Misleading"),
            ("pending", ""),
            ("approved", ""),
        ]
        many = await p.review_many("ad", dict(ads.values()))
        assert many == {id_: verdicts[name] for name, (id_, _) in ads.items()}

    run(scenario)


# --- accounts: provisioning and the time zone check ---


def test_provision_account_makes_an_advertiser_in_a_time_zone_and_currency() -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        body = {"platform": "tiktok", "id": "7000000077", "timezone": "Asia/Tokyo", "currency": "JPY"}
        shown = await sb.control("POST", "/accounts", body)
        assert (shown["advertiser_id"], shown["timezone"], shown["currency"]) == ("7000000077", "Asia/Tokyo", "JPY")
        info = await call(sb, "GET", "/advertiser/info/", params={"advertiser_ids": json.dumps(["7000000077"])})
        assert info["data"]["list"] == [shown]
        response = await sb.http.post("/__sandbox__/accounts", json={**body, "id": "act_1"})
        assert response.status_code == 400 and response.json()["field"] == "id"

    kit.in_sandbox(scenario)


def test_a_time_zone_mismatch_stops_every_write_before_it_is_sent() -> None:
    async def scenario(sb: Sandbox, _: TikTokProvider) -> None:
        await sb.control("POST", "/accounts", {"platform": "tiktok", "id": ADV, "timezone": "America/Los_Angeles"})
        settings = {"advertiser_id": ADV, "identity_id": "acme-identity", "timezone": "UTC"}
        target = kit.sandbox_target("tiktok-us", "tiktok", settings, {"token_env": "TIKTOK_ACCESS_TOKEN"})
        p = TikTokProvider(target, "tt", transport=sb.transport)
        try:
            for _ in range(2):
                with pytest.raises(ProviderError) as info:
                    await p.create(op("campaign", campaign_attrs()))
                assert info.value.error_class is ErrorClass.VALIDATION
                assert "timezone UTC" in info.value.message and "America/Los_Angeles" in info.value.message
            # advertiser/info/ once, and no write at all.
            assert await sb.requests() == {"GET": 1}
        finally:
            await p.aclose()

    run(scenario)


# --- through the real command, on a sandbox server ---


@pytest.fixture(scope="module")
def server() -> Iterator[ServerSandbox]:
    with sandbox_server() as started:
        yield started


def command_project(directory: Path, url: str, zone: str) -> Path:
    tiktok_project(
        directory,
        "objective: engagement\n",
        target=f"timezone: {zone}\napi_base_url: {url}{API}\n",
    )
    (directory / "state").mkdir()
    return directory


@pytest.mark.parametrize(
    ("zone", "start", "end"),
    [
        ("America/Los_Angeles", "2026-06-01 07:00:00", "2026-09-01 06:59:59"),
        ("Asia/Tokyo", "2026-05-31 15:00:00", "2026-08-31 14:59:59"),
    ],
)
def test_apply_into_a_non_utc_advertiser_then_refresh_shows_nothing(
    tmp_path: Path, server: ServerSandbox, monkeypatch: pytest.MonkeyPatch, zone: str, start: str, end: str
) -> None:
    server.control("POST", "reset")
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "tt-e2e-token")
    server.control("POST", "accounts", json={"platform": "tiktok", "id": "7000000042", "timezone": zone})
    project = command_project(tmp_path / "p", server.url, zone)
    applied = run_reconciler(project, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    [adgroup] = [o["fields"] for o in server.objects("tiktok") if o["type"] == "adgroup"]
    assert (adgroup["schedule_start_time"], adgroup["schedule_end_time"]) == (start, end)
    assert (adgroup["optimization_goal"], adgroup["billing_event"]) == ("ENGAGED_VIEW", "CPV")
    [video] = [o["fields"] for o in server.objects("tiktok") if o["type"] == "video"]
    assert video["file_name"].startswith("summer-vertical-")  # unique in the library
    refreshed = run_reconciler(project, "plan", "--refresh", "--detailed-exitcode")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr


def test_apply_stops_a_target_whose_advertiser_runs_in_another_time_zone(
    tmp_path: Path, server: ServerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.control("POST", "reset")
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "tt-e2e-token")
    server.control("POST", "accounts", json={"platform": "tiktok", "id": "7000000042", "timezone": "Asia/Tokyo"})
    project = command_project(tmp_path / "p", server.url, "America/Los_Angeles")
    applied = run_reconciler(project, "apply", "--auto-approve")
    assert applied.returncode != 0
    output = applied.stdout + applied.stderr
    assert "America/Los_Angeles" in output and "Asia/Tokyo" in output
    assert server.writes("tiktok") == 0
    assert [o["type"] for o in server.objects("tiktok")] == ["advertiser"]


def test_the_sandbox_control_api_documents_reject_codes() -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        shown = await sb.control("POST", "/faults", {"reject": [{"platform": "tiktok", "type": "ad", "code": 40132}]})
        assert shown["reject"] == [{"platform": "tiktok", "type": "ad", "code": 40132}]
        wrong = {"reject": [{"platform": "tiktok", "type": "ad", "code": "x"}]}
        bad = await sb.http.post("/__sandbox__/faults", json=wrong)
        assert bad.status_code == 400 and bad.json()["field"] == "reject"

    kit.in_sandbox(scenario)
