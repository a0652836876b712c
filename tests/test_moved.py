"""Issue 9.3: a Moved document renames what is recorded, keeping every platform id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.state import LocalFileStore
from tests.conftest import png_bytes
from tests.provider_kit import Cli, saved_objects

PLATFORMS = ("broadstreet", "meta", "tiktok", "snapchat")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], project: Path) -> Cli:
    return Cli(capsys, project)


def edit(project: Path, *pairs: tuple[str, str], extra: str = "") -> None:
    main = project / "specs" / "main.yaml"
    text = main.read_text()
    for old, new in pairs:
        assert old in text
        text = text.replace(old, new)
    main.write_text(text + extra)


def ids(project: Path) -> dict[str, str]:
    return {a: r.id for a, r in LocalFileStore(project, sandbox=True).read().resources.items()}


def live_counts(project: Path) -> dict[str, int]:
    return {p: len(saved_objects(project, p)) for p in PLATFORMS}


def plan_json(cli: Cli) -> dict:
    code, out = cli("plan", "--sandbox", "--format", "json")
    assert code == 0, out
    return json.loads(out)


RENAME_CAMPAIGN = (("name: summer\n", "name: autumn\n"), ("campaign: summer\n", "campaign: autumn\n"))
MOVED_CAMPAIGN = "---\nkind: Moved\nfrom: Campaign/summer\nto: Campaign/autumn\n"


def test_renaming_a_campaign_with_moved_keeps_every_platform_id(cli: Cli, project: Path) -> None:
    cli.apply()
    before, counts = ids(project), live_counts(project)
    edit(project, *RENAME_CAMPAIGN, extra=MOVED_CAMPAIGN)
    plan = plan_json(cli)
    actions = {c["action"] for c in plan["changes"]}
    assert not actions & {"create", "delete", "replace"}, plan["summary"]
    moved = {c["moved_from"]: c["address"] for c in plan["changes"] if "moved_from" in c}
    assert moved["meta-us:ad/summer.banner"] == "meta-us:ad/autumn.banner"
    assert moved["bs-main:placement/summer.banner.home-lb"] == "bs-main:placement/autumn.banner.home-lb"
    assert all("summer" in old for old in moved) and len(moved) == sum("summer" in a for a in before)
    code, text = cli("plan", "--sandbox")
    assert "(moved from meta-us:ad/summer.banner)" in text and f"{len(moved)} moved to a new address." in text
    cli.apply()
    after = ids(project)
    assert sorted(after.values()) == sorted(before.values())
    assert {new: after[new] for new in moved.values()} == {new: before[old] for old, new in moved.items()}
    assert live_counts(project) == counts
    names = {o.type: o for o in saved_objects(project, "tiktok")}
    assert "autumn" in json.dumps(names["campaign"].__dict__, default=str)
    cli.assert_no_changes()


def test_renaming_a_creative_keeps_the_ads(cli: Cli, project: Path) -> None:
    cli.apply()
    before = ids(project)
    edit(
        project,
        ("name: banner\n", "name: hero\n"),
        ("creatives: [banner, teaser]", "creatives: [hero, teaser]"),
        ("creative: banner\n", "creative: hero\n"),
        extra="---\nkind: Moved\nfrom: Creative/banner\nto: Creative/hero\n",
    )
    plan = plan_json(cli)
    # Nothing re-uploaded or re-created: an upload keeps the name it was made with, the rest renames in place.
    assert plan["summary"]["create"] == plan["summary"]["delete"] == plan["summary"]["replace"] == 0
    assert all(
        "moved_from" in c for c in plan["changes"] if "banner" in c.get("moved_from", "") or "hero" in c["address"]
    )
    updated = {c["address"]: c["changed_fields"] for c in plan["changes"] if c["action"] == "update"}
    assert updated and all(fields in (["name"], ["ad_name"]) for fields in updated.values()), updated
    cli.apply()
    after = ids(project)
    for address, id_ in before.items():
        if "banner" in address:
            assert after[address.replace("banner", "hero")] == id_, address
    assert not [a for a in after if "banner" in a]
    cli.assert_no_changes()


def test_moved_with_a_resource_address(cli: Cli, project: Path) -> None:
    cli.apply()
    before = ids(project)
    # An explicit placement name: only that one resource's address changes.
    edit(project, ("kind: Placement\n", "kind: Placement\nname: front\n"))
    edit(
        project, extra="---\nkind: Moved\nfrom: bs-main:placement/summer.banner.home-lb\nto: bs-main:placement/front\n"
    )
    plan = plan_json(cli)
    [change] = [c for c in plan["changes"] if c["action"] != "noop" or "moved_from" in c]
    assert change["address"] == "bs-main:placement/front"
    assert change["moved_from"] == "bs-main:placement/summer.banner.home-lb"
    cli.apply()
    assert ids(project)["bs-main:placement/front"] == before["bs-main:placement/summer.banner.home-lb"]
    cli.assert_no_changes()


def test_a_saved_plan_with_moves_round_trips(cli: Cli, project: Path) -> None:
    cli.apply()
    before = ids(project)
    edit(project, *RENAME_CAMPAIGN, extra=MOVED_CAMPAIGN)
    planfile = project / "plan.json"
    code, out = cli("plan", "--sandbox", "--out", str(planfile))
    assert code == 0, out
    saved = json.loads(planfile.read_text())
    assert any(c.get("moved_from") == "tiktok-us:campaign/summer" for c in saved["changes"])
    code, out = cli("apply", "--sandbox", "--auto-approve", str(planfile))
    assert code == 0, out
    assert ids(project)["tiktok-us:campaign/autumn"] == before["tiktok-us:campaign/summer"]
    cli.assert_no_changes()


@pytest.mark.parametrize(
    ("moved", "field", "says"),
    [
        ("from: Campaign/summer\nto: Campaign/autumn\n", "from", "`Campaign/summer` is still declared"),
        ("from: Campaign/spring\nto: Campaign/winter\n", "to", "`Campaign/winter` is not declared"),
        ("from: Gadget/a\nto: Gadget/b\n", "from", "unknown kind `Gadget`"),
        ("from: bs-main:zone/old\nto: bs-main:zone/new\n", "to", "`bs-main:zone/new` is not derived"),
        ("from: bs-main:zone/home-lb\nto: bs-main:zone/x\n", "from", "is still derived"),
        ("from: Campaign/a\nto: Creative/b\n", "", "differ in kind"),
    ],
)
def test_a_moved_that_does_not_fit_is_a_spec_error(cli: Cli, project: Path, moved: str, field: str, says: str) -> None:
    lines = len((project / "specs" / "main.yaml").read_text().splitlines())
    edit(project, extra="---\nkind: Moved\n" + moved)
    code, out = cli("plan")
    assert code == 1, out
    assert says in out
    assert "specs/main.yaml:" in out and "Traceback" not in out
    line = int(out.split("specs/main.yaml:")[1].split(":")[0].split()[0])
    assert lines + 2 <= line <= lines + 4


def test_state_mv_moves_one_address_and_refuses_what_does_not_fit(cli: Cli, project: Path) -> None:
    cli.apply()
    before = ids(project)
    refusals = [
        ("meta-us:ad/nothing", "meta-us:ad/x", "is not in the state"),
        ("bs-main:advertisement/banner", "bs-main:advertisement/teaser", "already recorded"),
        ("meta-us:ad/summer.banner", "tiktok-us:ad/summer.x", "keeps the target and type"),
        ("meta-us:ad/summer.banner", "meta-us:adset/x", "keeps the target and type"),
    ]
    for old, new, says in refusals:
        code, out = cli("state", "--sandbox", "mv", old, new)
        assert code == 1 and says in out, out
        assert ids(project) == before
    code, out = cli("state", "--sandbox", "mv", "meta-us:ad/summer.banner", "meta-us:ad/summer.kept")
    assert code == 0, out
    after = ids(project)
    assert (
        "meta-us:ad/summer.banner" not in after
        and after["meta-us:ad/summer.kept"] == before["meta-us:ad/summer.banner"]
    )
    # Moving it back by hand leaves the state as the specs want it.
    code, out = cli("state", "--sandbox", "mv", "meta-us:ad/summer.kept", "meta-us:ad/summer.banner")
    assert code == 0, out
    cli.assert_no_changes()


def test_a_renamed_upload_keeps_its_name_until_its_content_changes(cli: Cli, project: Path) -> None:
    cli.apply()
    edit(
        project,
        ("name: banner\n", "name: hero\n"),
        ("creatives: [banner, teaser]", "creatives: [hero, teaser]"),
        ("creative: banner\n", "creative: hero\n"),
        extra="---\nkind: Moved\nfrom: Creative/banner\nto: Creative/hero\n",
    )
    cli.apply()
    cli.assert_no_changes()  # the image is still named banner on the platform, and that is no change
    (project / "specs" / "assets" / "banner.png").write_bytes(png_bytes(7))
    replaced = {c["address"]: c for c in plan_json(cli)["changes"] if c["action"] == "replace"}
    # New bytes are a new upload, and it takes the spec's name.
    assert replaced["meta-us:adimage/hero"]["after"]["name"] == "hero"
    assert replaced["tiktok-us:image/hero"]["after"]["file_name"] == "hero"
