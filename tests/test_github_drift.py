"""`reconciler github drift-issue` against a local fake GitHub API over real HTTP, and end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from reconciler.github.cli import github
from reconciler.github.drift import BODY_LIMIT, marker
from reconciler.model import Plan
from reconciler.plan.planfile import plan_to_json
from reconciler.state import LocalFileStore
from tests import github_fake
from tests.e2e import Sandbox, broadstreet_project, run_reconciler
from tests.github_fake import ACTIONS_BOT, REPO, TOKEN, FakeGitHub
from tests.test_github import big_plan, no_change_plan, small_plan

fake_server = github_fake.fake_server
fake = github_fake.fake

STRANGER = ("mallory", "User")


@pytest.fixture()
def env(fake: FakeGitHub) -> dict[str, str | None]:
    # A scheduled run has no pull request event; every variable is set so a runner's own never leak in.
    return {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_PATH": None,
        "GITHUB_API_URL": fake.base_url,
        "GITHUB_STEP_SUMMARY": None,
        "RECONCILER_GITHUB_AUTHOR": None,
    }


def drift_issue(tmp_path: Path, plan: Plan, env: dict[str, str | None], *args: str):
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan_to_json(plan)))
    result = CliRunner().invoke(github, ["drift-issue", "--plan", str(plan_file), *args], env=env)
    assert TOKEN not in result.output
    return result


def ours(fake: FakeGitHub, workspace: str = "default") -> list[dict[str, Any]]:
    """Open drift issues of the workspace written by the token's identity."""
    return [
        i
        for i in fake.open_issues()
        if i["body"].startswith(marker(workspace)) and (i["user"]["login"], i["user"]["type"]) == fake.identity
    ]


def test_first_drift_opens_an_issue_and_the_next_updates_it(tmp_path, fake, env):
    result = drift_issue(tmp_path, small_plan(), env)
    assert result.exit_code == 0, result.output
    [issue] = ours(fake)
    assert result.output == f"Opened {issue['html_url']}\n"
    assert issue["title"] == "Drift in workspace default"
    body = issue["body"]
    assert body.startswith(marker("default") + "\n")
    assert "`reconciler --workspace default plan --refresh` found that the live objects differ" in body
    assert "**Plan: 1 to create, 1 to update, 0 to replace, 0 to delete.**" in body
    assert '!     status = "PAUSED" -> "ACTIVE"' in body

    result = drift_issue(tmp_path, big_plan({"bs-main": 3}), env)
    assert result.exit_code == 0, result.output
    assert result.output == f"Updated {issue['html_url']}\n"
    [updated] = ours(fake)
    assert updated["number"] == issue["number"] and len(fake.issues) == 1
    assert "**Plan: 3 to create" in updated["body"] and "status" not in updated["body"]


def test_each_workspace_gets_its_own_issue(tmp_path, fake, env):
    assert drift_issue(tmp_path, small_plan(), env).exit_code == 0
    # The global --workspace of `reconciler` reaches the command too, as for the plan comment.
    result = CliRunner().invoke(
        github, ["drift-issue", "--plan", str(tmp_path / "plan.json"), "--workspace", "prod"], env=env
    )
    assert result.exit_code == 0, result.output
    [default], [prod] = ours(fake, "default"), ours(fake, "prod")
    assert default["number"] != prod["number"]
    assert prod["title"] == "Drift in workspace prod"
    assert "reconciler --workspace prod apply --refresh" in prod["body"]
    assert drift_issue(tmp_path, no_change_plan(), env, "--workspace", "prod").exit_code == 0
    assert ours(fake, "prod") == [] and ours(fake, "default") == [default]


def test_no_changes_closes_the_issue_with_a_comment_then_does_nothing(tmp_path, fake, env):
    assert drift_issue(tmp_path, small_plan(), env).exit_code == 0
    [issue] = ours(fake)

    result = drift_issue(tmp_path, no_change_plan(), env)
    assert result.exit_code == 0, result.output
    assert result.output == f"Closed {issue['html_url']}: no drift in workspace default any more.\n"
    assert issue["state"] == "closed" and issue["state_reason"] == "completed"
    [comment] = fake.comments[issue["number"]]
    assert comment["body"].startswith("The drift is gone: `plan --refresh` of ")

    fake.requests.clear()
    result = drift_issue(tmp_path, no_change_plan(), env)
    assert result.exit_code == 0, result.output
    assert result.output == "No drift in workspace default; no drift issue is open.\n"
    assert {method for method, _ in fake.requests} == {"GET"}

    # Drift again: a new issue, the closed one stays closed.
    assert drift_issue(tmp_path, small_plan(), env).output.startswith("Opened ")
    [again] = ours(fake)
    assert again["number"] != issue["number"] and issue["state"] == "closed"


def test_others_issues_with_a_copied_marker_and_pull_requests_are_never_touched(tmp_path, fake, env):
    copied = f"{marker('default')}\nlooks like a drift issue"
    decoys = [
        fake.add_issue("Drift in workspace default", copied, STRANGER),
        # Someone whose login mimics the bot's, without being a Bot account.
        fake.add_issue("Drift in workspace default", copied, ("github-actions[bot]", "User")),
        # A pull request of ours whose description carries the marker: the listing serves it too.
        fake.add_issue("Drift fix", copied, ACTIONS_BOT, pull_request=True),
    ]
    for i in range(5):  # other issues, so ours is found across pages of PAGE_CAP
        fake.add_issue(f"Bug {i}", "unrelated", STRANGER)
    mine = fake.add_issue("Drift in workspace default", f"{marker('default')}\nold drift")
    for i in range(3):
        fake.add_issue(f"Newer bug {i}", "unrelated", STRANGER)
    before = json.dumps(decoys)

    result = drift_issue(tmp_path, small_plan(), env)
    assert result.exit_code == 0, result.output
    assert result.output == f"Updated {mine['html_url']}\n"
    assert "Plan: 1 to create" in mine["body"]
    listing = [path for method, path in fake.requests if method == "GET" and path.endswith("/issues")]
    assert len(listing) == 6  # 11 entries, 2 per page
    assert drift_issue(tmp_path, no_change_plan(), env).output.startswith(f"Closed {mine['html_url']}")
    assert json.dumps(decoys) == before
    assert all(d["state"] == "open" for d in decoys) and set(fake.comments) == {mine["number"]}


def test_only_decoys_means_a_new_issue_of_our_own(tmp_path, fake, env):
    decoy = fake.add_issue("Drift in workspace default", f"{marker('default')}\ncopied", STRANGER)
    result = drift_issue(tmp_path, small_plan(), env)
    assert result.output.startswith("Opened ")
    assert decoy["body"].endswith("copied") and len(ours(fake)) == 1


def test_a_personal_access_token_and_an_app_find_their_own_issue(tmp_path, fake, env):
    fake.identity, fake.user_endpoint = ("octo-ops", "User"), True
    assert drift_issue(tmp_path, small_plan(), env).output.startswith("Opened ")
    assert drift_issue(tmp_path, small_plan(), env).output.startswith("Updated ")
    fake.reset()
    fake.identity = ("reconciler-app[bot]", "Bot")  # an App token: /user refuses, --author names it
    assert drift_issue(tmp_path, small_plan(), env, "--author", "reconciler-app[bot]").output.startswith("Opened ")
    assert drift_issue(tmp_path, small_plan(), env, "--author", "reconciler-app[bot]").output.startswith("Updated ")
    assert len(fake.issues) == 1


def test_an_oversize_plan_fits_the_issue_body_limit(tmp_path, fake, env):
    result = drift_issue(tmp_path, big_plan({"bs-main": 100, "meta-us": 100}), env)
    assert result.exit_code == 0, result.output
    [issue] = ours(fake)
    assert len(issue["body"]) <= BODY_LIMIT
    assert "more target omitted" in issue["body"]


def test_step_summary_gets_the_drift(tmp_path, fake, env):
    summary = tmp_path / "summary.md"
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    drift_issue(tmp_path, small_plan(), env)
    assert "**Plan: 1 to create, 1 to update" in summary.read_text()
    assert marker("default") not in summary.read_text()
    drift_issue(tmp_path, no_change_plan(), env)
    assert summary.read_text().endswith("No drift in workspace default.\n")


def test_rejected_token_and_bad_workspace_are_one_line_errors_without_the_token(tmp_path, fake, env):
    env["GITHUB_TOKEN"] = TOKEN + "-revoked"
    result = drift_issue(tmp_path, small_plan(), env)
    assert result.exit_code == 1 and "401 Bad credentials" in str(result.exception)
    assert TOKEN not in str(result.exception)
    env["GITHUB_TOKEN"] = TOKEN
    fake.requests.clear()
    result = drift_issue(tmp_path, small_plan(), env, "--workspace", "prod -->")
    assert result.exit_code == 1 and "--workspace 'prod -->': not a workspace name" in str(result.exception)
    assert fake.requests == []


def test_the_scheduled_flow_end_to_end(tmp_path: Path, sandbox: Sandbox, fake: FakeGitHub) -> None:
    """The real commands as drift.yml runs them: an out-of-band edit, plan --refresh exits 2, an issue opens;
    once undone, the plan exits 0 and the issue is closed."""
    project = broadstreet_project(tmp_path / "project", sandbox.url, campaigns=1)
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0
    campaign_id = LocalFileStore(project).read().id_of("bs-main:campaign/camp0")
    edited = httpx.put(
        f"{sandbox.url}/broadstreet/api/1/campaigns/{campaign_id}",
        params={"access_token": "x"},
        json={"end_date": "2026-12-31"},
    )
    edited.raise_for_status()
    plan_file = project / "plan.json"
    github_env = {
        **os.environ,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": fake.base_url,
        "GITHUB_ACTIONS": "true",
    }
    for name in ("GITHUB_EVENT_PATH", "GITHUB_STEP_SUMMARY", "RECONCILER_GITHUB_AUTHOR"):
        github_env.pop(name, None)

    def check() -> tuple[int, subprocess.CompletedProcess[str]]:
        plan = run_reconciler(project, "plan", "--refresh", "--detailed-exitcode", "--out", str(plan_file))
        report = subprocess.run(
            [sys.executable, "-m", "reconciler", "github", "drift-issue", "--plan", str(plan_file)],
            capture_output=True,
            text=True,
            env=github_env,
            timeout=60,
        )
        assert report.returncode == 0, report.stderr
        assert TOKEN not in report.stdout + report.stderr
        return plan.returncode, report

    code, report = check()
    assert code == 2
    [issue] = ours(fake)
    assert report.stdout == f"Opened {issue['html_url']}\n"
    assert "bs-main:campaign/camp0 was changed outside reconciler: end\\_date" in issue["body"]
    assert '!     end_date = "2026-12-31" -> "2026-08-31"' in issue["body"]

    assert run_reconciler(project, "apply", "--auto-approve", "--refresh").returncode == 0
    code, report = check()
    assert code == 0
    assert report.stdout.startswith(f"Closed {issue['html_url']}")
    assert issue["state"] == "closed"
