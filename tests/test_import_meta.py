"""reconciler/importer/meta.py: objects made directly through the emulated Graph API become spec
documents that validate, compile, and compile back to exactly the live objects (so a plan after
the import has nothing to do); what the format cannot express is skipped with the id and reason."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from reconciler.importer import meta as importer
from reconciler.importer.model import ASSET_DIR, Account, Mapped, Names
from reconciler.model import resolve_refs
from reconciler.providers.meta import MetaProvider
from reconciler.spec.compile import compile_specs
from reconciler.spec.loader import load_specs
from reconciler.spec.models import MetaTarget
from tests import provider_kit as kit
from tests.conftest import png_bytes
from tests.e2e import Sandbox, run_reconciler
from tests.test_provider_meta import TOKEN, target
from tests.test_sandbox_meta import ACCOUNT, API, Graph

PAGE = "998877"
E2E_TOKEN = "EAAB-e2e-meta-5ecret"
# An MP4 whose track header says 640 x 360 (ftyp, then moov > trak > tkhd).
TKHD = b"\x00" * 76 + (640 << 16).to_bytes(4, "big") + (360 << 16).to_bytes(4, "big")
MOVIE = (
    b"\x00\x00\x00\x18ftypmp42" + bytes(12)
    + (8 + 8 + 8 + len(TKHD)).to_bytes(4, "big") + b"moov"
    + (8 + 8 + len(TKHD)).to_bytes(4, "big") + b"trak"
    + (8 + len(TKHD)).to_bytes(4, "big") + b"tkhd" + TKHD
)  # fmt: skip


class Meta(Graph):
    def provider(self) -> MetaProvider:
        return MetaProvider(target(), TOKEN, transport=self.transport)

    async def video(self, title: str) -> str:
        reply = await self.ok("POST", f"/{ACCOUNT}/advideos", {"name": title}, files={"source": ("v.mp4", MOVIE)})
        return reply["id"]

    async def video_creative(self, video_id: str, name: str, link: str = "https://acme.example/v") -> str:
        story = {
            "video_id": video_id,
            "message": "Watch",
            "call_to_action": {"type": "WATCH_MORE", "value": {"link": link}},
            "image_url": "https://cdn.example/thumbnail.jpg",  # Graph needs a thumbnail (or image_hash)
        }
        body = {"name": name, "object_story_spec": {"page_id": PAGE, "video_data": story}}
        return (await self.ok("POST", f"/{ACCOUNT}/adcreatives", json=body))["id"]

    async def link_creative(self, image_hash: str, name: str, link_data: dict[str, Any]) -> str:
        story = {"page_id": PAGE, "link_data": {"image_hash": image_hash, **link_data}}
        return (await self.ok("POST", f"/{ACCOUNT}/adcreatives", json={"name": name, "object_story_spec": story}))["id"]

    async def image_named(self, seed: int, name: str) -> str:
        reply = await self.ok("POST", f"/{ACCOUNT}/adimages", files={"filename": (name, png_bytes(seed), "image/png")})
        return reply["images"][name]["hash"]


def spec_target() -> MetaTarget:
    config = target()
    return MetaTarget(
        kind="Target",
        name=config.name,
        platform="meta",
        ad_account_id=ACCOUNT,
        page_id=PAGE,
        credentials={"token_env": "META_ACCESS_TOKEN"},
        api_base_url=config.api_base_url,
    )


async def import_account(sb: Meta, p: MetaProvider, names: Names | None = None) -> Mapped:
    listed = {type_: await p.list_all(type_) for type_ in importer.TYPES}
    return await importer.map_objects(Account(spec_target(), listed, {}, names or Names({}), p.download))


def write_project(root: Path, mapped: Mapped) -> None:
    """What the import command writes: the target, the imported documents, their assets."""
    (root / "specs" / "imported").mkdir(parents=True)
    (root / ASSET_DIR).mkdir(parents=True)
    config = target()
    targets = {
        "kind": "Target", "name": config.name, "platform": "meta", "ad_account_id": ACCOUNT, "page_id": PAGE,
        "credentials": {"token_env": "META_ACCESS_TOKEN"}, "api_base_url": config.api_base_url,
    }  # fmt: skip
    (root / "specs" / "targets.yaml").write_text(yaml.safe_dump(targets))
    documents = [unit.document for unit in mapped.units]
    (root / "specs" / "imported" / f"{config.name}.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
    for unit in mapped.units:
        for file, data in unit.assets.items():
            (root / ASSET_DIR / file).write_bytes(data)


async def assert_compiles_to_live(root: Path, mapped: Mapped, p: MetaProvider) -> dict[str, str]:
    """Every compiled resource is a live object (no create), which reads back exactly as compiled."""
    compiled = compile_specs(load_specs(root))
    ids = {address: id_ for unit in mapped.units for address, id_ in unit.ids.items()}
    assert {r.address for r in compiled.resources} == set(ids)
    by_type: dict[str, dict[str, dict[str, Any]]] = {}
    for resource in compiled.resources:
        attributes, missing = resolve_refs(resource.attributes, resource.refs, ids.get)
        assert not missing
        by_type.setdefault(resource.type, {})[ids[resource.address]] = attributes
    for type_, wanted in by_type.items():
        live = await p.read_many(type_, wanted)
        assert live == wanted, type_
    return ids


def test_campaigns_ads_and_creatives_import_and_compile_back_to_the_live_objects(tmp_path: Path) -> None:
    async def scenario(sb: Meta) -> None:
        p = sb.provider()
        # A campaign named as a person would, with two image ads named as reconciler names them.
        spring = await sb.campaign("Spring Sale", status="PAUSED")
        spring_set = await sb.adset(
            spring, "Spring Sale - US", status="PAUSED", daily_budget=5050,
            targeting={"geo_locations": {"countries": ["US", "CA"]}, "age_min": 21, "age_max": 45,
                       "targeting_automation": {"advantage_audience": 1}},
            start_time="2026-03-01T10:00:00+0000", end_time="2026-03-31T23:59:59+0000",
        )  # fmt: skip
        banner = await sb.image_named(1, "banner.png")
        square = await sb.image_named(2, "square.png")
        link = {"link": "https://acme.example/spring", "name": "Spring", "message": "Big sale",
                "call_to_action": {"type": "SHOP_NOW", "value": {"link": "https://acme.example/spring"}}}  # fmt: skip
        c1 = await sb.link_creative(banner, "spring-sale.banner", link)
        c2 = await sb.creative(square, "spring-sale.square", link="https://acme.example/sq")
        await sb.ad(spring_set, c1, "spring-sale.banner", status="PAUSED")
        await sb.ad(spring_set, c2, "spring-sale.square", status="PAUSED")
        # An always-on video campaign whose one ad has a name of its own.
        always = await sb.campaign("evergreen", objective="OUTCOME_AWARENESS")
        always_set = await sb.adset(
            always, "evergreen", optimization_goal="REACH", daily_budget=2000, end_time=0,
            targeting={"geo_locations": {"countries": ["GB"]}, "age_min": 18,
                       "targeting_automation": {"advantage_audience": 0}},
        )  # fmt: skip
        video = await sb.video("clip")
        await sb.ad(always_set, await sb.video_creative(video, "evergreen.clip"), "My video ad")

        mapped = await import_account(sb, p)
        assert mapped.skipped == []
        docs = {unit.key: unit.document for unit in mapped.units}
        assert set(docs) == {
            ("Advertiser", "sandbox-ad-account-1234567890"),
            ("Campaign", "spring-sale"),
            ("Campaign", "evergreen"),
            ("Creative", "banner"),
            ("Creative", "square"),
            ("Creative", "clip"),
        }
        campaign = docs[("Campaign", "spring-sale")]
        assert campaign["budget"] == {"daily": 50.5, "currency": "USD"} and campaign["paused"] is True
        assert campaign["audience"] == {
            "countries": ["US", "CA"],
            "age_min": 21,
            "age_max": 45,
            "advantage_audience": True,
        }
        assert (campaign["start_date"], campaign["end_date"]) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
        assert campaign["creatives"] == ["banner", "square"]
        assert campaign["overrides"] == {
            "meta": {
                "campaign": {"name": "Spring Sale"},
                "adset": {"name": "Spring Sale - US", "start_time": "2026-03-01T10:00:00+0000"},
            }
        }
        evergreen = docs[("Campaign", "evergreen")]
        assert evergreen["objective"] == "awareness" and "end_date" not in evergreen and "paused" not in evergreen
        assert evergreen["overrides"] == {"meta": {"ad": {"name": "My video ad"}}}
        assert docs[("Creative", "banner")] | {} == {
            "kind": "Creative", "name": "banner", "advertiser": "sandbox-ad-account-1234567890",
            "format": "image/png", "size": "1x1", "asset": "../../assets/imported/banner.png",
            "click_url": "https://acme.example/spring", "headline": "Spring", "body": "Big sale",
            "call_to_action": "SHOP_NOW",
        }  # fmt: skip
        clip = docs[("Creative", "clip")]
        assert (clip["format"], clip["size"], clip["call_to_action"]) == ("video/mp4", "640x360", "WATCH_MORE")
        assets = {file: data for unit in mapped.units for file, data in unit.assets.items()}
        assert assets == {"banner.png": png_bytes(1), "square.png": png_bytes(2), "clip.mp4": MOVIE}

        write_project(tmp_path, mapped)
        ids = await assert_compiles_to_live(tmp_path, mapped, p)
        assert ids["meta-us:campaign/spring-sale"] == spring and ids["meta-us:advideo/clip"] == video
        await p.aclose()

    kit.in_sandbox(scenario, Meta)


def test_inexpressible_objects_are_skipped_with_id_and_reason_and_the_rest_imports(tmp_path: Path) -> None:
    async def scenario(sb: Meta) -> None:
        p = sb.provider()
        two = await sb.campaign("two sets")
        await sb.adset(two, "a")
        await sb.adset(two, "b")
        leads = await sb.campaign("leads", objective="OUTCOME_LEADS")
        await sb.adset(leads, "leads")
        wrong_goal = await sb.campaign("wrong goal")
        await sb.adset(wrong_goal, "wrong goal", optimization_goal="REACH")
        regions = await sb.campaign("regions")
        await sb.adset(regions, "regions", targeting={"geo_locations": {"countries": ["US"]}, "age_min": 18,
                                                       "interests": [{"id": "6003"}],
                                                       "targeting_automation": {"advantage_audience": 0}})  # fmt: skip
        good = await sb.campaign("good")
        good_set = await sb.adset(good, "good")
        image = await sb.image(seed=4)
        kept = await sb.ad(good_set, await sb.creative(image, "good.kept"), "good.kept")
        lost_creative = await sb.creative(image, "good.lost")
        lost = await sb.ad(good_set, lost_creative, "good.lost")
        await sb.ok("DELETE", f"/{lost_creative}")
        odd = await sb.ad(good_set, await sb.creative(image, "good.odd"), "Odd one")

        mapped = await import_account(sb, p)
        reasons = {(s.type, s.id): s.reason for s in mapped.skipped}
        assert "2 ad sets" in reasons[("campaign", two)]
        assert "OUTCOME_LEADS" in reasons[("campaign", leads)]
        assert "optimises for REACH, not LINK_CLICKS" in reasons[("campaign", wrong_goal)]
        assert "interests" in reasons[("campaign", regions)]
        assert f"ad creative {lost_creative} is missing" in reasons[("ad", lost)]
        assert ("ad", odd) not in reasons  # its own name is kept by a per-creative override
        assert all(s.target == "meta-us" and s.line().startswith("meta-us: ") for s in mapped.skipped)
        documents = {unit.key: unit.document for unit in mapped.units}
        good_doc = documents[("Campaign", "good")]
        assert good_doc["creatives"][0] == "kept" and len(good_doc["creatives"]) == 2
        odd_creative = good_doc["creatives"][1]
        assert good_doc["overrides"]["meta"]["creatives"] == {odd_creative: {"ad": {"name": "Odd one"}}}
        write_project(tmp_path, mapped)
        ids = await assert_compiles_to_live(tmp_path, mapped, p)
        assert ids["meta-us:ad/good.kept"] == kept
        assert ids[f"meta-us:ad/good.{odd_creative}"] == odd
        await p.aclose()

    kit.in_sandbox(scenario, Meta)


def test_names_collide_oldest_first_and_taken_names_are_avoided(tmp_path: Path) -> None:
    async def scenario(sb: Meta) -> None:
        p = sb.provider()
        first, second = await sb.campaign("Promo"), await sb.campaign("promo")
        for campaign in (first, second):
            adset = await sb.adset(campaign, "promo")
            image = await sb.image(seed=int(campaign) % 200)
            await sb.ad(adset, await sb.creative(image, "x"), "An ad")
        mapped = await import_account(sb, p, Names({"Campaign": ["promo"], "Advertiser": []}))
        ids = {address: id_ for unit in mapped.units for address, id_ in unit.ids.items()}
        assert ids["meta-us:campaign/promo-2"] == first and ids["meta-us:campaign/promo-3"] == second
        write_project(tmp_path, mapped)
        await assert_compiles_to_live(tmp_path, mapped, p)
        # An advertiser name already taken is the earlier import's: referenced, not written again.
        again = await import_account(sb, p, Names({"Advertiser": ["sandbox-ad-account-1234567890"]}))
        assert all(unit.document["kind"] != "Advertiser" for unit in again.units)
        await p.aclose()

    kit.in_sandbox(scenario, Meta)


# --- end to end: `reconciler import` over a real `reconciler sandbox serve` ---


def graph(sandbox: Sandbox, method: str, path: str, **kwargs: Any) -> Any:
    """A call straight to the served Graph API, as Ads Manager would make it."""
    params = {"access_token": E2E_TOKEN, **kwargs.pop("params", {})}
    response = httpx.request(method, f"{sandbox.url}{API}{path}", params=params, timeout=10, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def test_import_command_then_plans_are_empty_and_edits_update_in_place(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("META_ACCESS_TOKEN", E2E_TOKEN)
    campaign = {
        "name": "Spring Sale",
        "objective": "OUTCOME_TRAFFIC",
        "special_ad_categories": [],
        "is_adset_budget_sharing_enabled": False,
    }
    spring = graph(sandbox, "POST", f"/{ACCOUNT}/campaigns", json=campaign)["id"]
    adset = {
        "name": "Spring Sale", "campaign_id": spring, "billing_event": "IMPRESSIONS",
        "optimization_goal": "LINK_CLICKS", "daily_budget": 5050,
        "targeting": {"geo_locations": {"countries": ["US"]}, "age_min": 18,
                      "targeting_automation": {"advantage_audience": 0}},
        "start_time": "2026-06-01T00:00:00+0000", "end_time": 0,
    }  # fmt: skip
    spring_set = graph(sandbox, "POST", f"/{ACCOUNT}/adsets", json=adset)["id"]
    upload = graph(sandbox, "POST", f"/{ACCOUNT}/adimages", files={"filename": ("b.png", png_bytes(3), "image/png")})
    story = {
        "page_id": PAGE,
        "link_data": {"link": "https://acme.example/s", "image_hash": upload["images"]["b.png"]["hash"]},
    }
    creative = graph(
        sandbox, "POST", f"/{ACCOUNT}/adcreatives", json={"name": "Spring creative", "object_story_spec": story}
    )
    graph(sandbox, "POST", f"/{ACCOUNT}/ads", json={"name": "Spring ad", "adset_id": spring_set,
                                                    "creative": {"creative_id": creative["id"]}})  # fmt: skip
    two = graph(sandbox, "POST", f"/{ACCOUNT}/campaigns", json={**campaign, "name": "Two"})["id"]
    for name in ("a", "b"):
        graph(sandbox, "POST", f"/{ACCOUNT}/adsets", json={**adset, "name": name, "campaign_id": two})

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "targets.yaml").write_text(
        f"kind: Target\nname: meta-us\nplatform: meta\nad_account_id: {ACCOUNT}\npage_id: '{PAGE}'\n"
        f"api_base_url: {sandbox.url}{API}\nrate_limit: 1000\ncredentials: {{token_env: META_ACCESS_TOKEN}}\n"
    )

    done = run_reconciler(tmp_path, "import")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"campaign 'Two' (id {two}) not imported: it has 2 ad sets" in done.stdout + done.stderr
    imported = tmp_path / "specs" / "imported" / "meta-us.yaml"
    assert (
        "daily: 50.5" in imported.read_text() and (tmp_path / "assets" / "imported" / "spring-creative.png").is_file()
    )
    for refresh in ((), ("--refresh",)):
        planned = run_reconciler(tmp_path, "plan", "--detailed-exitcode", *refresh)
        assert planned.returncode == 0, planned.stdout + planned.stderr

    imported.write_text(imported.read_text().replace("daily: 50.5", "daily: 60"))
    planned = run_reconciler(tmp_path, "plan", "--detailed-exitcode")
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert "~ daily_budget = 5050 -> 6000" in planned.stdout
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in planned.stdout
    applied = run_reconciler(tmp_path, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    adsets = [o for o in sandbox.objects("meta") if o["type"] == "adset"]
    assert len(adsets) == 3 and next(o for o in adsets if o["id"] == spring_set)["fields"]["daily_budget"] == 6000

    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "state" not in p.parts}
    again = run_reconciler(tmp_path, "import")
    assert again.returncode == 0 and "Nothing to import" in again.stdout + again.stderr, again.stdout + again.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "state" not in p.parts} == before


def test_the_demo_meta_account_imports_with_nothing_left_to_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(__file__).resolve().parent.parent
    demo = tmp_path / "demo"
    shutil.copytree(root / "specs", demo / "specs")
    (demo / "state").mkdir()
    kit.Cli(capsys, demo).apply()
    empty = tmp_path / "empty"
    (empty / "specs").mkdir(parents=True)
    (empty / "state").mkdir()
    meta_targets = [
        d for d in yaml.safe_load_all((root / "specs" / "targets.yaml").read_text()) if d["platform"] == "meta"
    ]
    (empty / "specs" / "targets.yaml").write_text(yaml.safe_dump_all(meta_targets))
    for name in ("default.emulator.json", "default.emulator.json.journal"):  # the emulator's objects
        if (demo / "state" / name).exists():
            shutil.copy(demo / "state" / name, empty / "state" / name)
    cli = kit.Cli(capsys, empty)
    code, out = cli("import", "--sandbox")
    assert code == 0 and "0 skipped" in out, out
    recorded = json.loads((empty / "state" / "default.sandbox.json").read_text())["resources"]
    applied = json.loads((demo / "state" / "default.sandbox.json").read_text())["resources"]
    assert sorted(r["id"] for r in recorded.values()) == sorted(
        r["id"] for r in applied.values() if r["target"] == "meta-us"
    )
    cli.assert_no_changes()
    cli.assert_no_drift()


def test_ads_added_by_hand_under_a_recorded_ad_set_are_skipped() -> None:
    async def scenario(sb: Meta) -> None:
        p = sb.provider()
        campaign = await sb.campaign("managed")
        adset = await sb.adset(campaign, "managed")
        image = await sb.image(seed=8)
        creative = await sb.creative(image, "by hand")
        ad = await sb.ad(adset, creative, "by hand")
        listed = {type_: await p.list_all(type_) for type_ in importer.TYPES}
        recorded = {("campaign", campaign): "managed", ("adset", adset): "managed"}
        fresh = {t: [o for o in rows if (t, o.id) not in recorded] for t, rows in listed.items()}
        mapped = await importer.map_objects(Account(spec_target(), fresh, recorded, Names({}), p.download))
        assert mapped.units == []
        reasons = {(s.type, s.id): s.reason for s in mapped.skipped}
        assert reasons == {
            ("ad", ad): "its adset is managed already (as managed); declare it in that spec",
            ("adcreative", creative): "no imported ad shows it (creatives are imported with the ads that show them)",
            ("adimage", image): "no imported ad shows it (creatives are imported with the ads that show them)",
        }
        await p.aclose()

    kit.in_sandbox(scenario, Meta)
