"""TikTok import: objects made directly through the emulated API become documents that compile back to them."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from reconciler.errors import SpecError
from reconciler.importer import tiktok as importer
from reconciler.importer.model import ASSET_DIR, Account, Mapped, Names
from reconciler.model import resolve_refs
from reconciler.providers.base import Listed
from reconciler.providers.tiktok import TikTokProvider
from reconciler.resource_types import resource_type
from reconciler.spec.compile import compile_specs
from reconciler.spec.loader import load_specs
from reconciler.spec.models import TikTokTarget
from tests import provider_kit as kit
from tests.conftest import png_bytes
from tests.e2e import Sandbox

TOKEN = "tt-import-token"
ADV = "7000000042"
IDENTITY = "acme-identity"
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(64)
TARGET_DOC = {
    "kind": "Target",
    "name": "tiktok-us",
    "platform": "tiktok",
    "advertiser_id": ADV,
    "identity_id": IDENTITY,
    "credentials": {"token_env": "TIKTOK_ACCESS_TOKEN"},
}


def target_config() -> Any:
    return kit.sandbox_target(
        "tiktok-us", "tiktok", {"advertiser_id": ADV, "identity_id": IDENTITY}, {"token_env": "TIKTOK_ACCESS_TOKEN"}
    )


class Api:
    """The emulated TikTok API called directly, as another tool or Ads Manager would."""

    def __init__(self, sb: kit.AsyncSandbox) -> None:  # anything with an `http` client to the sandbox
        self.sb = sb
        self.headers = {"Access-Token": TOKEN}

    async def post(self, path: str, **kwargs: Any) -> Any:
        body = (await self.sb.http.post(f"/tiktok/open_api/v1.3{path}", headers=self.headers, **kwargs)).json()
        assert body["code"] == 0, body
        return body["data"]

    async def upload(self, type_: str, content: bytes, file_name: str) -> str:
        form = {
            "advertiser_id": ADV,
            "upload_type": "UPLOAD_BY_FILE",
            f"{type_}_signature": hashlib.md5(content).hexdigest(),
            "file_name": file_name,
        }
        files = {f"{type_}_file": (file_name, content, "application/octet-stream")}
        data = await self.post(f"/file/{type_}/ad/upload/", data=form, files=files)
        return str((data[0] if isinstance(data, list) else data)[f"{type_}_id"])

    async def campaign(self, name: str, objective: str = "TRAFFIC", status: str = "ENABLE") -> str:
        body = {
            "advertiser_id": ADV,
            "campaign_name": name,
            "objective_type": objective,
            "budget_mode": "BUDGET_MODE_INFINITE",
            "operation_status": status,
        }
        return str((await self.post("/campaign/create/", json=body))["campaign_id"])

    async def adgroup(self, campaign_id: str, name: str, **extra: Any) -> str:
        body = {
            "advertiser_id": ADV,
            "campaign_id": campaign_id,
            "adgroup_name": name,
            "budget_mode": "BUDGET_MODE_DAY",
            "budget": 50,
            "billing_event": "CPC",
            "optimization_goal": "CLICK",
            "pacing": "PACING_MODE_SMOOTH",
            "schedule_type": "SCHEDULE_START_END",
            "schedule_start_time": "2026-06-01 00:00:00",
            "schedule_end_time": "2026-08-31 23:59:59",
            "location_ids": ["6252001", "6251999"],
            "age_groups": ["AGE_18_24", "AGE_25_34"],
            **extra,
        }
        return str((await self.post("/adgroup/create/", json=body))["adgroup_id"])

    async def ad(self, adgroup_id: str, name: str, media: tuple[str, str], **extra: Any) -> str:
        type_, media_id = media
        creative: dict[str, Any] = {
            "ad_name": name,
            "ad_format": "SINGLE_IMAGE" if type_ == "image" else "SINGLE_VIDEO",
            "ad_text": "Spring is here",
            "identity_id": IDENTITY,
            "identity_type": "CUSTOMIZED_USER",
            "call_to_action": "SHOP_NOW",
            "landing_page_url": "https://acme.example/spring",
            **({"image_ids": [media_id]} if type_ == "image" else {"video_id": media_id}),
            **extra,
        }
        body = {"advertiser_id": ADV, "adgroup_id": adgroup_id, "creatives": [creative]}
        return str((await self.post("/ad/create/", json=body))["ad_ids"][0])

    async def status(self, type_: str, id_: str, status: str) -> None:
        await self.post(
            f"/{type_}/status/update/", json={"advertiser_id": ADV, f"{type_}_ids": [id_], "operation_status": status}
        )


async def listed_all(provider: TikTokProvider) -> dict[str, list[Listed]]:
    return {type_: await provider.list_all(type_) for type_ in importer.TYPES}


def write_project(project: Path, mapped: Mapped) -> None:
    (project / "specs" / "imported").mkdir(parents=True)
    (project / "specs" / "targets.yaml").write_text(yaml.safe_dump(TARGET_DOC))
    docs = [unit.document for unit in mapped.units]
    (project / "specs" / "imported" / "tiktok-us.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    for unit in mapped.units:
        for name, content in unit.assets.items():
            path = project / ASSET_DIR / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)


def assert_compiles_back(project: Path, mapped: Mapped, provider: TikTokProvider, listed: dict[str, list[Listed]]):
    """Every compiled resource has its live object, and attributes_of(live row) is exactly what compiles."""
    ids = {address: id_ for unit in mapped.units for address, id_ in unit.ids.items()}
    rows = {(obj.type, obj.id): obj.row for objects in listed.values() for obj in objects}
    compiled = compile_specs(load_specs(project))
    addresses = {r.address for r in compiled.resources}
    assert addresses == set(ids), addresses ^ set(ids)
    for resource in compiled.resources:
        attributes, missing = resolve_refs(resource.attributes, resource.refs, ids.get)
        assert not missing
        if resource.asset is not None:
            assert resource.asset.sha256 == attributes["asset_sha256"]
        live = provider.attributes_of(resource.type, rows[(resource.type, ids[resource.address])], attributes)
        # A label (an upload's file name) may differ: the plan takes that for no change.
        labels = resource_type("tiktok", resource.type).labels
        assert {k: v for k, v in live.items() if k not in labels} == {
            k: v for k, v in attributes.items() if k not in labels
        }, resource.address
    return compiled


def test_import_maps_expressible_objects_and_skips_the_rest(tmp_path: Path) -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        api = Api(sb)
        banner = await api.upload("image", png_bytes(1), "spring-banner")
        teaser = await api.upload("video", MP4, "teaser")
        odd_name = await api.upload("image", png_bytes(2), "Summer Banner.png")
        unused = await api.upload("image", png_bytes(3), "unused")
        third = await api.upload("image", png_bytes(6), "third")
        # A: two ads with platform names: the first one's name becomes the campaign's ad override.
        spring = await api.campaign("Spring Sale")
        spring_group = await api.adgroup(spring, "Spring Sale - US/CA")
        first = await api.ad(spring_group, "Spring ad", ("image", banner))
        same_name = await api.ad(spring_group, "Spring ad", ("video", teaser))
        await api.ad(spring_group, "Other name", ("image", third))
        banner_again = await api.ad(spring_group, "Spring ad", ("image", banner))
        # B: paused, always on, awareness, ages with a gap, a dynamic daily budget.
        always = await api.campaign("always-on", objective="REACH", status="DISABLE")
        always_group = await api.adgroup(
            always,
            "always-on",
            schedule_type="SCHEDULE_FROM_NOW",
            schedule_end_time=None,
            billing_event="CPM",
            optimization_goal="REACH",
            age_groups=["AGE_18_24", "AGE_35_44"],
            budget_mode="BUDGET_MODE_DYNAMIC_DAILY_BUDGET",
            budget=30.5,
            operation_status="DISABLE",
        )
        await api.status("adgroup", always_group, "DISABLE")
        wrong_identity = await api.ad(always_group, "x", ("video", teaser), identity_id="someone-else")
        await api.ad(always_group, "y", ("image", odd_name))
        # C: two ad groups; D: an objective we do not map; E: deleted.
        two = await api.campaign("two groups")
        two_groups = [await api.adgroup(two, "g1"), await api.adgroup(two, "g2")]
        app = await api.campaign("app", objective="APP_PROMOTION")
        app_group = await api.adgroup(app, "app", optimization_goal="INSTALL", billing_event="OCPM")
        app_ad = await api.ad(app_group, "app ad", ("image", unused))
        gone = await api.campaign("gone")
        await api.adgroup(gone, "gone")
        await api.status("campaign", gone, "DELETE")

        provider = TikTokProvider(target_config(), TOKEN, transport=sb.transport)
        try:
            listed = await listed_all(provider)
            assert gone not in {obj.id for obj in listed["campaign"]}
            target = TikTokTarget.model_validate(TARGET_DOC)
            mapped = await importer.map_objects(Account(target, listed, {}, Names({}), provider.download))
            docs = {(u.document["kind"], u.document["name"]): u.document for u in mapped.units}
            skipped = {(s.type, s.id): s.reason for s in mapped.skipped}

            assert set(docs) == {
                ("Advertiser", f"sandbox-advertiser-{ADV}"),
                ("Campaign", "spring-sale"),
                ("Campaign", "always-on"),
                ("Creative", "spring-banner"),
                ("Creative", "teaser"),
                ("Creative", "third"),
                ("Creative", "summer-banner.png"),
            }
            spring_doc = docs[("Campaign", "spring-sale")]
            assert spring_doc["creatives"] == ["spring-banner", "teaser", "third"]
            assert spring_doc["budget"] == {"daily": 50, "currency": "USD"}
            assert spring_doc["audience"] == {"countries": ["US", "CA"], "age_max": 34}
            # Names that differ per ad are kept per creative; the campaign's and ad group's through overrides.
            assert spring_doc["overrides"] == {
                "tiktok": {
                    "adgroup_name": "Spring Sale - US/CA",
                    "campaign": {"campaign_name": "Spring Sale"},
                    "creatives": {
                        "spring-banner": {"ad": {"ad_name": "Spring ad"}},
                        "teaser": {"ad": {"ad_name": "Spring ad"}},
                        "third": {"ad": {"ad_name": "Other name"}},
                    },
                }
            }
            always_doc = docs[("Campaign", "always-on")]
            assert always_doc["paused"] is True and "end_date" not in always_doc
            assert always_doc["objective"] == "awareness" and always_doc["creatives"] == ["summer-banner.png"]
            always_tiktok = always_doc["overrides"]["tiktok"]
            assert always_tiktok["age_groups"] == ["AGE_18_24", "AGE_35_44"]
            assert always_tiktok["budget_mode"] == "BUDGET_MODE_DYNAMIC_DAILY_BUDGET"
            # its only ad: a name of its own, and running although the campaign is paused
            assert always_tiktok["ad"] == {"ad_name": "y", "operation_status": "ENABLE"}
            assert always_doc["budget"] == {"daily": 30.5, "currency": "USD"}
            assert docs[("Creative", "spring-banner")]["click_url"] == "https://acme.example/spring"
            assert docs[("Creative", "teaser")]["size"] == importer.GUESSED_VIDEO_SIZE
            assert docs[("Creative", "summer-banner.png")]["asset"] == "../../assets/imported/summer-banner.png"

            assert "identity" in skipped[("ad", wrong_identity)]
            assert "shows the same image" in skipped[("ad", banner_again)]
            assert "2 ad groups" in skipped[("campaign", two)]
            assert "objective APP_PROMOTION" in skipped[("campaign", app)]
            assert "no imported ad" in skipped[("image", unused)]
            assert set(skipped) == {
                ("ad", wrong_identity),
                ("ad", banner_again),
                ("campaign", two),
                ("adgroup", two_groups[0]),
                ("adgroup", two_groups[1]),
                ("campaign", app),
                ("adgroup", app_group),
                ("image", unused),
                ("ad", app_ad),
            }
            assert skipped[("ad", app_ad)] == f"its adgroup {app_group} is not imported"
            assert ("ad", first) not in skipped and ("ad", same_name) not in skipped

            write_project(tmp_path, mapped)
            banner_file = tmp_path / ASSET_DIR / "spring-banner.png"
            assert banner_file.read_bytes() == png_bytes(1)
            assert_compiles_back(tmp_path, mapped, provider, listed)
        finally:
            await provider.aclose()

    kit.in_sandbox(scenario)


def test_children_of_recorded_objects_are_skipped_and_recorded_uploads_named() -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        api = Api(sb)
        image = await api.upload("image", png_bytes(4), "banner")
        managed = await api.campaign("managed")
        group = await api.adgroup(managed, "managed")
        new_ad = await api.ad(group, "added by hand", ("image", image))
        other = await api.campaign("other")
        other_group = await api.adgroup(other, "other")
        reuses = await api.ad(other_group, "reuses", ("image", image), ad_text="Other words")
        provider = TikTokProvider(target_config(), TOKEN, transport=sb.transport)
        try:
            listed = await listed_all(provider)
            recorded = {("campaign", managed): "managed", ("adgroup", group): "managed", ("image", image): "banner"}
            for type_ in ("campaign", "adgroup", "image"):
                listed[type_] = [o for o in listed[type_] if (type_, o.id) not in recorded]
            target = TikTokTarget.model_validate(TARGET_DOC)
            declared = Names({"Creative": ["banner"], "Campaign": ["managed"]})
            mapped = await importer.map_objects(Account(target, listed, recorded, declared, provider.download))
            skipped = {(s.type, s.id): s.reason for s in mapped.skipped}
            assert "managed already as managed" in skipped[("ad", new_ad)]
            assert ("ad", reuses) not in skipped
            (campaign,) = [u for u in mapped.units if u.document["kind"] == "Campaign"]
            assert campaign.document["creatives"] == ["banner"] and ("Creative", "banner") not in campaign.needs
            # what the ad takes from the declared creative is unknown here: its own values are kept
            assert campaign.document["overrides"]["tiktok"]["ad"] == {
                "ad_name": "reuses",
                "ad_text": "Other words",
                "landing_page_url": "https://acme.example/spring",
                "call_to_action": "SHOP_NOW",
            }
            assert not [u for u in mapped.units if u.document["kind"] == "Creative"]

            # A recorded upload whose creative the specs no longer declare cannot be named.
            mapped = await importer.map_objects(Account(target, listed, recorded, Names({}), provider.download))
            assert "which no Creative in the specs declares" in {s.id: s.reason for s in mapped.skipped}[reuses]
        finally:
            await provider.aclose()

    kit.in_sandbox(scenario)


def test_names_taken_by_the_project_get_suffixes_and_the_advertiser_is_reused(tmp_path: Path) -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        api = Api(sb)
        image = await api.upload("image", png_bytes(5), "banner")
        campaign = await api.campaign("spring")
        group = await api.adgroup(campaign, "spring")
        await api.ad(group, "spring.banner", ("image", image))
        provider = TikTokProvider(target_config(), TOKEN, transport=sb.transport)
        try:
            listed = await listed_all(provider)
            target = TikTokTarget.model_validate(TARGET_DOC)
            names = Names({"Campaign": ["spring"], "Advertiser": [f"sandbox-advertiser-{ADV}"]})
            mapped = await importer.map_objects(Account(target, listed, {}, names, provider.download))
            kinds = [u.document["kind"] for u in mapped.units]
            assert "Advertiser" not in kinds  # declared already: named, not written again
            campaign_doc = next(u.document for u in mapped.units if u.document["kind"] == "Campaign")
            assert campaign_doc["name"] == "spring-2"
            tiktok = campaign_doc["overrides"]["tiktok"]
            assert tiktok["campaign"] == {"campaign_name": "spring"} and tiktok["adgroup_name"] == "spring"
            assert tiktok["ad"] == {"ad_name": "spring.banner"}
        finally:
            await provider.aclose()

    kit.in_sandbox(scenario)


# --- end to end: `reconciler import` over a real `reconciler sandbox serve` ---


def reconciler(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "TIKTOK_ACCESS_TOKEN": TOKEN}
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "-C", str(project), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_import_command_end_to_end(sandbox: Sandbox, tmp_path: Path) -> None:
    api_root = f"{sandbox.url}/tiktok/open_api/v1.3"

    async def make_objects() -> dict[str, str]:
        async with httpx.AsyncClient(base_url=sandbox.url) as http:
            api = Api(types.SimpleNamespace(http=http))  # type: ignore[arg-type]
            banner = await api.upload("image", png_bytes(7), "Spring Banner")
            teaser = await api.upload("video", MP4, "teaser")
            spring = await api.campaign("Spring Sale")
            group = await api.adgroup(spring, "Spring Sale")
            await api.ad(group, "Spring - image", ("image", banner))
            await api.ad(group, "Spring - video", ("video", teaser))
            paused = await api.campaign("Always on", status="DISABLE")
            paused_group = await api.adgroup(
                paused,
                "Always on",
                schedule_type="SCHEDULE_FROM_NOW",
                schedule_end_time=None,
                operation_status="DISABLE",
            )
            await api.ad(paused_group, "Always on", ("image", banner), operation_status="DISABLE")
            two = await api.campaign("Two groups")
            await api.adgroup(two, "a")
            await api.adgroup(two, "b")
            return {"group": group, "two": two}

    made = asyncio.run(make_objects())
    (tmp_path / "specs").mkdir()
    (tmp_path / "state").mkdir()
    (tmp_path / "specs" / "targets.yaml").write_text(yaml.safe_dump({**TARGET_DOC, "api_base_url": api_root}))

    done = reconciler(tmp_path, "import")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert f"(id {made['two']}) not imported: it has 2 ad groups" in out
    imported = tmp_path / "specs" / "imported" / "tiktok-us.yaml"
    docs = {(d["kind"], d["name"]): d for d in yaml.safe_load_all(imported.read_text())}
    assert {("Campaign", "spring-sale"), ("Campaign", "always-on"), ("Creative", "spring-banner")} <= set(docs)
    assert docs[("Campaign", "always-on")]["paused"] is True
    assert (tmp_path / "assets" / "imported" / "spring-banner.png").read_bytes() == png_bytes(7)
    for args in (("plan", "--detailed-exitcode"), ("plan", "--refresh", "--detailed-exitcode")):
        plan = reconciler(tmp_path, *args)
        assert plan.returncode == 0, plan.stdout + plan.stderr

    # A budget edit in the imported YAML updates the live ad group; nothing is made twice.
    text = imported.read_text()
    assert "daily: 50\n" in text
    imported.write_text(text.replace("daily: 50\n", "daily: 65\n", 1))
    plan = reconciler(tmp_path, "plan", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    applied = reconciler(tmp_path, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    groups = [o for o in sandbox.objects("tiktok") if o["type"] == "adgroup"]
    assert len(groups) == 4
    assert next(o for o in groups if o["id"] == made["group"])["fields"]["budget"] == 65.0
    assert {o["type"] for o in sandbox.objects("tiktok")} >= {"campaign", "adgroup", "ad", "image", "video"}
    assert reconciler(tmp_path, "plan", "--refresh", "--detailed-exitcode").returncode == 0

    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "state" not in p.parts}
    again = reconciler(tmp_path, "import")
    assert again.returncode == 0 and "Nothing to import" in again.stdout + again.stderr, again.stdout
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "state" not in p.parts}
    assert after == before

    # A campaign added since, showing an image imported before: only the campaign is written.
    async def add_campaign() -> None:
        async with httpx.AsyncClient(base_url=sandbox.url) as http:
            api = Api(types.SimpleNamespace(http=http))  # type: ignore[arg-type]
            images = [o["id"] for o in sandbox.objects("tiktok") if o["type"] == "image"]
            autumn = await api.campaign("Autumn")
            await api.ad(await api.adgroup(autumn, "Autumn"), "Autumn ad", ("image", images[0]), ad_text="Fall")

    asyncio.run(add_campaign())
    third = reconciler(tmp_path, "import")
    assert third.returncode == 0, third.stdout + third.stderr
    added = list(yaml.safe_load_all(imported.read_text()))[len(docs) :]
    assert [(d["kind"], d["name"], d["creatives"]) for d in added] == [("Campaign", "autumn", ["spring-banner"])]
    assert reconciler(tmp_path, "plan", "--refresh", "--detailed-exitcode").returncode == 0


ROOT = Path(__file__).resolve().parent.parent
SUMMER = """\
kind: Target
name: tiktok-us
platform: tiktok
advertiser_id: "7012345678901234567"
identity_id: "6987654321098765432"
credentials: {token_env: TIKTOK_ACCESS_TOKEN}
---
kind: Advertiser
name: acme
display_name: ACME Corp
---
kind: Creative
name: summer-728x90
advertiser: acme
format: image/png
size: 728x90
asset: assets/summer-728x90.png
click_url: https://acme.example/summer?utm_source=web
headline: Summer sale
body: Everything outdoors, up to 40% off until August 31.
call_to_action: SHOP_NOW
---
kind: Creative
name: summer-300x250
advertiser: acme
format: image/jpeg
size: 300x250
asset: assets/summer-300x250.jpg
click_url: https://acme.example/summer?utm_source=web
headline: Tents, grills and kayaks
---
kind: Creative
name: summer-vertical
advertiser: acme
format: video/mp4
size: 1080x1920
asset: assets/summer-vertical.mp4
click_url: https://acme.example/summer?utm_source=social
body: Gear up for summer, up to 40% off.
call_to_action: SHOP_NOW
---
kind: Campaign
name: acme-summer
advertiser: acme
start_date: 2026-06-01
end_date: 2026-08-31
targets: [tiktok-us]
creatives: [summer-728x90, summer-300x250, summer-vertical]
budget: {daily: 50.00, currency: USD}
objective: traffic
audience: {countries: [US], age_min: 18, age_max: 54}
---
kind: Campaign
name: acme-evergreen
advertiser: acme
start_date: 2026-06-01
targets: [tiktok-us]
creatives: [summer-vertical]
budget: {daily: 20.50, currency: USD}
objective: engagement
audience: {countries: [GB, DE], age_min: 25}
paused: true
"""


def test_what_reconciler_made_imports_back_under_its_own_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state lost, the account imported: the same names, no overrides, nothing to plan."""
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", TOKEN)
    made = tmp_path / "made"
    kit.write_specs(made, SUMMER, {})
    shutil.copytree(ROOT / "specs" / "assets", made / "specs" / "assets", dirs_exist_ok=True)
    (made / "state").mkdir()
    kit.Cli(capsys, made).apply()

    empty = tmp_path / "empty"
    (empty / "specs").mkdir(parents=True)
    (empty / "state").mkdir()
    (empty / "specs" / "targets.yaml").write_text(SUMMER.split("---\n")[0])
    for data in (made / "state").glob("default.emulator.json*"):  # the data file and its journal
        shutil.copy(data, empty / "state" / data.name)
    cli = kit.Cli(capsys, empty)
    code, out = cli("import", "--sandbox")
    assert code == 0 and "Skipped" not in out, out
    docs = {
        (d["kind"], d["name"]): d for d in yaml.safe_load_all((empty / "specs/imported/tiktok-us.yaml").read_text())
    }
    summer, evergreen = docs[("Campaign", "acme-summer")], docs[("Campaign", "acme-evergreen")]
    assert sorted(summer["creatives"]) == ["summer-300x250", "summer-728x90", "summer-vertical"]  # ad id order
    assert "overrides" not in summer and "overrides" not in evergreen
    assert summer["audience"] == {"countries": ["US"], "age_max": 54}
    assert evergreen["audience"] == {"countries": ["GB", "DE"], "age_min": 25}
    assert evergreen["paused"] is True and "end_date" not in evergreen
    assert evergreen["budget"] == {"daily": 20.5, "currency": "USD"} and evergreen["objective"] == "engagement"
    assert docs[("Creative", "summer-728x90")]["size"] == "728x90"
    assert docs[("Creative", "summer-300x250")]["size"] == "300x250"
    assert docs[("Creative", "summer-300x250")]["body"] == "Tents, grills and kayaks"  # ad_text from headline
    cli.assert_no_changes()
    cli.assert_no_drift()
    code, out = cli("import", "--sandbox")
    assert code == 0 and "Nothing to import" in out, out


def test_compile_refuses_creative_overrides_for_creatives_the_campaign_does_not_show(tmp_path: Path) -> None:
    campaign = SUMMER.split("---\n")[5].replace(
        "objective: traffic", "objective: traffic\noverrides: {tiktok: {creatives: {other: {ad: {ad_name: x}}}}}"
    )
    kit.write_specs(tmp_path, "---\n".join([*SUMMER.split("---\n")[:5], campaign]), {})
    shutil.copytree(ROOT / "specs" / "assets", tmp_path / "specs" / "assets", dirs_exist_ok=True)
    with pytest.raises(SpecError, match=r"overrides\.tiktok\.creatives"):
        compile_specs(load_specs(tmp_path))
