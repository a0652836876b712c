"""Issue 8.6 and 8.3: what a target applied with is recorded; a plan file cannot change it.

- A target removed from the specs with its resources: its objects are deleted
  with the configuration it last applied with (kept in the state), not a crash.
- A target name re-declared on another platform or account: refused, since its
  objects' updates and deletes would go to the wrong API.
- A saved plan whose targets differ from the specs' is refused, naming the field.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.state import LocalFileStore
from tests.conftest import SPECS
from tests.e2e import TOKEN, Sandbox, broadstreet_project, counts, expected_counts, run_reconciler
from tests.provider_kit import Cli, saved_objects

# The meta-us Target document of the project fixture, with its separator.
META_TARGET = SPECS[SPECS.index("kind: Target\nname: meta-us") : SPECS.index("kind: Target\nname: tiktok-us")]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], project: Path) -> Cli:
    return Cli(capsys, project)


def edit_specs(project: Path, old: str, new: str) -> None:
    main = project / "specs" / "main.yaml"
    text = main.read_text()
    assert old in text
    main.write_text(text.replace(old, new))


def live(project: Path, platform: str) -> list[str]:
    return sorted(o.type for o in saved_objects(project, platform))


def test_removing_a_target_with_its_resources_deletes_them_with_its_recorded_configuration(
    cli: Cli, project: Path
) -> None:
    cli.apply()
    assert live(project, "meta")  # an ad account object and the campaign's objects
    state = LocalFileStore(project, sandbox=True).read()
    assert state.targets["meta-us"].settings["ad_account_id"] == "act_1234567890"
    meta_objects = [a for a, r in state.resources.items() if r.target == "meta-us"]
    edit_specs(project, META_TARGET, "")
    edit_specs(project, "targets: [bs-main, meta-us, tiktok-us, snap-us]", "targets: [bs-main, tiktok-us, snap-us]")

    code, out = cli("plan", "--sandbox")
    assert code == 0, out
    assert "target meta-us is no longer in the specs" in out
    assert f"{len(meta_objects)} to delete (3 of them paused, not deleted)" in out
    code, out = cli("apply", "--sandbox", "--auto-approve")
    assert code == 0, out
    after = LocalFileStore(project, sandbox=True).read()
    assert not [a for a, r in after.resources.items() if r.target == "meta-us"]
    assert "meta-us" not in after.targets  # it went with its last object
    assert "meta-us" not in json.loads((project / "state" / "default.sandbox.json").read_text())["targets"]
    # Issue 11.3: the campaign, ad set and ad are paused, not deleted (they keep their reporting);
    # the creatives are deleted as before.
    assert set(live(project, "meta")) <= {"adaccount", "adimage", "campaign", "adset", "ad"}
    kept = [o for o in saved_objects(project, "meta") if o.type in ("campaign", "adset", "ad")]
    assert sorted(o.type for o in kept) == ["ad", "adset", "campaign"]
    assert all(o.fields["status"] == "PAUSED" for o in kept)
    cli.assert_no_changes()


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        # The same name on another platform.
        (META_TARGET, META_TARGET.replace("platform: meta", "platform: tiktok").replace(
            'ad_account_id: act_1234567890\npage_id: "998877"', 'advertiser_id: "7000000009"\nidentity_id: x'),
         "declared on tiktok (advertiser_id 7000000009), but"),
        # The same platform, another account.
        ("act_1234567890", "act_999", "declared on meta (ad_account_id act_999), but"),
    ],
    ids=["platform", "account"],
)
def test_a_target_moved_to_another_platform_or_account_is_refused(
    cli: Cli, project: Path, old: str, new: str, says: str
) -> None:
    cli.apply()
    before = (project / "state" / "default.sandbox.json").read_text()
    edit_specs(project, old, new)
    for command in (["plan", "--sandbox"], ["apply", "--sandbox", "--auto-approve"]):
        code, out = cli(*command)
        assert code == 1
        assert says in out and "are on meta (ad_account_id act_1234567890)" in out
        assert "give its Target a new name" in out
    assert (project / "state" / "default.sandbox.json").read_text() == before


def test_a_state_that_does_not_record_a_removed_target_is_a_clear_refusal(cli: Cli, project: Path) -> None:
    cli.apply()
    path = project / "state" / "default.sandbox.json"
    data = json.loads(path.read_text())
    del data["targets"]  # as an older reconciler wrote it
    path.write_text(json.dumps(data))
    edit_specs(project, META_TARGET, "")
    edit_specs(project, "targets: [bs-main, meta-us, tiktok-us, snap-us]", "targets: [bs-main, tiktok-us, snap-us]")
    code, out = cli("plan", "--sandbox")
    assert code == 1
    assert "target meta-us is no longer in the specs" in out and "Declare the Target again" in out
    # Declared again, the next apply records it (and the campaign's meta objects are planned for deletion).
    edit_specs(project, "kind: Target\nname: tiktok-us", META_TARGET + "kind: Target\nname: tiktok-us")
    code, out = cli("apply", "--sandbox", "--auto-approve")
    assert code == 0, out
    assert "meta-us" not in LocalFileStore(project, sandbox=True).read().targets  # nothing left on it


# ---- a saved plan's targets (over real HTTP, so that a diverted request would show)


def plan_to_file(project: Path) -> Path:
    plan_file = project / "plan.json"
    assert run_reconciler(project, "plan", "--out", str(plan_file)).returncode == 0
    return plan_file


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("api_base_url", "http://127.0.0.1:9/steal", "api_base_url: 'http://127.0.0.1:9/steal' ->"),
        ("credentials", {"token_env": "HOME"}, "credentials.token_env: 'HOME' -> 'BROADSTREET_API_TOKEN'"),
        ("settings", {"network_id": 86}, "settings.network_id: 86 -> 85"),
        ("auth_url", "http://127.0.0.1:9/", "auth_url: 'http://127.0.0.1:9/' -> None"),
        ("rate_limit", 100000, "rate_limit: 100000.0 -> 500.0"),
    ],
)
def test_a_plan_whose_targets_were_edited_is_refused_and_sends_nothing(
    tmp_path: Path, sandbox: Sandbox, field: str, value: object, says: str
) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    plan_file = plan_to_file(project)
    data = json.loads(plan_file.read_text())
    data["targets"]["bs-main"][field] = value
    plan_file.write_text(json.dumps(data))
    result = run_reconciler(project, "apply", str(plan_file), "--auto-approve")
    assert result.returncode == 1
    assert "was made with other targets than the specs declare" in result.stderr and says in result.stderr
    assert "Traceback" not in result.stderr and TOKEN not in result.stderr + result.stdout
    requests = sandbox.control("GET", "stats")["requests"]
    assert sum(n for per_method in requests.values() for n in per_method.values()) == 0


def test_a_plan_with_a_target_the_specs_do_not_declare_is_refused(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    plan_file = plan_to_file(project)
    data = json.loads(plan_file.read_text())
    data["targets"]["bs-other"] = data["targets"]["bs-main"]
    plan_file.write_text(json.dumps(data))
    result = run_reconciler(project, "apply", str(plan_file), "--auto-approve")
    assert result.returncode == 1 and "bs-other: not a target of the specs" in result.stderr


def test_a_saved_plan_deleting_a_removed_targets_objects_applies(tmp_path: Path, sandbox: Sandbox) -> None:
    """Its targets come from the state's record, and match what the state records."""
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0
    assert counts(sandbox.objects()) == expected_counts(1)
    (project / "specs" / "main.yaml").write_text("")
    plan_file = plan_to_file(project)
    result = run_reconciler(project, "apply", str(plan_file), "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sandbox.objects() == []
    assert LocalFileStore(project).read().resources == {}


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("nope", "targets['meta-us']: expected an object"),
        ({"platform": 7}, "targets['meta-us']: platform: expected a string"),
        ({"platform": "meta", "concurrency": True}, "concurrency: expected an integer or null"),
        ({"platform": "meta", "credentials": {"token_env": 3}}, "credentials: expected names of environment"),
        ({"platform": "meta", "password": "x"}, "unknown field password"),
    ],
)
def test_a_damaged_target_record_names_the_field(cli: Cli, project: Path, entry: object, says: str) -> None:
    cli.apply()
    path = project / "state" / "default.sandbox.json"
    data = json.loads(path.read_text())
    data["targets"]["meta-us"] = entry
    path.write_text(json.dumps(data))
    code, out = cli("plan", "--sandbox")
    assert code == 1 and says in out and "invalid state file" in out
