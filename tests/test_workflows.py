"""The GitHub workflows and the composite action: schema-valid, zizmor-clean, pinned, least privilege."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION = ROOT / "action.yml"
BIN = Path(sys.executable).parent  # check-jsonschema and zizmor come with the test extras


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=120)


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def test_the_four_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["apply.yml", "ci.yml", "drift.yml", "plan.yml"]


def test_workflows_match_the_github_schema():
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_action_matches_the_github_schema():
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.github-actions", str(ACTION))
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing():
    result = run_tool("zizmor", "--offline", "--no-progress", "--color", "never", ".github/workflows", "action.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout, result.stdout


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit(path):
    uses = re.findall(r"uses:\s*(\S+)(.*)", path.read_text())
    assert uses
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref
        assert re.fullmatch(r"\s*# v\d+\.\d+\.\d+", comment), f"{ref}: add the version as `# vX.Y.Z`"


def test_plan_is_safe_for_forks():
    plan = load(ROOT / ".github" / "workflows" / "plan.yml")
    assert set(plan["on"]) == {"pull_request"}
    assert plan["on"]["pull_request"]["paths"] == ["specs/**"]
    assert plan["permissions"] == {}
    assert plan["jobs"]["workspaces"]["permissions"] == {"contents": "read"}
    assert plan["jobs"]["plan"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    # No platform secret: only the URL of a PostgreSQL state, in the environment that holds it.
    state_url = "${{ secrets.RECONCILER_STATE_URL }}"
    assert "secrets" not in str(plan).replace(state_url, "")
    for name in ("workspaces", "plan"):
        assert plan["jobs"][name]["environment"].split()[0] == "state"
    for job in plan["jobs"].values():
        checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
        assert checkout["with"]["persist-credentials"] is False


def _step(job: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if s.get("name") == name)


def _runs_per_workspace(workflow: dict[str, Any], job_name: str) -> dict[str, Any]:
    """The job runs once per workspace that the first job lists, each in a group of its own."""
    lister = workflow["jobs"]["workspaces"]
    assert "reconciler workspaces --format json" in _step(lister, "List the workspaces of the state")["run"]
    assert lister["outputs"] == {"workspaces": "${{ steps.list.outputs.workspaces }}"}
    job = workflow["jobs"][job_name]
    assert job["needs"] == "workspaces"
    assert job["strategy"]["matrix"] == {"workspace": "${{ fromJSON(needs.workspaces.outputs.workspaces) }}"}
    assert job["strategy"]["fail-fast"] is False
    assert "${{ matrix.workspace }}" in job["concurrency"]["group"]
    # The name reaches scripts only as an environment variable, never interpolated into them.
    assert job["env"] == {"WORKSPACE": "${{ matrix.workspace }}"}
    assert "matrix." not in str([s.get("run", "") for s in job["steps"]])
    return job


def test_plan_comments_once_per_workspace():
    plan = load(ROOT / ".github" / "workflows" / "plan.yml")
    job = _runs_per_workspace(plan, "plan")
    assert job["concurrency"] == {
        "group": "plan-${{ github.event.pull_request.number }}-${{ matrix.workspace }}",
        "cancel-in-progress": True,
    }
    assert '--workspace "$WORKSPACE" plan --out plan.json' in _step(job, "Plan")["run"]
    assert _step(job, "Upload the plan")["with"]["name"] == "plan-${{ matrix.workspace }}"
    comment = _step(job, "Comment the plan on the pull request")["run"]
    assert comment == 'reconciler github comment --plan plan.json --workspace "$WORKSPACE"'


def test_drift_runs_on_a_schedule_per_workspace_with_least_privilege():
    drift = load(ROOT / ".github" / "workflows" / "drift.yml")
    assert set(drift["on"]) == {"schedule", "workflow_dispatch"}
    [schedule] = drift["on"]["schedule"]
    assert len(schedule["cron"].split()) == 5
    assert drift["permissions"] == {}
    assert drift["jobs"]["workspaces"]["permissions"] == {"contents": "read"}
    assert drift["jobs"]["workspaces"]["if"] == "github.ref == 'refs/heads/main'"
    job = _runs_per_workspace(drift, "drift")
    assert job["concurrency"] == {"group": "reconciler-drift-${{ matrix.workspace }}", "cancel-in-progress": False}
    # Issues are written only here, and the platform secrets reach only the plan step.
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    assert job["environment"] == "drift"
    plan = _step(job, "Plan against the live platforms")
    assert 'reconciler --workspace "$WORKSPACE" plan --refresh --detailed-exitcode --out plan.json' in plan["run"]
    assert [s["name"] for s in job["steps"] if "secrets" in str(s)] == [plan["name"]]
    report = _step(job, "Open, update or close the drift issue")
    assert report["run"] == 'reconciler github drift-issue --plan plan.json --workspace "$WORKSPACE"'
    assert report["env"] == {"GITHUB_TOKEN": "${{ github.token }}"}
    assert _step(job, "Upload the plan")["with"]["name"] == "drift-${{ matrix.workspace }}"
    for each in drift["jobs"].values():
        checkout = next(s for s in each["steps"] if s.get("uses", "").startswith("actions/checkout@"))
        assert checkout["with"]["persist-credentials"] is False


def test_apply_runs_each_workspace_alone_applies_only_the_reviewed_plan_and_reports_it():
    apply = load(ROOT / ".github" / "workflows" / "apply.yml")
    assert apply["on"]["push"] == {"branches": ["main"], "paths": ["specs/**"]}
    assert set(apply["on"]["workflow_dispatch"]["inputs"]) == {"workspace", "digest"}
    assert apply["permissions"] == {}
    jobs = apply["jobs"]
    assert set(jobs) == {"workspaces", "apply", "report"}
    assert jobs["workspaces"]["if"] == "github.ref == 'refs/heads/main'"
    assert "reconciler workspaces --format json" in str(jobs["workspaces"]["steps"])
    assert jobs["workspaces"]["permissions"] == {"contents": "read"}

    job = jobs["apply"]
    assert job["needs"] == "workspaces"
    assert job["strategy"]["matrix"] == {"workspace": "${{ fromJSON(needs.workspaces.outputs.list) }}"}
    assert job["concurrency"] == {"group": "reconciler-apply-${{ matrix.workspace }}", "cancel-in-progress": False}
    assert job["environment"] == "production"
    assert job["permissions"] == {"contents": "write", "pull-requests": "read"}
    # Platform secrets reach only the apply step, and it applies only the reviewed digest.
    with_secrets = [s for s in job["steps"] if "secrets" in str(s)]
    assert [s["name"] for s in with_secrets] == ["Apply"]
    assert '--expect-digest "$DIGEST"' in with_secrets[0]["run"]
    assert "secrets" not in str(job.get("env", {}))
    assert "reconciler github reviewed-digest" in str(job["steps"])
    assert "state/$WORKSPACE.history" in str(job["steps"])

    # Only the job without platform secrets may write to pull requests.
    report = jobs["report"]
    assert report["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "secrets" not in str(report)
    assert "--apply-result" in str(report["steps"])


def test_every_dependency_is_pinned_and_every_install_uses_the_pins():
    """A merge applies with the versions CI tested: constraints.txt pins each one, and each install uses it."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not NAME==VERSION"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    for requirement in wanted:
        name = re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", requirement).group()).lower()
        assert name in pins, f"{name} is not pinned in constraints.txt: run `make lock`"
    for path in [*WORKFLOWS, ROOT / "action.yml", ROOT / "Makefile"]:
        for install in [line for line in path.read_text().splitlines() if "pip install" in line]:
            if "--upgrade pip" in install or ".lock-venv" in install:  # pip itself; `make lock` resolves afresh
                continue
            assert "-c " in install and "constraints.txt" in install, f"{path.name}: {install}"
