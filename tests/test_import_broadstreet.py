"""Import from Broadstreet: objects made directly through the emulated API become spec documents
that validate and compile back to exactly the live attributes; what cannot be expressed is Skipped.

The first tests call reconciler.importer.broadstreet.map_objects in-process; the last runs the real
`reconciler import` command against `reconciler sandbox serve` on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from pathlib import Path

import httpx
import yaml

from reconciler.importer import broadstreet as importer
from reconciler.importer.model import ASSET_REF, Account, Mapped, Names
from reconciler.importer.writer import SpecWriter
from reconciler.media import media_format, pixel_size
from reconciler.model import resolve_refs
from reconciler.providers.broadstreet import BroadstreetProvider
from reconciler.spec.compile import compile_specs
from reconciler.spec.loader import load_specs
from reconciler.spec.models import BroadstreetTarget
from tests import provider_kit as kit
from tests.broadstreet_api import NETWORK, TOKEN, BroadstreetApi
from tests.e2e import TOKEN as E2E_TOKEN
from tests.e2e import run_reconciler, sandbox_server

TARGET_YAML = """\
kind: Target
name: bs-main
platform: broadstreet
network_id: 85
credentials: {token_env: BROADSTREET_API_TOKEN}
"""


def png(width: int, height: int) -> bytes:
    """A valid PNG of width x height, one grey row repeated (small whatever the size)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress((b"\x00" + b"\x80" * width) * height)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg(width: int, height: int) -> bytes:
    """The segments of a JPEG up to its frame header: enough for its signature and size."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


GIF = b"GIF89a" + struct.pack("<HH", 160, 600) + b"\x00\x00\x00;"


def spec_target() -> BroadstreetTarget:
    return BroadstreetTarget.model_validate(yaml.safe_load(TARGET_YAML))


class Sandbox(kit.ProviderSandbox):
    platform = "broadstreet"

    def provider(self) -> BroadstreetProvider:
        target = kit.sandbox_target("bs-main", "broadstreet", {"network_id": NETWORK}, {"token_env": "T"})
        return BroadstreetProvider(target, TOKEN, transport=self.transport)


async def account(api: BroadstreetApi) -> dict[str, str]:
    """A network as a team runs it, made through the API; the ids by a short label."""
    ids: dict[str, str] = {}
    ids["acme"] = await api.advertiser("ACME Corp", web_home_url="https://acme.example")
    ids["northwind"] = await api.advertiser("Northwind")  # its one ad is in no campaign: nothing to show it
    ids["lonely"] = await api.advertiser("Lonely Traders")  # nothing at all
    ids["top"] = await api.zone("Homepage leaderboard", alias="home-lb")
    ids["side"] = await api.zone("Sidebar")
    ids["odd-zone"] = await api.zone("Odd", alias="has spaces")
    ids["spring"] = await api.campaign(ids["acme"], "Spring Sale")  # not a spec name: kept via overrides
    ids["summer"] = await api.campaign(ids["acme"], "acme-summer", paused=True, end_date=None)
    ids["undated"] = await api.campaign(ids["acme"], "undated", start_date=None)
    gone = await api.campaign(ids["acme"], "gone")
    await api.ok("DELETE", f"/campaigns/{gone}")
    ids["banner"] = await api.static_ad(ids["acme"], "spring-banner", png(728, 90), "https://acme.example/spring")
    ids["box"] = await api.static_ad(ids["acme"], "summer-box", jpeg(300, 250), "https://acme.example/summer")
    ids["tower"] = await api.static_ad(ids["acme"], "tower", GIF, "https://acme.example/tower")
    ids["tagline"] = await api.text_ad(ids["acme"], "tagline", "Spring sale: 40% off", "https://acme.example/t")
    ids["spare"] = await api.text_ad(ids["acme"], "spare", "Placed nowhere", "https://acme.example/spare")
    ids["rich"] = await api.html_ad(ids["acme"], "rich", "<b>Spring</b>")
    ids["capital"] = await api.text_ad(ids["acme"], "Spring Banner", "Hi", "https://acme.example/x")
    ids["no-link"] = await api.static_ad(ids["acme"], "no-link", png(10, 10), "acme.example")
    ids["nw-ad"] = await api.text_ad(ids["northwind"], "nw-text", "Hello", "https://northwind.example")
    ids["p-banner"] = await api.placement(ids["spring"], ids["banner"], ids["top"], "non_phone")
    ids["p-tagline"] = await api.placement(ids["spring"], ids["tagline"], ids["side"])
    ids["p-box"] = await api.placement(ids["summer"], ids["box"], ids["top"], "phone")
    ids["p-tower"] = await api.placement(ids["summer"], ids["tower"], ids["side"])
    ids["p-rich"] = await api.placement(ids["spring"], ids["rich"], ids["side"])
    ids["p-odd"] = await api.placement(ids["spring"], ids["tagline"], ids["odd-zone"])
    ids["p-watch"] = await api.placement(ids["summer"], ids["box"], ids["side"], "phone")
    return ids


async def mapped_account(sb: Sandbox, p: BroadstreetProvider) -> tuple[dict[str, str], Mapped]:
    ids = await account(BroadstreetApi(sb.http))
    # A device combination a spec cannot hold, echoed as an array (research 1.4): the API takes one
    # string and the emulator refuses anything else, so the old-style row is written to its store.
    sb.app.state.sandbox.store.update("broadstreet", "placement", ids["p-watch"], {"restrictions": ["tablet", "phone"]})
    listed = {type_: await p.list_all(type_) for type_ in importer.TYPES}
    mapped = await importer.map_objects(Account(spec_target(), listed, {}, Names({}), p.download))
    return ids, mapped


def write_project(directory: Path, mapped: Mapped) -> Path:
    (directory / "specs").mkdir(parents=True)
    (directory / "specs" / "targets.yaml").write_text(TARGET_YAML)
    writer = SpecWriter(directory)
    writer.add("bs-main", mapped.units)
    writer.write()
    return directory


def test_objects_made_through_the_api_map_to_documents_that_compile_to_the_live_attributes(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        ids, mapped = await mapped_account(sb, p)
        documents = {(u.document["kind"], u.document["name"]): u.document for u in mapped.units}
        assert documents[("Advertiser", "acme-corp")] == {
            "kind": "Advertiser",
            "name": "acme-corp",
            "display_name": "ACME Corp",
            "web_home_url": "https://acme.example",
        }
        assert documents[("Zone", "homepage-leaderboard")]["alias"] == "home-lb"
        assert "alias" not in documents[("Zone", "sidebar")]
        spring = documents[("Campaign", "spring-sale")]
        assert spring["overrides"] == {"broadstreet": {"name": "Spring Sale"}}
        assert spring["creatives"] == ["spring-banner", "tagline", "spare"]  # the unplaced ad joins the oldest
        assert spring["start_date"].isoformat() == "2026-06-01" and spring["end_date"].isoformat() == "2026-08-31"
        summer = documents[("Campaign", "acme-summer")]
        assert summer["paused"] is True and "end_date" not in summer and "overrides" not in summer
        assert summer["creatives"] == ["summer-box", "tower"]
        banner = documents[("Creative", "spring-banner")]
        assert (banner["format"], banner["size"], banner["click_url"]) == (
            "image/png",
            "728x90",
            "https://acme.example/spring",
        )
        assert banner["asset"] == ASSET_REF + "spring-banner.png"
        assert (documents[("Creative", "summer-box")]["format"], documents[("Creative", "summer-box")]["size"]) == (
            "image/jpeg",
            "300x250",
        )
        assert documents[("Creative", "tower")]["size"] == "160x600"
        assert documents[("Creative", "tagline")]["text"] == "Spring sale: 40% off"
        assert documents[("Placement", "spring-sale.spring-banner.homepage-leaderboard")]["restrictions"] == [
            "non_phone"
        ]
        banner_unit = next(u for u in mapped.units if u.document["name"] == "spring-banner")
        assert banner_unit.assets == {"spring-banner.png": png(728, 90)}  # downloaded without the token
        assert banner_unit.needs == [("Advertiser", "acme-corp")]

        skipped = {s.id: s.reason for s in mapped.skipped}
        assert set(skipped) == {
            ids[k] for k in ("northwind", "lonely", "odd-zone", "undated", "rich", "capital", "no-link", "nw-ad")
        } | {ids["p-rich"], ids["p-odd"], ids["p-watch"]}
        assert "only through its campaigns" in skipped[ids["lonely"]]
        assert "alias" in skipped[ids["odd-zone"]]
        assert "no start date" in skipped[ids["undated"]]
        assert "embed script" in skipped[ids["rich"]]
        assert "not a spec name" in skipped[ids["capital"]] and "'spring-banner-2'" in skipped[ids["capital"]]
        assert "destination" in skipped[ids["no-link"]]
        assert "no campaign to import it with" in skipped[ids["nw-ad"]]
        assert "'phone,tablet'" in skipped[ids["p-watch"]]
        assert all(s.target == "bs-main" for s in mapped.skipped)

        # The documents validate and compile, and compile to what runs: the plan has nothing to do.
        project = await asyncio.to_thread(write_project, tmp_path / "project", mapped)
        compiled = compile_specs(load_specs(project))
        by_address = {r.address: r for r in compiled.resources}
        unit_ids = {address: id_ for u in mapped.units for address, id_ in u.ids.items()}
        assert set(unit_ids) == set(by_address)
        rows = {(o.type, o.id): o.row for u in mapped.units for o in u.objects}
        for address, id_ in unit_ids.items():
            resource = by_address[address]
            expected, missing = resolve_refs(resource.attributes, resource.refs, unit_ids.get)
            assert not missing
            assert p.attributes_of(resource.type, rows[(resource.type, id_)], expected) == expected, address
            assert await p.read(resource.type, id_, expected) == expected, address
        assert (project / "assets" / "imported" / "summer-box.jpg").read_bytes() == jpeg(300, 250)

    Sandbox.run(scenario)


def test_children_of_recorded_objects_are_skipped_and_references_use_recorded_names(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        api = BroadstreetApi(sb.http)
        acme = await api.advertiser("ACME Corp")
        zone = await api.zone("Top")
        managed = await api.campaign(acme, "managed")
        managed_ad = await api.text_ad(acme, "managed-ad", "Hi", "https://acme.example")
        fresh = await api.campaign(acme, "fresh")
        new_ad = await api.text_ad(acme, "new-ad", "New", "https://acme.example/new")
        in_managed = await api.placement(managed, new_ad, zone)
        reused = await api.placement(fresh, managed_ad, zone)
        in_fresh = await api.placement(fresh, new_ad, zone)
        recorded = {
            ("advertiser", acme): "acme",
            ("zone", zone): "top",
            ("campaign", managed): "managed",
            ("advertisement", managed_ad): "managed-ad",
        }
        listed = {
            type_: [o for o in await p.list_all(type_) if (type_, o.id) not in recorded] for type_ in importer.TYPES
        }
        names = Names({"Advertiser": ["acme"]})
        mapped = await importer.map_objects(Account(spec_target(), listed, recorded, names, p.download))
        documents = {(u.document["kind"], u.document["name"]): u for u in mapped.units}
        assert set(documents) == {("Campaign", "fresh"), ("Creative", "new-ad"), ("Placement", "fresh.new-ad.top")}
        assert documents[("Campaign", "fresh")].document["advertiser"] == "acme"  # recorded name
        assert documents[("Campaign", "fresh")].needs == [("Creative", "new-ad")]  # acme exists already
        assert documents[("Placement", "fresh.new-ad.top")].document["zone"] == "top"
        skipped = {s.id: s.reason for s in mapped.skipped}
        assert set(skipped) == {in_managed, reused}
        assert "already in the specs (managed)" in skipped[in_managed]
        assert "already in the specs (managed-ad)" in skipped[reused]
        assert in_fresh in {o.id for u in mapped.units for o in u.objects}

    Sandbox.run(scenario)


def test_an_ad_placed_in_another_advertisers_campaign() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        api = BroadstreetApi(sb.http)
        acme, northwind = await api.advertiser("ACME"), await api.advertiser("Northwind")
        zone = await api.zone("Top")
        acme_campaign = await api.campaign(acme, "acme-spring")
        northwind_campaign = await api.campaign(northwind, "northwind-launch")
        shared = await api.text_ad(northwind, "shared", "Hi", "https://northwind.example")
        stray = await api.text_ad(northwind, "stray", "Hi", "https://northwind.example")
        crossed = await api.placement(acme_campaign, shared, zone)
        own = await api.placement(northwind_campaign, shared, zone)
        stray_placement = await api.placement(acme_campaign, stray, zone)
        listed = {type_: await p.list_all(type_) for type_ in importer.TYPES}
        mapped = await importer.map_objects(Account(spec_target(), listed, {}, Names({}), p.download))
        campaigns = {u.document["name"]: u.document for u in mapped.units if u.document["kind"] == "Campaign"}
        assert campaigns["northwind-launch"]["creatives"] == ["shared"]
        assert campaigns["acme-spring"]["creatives"] == []
        skipped = {s.id: s.reason for s in mapped.skipped}
        assert set(skipped) == {crossed, stray, stray_placement}
        assert "another advertiser" in skipped[crossed]
        assert "own advertiser's creatives" in skipped[stray]
        assert own in {o.id for u in mapped.units for o in u.objects}

    Sandbox.run(scenario)


def test_a_download_that_fails_skips_the_ad_and_what_places_it() -> None:
    async def scenario(sb: Sandbox, p: BroadstreetProvider) -> None:
        api = BroadstreetApi(sb.http)
        acme = await api.advertiser("ACME Corp")
        zone = await api.zone("Top")
        campaign = await api.campaign(acme, "spring")
        ad = await api.static_ad(acme, "banner", png(300, 250), "https://acme.example")
        placement = await api.placement(campaign, ad, zone)
        listed = {type_: await p.list_all(type_) for type_ in importer.TYPES}

        async def broken(url: str) -> bytes:
            return await p.download(url.replace("/creatives/", "/creatives/0"))  # a 404 from the CDN

        mapped = await importer.map_objects(Account(spec_target(), listed, {}, Names({}), broken))
        skipped = {s.id: s.reason for s in mapped.skipped}
        assert set(skipped) == {ad, placement}
        assert "could not be downloaded" in skipped[ad] and "404" in skipped[ad]
        campaign_doc = next(u.document for u in mapped.units if u.document["kind"] == "Campaign")
        assert campaign_doc["creatives"] == []

    Sandbox.run(scenario)


def test_image_headers() -> None:
    assert (media_format(png(728, 90)), pixel_size(png(728, 90), "image/png")) == ("image/png", "728x90")
    assert (media_format(jpeg(1200, 628)), pixel_size(jpeg(1200, 628), "image/jpeg")) == ("image/jpeg", "1200x628")
    assert (media_format(GIF), pixel_size(GIF, "image/gif")) == ("image/gif", "160x600")
    assert pixel_size(b"\xff\xd8\xff\xd9", "image/jpeg") is None  # no frame header
    assert pixel_size(png(0, 90), "image/png") is None
    assert media_format(b"RIFF....WEBP") is None


# --- end to end: the real command against `reconciler sandbox serve` ---


def make_account(url: str) -> dict[str, str]:
    async def make() -> dict[str, str]:
        async with httpx.AsyncClient(base_url=url) as http:
            api = BroadstreetApi(http)
            ids = {"acme": await api.advertiser("ACME Corp", web_home_url="https://acme.example")}
            ids["top"] = await api.zone("Homepage leaderboard", alias="home-lb")
            ids["spring"] = await api.campaign(ids["acme"], "Spring Sale")
            ids["always"] = await api.campaign(ids["acme"], "always-on", end_date=None, paused=True)
            ids["banner"] = await api.static_ad(ids["acme"], "banner", png(728, 90), "https://acme.example/s")
            ids["tagline"] = await api.text_ad(ids["acme"], "tagline", "40% off", "https://acme.example/t")
            ids["rich"] = await api.html_ad(ids["acme"], "rich", "<b>x</b>")
            await api.placement(ids["spring"], ids["banner"], ids["top"], "desktop")
            await api.placement(ids["always"], ids["tagline"], ids["top"])
            return ids

    return asyncio.run(make())


def test_import_command_end_to_end(tmp_path: Path) -> None:
    with sandbox_server() as server:
        ids = make_account(server.url)
        project = tmp_path / "project"
        (project / "specs").mkdir(parents=True)
        (project / "state").mkdir()
        (project / "specs" / "targets.yaml").write_text(
            TARGET_YAML + f"api_base_url: {server.url}/broadstreet/api/1\nrate_limit: 500\n"
        )

        result = run_reconciler(project, "import")
        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout + result.stderr
        assert ids["rich"] in out and "embed script" in out  # listed as not imported, with the reason
        assert E2E_TOKEN not in out
        imported = project / "specs" / "imported" / "bs-main.yaml"
        assert imported.is_file() and (project / "assets" / "imported" / "banner.png").read_bytes() == png(728, 90)

        for args in (("plan", "--detailed-exitcode"), ("plan", "--refresh", "--detailed-exitcode")):
            before = server.control("GET", "stats")["requests"]["broadstreet"].get("GET", 0)
            plan = run_reconciler(project, *args)
            assert plan.returncode == 0, plan.stdout + plan.stderr
            sent = server.control("GET", "stats")["requests"]["broadstreet"].get("GET", 0) - before
            # The refresh lists advertisers, zones, the advertiser's campaigns and ads, and the
            # placements of each of the 2 campaigns: 6 requests for 8 objects, never one per object.
            assert sent == (6 if "--refresh" in args else 0), args

        # An edit to the imported YAML plans an update of that campaign, not a create, and applies as one.
        campaigns_before = len([o for o in server.objects() if o["type"] == "campaign"])
        text = imported.read_text()
        assert "end_date: 2026-08-31" in text
        imported.write_text(text.replace("end_date: 2026-08-31", "end_date: 2026-09-30", 1))
        plan = run_reconciler(project, "plan", "--detailed-exitcode")
        assert plan.returncode == 2, plan.stdout + plan.stderr
        assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in plan.stdout, plan.stdout
        assert "bs-main:campaign/spring-sale" in plan.stdout
        applied = run_reconciler(project, "apply", "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        campaigns = [o for o in server.objects() if o["type"] == "campaign"]
        assert len(campaigns) == campaigns_before
        assert next(o for o in campaigns if o["id"] == ids["spring"])["fields"]["end_date"] == "2026-09-30"
        assert run_reconciler(project, "plan", "--refresh", "--detailed-exitcode").returncode == 0

        # A second import writes nothing.
        before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and "state" not in p.parts}
        again = run_reconciler(project, "import")
        assert again.returncode == 0 and "Nothing to import" in again.stdout + again.stderr, again.stdout
        after = {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and "state" not in p.parts}
        assert after == before
