"""Issue 8.7: the files of different roles and workspaces never share a name, whatever the names."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.project import Project
from reconciler.state.local import LocalFileStore, workspace_files
from tests.e2e import run_reconciler

# Names chosen to look like another workspace's file of another role.
TRICKY = ["default", "demo", "sandbox-demo", "demo-sandbox", "emulator", "demo-emulator", "journal", "lock", "json",
          "x", "x-journal", "x-lock", "x-json", "x_emulator", "0", "state", "sandbox", "x-sandbox", "x_sandbox_json"]


def test_no_two_files_of_any_roles_or_workspaces_share_a_path(tmp_path: Path) -> None:
    owners: dict[Path, tuple[str, int]] = {}
    for workspace in TRICKY:
        for role, path in enumerate(workspace_files(tmp_path, workspace).all()):
            assert path not in owners, f"{path} is both {owners[path]} and {(workspace, role)}"
            owners[path] = (workspace, role)


def test_every_file_name_tells_its_workspace_and_role(tmp_path: Path) -> None:
    """The part before the first '.' is the workspace, the rest the role: unambiguous by construction."""
    roles = [
        {path.name.split(".", 1)[1] for path in workspace_files(tmp_path, workspace).all()} for workspace in TRICKY
    ]
    assert all(r == roles[0] for r in roles) and len(roles[0]) == 10
    for workspace in TRICKY:
        assert {p.name.split(".", 1)[0] for p in workspace_files(tmp_path, workspace).all()} == {workspace}


@pytest.mark.parametrize("name", ["a.b", "demo.emulator", "../x", "x/y", "", "Default", "-x", ".hidden", "a b"])
def test_a_name_that_could_collide_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ReconcilerError, match="invalid workspace name"):
        workspace_files(tmp_path, name)
    with pytest.raises(ReconcilerError, match="invalid workspace name"):
        LocalFileStore(tmp_path, name)


def test_the_store_and_the_sandbox_use_the_named_files(project: Path) -> None:
    files = workspace_files(project, "sandbox-demo")
    store = LocalFileStore(project, "sandbox-demo")
    assert (store.path, store.journal_path, store.lock_path) == (files.state, files.journal, files.lock)
    sandbox = LocalFileStore(project, "sandbox-demo", sandbox=True)
    assert (sandbox.path, sandbox.journal_path, sandbox.lock_path) == (
        files.sandbox_state, files.sandbox_journal, files.sandbox_lock
    )
    assert Project(project, "demo").sandbox_data != store.path
    assert all(Project(project, a).sandbox_data != LocalFileStore(project, b).path
               for a, b in itertools.product(TRICKY, TRICKY))


def test_sandbox_apply_of_one_workspace_leaves_the_lookalike_workspace_alone(project: Path) -> None:
    """`--workspace demo --sandbox` used to keep its emulator in the state file of workspace `sandbox-demo`."""
    applied = run_reconciler(project, "--workspace", "demo", "apply", "--sandbox", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert not (project / "state" / "sandbox-demo.json").exists()
    plan = run_reconciler(project, "--workspace", "sandbox-demo", "plan", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stderr  # its own, empty state: everything to create
    assert "Traceback" not in plan.stderr


def test_bad_workspace_on_the_command_line_is_a_one_line_error(project: Path) -> None:
    result = run_reconciler(project, "--workspace", "demo.emulator", "plan")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: invalid workspace name 'demo.emulator'")
    assert "Traceback" not in result.stderr
