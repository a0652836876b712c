"""Issue 11.3: deletes that keep history, and lifecycle.prevent_destroy.

Through the real command over the in-process sandbox (`--sandbox`): removing a
campaign from the specs pauses its campaign, ad set / ad group / ad squad and
ads on Meta, TikTok and Snapchat (they stay live, paused, and leave the state);
`on_delete: delete` and `--prune` delete them; Broadstreet deletes; a
prevent_destroy document refuses a delete, a replace and its own removal.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.apply import EventSink
from reconciler.errors import ReconcilerError
from reconciler.github.cli import github
from reconciler.model import Lifecycle, RecordedResource
from reconciler.plan.planfile import read_plan_file
from reconciler.project import Project
from reconciler.state import LocalFileStore
from tests import github_fake
from tests.github_fake import PR, REPO, TOKEN, FakeGitHub
from tests.inprocess import InProcessSandbox
from tests.provider_kit import Cli, saved_objects

fake_server = github_fake.fake_server
fake = github_fake.fake

# The objects of campaign `summer` that a removal pauses, and how each platform says "paused".
PAUSED = {
    "meta": (("campaign", "adset", "ad"), "status", "PAUSED"),
    "tiktok": (("campaign", "adgroup", "ad"), "operation_status", "DISABLE"),
    "snapchat": (("campaign", "adsquad", "ad"), "status", "PAUSED"),
}
SPENDING = {
    "meta-us:campaign/summer",
    "meta-us:adset/summer",
    "meta-us:ad/summer.banner",
    "tiktok-us:campaign/summer",
    "tiktok-us:adgroup/summer",
    "tiktok-us:ad/summer.banner",
    "snap-us:campaign/summer",
    "snap-us:adsquad/summer",
    "snap-us:ad/summer.banner",
}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], project: Path) -> Cli:
    return Cli(capsys, project)


def main_yaml(project: Path) -> Path:
    return project / "specs" / "main.yaml"


def edit(project: Path, old: str, new: str) -> None:
    text = main_yaml(project).read_text()
    assert old in text
    main_yaml(project).write_text(text.replace(old, new))


def remove_campaign(project: Path) -> None:
    """Take the Campaign document (and the Placement that names it) out of the specs."""
    text = main_yaml(project).read_text()
    main_yaml(project).write_text(text[: text.index("---\nkind: Campaign")])


def plan_json(cli: Cli, *args: str) -> dict:
    code, out = cli("plan", "--sandbox", "--format", "json", *args)
    assert code == 0, out
    return json.loads(out)


def live(project: Path, platform: str, type_: str) -> list[dict]:
    return [o.fields for o in saved_objects(project, platform) if o.type == type_]


def recorded(project: Path) -> dict:
    return LocalFileStore(project, sandbox=True).read().resources


def test_removing_a_campaign_pauses_it_on_meta_tiktok_and_snapchat_and_deletes_it_on_broadstreet(
    cli: Cli, project: Path
) -> None:
    cli.apply()
    remove_campaign(project)
    plan = plan_json(cli)
    modes = {c["address"]: c["delete_mode"] for c in plan["changes"] if c["action"] == "delete"}
    assert {a for a, mode in modes.items() if mode == "pause"} == SPENDING
    assert modes["bs-main:campaign/summer"] == "delete"  # Broadstreet deletes stay deletes
    assert modes["meta-us:adcreative/summer.banner"] == "delete"  # creatives and uploads as before
    assert modes["meta-us:adimage/banner"] == "delete"
    assert plan["prune"] is False
    assert all("delete_mode" not in c for c in plan["changes"] if c["action"] != "delete")

    code, text = cli("plan", "--sandbox")
    assert code == 0, text
    assert "  - meta-us:campaign/summer (pause)\n" in text
    assert "  - tiktok-us:adgroup/summer (pause)\n" in text
    assert "  - bs-main:campaign/summer (no longer in the specs)\n" in text
    assert "(9 of them paused, not deleted)." in text

    out = cli.apply()
    assert "paused meta-us:campaign/summer (not deleted: dropped from the state" in out
    state = recorded(project)
    assert not [a for a in state if ":campaign/summer" in a or "/summer." in a or a.endswith("/summer")]
    for platform, (types, field, value) in PAUSED.items():
        for type_ in types:
            objects = live(project, platform, type_)
            assert len(objects) == 1, (platform, type_)  # still there, with its reporting
            assert objects[0][field] == value, (platform, type_, objects[0][field])
    assert live(project, "meta", "adcreative") == []  # deleted, as before
    assert live(project, "broadstreet", "campaign") == []
    cli.assert_no_changes()


def test_on_delete_delete_on_the_campaign_deletes(cli: Cli, project: Path) -> None:
    edit(
        project, "name: summer\nadvertiser: acme\n", "name: summer\nadvertiser: acme\nlifecycle: {on_delete: delete}\n"
    )
    cli.apply()
    state = LocalFileStore(project, sandbox=True).read()
    assert state.resources["meta-us:campaign/summer"].lifecycle.on_delete == "delete"  # type: ignore[union-attr]
    remove_campaign(project)  # the document is gone: what was recorded with its objects decides
    plan = plan_json(cli)
    assert {c["delete_mode"] for c in plan["changes"] if c["action"] == "delete"} == {"delete"}
    cli.apply()
    for platform, (types, _, _) in PAUSED.items():
        for type_ in types:
            assert live(project, platform, type_) == [], (platform, type_)


def test_on_delete_delete_on_a_creative_deletes_its_ads(cli: Cli, project: Path) -> None:
    edit(
        project, "name: banner\nadvertiser: acme\n", "name: banner\nadvertiser: acme\nlifecycle: {on_delete: delete}\n"
    )
    edit(project, "name: summer\nadvertiser: acme\n", "name: summer\nadvertiser: acme\nlifecycle: {on_delete: pause}\n")
    cli.apply()
    remove_campaign(project)
    modes = {c["address"]: c["delete_mode"] for c in plan_json(cli)["changes"] if c["action"] == "delete"}
    # The campaign's own setting comes first for what both derive; the campaign itself pauses.
    assert modes["meta-us:ad/summer.banner"] == "pause" and modes["meta-us:campaign/summer"] == "pause"


def test_prune_deletes_and_the_saved_plan_keeps_it(cli: Cli, project: Path, tmp_path: Path) -> None:
    cli.apply()
    remove_campaign(project)
    saved = tmp_path / "plan.json"
    code, out = cli("plan", "--sandbox", "--prune", "--out", str(saved))
    assert code == 0, out
    assert "(pause)" not in out
    data = json.loads(saved.read_text())
    assert data["prune"] is True
    assert {c["delete_mode"] for c in data["changes"] if c["action"] == "delete"} == {"delete"}
    code, out = cli("apply", "--sandbox", "--auto-approve", "--prune", str(saved))
    assert code != 0 and "--prune" in out  # a saved plan is applied as reviewed
    code, out = cli("apply", "--sandbox", "--auto-approve", str(saved))
    assert code == 0, out
    for platform, (types, _, _) in PAUSED.items():
        for type_ in types:
            assert live(project, platform, type_) == [], (platform, type_)
    cli.assert_no_changes()


def test_prune_on_apply_deletes(cli: Cli, project: Path) -> None:
    cli.apply()
    remove_campaign(project)
    code, out = cli("apply", "--sandbox", "--auto-approve", "--prune")
    assert code == 0, out
    assert live(project, "tiktok", "campaign") == [] and live(project, "snapchat", "adsquad") == []


def test_a_saved_plan_pauses_as_reviewed(cli: Cli, project: Path, tmp_path: Path) -> None:
    cli.apply()
    remove_campaign(project)
    saved = tmp_path / "plan.json"
    assert cli("plan", "--sandbox", "--out", str(saved))[0] == 0
    code, out = cli("apply", "--sandbox", "--auto-approve", str(saved))
    assert code == 0, out
    assert live(project, "snapchat", "campaign")[0]["status"] == "PAUSED"
    assert "snap-us:campaign/summer" not in recorded(project)


PROTECTED = "name: summer\nadvertiser: acme\nlifecycle: {prevent_destroy: true}\n"


def test_prevent_destroy_refuses_a_delete(cli: Cli, project: Path) -> None:
    edit(project, "name: summer\nadvertiser: acme\n", PROTECTED)
    cli.apply()
    before = main_yaml(project).read_text()
    line = before[: before.index(PROTECTED)].count("\n")  # the line of `kind: Campaign`
    main_yaml(project).write_text(before[: before.index("---\nkind: Placement")])
    edit(project, "creatives: [banner, teaser]", "creatives: [teaser]")
    code, out = cli("plan", "--sandbox")
    assert code == 1, out
    assert "meta-us:ad/summer.banner would be paused and dropped from the state" in out
    assert f"but Campaign/summer (specs/main.yaml:{line}) sets lifecycle.prevent_destroy: true" in out
    assert "placement" not in out  # derived from the Placement document only, which does not protect it
    code, out = cli("apply", "--sandbox", "--auto-approve")
    assert code == 1 and "prevent_destroy" in out
    assert len(live(project, "meta", "ad")) == 1 and live(project, "meta", "ad")[0]["status"] == "ACTIVE"


def test_prevent_destroy_refuses_a_replace(cli: Cli, project: Path) -> None:
    edit(project, "name: summer\nadvertiser: acme\n", PROTECTED)
    cli.apply()
    edit(project, "objective: traffic", "objective: awareness")  # the Meta campaign's objective: force-new
    code, out = cli("plan", "--sandbox")
    assert code == 1, out
    assert "meta-us:campaign/summer would be replaced (its old object deleted) (cannot change in place" in out


def test_prevent_destroy_holds_after_the_document_is_removed(cli: Cli, project: Path) -> None:
    edit(project, "name: summer\nadvertiser: acme\n", PROTECTED)
    cli.apply()
    state = json.loads((project / "state" / "default.sandbox.json").read_text())
    assert state["resources"]["tiktok-us:adgroup/summer"]["lifecycle"]["prevent_destroy"] is True
    protected = main_yaml(project).read_text()
    remove_campaign(project)
    code, out = cli("plan", "--sandbox")
    assert code == 1, out
    assert "tiktok-us:campaign/summer would be paused and dropped from the state (no longer in the specs)" in out
    assert "Campaign/summer (specs/main.yaml:" in out
    code, out = cli("apply", "--sandbox", "--auto-approve")
    assert code == 1, out
    assert live(project, "tiktok", "campaign")[0]["operation_status"] == "ENABLE"
    assert "tiktok-us:campaign/summer" in recorded(project)
    # Lifted as the error says: the document back without prevent_destroy, applied, then removed.
    main_yaml(project).write_text(protected.replace(PROTECTED, "name: summer\nadvertiser: acme\n"))
    code, out = cli("apply", "--sandbox", "--auto-approve")
    assert code == 0 and "No changes" in out, out
    remove_campaign(project)
    cli.apply()
    assert live(project, "tiktok", "campaign")[0]["operation_status"] == "DISABLE"


def test_prevent_destroy_added_without_other_changes_is_recorded(cli: Cli, project: Path) -> None:
    cli.apply()
    edit(project, "name: summer\nadvertiser: acme\n", PROTECTED)
    code, out = cli("apply", "--sandbox", "--auto-approve")
    assert code == 0 and "No changes" in out, out
    assert recorded(project)["meta-us:campaign/summer"].lifecycle.prevent_destroy  # type: ignore[union-attr]
    remove_campaign(project)
    code, out = cli("plan", "--sandbox")
    assert code == 1 and "meta-us:campaign/summer would be paused" in out, out


def test_the_pr_comment_shows_a_banner_when_spending_objects_go(cli: Cli, project: Path) -> None:
    cli.apply()
    code, out = cli("plan", "--sandbox", "--format", "markdown")
    assert code == 0 and "[!CAUTION]" not in out
    remove_campaign(project)
    code, out = cli("plan", "--sandbox", "--format", "markdown")
    assert code == 0, out
    banner = next(line for line in out.splitlines() if line.startswith("> **This plan"))
    assert "> [!CAUTION]" in out
    assert "deletes 4 and pauses 9 objects that can spend" in banner
    assert "stay on the platform, paused" in banner


def rollback_apply(project: Path, sandbox: InProcessSandbox):  # noqa: ANN201
    return Project(project).apply(
        connect=sandbox.connect,
        events=EventSink(),
        confirm=lambda plan: plan.has_changes,
        notify=print,
        on_error="rollback",
    )


def test_rollback_unpauses_what_it_paused(project: Path) -> None:
    edit(project, "targets: [bs-main, meta-us, tiktok-us, snap-us]", "targets: [bs-main, snap-us]")
    sandbox = InProcessSandbox()
    assert rollback_apply(project, sandbox).ok
    before = LocalFileStore(project).read().resources
    edit(project, "targets: [bs-main, snap-us]", "targets: [bs-main]")
    main_yaml(project).write_text(
        main_yaml(project).read_text() + "---\nkind: Zone\nname: side\ntarget: bs-main\ndisplay_name: Side\n"
    )
    # The new zone is refused after Snapchat's pauses are done: rollback must set them going again.
    faults = {"platform": "broadstreet", "latency_ms": 300, "reject": [{"platform": "broadstreet", "type": "zone"}]}
    sandbox.control("POST", "faults", json=faults)
    result = rollback_apply(project, sandbox)
    assert result is not None and not result.ok and not result.undo_failures
    for address in ("snap-us:campaign/summer", "snap-us:adsquad/summer", "snap-us:ad/summer.banner"):
        outcome = result.outcomes[f"delete:{address}"]
        assert (outcome.action, outcome.status) == ("pause", "rolled_back"), outcome
    after = LocalFileStore(project).read().resources
    assert {a: r for a, r in after.items() if a.startswith("snap-us:")} == {
        a: r for a, r in before.items() if a.startswith("snap-us:")
    }
    snap = sandbox.control("GET", "objects", params={"platform": "snapchat"})
    statuses = {o["type"]: o["fields"]["status"] for o in snap if o["type"] in ("campaign", "adsquad", "ad")}
    assert statuses == {"campaign": "ACTIVE", "adsquad": "ACTIVE", "ad": "ACTIVE"}


def test_rollback_that_cannot_unpause_records_the_object_paused(project: Path) -> None:
    """On Meta the ad's creative is deleted (and its image cannot be uploaded again): the ad stays
    paused, recorded as such, so that the next apply sets it going again instead of making a second."""
    edit(project, "targets: [bs-main, meta-us, tiktok-us, snap-us]", "targets: [bs-main, meta-us]")
    sandbox = InProcessSandbox()
    assert rollback_apply(project, sandbox).ok
    ad_id = LocalFileStore(project).read().id_of("meta-us:ad/summer.banner")
    specs = main_yaml(project).read_text()
    edit(project, "targets: [bs-main, meta-us]", "targets: [bs-main]")
    main_yaml(project).write_text(
        main_yaml(project).read_text() + "---\nkind: Zone\nname: side\ntarget: bs-main\ndisplay_name: Side\n"
    )
    faults = {"platform": "broadstreet", "latency_ms": 300, "reject": [{"platform": "broadstreet", "type": "zone"}]}
    sandbox.control("POST", "faults", json=faults)
    result = rollback_apply(project, sandbox)
    assert result is not None and not result.ok
    assert "meta-us:ad/summer.banner" in {f.address for f in result.undo_failures}
    after = LocalFileStore(project).read().resources
    assert after["meta-us:ad/summer.banner"].id == ad_id
    assert after["meta-us:ad/summer.banner"].attributes["status"] == "PAUSED"
    assert after["meta-us:campaign/summer"].attributes["status"] == "ACTIVE"  # unpaused
    sandbox.control("POST", "faults", json={"reject": []})
    main_yaml(project).write_text(specs)
    assert rollback_apply(project, sandbox).ok
    ads = [o for o in sandbox.control("GET", "objects", params={"platform": "meta"}) if o["type"] == "ad"]
    assert [(o["id"], o["fields"]["status"]) for o in ads] == [(ad_id, "ACTIVE")]


def test_the_posted_pr_comment_of_a_saved_plan_shows_the_banner(
    cli: Cli, project: Path, tmp_path: Path, fake: FakeGitHub
) -> None:
    cli.apply()
    remove_campaign(project)
    saved = tmp_path / "plan.json"
    assert cli("plan", "--sandbox", "--out", str(saved))[0] == 0
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "pull_request": {"number": PR}}))
    env = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": fake.base_url,
        "GITHUB_STEP_SUMMARY": None,
        "RECONCILER_GITHUB_AUTHOR": None,
    }
    posted = CliRunner().invoke(github, ["comment", "--plan", str(saved)], env=env)
    assert posted.exit_code == 0, posted.output
    [comment] = fake.comments[PR]
    assert "> [!CAUTION]\n> **This plan deletes 4 and pauses 9 objects that can spend" in comment["body"]
    assert "- meta-us:campaign/summer (pause)" in comment["body"]


# --- units: spec errors, state and plan file formats ---------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (
            "name: summer\nadvertiser: acme\n",
            "name: summer\nadvertiser: acme\nlifecycle: {on_delete: destroy}\n",
            "lifecycle.on_delete",
        ),
        ("name: acme\ndisplay_name", "name: acme\nlifecycle: {on_delete: delete}\ndisplay_name", "lifecycle.on_delete"),
        ("name: home-lb\n", "name: home-lb\nlifecycle: {prevent_destroy: maybe}\n", "lifecycle.prevent_destroy"),
    ],
    ids=["unknown-mode", "advertiser-has-no-on-delete", "not-a-boolean"],
)
def test_a_bad_lifecycle_is_a_spec_error_with_file_and_line(
    cli: Cli, project: Path, old: str, new: str, field: str
) -> None:
    edit(project, old, new)
    code, out = cli("validate")
    assert code == 1, out
    assert re.search(rf"specs/main\.yaml:\d+: {re.escape(field)}:", out), out


def test_a_state_without_lifecycles_still_reads_and_writes_none() -> None:
    old = {"id": "7", "type": "campaign", "target": "meta-us", "attributes": {}, "depends_on": []}
    resource = RecordedResource.from_json("meta-us:campaign/x", old)
    assert resource.lifecycle is None and resource.to_json() == old
    with_lifecycle = replace(resource, lifecycle=Lifecycle(True, "delete", ("Campaign/x",), "Campaign/x (a.yaml:1)"))
    assert RecordedResource.from_json("meta-us:campaign/x", with_lifecycle.to_json()) == with_lifecycle


def test_a_plan_file_with_an_unknown_delete_mode_is_refused(cli: Cli, project: Path, tmp_path: Path) -> None:
    cli.apply()
    remove_campaign(project)
    saved = tmp_path / "plan.json"
    assert cli("plan", "--sandbox", "--out", str(saved))[0] == 0
    data = json.loads(saved.read_text())
    index = next(i for i, c in enumerate(data["changes"]) if c.get("delete_mode") == "pause")
    data["changes"][index]["delete_mode"] = "archive"
    saved.write_text(json.dumps(data))
    with pytest.raises(ReconcilerError, match=rf"changes\[{index}\]\.delete_mode: unknown delete mode 'archive'"):
        read_plan_file(saved)
