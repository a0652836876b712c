"""Snapchat import: objects made directly through the emulated API (not through reconciler) are
mapped to spec documents that validate and compile back to exactly the live attributes; what the
spec format cannot express is Skipped with the object's id and the reason. Then the same through
the real `reconciler import` command against a real sandbox server."""

from __future__ import annotations

import asyncio
import json
import shutil
import struct
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.importer import snapchat as importer
from reconciler.importer.model import CONVERSIONS_NOT_IMPORTED, Account, Mapped, Names
from reconciler.importer.writer import SpecWriter
from reconciler.model import resolve_refs
from reconciler.providers.base import Listed
from reconciler.providers.snapchat import SnapchatProvider
from reconciler.resource_types import resource_type
from reconciler.spec.compile import compile_specs
from reconciler.spec.loader import load_specs
from tests.conftest import png_bytes
from tests.e2e import Sandbox as ServerSandbox
from tests.e2e import run_reconciler, sandbox_server
from tests.provider_kit import Cli
from tests.test_provider_snapchat import ACCOUNT, Sandbox, run

ROOT = Path(__file__).resolve().parent.parent
TOKEN_PATH = "/snapchat/login/oauth2/access_token"
TARGET = """\
kind: Target
name: snap-us
platform: snapchat
ad_account_id: {account}
credentials: {{refresh_token_env: SNAP_REFRESH, client_id_env: SNAP_ID, client_secret_env: SNAP_SECRET}}
"""


def jpeg_bytes(width: int, height: int) -> bytes:
    """The start of a baseline JPEG: SOI, a JFIF APP0 segment, then the frame header naming its size."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def mp4_bytes() -> bytes:
    """An `ftyp` box and nothing else: an MP4 whose header does not tell its size."""
    return struct.pack(">I", 24) + b"ftypmp42" + b"\x00\x00\x00\x00mp42isom"


class Api:
    """The emulated Snapchat API called directly, as another tool would: its own token, raw envelopes."""

    def __init__(self, http: httpx.AsyncClient, prefix: str = "/snapchat/v1") -> None:
        self.http = http
        self.prefix = prefix
        self.headers: dict[str, str] = {}

    async def login(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "client_id": "tool",
            "client_secret": "tool-s3cret",
            "refresh_token": "rt",
        }
        response = await self.http.post(TOKEN_PATH, data=form)
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def make(self, parent: str, plural: str, **fields: Any) -> str:
        response = await self.http.post(
            f"{self.prefix}/{parent}/{plural}", json={plural: [fields]}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        [item] = response.json()[plural]
        return str(next(v for k, v in item.items() if k != "sub_request_status")["id"])

    async def campaign(self, name: str, objective: str, **fields: Any) -> str:
        defaults = {"status": "ACTIVE", "start_time": "2026-06-01T00:00:00.000Z"}
        return await self.make(
            f"adaccounts/{ACCOUNT}", "campaigns", ad_account_id=ACCOUNT, name=name, objective=objective,
            **{**defaults, **fields},
        )  # fmt: skip

    async def squad(self, campaign: str, name: str, goal: str, **fields: Any) -> str:
        defaults = {
            "type": "SNAP_ADS", "status": "ACTIVE", "billing_event": "IMPRESSION", "bid_strategy": "AUTO_BID",
            "placement_v2": {"config": "AUTOMATIC"}, "start_time": "2026-06-01T00:00:00.000Z",
            "targeting": {"geos": [{"country_code": "us"}], "demographics": [{"min_age": 18}]},
        }  # fmt: skip
        return await self.make(
            f"campaigns/{campaign}", "adsquads", campaign_id=campaign, name=name, optimization_goal=goal,
            **{**defaults, **fields},
        )  # fmt: skip

    async def media(self, name: str, data: bytes, file_name: str, content_type: str, type_: str = "IMAGE") -> str:
        media_id = await self.make(f"adaccounts/{ACCOUNT}", "media", ad_account_id=ACCOUNT, name=name, type=type_)
        files = {"file": (file_name, data, content_type)}
        response = await self.http.post(f"{self.prefix}/media/{media_id}/upload", files=files, headers=self.headers)
        assert response.status_code == 200, response.text
        return media_id

    async def creative(self, media: str, name: str, **fields: Any) -> str:
        defaults = {
            "type": "WEB_VIEW", "brand_name": "ACME Corp", "headline": "Spring sale", "call_to_action": "SHOP_NOW",
            "web_view_properties": {"url": "https://acme.example/spring"},
        }  # fmt: skip
        return await self.make(
            f"adaccounts/{ACCOUNT}", "creatives", ad_account_id=ACCOUNT, name=name, top_snap_media_id=media,
            **{**defaults, **fields},
        )  # fmt: skip

    async def ad(self, squad: str, creative: str, name: str, **fields: Any) -> str:
        return await self.make(
            f"adsquads/{squad}", "ads", ad_squad_id=squad, creative_id=creative, name=name,
            **{"type": "REMOTE_WEBPAGE", "status": "ACTIVE", **fields},
        )  # fmt: skip

    async def delete(self, plural: str, id_: str) -> None:
        response = await self.http.delete(f"{self.prefix}/{plural}/{id_}", headers=self.headers)
        assert response.status_code == 200, response.text


async def make_account(api: Api) -> dict[str, str]:
    """A mix of what the spec format can and cannot express; name -> id."""
    await api.login()
    ids: dict[str, str] = {}
    # Traffic (WEB_CONVERSION + SWIPES), with a bid and names reconciler would not choose.
    ids["spring"] = await api.campaign("Spring Sale", "WEB_CONVERSION", end_time="2026-06-30T23:59:59.000Z")
    ids["spring.squad"] = await api.squad(
        ids["spring"], "Spring squad", "SWIPES", daily_budget_micro=25_500_000,
        bid_strategy="LOWEST_COST_WITH_MAX_BID", bid_micro=2_000_000,
        end_time="2026-06-30T23:59:59.000Z",
        targeting={"geos": [{"country_code": "us"}, {"country_code": "gb"}],
                   "demographics": [{"min_age": 21, "max_age": 45}]},
    )  # fmt: skip
    ids["banner"] = await api.media("spring-banner", png_bytes(3), "banner.png", "image/png")
    ids["story"] = await api.media("spring-story", mp4_bytes(), "story.mp4", "video/mp4", "VIDEO")
    ids["odd"] = await api.media("spring-odd", png_bytes(4), "odd.png", "image/png")
    ids["banner.creative"] = await api.creative(ids["banner"], "Spring creative")
    ids["story.creative"] = await api.creative(ids["story"], "Spring creative", headline="Watch")
    ids["odd.creative"] = await api.creative(ids["odd"], "Spring creative")
    ids["spring.ad1"] = await api.ad(ids["spring.squad"], ids["banner.creative"], "Spring ad")
    ids["spring.ad2"] = await api.ad(ids["spring.squad"], ids["story.creative"], "Spring ad")
    ids["spring.ad3"] = await api.ad(ids["spring.squad"], ids["odd.creative"], "Another name")  # names differ
    # Awareness (BRAND_AWARENESS + IMPRESSIONS), paused, lifetime budget, another brand name.
    ids["q3"] = await api.campaign(
        "Q3 awareness", "BRAND_AWARENESS", status="PAUSED", end_time="2026-09-30T23:59:59.000Z"
    )
    ids["q3.squad"] = await api.squad(
        ids["q3"], "Q3 awareness", "IMPRESSIONS", status="PAUSED", lifetime_budget_micro=1_000_000_000,
        end_time="2026-09-30T23:59:59.000Z",
    )  # fmt: skip
    # Conversions (WEB_CONVERSION + PIXEL_PURCHASE): listed, not written, until pixels and events import.
    ids["checkout"] = await api.campaign("Checkout", "WEB_CONVERSION")
    ids["checkout.squad"] = await api.squad(
        ids["checkout"], "Checkout", "PIXEL_PURCHASE", daily_budget_micro=9_000_000, pixel_id="snap-pixel-1"
    )
    ids["q3-photo"] = await api.media("q3-photo", jpeg_bytes(640, 480), "photo.jpg", "image/jpeg")
    ids["q3.creative"] = await api.creative(
        ids["q3-photo"], "Q3 creative", brand_name="Other Brand", call_to_action="BOOK_NOW"
    )
    ids["q3.ad"] = await api.ad(ids["q3.squad"], ids["q3.creative"], "Q3 ad", status="PAUSED")
    # Awareness, no ads, the same name as the first: a numbered spec name.
    ids["again"] = await api.campaign("Spring Sale", "BRAND_AWARENESS", start_time="2026-07-01T10:30:00.000Z")
    ids["again.squad"] = await api.squad(
        ids["again"], "Spring Sale", "IMPRESSIONS", daily_budget_micro=5_000_000, start_time="2026-07-01T10:30:00.000Z"
    )
    # Inexpressible.
    ids["two"] = await api.campaign("Two squads", "ENGAGEMENT")
    ids["two.a"] = await api.squad(ids["two"], "a", "SWIPES", daily_budget_micro=10_000_000)
    ids["two.b"] = await api.squad(ids["two"], "b", "SWIPES", daily_budget_micro=10_000_000)
    ids["places"] = await api.campaign("Places", "PROMOTE_PLACES")
    ids["places.squad"] = await api.squad(ids["places"], "Places", "SWIPES", daily_budget_micro=10_000_000)
    ids["eng"] = await api.campaign("Engage", "ENGAGEMENT")
    ids["eng.squad"] = await api.squad(ids["eng"], "Engage", "SWIPES", daily_budget_micro=10_000_000)
    ids["bad-media"] = await api.media("Bad Name.png", png_bytes(5), "bad.png", "image/png")
    ids["bad.creative"] = await api.creative(ids["bad-media"], "Engage creative")
    ids["eng.bad-ad"] = await api.ad(ids["eng.squad"], ids["bad.creative"], "Engage ad")  # imported: a label
    ids["lens"] = await api.media("lens", b"PK\x03\x04lens", "lens.zip", "application/zip", "LENS_PACKAGE")
    ids["lens.creative"] = await api.creative(ids["lens"], "Engage creative")
    ids["eng.lens-ad"] = await api.ad(ids["eng.squad"], ids["lens.creative"], "Engage ad")
    ids["snap.creative"] = await api.creative(
        ids["banner"], "Snap creative", type="SNAP_AD", web_view_properties=None
    )  # fmt: skip
    ids["eng.snap-ad"] = await api.ad(ids["eng.squad"], ids["snap.creative"], "Snap ad", type="SNAP_AD")
    ids["gone"] = await api.campaign("Deleted one", "ENGAGEMENT")
    await api.delete("campaigns", ids["gone"])
    return ids


async def listing(p: SnapchatProvider) -> dict[str, list[Listed]]:
    return {type_: await p.list_all(type_) for type_ in importer.TYPES}


def write_and_compile(project: Path, mapped: Mapped) -> Any:
    (project / "specs").mkdir(parents=True, exist_ok=True)
    (project / "specs" / "targets.yaml").write_text(TARGET.format(account=ACCOUNT))
    writer = SpecWriter(project)
    writer.add("snap-us", mapped.units)
    writer.write()
    return compile_specs(load_specs(project, {}))


def assert_compiles_to_live(
    compiled: Any, mapped: Mapped, listed: dict[str, list[Listed]], p: SnapchatProvider
) -> None:
    """Every imported address compiles to attributes that the live object reads back as, exactly."""
    by_address = {r.address: r for r in compiled.resources}
    rows = {(o.type, o.id): o.row for objects in listed.values() for o in objects}
    ids = {address: id_ for unit in mapped.units for address, id_ in unit.ids.items()}
    assert set(ids) == set(by_address)  # nothing compiles that was not imported, nothing imported is lost
    for address, id_ in ids.items():
        resource = by_address[address]
        expected, missing = resolve_refs(resource.attributes, resource.refs, ids.get)
        assert not missing
        live = p.attributes_of(resource.type, rows[resource.type, id_], expected)
        labels = resource_type("snapchat", resource.type).labels  # a difference in a label alone is no change
        assert {k: v for k, v in live.items() if k not in labels} == {
            k: v for k, v in expected.items() if k not in labels
        }, address


def test_objects_made_through_the_api_map_to_documents_that_compile_back(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        ids = await make_account(Api(sb.http))
        listed = await listing(p)
        mapped = await importer.map_objects(
            Account(load_target(tmp_path), listed, {}, Names({"Campaign": ["taken"]}), p.download)
        )
        compiled = write_and_compile(tmp_path, mapped)
        assert_compiles_to_live(compiled, mapped, listed, p)

        docs = {(u.document["kind"], u.document["name"]): u.document for u in mapped.units}
        assert set(docs) == {
            ("Advertiser", "acme-corp"), ("Creative", "spring-banner"), ("Creative", "spring-story"),
            ("Creative", "q3-photo"), ("Campaign", "spring-sale"), ("Campaign", "q3-awareness"),
            ("Campaign", "spring-sale-2"), ("Campaign", "engage"), ("Creative", "bad-name"),
            ("Creative", "spring-odd"),
        }  # fmt: skip
        assert docs["Advertiser", "acme-corp"]["display_name"] == "ACME Corp"
        spring = docs["Campaign", "spring-sale"]
        assert spring["objective"] == "traffic" and spring["budget"] == {"daily": 25.5, "currency": "USD"}
        assert spring["audience"] == {"countries": ["US", "GB"], "age_min": 21, "age_max": 45}
        assert str(spring["start_date"]) == "2026-06-01" and str(spring["end_date"]) == "2026-06-30"
        assert spring["creatives"] == ["spring-banner", "spring-story", "spring-odd"]  # oldest first
        assert "paused" not in spring
        assert spring["overrides"] == {
            "snapchat": {
                "campaign": {"name": "Spring Sale"},
                "adsquad": {"name": "Spring squad", "bid_micro": 2_000_000},
                "creative": {"name": "Spring creative"},
                "ad": {"name": "Spring ad"},
                "creatives": {"spring-odd": {"ad": {"name": "Another name"}}},
            }
        }
        q3 = docs["Campaign", "q3-awareness"]
        assert q3["objective"] == "awareness" and q3["paused"] is True
        assert q3["budget"] == {"lifetime": 1000, "currency": "USD"}
        assert q3["overrides"]["snapchat"]["creative"] == {"name": "Q3 creative", "brand_name": "Other Brand"}
        again = docs["Campaign", "spring-sale-2"]
        assert again["objective"] == "awareness" and again["creatives"] == []
        assert again["overrides"]["snapchat"]["campaign"]["start_time"] == "2026-07-01T10:30:00.000Z"
        assert docs["Creative", "spring-story"]["headline"] == "Watch"
        assert (
            docs["Creative", "q3-photo"]["size"] == "640x480" and docs["Creative", "q3-photo"]["format"] == "image/jpeg"
        )
        assert docs["Creative", "spring-banner"]["size"] == "1x1"  # from the PNG's header
        assert docs["Creative", "spring-story"]["size"] == importer.GUESSED_VIDEO_SIZE
        [story] = [u for u in mapped.units if u.document["name"] == "spring-story"]
        assert "a guess" in story.comment and story.assets == {"spring-story.mp4": mp4_bytes()}
        assert (tmp_path / "assets" / "imported" / "spring-banner.png").read_bytes() == png_bytes(3)

        skipped = {s.id: s for s in mapped.skipped}
        reasons = {name: skipped.pop(ids[name]).reason for name in (
            "two", "two.a", "two.b", "places", "places.squad", "eng.lens-ad", "eng.snap-ad",
            "lens", "lens.creative", "snap.creative", "checkout", "checkout.squad",
        )}  # fmt: skip
        assert reasons["checkout"] == CONVERSIONS_NOT_IMPORTED
        assert skipped == {}  # nothing else, and the deleted campaign is not even listed
        # An ad named unlike the campaign's others keeps its name through a per-creative override (above).
        assert "has 2 ad squads" in reasons["two"] and reasons["two.a"] == "its campaign is not imported"
        assert "objective PROMOTE_PLACES with optimization goal SWIPES" in reasons["places"]
        assert f"its media {ids['lens']} is a LENS_PACKAGE" in reasons["eng.lens-ad"]
        assert "is a SNAP_AD creative" in reasons["eng.snap-ad"]
        assert reasons["lens"].startswith("it is a LENS_PACKAGE")
        assert reasons["snap.creative"] == "the ads that show it are not imported"
        # The media named 'Bad Name.png' keeps its name (a label); its Creative is named from it.
        assert docs["Campaign", "engage"]["creatives"] == ["bad-name"]
        assert docs["Campaign", "engage"]["objective"] == "engagement"
        [bad] = [u for u in mapped.units if u.document["name"] == "bad-name"]
        assert "named 'Bad Name.png' on Snapchat" in bad.comment and set(bad.assets) == {"bad-name.png"}
        assert all(s.target == "snap-us" for s in mapped.skipped)

    run(scenario)


def test_children_of_recorded_objects_and_missing_creatives_are_skipped_and_mixed_brands_kept(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        api = Api(sb.http)
        await api.login()
        # A campaign the state records already, which gained a squad and an ad out of band.
        managed = await api.campaign("Managed", "ENGAGEMENT")
        managed_squad = await api.squad(managed, "Managed", "SWIPES", daily_budget_micro=10_000_000)
        # A campaign whose ads show creatives of two brands, and one whose creative the listing lacks.
        mixed = await api.campaign("Mixed", "ENGAGEMENT")
        interests = {"geos": [{"country_code": "fr"}], "demographics": [{"min_age": 25}], "interests": [{"id": "1"}]}
        mixed_squad = await api.squad(mixed, "Mixed", "SWIPES", daily_budget_micro=10_000_000, targeting=interests)
        media = [await api.media(f"m{i}", png_bytes(10 + i), f"m{i}.png", "image/png") for i in range(4)]
        first = await api.creative(media[0], "c", brand_name="Brand A")
        second = await api.creative(media[1], "c", brand_name="Brand A")
        third = await api.creative(media[2], "c", brand_name="Brand B")
        lost = await api.creative(media[3], "c", brand_name="Brand A")
        ads = [await api.ad(mixed_squad, c, "ad") for c in (first, second, third, lost)]
        recorded_ad = await api.ad(managed_squad, first, "out of band")

        listed = await listing(p)
        listed["campaign"] = [c for c in listed["campaign"] if c.id != managed]  # recorded: not listed
        listed["creative"] = [c for c in listed["creative"] if c.id != lost]  # as if it had gone
        recorded = {("campaign", managed): "managed"}
        mapped = await importer.map_objects(Account(load_target(tmp_path), listed, recorded, Names({}), p.download))
        compiled = write_and_compile(tmp_path, mapped)
        assert_compiles_to_live(compiled, mapped, listed, p)

        reasons = {s.id: s.reason for s in mapped.skipped}
        assert reasons[managed_squad].startswith(f"its campaign {managed} is managed already (resource managed)")
        assert reasons[recorded_ad] == "its ad squad is not imported"
        assert reasons[ads[3]] == f"its creative {lost} is missing (not among the account's live objects)"
        assert ads[2] not in reasons  # its own brand name, kept per creative
        [campaign] = [u.document for u in mapped.units if u.document["kind"] == "Campaign"]
        assert campaign["creatives"] == ["m0", "m1", "m2"]
        assert campaign["overrides"]["snapchat"]["creatives"] == {"m2": {"creative": {"brand_name": "Brand B"}}}
        # The interests the audience cannot say are kept exactly, in the squad's overrides.
        assert campaign["audience"] == {"countries": ["FR"], "age_min": 25}
        assert campaign["overrides"]["snapchat"]["adsquad"]["targeting"] == interests
        [advertiser] = [u.document for u in mapped.units if u.document["kind"] == "Advertiser"]
        assert (
            advertiser["display_name"] == "Brand A"
            and "brand_name" not in campaign["overrides"]["snapchat"]["creative"]
        )

    run(scenario)


def load_target(project: Path) -> Any:
    (project / "specs").mkdir(parents=True, exist_ok=True)
    (project / "specs" / "targets.yaml").write_text(TARGET.format(account=ACCOUNT))
    return load_specs(project, {}).targets["snap-us"]


# --- end to end: `reconciler import` against a real sandbox server ---

E2E_TARGET = """\
kind: Target
name: snap-us
platform: snapchat
ad_account_id: {account}
api_base_url: {url}/snapchat/v1
auth_url: {url}/snapchat/login/oauth2/access_token
credentials: {{refresh_token_env: SNAP_REFRESH, client_id_env: SNAP_ID, client_secret_env: SNAP_SECRET}}
"""


@pytest.fixture(scope="module")
def server() -> Iterator[ServerSandbox]:
    with sandbox_server() as started:
        yield started


def test_import_then_plan_has_nothing_to_do_and_a_budget_edit_updates_in_place(
    tmp_path: Path, server: ServerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.control("POST", "reset")
    for name, value in (
        ("SNAP_REFRESH", "snap-refresh-e2e-0001"),
        ("SNAP_ID", "app"),
        ("SNAP_SECRET", "snap-secret-e2e"),
    ):
        monkeypatch.setenv(name, value)

    async def populate() -> dict[str, str]:
        async with httpx.AsyncClient(base_url=server.url) as http:
            return await make_account(Api(http))

    ids = asyncio.run(populate())
    project = tmp_path / "project"
    (project / "specs").mkdir(parents=True)
    (project / "state").mkdir()
    (project / "specs" / "targets.yaml").write_text(E2E_TARGET.format(account=ACCOUNT, url=server.url))

    gets_before = server.control("GET", "stats")["requests"]["snapchat"].get("GET", 0)
    result = run_reconciler(project, "import")
    assert result.returncode == 0, result.stderr
    # One page of each of the 5 types, the ad account (its currency) and one download per media shown by
    # an ad whose creative is expressible.
    gets = server.control("GET", "stats")["requests"]["snapchat"].get("GET", 0) - gets_before
    assert gets == 5 + 1 + 5, gets
    assert "Traceback" not in result.stderr and "snap-secret-e2e" not in result.stdout + result.stderr
    assert f"(id {ids['spring.ad3']})" not in result.stdout  # imported, its own name kept
    assert f"campaign 'Places' (id {ids['places']}) not imported: objective PROMOTE_PLACES" in result.stdout
    assert "Warning" not in result.stdout, result.stdout  # nothing imported would be changed by the next plan
    spec_file = project / "specs" / "imported" / "snap-us.yaml"
    written = spec_file.read_text()
    assert "name: spring-sale\n" in written and (project / "assets" / "imported" / "spring-banner.png").exists()

    for args in (("plan", "--detailed-exitcode"), ("plan", "--refresh", "--detailed-exitcode")):
        gets_before = server.control("GET", "stats")["requests"]["snapchat"].get("GET", 0)
        planned = run_reconciler(project, *args)
        assert planned.returncode == 0, planned.stdout + planned.stderr
        gets = server.control("GET", "stats")["requests"]["snapchat"].get("GET", 0) - gets_before
        assert gets == (5 if "--refresh" in args else 0), (args, gets)  # a refresh reads a page per type

    before = Counter(o["type"] for o in server.objects("snapchat"))
    spec_file.write_text(written.replace("daily: 25.5\n", "daily: 30\n", 1))
    planned = run_reconciler(project, "plan", "--detailed-exitcode")
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert (
        "snap-us:adsquad/spring-sale" in planned.stdout
        and "daily_budget_micro = 25500000 -> 30000000" in planned.stdout
    )
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in planned.stdout
    applied = run_reconciler(project, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert Counter(o["type"] for o in server.objects("snapchat")) == before  # updated in place: no duplicate
    [squad] = [o for o in server.objects("snapchat") if o["id"] == ids["spring.squad"]]
    assert squad["fields"]["daily_budget_micro"] == 30_000_000
    assert (squad["fields"]["name"], squad["fields"]["bid_micro"]) == ("Spring squad", 2_000_000)  # overrides kept
    assert run_reconciler(project, "plan", "--refresh", "--detailed-exitcode").returncode == 0

    again = run_reconciler(project, "import")
    assert again.returncode == 0, again.stderr
    assert "Nothing to import" in again.stdout and spec_file.read_text() == written.replace(
        "daily: 25.5\n", "daily: 30\n", 1
    )


def test_the_demos_snapchat_account_imports_with_nothing_left_to_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What reconciler itself made (the demo, applied to the emulator) comes back as the same documents."""
    demo = tmp_path / "demo"
    shutil.copytree(ROOT / "specs", demo / "specs")
    (demo / "state").mkdir()
    Cli(capsys, demo).apply()
    empty = tmp_path / "empty"
    (empty / "specs").mkdir(parents=True)
    (empty / "state").mkdir()
    targets = (ROOT / "specs" / "targets.yaml").read_text()
    (empty / "specs" / "targets.yaml").write_text(targets[targets.index("kind: Target\nname: snap-us") :])
    for data in (demo / "state").glob("default.emulator.json*"):  # the data file and its journal of recent writes
        shutil.copy(data, empty / "state" / data.name)
    cli = Cli(capsys, empty)

    code, out = cli("import", "--sandbox")
    assert code == 0, out
    assert "Skipped" not in out and "Warning" not in out, out

    def snap_ids(project: Path) -> set[tuple[str, str]]:
        state = json.loads((project / "state" / "default.sandbox.json").read_text())
        return {(r["type"], r["id"]) for r in state["resources"].values() if r["target"] == "snap-us"}

    assert snap_ids(empty) == snap_ids(demo) and len(snap_ids(demo)) == 5
    written = (empty / "specs" / "imported" / "snap-us.yaml").read_text()
    assert "overrides" not in written  # the documents reconciler would have had: nothing to reproduce by hand
    assert "name: northwind-launch\n" in written and "name: northwind-320x50\n" in written
    cli.assert_no_changes()
    cli.assert_no_drift()
    code, out = cli("import", "--sandbox")
    assert code == 0 and "Nothing to import" in out, out
