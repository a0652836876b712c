"""-C and --workspace before or after the subcommand, and RECONCILER_WORKSPACE, through the real command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import run, write_state


def test_workspace_after_the_subcommand(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_state(project)  # the default workspace
    code, out, _ = run(capsys, "-C", str(project), "state", "list", "--workspace", "prod")
    assert code == 0 and out == ""
    code, out, _ = run(capsys, "-C", str(project), "state", "list")
    assert code == 0 and "bs-main:campaign/summer\t" in out
    # Both positions: the later one wins.
    code, out, _ = run(capsys, "-C", str(project), "--workspace", "prod", "state", "list", "--workspace", "default")
    assert code == 0 and "bs-main:campaign/summer\t" in out
    code, _, err = run(capsys, "-C", str(project), "--workspace", "default", "plan", "--workspace", "Bad")
    assert code == 1 and "invalid workspace name 'Bad'" in err.replace('"', "'")


def test_dir_after_the_subcommand(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path / "state")  # no specs/ here
    code, out, _ = run(capsys, "validate", "-C", str(project))
    assert code == 0 and out.startswith("Specs are valid")
    code, out, _ = run(capsys, "-C", str(tmp_path / "state"), "validate", "-C", str(project))
    assert code == 0 and out.startswith("Specs are valid")
    code, _, err = run(capsys, "-C", str(project), "validate", "-C", str(tmp_path / "state"))
    assert code == 1 and "no specs/ directory" in err


def test_workspace_from_the_environment(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_state(project)
    monkeypatch.setenv("RECONCILER_WORKSPACE", "prod")
    code, out, _ = run(capsys, "-C", str(project), "state", "list")
    assert code == 0 and out == ""
    for args in (["--workspace", "default", "state", "list"], ["state", "list", "--workspace", "default"]):
        code, out, _ = run(capsys, "-C", str(project), *args)
        assert code == 0 and "bs-main:campaign/summer\t" in out
    code, out, _ = run(capsys, "--help")
    assert "RECONCILER_WORKSPACE" in out
