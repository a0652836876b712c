"""Issue 9.4: sandbox and live never share state; a target reached through another endpoint is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.providers.broadstreet import DEFAULT_BASE_URL
from reconciler.state import LocalFileStore
from tests.e2e import Sandbox, broadstreet_project, run_reconciler

REPO = Path(__file__).resolve().parent.parent


def files_of(project: Path) -> dict[str, bytes]:
    """Every file under state/ with its content: "nothing written" compares two of these."""
    state = project / "state"  # run history is a directory of files: a refused run writes none either
    return {str(p.relative_to(state)): p.read_bytes() for p in sorted(state.rglob("*")) if p.is_file()}


def set_api_url(project: Path, old: str, new: str | None) -> None:
    main = project / "specs" / "main.yaml"
    line = f"api_base_url: {old}\n"
    assert line in main.read_text()
    main.write_text(main.read_text().replace(line, f"api_base_url: {new}\n" if new else ""))


def test_a_sandbox_apply_leaves_the_live_state_alone_and_plans_against_its_own(project: Path) -> None:
    applied = run_reconciler(project, "apply", "--sandbox", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert not (project / "state" / "default.json").exists()
    assert LocalFileStore(project, sandbox=True).read().resources  # the sandbox's ids are in its own file

    live = run_reconciler(project, "plan", "--detailed-exitcode")
    assert live.returncode == 2, live.stderr  # nothing exists on the real APIs: everything to create
    assert "20 to create" in live.stdout
    assert run_reconciler(project, "plan", "--sandbox", "--detailed-exitcode").returncode == 0
    again = run_reconciler(project, "apply", "--sandbox", "--auto-approve")
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr
    assert not (project / "state" / "default.json").exists()


def test_a_sandbox_apply_does_not_touch_an_existing_live_state(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0
    live = (project / "state" / "default.json").read_bytes()
    applied = run_reconciler(project, "apply", "--sandbox", "--auto-approve")
    assert applied.returncode == 0 and "to create" in applied.stdout, applied.stdout + applied.stderr
    assert (project / "state" / "default.json").read_bytes() == live
    assert run_reconciler(project, "plan", "--detailed-exitcode").returncode == 0


@pytest.mark.parametrize("new_url", [None, "http://127.0.0.1:9/broadstreet/api/1"], ids=["removed", "other-port"])
def test_a_target_pointed_at_another_endpoint_is_refused(tmp_path: Path, sandbox: Sandbox, new_url: str | None) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    applied_url = f"{sandbox.url}/broadstreet/api/1"
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0
    assert LocalFileStore(project).read().endpoints == {"bs-main": applied_url}
    set_api_url(project, applied_url, new_url)
    before, writes = files_of(project), sandbox.writes()
    for command in (["plan"], ["plan", "--refresh"], ["apply", "--auto-approve"]):
        result = run_reconciler(project, *command)
        assert result.returncode == 1, result.stdout
        assert result.stderr.startswith(f"Error: target bs-main would be reached through {new_url or DEFAULT_BASE_URL}")
        assert f"were applied through {applied_url}" in result.stderr and "Nothing was written" in result.stderr
        assert f"api_base_url back at {applied_url}" in result.stderr and "Traceback" not in result.stderr
    assert files_of(project) == before
    assert sandbox.writes() == writes


def test_another_path_on_the_same_endpoint_is_accepted(tmp_path: Path, sandbox: Sandbox) -> None:
    """The path carries the API version, which an upgrade moves without moving any object."""
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0
    set_api_url(project, f"{sandbox.url}/broadstreet/api/1", f"{sandbox.url}/broadstreet/api/1/")
    result = run_reconciler(project, "plan", "--detailed-exitcode")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_sandbox_state_is_refused_by_a_live_run(project: Path) -> None:
    assert run_reconciler(project, "apply", "--sandbox", "--auto-approve").returncode == 0
    shutil.copy(project / "state" / "default.sandbox.json", project / "state" / "default.json")
    before = files_of(project)
    for command in (["plan"], ["apply", "--auto-approve"]):
        result = run_reconciler(project, *command)
        assert result.returncode == 1
        assert f"target bs-main would be reached through {DEFAULT_BASE_URL}" in result.stderr
        assert "were applied through sandbox:in-process" in result.stderr and "Run with --sandbox" in result.stderr
    assert files_of(project) == before


def test_a_live_state_is_refused_by_a_sandbox_run(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0
    shutil.copy(project / "state" / "default.json", project / "state" / "default.sandbox.json")
    before = files_of(project)
    for command in (["plan", "--sandbox"], ["apply", "--sandbox", "--auto-approve"]):
        result = run_reconciler(project, *command)
        assert result.returncode == 1
        assert "target bs-main would be reached through sandbox:in-process" in result.stderr
        assert f"were applied through {sandbox.url}/broadstreet/api/1" in result.stderr
        assert "Run without --sandbox" in result.stderr
    assert files_of(project) == before
    assert not (project / "state" / "default.emulator.json").exists()  # the emulator never ran


def test_a_state_without_endpoints_is_accepted_and_gets_them_with_its_next_write(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    assert run_reconciler(project, "apply", "--auto-approve").returncode == 0
    path = project / "state" / "default.json"
    data = json.loads(path.read_text())
    del data["endpoints"]  # as an older reconciler wrote it
    path.write_text(json.dumps(data))
    assert run_reconciler(project, "plan", "--detailed-exitcode").returncode == 0
    main = project / "specs" / "main.yaml"
    main.write_text(main.read_text().replace("end_date: 2026-08-31", "end_date: 2026-09-30"))
    result = run_reconciler(project, "apply", "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert LocalFileStore(project).read().endpoints == {"bs-main": f"{sandbox.url}/broadstreet/api/1"}


def test_git_ignores_the_sandbox_state_and_the_emulator_data_but_not_the_live_state(tmp_path: Path) -> None:
    shutil.copy(REPO / ".gitignore", tmp_path / ".gitignore")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    names = ["sandbox.json", "sandbox.journal", "sandbox.lock", "emulator.json", "emulator.json.journal", "json",
             "journal"]  # fmt: skip
    paths = [f"state/prod.{name}" for name in names]
    result = subprocess.run(["git", "-C", str(tmp_path), "check-ignore", *paths], capture_output=True, text=True)
    assert result.stdout.split() == paths[:5]  # the snapshot and its journal are what the apply workflow commits
