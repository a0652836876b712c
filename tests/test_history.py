"""Run history (issue 12 item 2): every apply recorded, through the real `reconciler` command."""

from __future__ import annotations

import getpass
import json
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.history import FileHistoryStore
from tests import provider_kit as kit
from tests.conftest import SPECS, png_bytes
from tests.e2e import Sandbox, broadstreet_project, run_reconciler, start_reconciler
from tests.test_golive import CREDENTIALS, gated_project, review

GITHUB = {
    "GITHUB_ACTOR": "octocat",
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_REPOSITORY": "acme/ads",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
}


@pytest.fixture(autouse=True)
def no_github(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in GITHUB:
        monkeypatch.delenv(name, raising=False)


def history(project: Path, *args: str) -> Any:
    result = run_reconciler(project, "history", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_succeeding_then_a_failing_run_with_github_details(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in GITHUB.items():
        monkeypatch.setenv(name, value)
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    digest = json.loads(run_reconciler(project, "plan", "--format", "json").stdout)["digest"]
    events = tmp_path / "events.jsonl"
    first = run_reconciler(project, "apply", "--auto-approve", "--events", str(events))
    assert first.returncode == 0, first.stderr
    [run] = history(project)
    assert run["outcome"] == "succeeded" and run["counts"]["done"] == 10
    assert (run["who"], run["where"], run["commit"]) == (
        "octocat", "https://github.example/acme/ads/actions/runs/4242", GITHUB["GITHUB_SHA"],
    )  # fmt: skip
    assert run["plan_digest"] == digest and run["plan_file"] is None and run["overrides"] == []
    done = [json.loads(line) for line in events.read_text().splitlines()][-1]
    assert done["event"] == "apply:done" and done["run_id"] == run["run_id"]

    shown = history(project, "show", run["run_id"])
    creates = shown["operations"]
    assert {(o["action"], o["outcome"]) for o in creates} == {("create", "done")} and len(creates) == 10
    campaign = next(o for o in creates if o["address"] == "bs-main:campaign/camp0")
    assert campaign["before"] is None and campaign["after"]["attributes"]["end_date"] == "2026-08-31"
    assert campaign["id"] == campaign["after"]["id"] and campaign["attempts"] == 1

    specs = project / "specs" / "main.yaml"
    specs.write_text(
        specs.read_text().replace("end_date: 2026-08-31", "end_date: 2026-09-30").replace("offer 0a", "new 0a")
    )
    sandbox.control("POST", "faults", json={"reject": [{"platform": "broadstreet", "type": "advertisement"}]})
    plan = tmp_path / "plan.json"
    assert run_reconciler(project, "plan", "--out", str(plan)).returncode == 0
    second = run_reconciler(project, "apply", "--auto-approve", str(plan))
    assert second.returncode == 1, second.stderr
    newest, oldest = history(project)
    assert oldest["run_id"] == run["run_id"] and newest["run_id"] > run["run_id"]
    assert newest["outcome"] == "failed" and newest["plan_file"] == "plan.json"
    assert newest["counts"]["failed"] == 1 and newest["counts"]["skipped"] == 3  # the ad, its placements
    operations = {o["address"]: o for o in history(project, "show", newest["run_id"])["operations"]}
    update = operations["bs-main:campaign/camp0"]
    assert (update["action"], update["outcome"]) == ("update", "done")
    assert update["before"]["attributes"]["end_date"] == "2026-08-31"
    assert update["after"]["attributes"]["end_date"] == "2026-09-30"
    failed = operations["bs-main:advertisement/c0-a"]
    assert (failed["action"], failed["outcome"], failed["error_class"]) == ("replace", "failed", "VALIDATION")
    assert failed["message"] and failed["before"] == failed["after"]  # the old ad stays recorded

    text = run_reconciler(project, "history", "show", newest["run_id"])
    assert text.returncode == 0
    assert 'end_date: "2026-08-31" -> "2026-09-30"' in text.stdout
    assert "replace  failed" in text.stdout and "VALIDATION" in text.stdout
    assert "who      octocat" in text.stdout and f"digest {newest['plan_digest']}" in text.stdout
    listing = run_reconciler(project, "history", "--limit", "1")
    assert listing.returncode == 0 and newest["run_id"] in listing.stdout and run["run_id"] not in listing.stdout
    assert "octocat" in listing.stdout and "0123456 " in listing.stdout and "failed" in listing.stdout


def test_os_user_host_and_git_commit_without_github(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "specs"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "specs"], cwd=project, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0
    [run] = history(project)
    assert (run["who"], run["where"], run["commit"]) == (getpass.getuser(), socket.gethostname(), head)
    assert (project / "state" / "default.history" / f"{run['run_id']}.jsonl").is_file()


def test_nothing_to_do_is_not_recorded_and_an_unknown_run_is_an_error(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    empty = run_reconciler(project, "history")
    assert empty.returncode == 0 and "No runs recorded yet" in empty.stdout
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0  # no changes
    assert len(history(project)) == 1
    for run_id in ("20260101T000000Z-abcdef", "../../etc/passwd"):
        missing = run_reconciler(project, "history", "show", run_id)
        assert missing.returncode == 1 and "no run" in missing.stderr and "Traceback" not in missing.stderr


def test_a_sigkilled_apply_is_recorded_as_interrupted_by_the_next(tmp_path: Path, sandbox: Sandbox) -> None:
    sandbox.control("POST", "faults", json={"latency_ms": 30})
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=4)
    directory = project / "state" / "default.history"
    process = start_reconciler(project, "apply", "--auto-approve", "--parallelism", "2")
    deadline = time.monotonic() + 30
    while not any(len(p.read_text().splitlines()) >= 4 for p in directory.glob("*.jsonl")):  # start + 3 operations
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    [killed] = history(project)
    assert killed["outcome"] == "unfinished" and killed["ended_at"] is None
    sandbox.control("POST", "faults", json={"latency_ms": 0})
    again = run_reconciler(project, "apply", "--auto-approve")
    assert again.returncode == 0, again.stderr
    assert f"Run {killed['run_id']} had been interrupted" in again.stdout
    newest, found = history(project)
    assert found["run_id"] == killed["run_id"] and found["outcome"] == "interrupted"
    assert found["found_by"] == newest["run_id"] and newest["outcome"] == "succeeded"
    assert found["counts"]["done"] >= 3 and found["ended_at"]
    operations = history(project, "show", found["run_id"])["operations"]
    assert all(o["outcome"] == "done" and o["after"] for o in operations)
    # Every object made once: by the killed run, adopted from its pending creates, or by the next run.
    state = json.loads((project / "state" / "default.json").read_text())
    assert len({r["id"] for r in state["resources"].values()}) == len(state["resources"]) == 31
    # The killed run's history holds what it finished, less what was in flight when it died (at most
    # --parallelism 2 operations: already in the state, their history lines not yet written).
    adopted = again.stdout.count("adopted id")
    assert 31 - 2 <= newest["counts"]["done"] + found["counts"]["done"] + adopted <= 31


def test_policy_overrides_and_their_reason_are_kept_in_the_sandbox_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("BROADSTREET_API_TOKEN", "META_ACCESS_TOKEN", "TIKTOK_ACCESS_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("RECONCILER_NOW", "2026-06-15T12:00:00Z")
    kit.write_specs(tmp_path, SPECS, {"banner.png": png_bytes(1)})
    (tmp_path / "specs" / "policies.yaml").write_text(
        "kind: Policy\nname: spend-guard\nenforcement: soft\nmax_daily_budget: {total: 100, currency: USD}\n"
    )
    reconciler = kit.Cli(capsys, tmp_path)
    code, out = reconciler("apply", "--sandbox", "--auto-approve", "--override-policy", "spend-guard",
                           "--reason", "launch week: approved by finance")  # fmt: skip
    assert code == 0, out
    code, out = reconciler("history", "--sandbox", "--format", "json")
    [run] = json.loads(out)
    assert run["overrides"] == [{"policy": "spend-guard", "reason": "launch week: approved by finance"}]
    assert run["sandbox"] is True and run["outcome"] == "succeeded"
    assert reconciler("history", "--format", "json") == (0, "[]\n")  # live runs' history: separate, empty
    assert not (tmp_path / "state" / "default.history").exists()
    code, out = reconciler("history", "show", run["run_id"], "--sandbox")
    assert code == 0 and "override spend-guard: launch week: approved by finance" in out


def test_a_torn_last_line_is_ignored_and_an_end_is_found_from_the_tail(tmp_path: Path) -> None:
    store = FileHistoryStore(tmp_path)
    start = {"type": "start", "run_id": "20260101T000000Z-aaaaaa", "workspace": "default", "who": "me",
             "started_at": "2026-01-01T00:00:00.000Z", "where": "here", "commit": None, "plan_digest": "x"}  # fmt: skip
    op = {"type": "operation", "address": "t:campaign/a", "action": "create", "outcome": "done",
          "at": "2026-01-01T00:00:01.000Z", "attributes": {"type": "end"}}  # fmt: skip
    (tmp_path / "20260101T000000Z-aaaaaa.jsonl").write_text(
        json.dumps(start) + "\n" + json.dumps(op) + "\n" + '{"type": "operation", "addr'
    )
    assert store.unfinished() == ["20260101T000000Z-aaaaaa"]
    run = store.get("20260101T000000Z-aaaaaa")
    assert len(run.operations) == 1 and run.end is None and run.outcome == "unfinished"


def test_rollback_steps_are_recorded_with_what_they_undid(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0
    specs = project / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("end_date: 2026-08-31", "end_date: 2026-09-30")
                     .replace("<b>offer 0a</b>", "<b>changed</b>"))  # fmt: skip
    sandbox.control("POST", "faults", json={"reject": [{"platform": "broadstreet", "type": "advertisement"}]})
    assert run_reconciler(project, "apply", "--auto-approve", "--on-error", "rollback").returncode == 1
    newest = history(project)[0]
    assert newest["outcome"] == "failed"
    operations = history(project, "show", newest["run_id"])["operations"]
    undone = {o["address"]: o for o in operations if o["action"] == "rollback"}
    assert {(a, o["undoes"], o["outcome"]) for a, o in undone.items()} == {
        ("bs-main:campaign/camp0", "update", "done"),
        # destroy-before-create replaces: their deletes were done, and undone by making the placements again
        ("bs-main:placement/camp0.c0-a.top", "replace", "done"),
        ("bs-main:placement/camp0.c0-a.side", "replace", "done"),
    }
    undo = undone["bs-main:campaign/camp0"]
    assert undo["before"]["attributes"]["end_date"] == "2026-09-30"
    assert undo["after"]["attributes"]["end_date"] == "2026-08-31"


def test_what_goes_live_after_review_is_recorded_as_a_run(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in CREDENTIALS:
        monkeypatch.setenv(variable, f"{variable.lower()}-e2e-credential")
    project = gated_project(tmp_path, sandbox.url)
    review(sandbox, "pending")
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0
    assert len(history(project)) == 1
    review(sandbox, "approved")
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0  # no change planned: go-live alone
    went_live, first = history(project)
    assert went_live["outcome"] == "succeeded" and went_live["counts"]["done"] == 9  # 3 objects on 3 targets
    operations = {o["address"]: o for o in history(project, "show", went_live["run_id"])["operations"]}
    campaign = operations["meta-us:campaign/summer"]
    assert (campaign["action"], campaign["message"]) == ("update", "went live: every ad of its campaign on this "
                                                         "target was approved")  # fmt: skip
    assert (campaign["before"]["attributes"]["status"], campaign["after"]["attributes"]["status"]) == (
        "PAUSED", "ACTIVE")  # fmt: skip
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0  # live stays live: nothing recorded
    assert len(history(project)) == 2
