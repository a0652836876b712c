"""The command line, offline: exit codes, output, errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.state import LocalFileStore
from tests.test_plan import applied


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


def write_state(project: Path) -> None:
    from reconciler.project import Project

    state = applied(Project(project).plan())
    store = LocalFileStore(project)
    with store.lock("test"):
        for address, resource in state.resources.items():
            store.record(address, resource)


def test_validate_reports_resources_and_warnings(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-C", str(project), "validate")
    assert code == 0
    assert out == "Specs are valid: 20 resources on 4 targets.\n"
    assert err == (
        "Warning: 3 creatives skipped on targets that cannot show them:\n"
        "  - teaser (text/html) on meta-us: meta cannot show text/html\n"
        "  - teaser (text/html) on tiktok-us: tiktok cannot show text/html\n"
        "  - teaser (text/html) on snap-us: snapchat cannot show text/html\n"
    )


def test_spec_error_exits_1_with_file_line_and_field(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = project / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("end_date: 2026-08-31", "end_date: 2026-05-01"))
    code, out, err = run(capsys, "-C", str(project), "plan")
    assert code == 1 and out == ""
    assert "specs/main.yaml:" in err and "end_date" in err and "Traceback" not in err


def test_spec_errors_become_annotations_in_github_actions(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    specs = project / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("size: 728x90", "size: big"))
    code, out, _ = run(capsys, "-C", str(project), "validate")
    assert code == 1
    assert out.startswith("::error file=specs/main.yaml,line=")
    assert "title=Spec error in size::" in out


def test_detailed_exitcode(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-C", str(project), "plan", "--detailed-exitcode")
    assert code == 2 and out.rstrip().endswith("Plan: 20 to create, 0 to update, 0 to replace, 0 to delete.")
    write_state(project)
    code, out, _ = run(capsys, "-C", str(project), "plan", "--detailed-exitcode")
    assert code == 0 and "No changes." in out


def test_plan_out_writes_the_json_contract(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = project / "plan.json"
    code, out, _ = run(capsys, "-C", str(project), "plan", "--out", str(out_file))
    assert code == 0 and "reconciler apply" in out
    data = json.loads(out_file.read_text())
    assert data["format_version"] == "1"
    assert data["summary"] == {"create": 20, "update": 0, "replace": 0, "delete": 0, "noop": 0}
    assert {"address", "target", "type", "action", "before", "after", "changed_fields", "depends_on"} <= set(
        data["changes"][0]
    )
    code, out, _ = run(capsys, "-C", str(project), "plan", "--format", "json")
    assert json.loads(out) == data


def test_plan_formats_and_no_color(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, text, _ = run(capsys, "-C", str(project), "plan")
    assert "\x1b[" not in text  # not a TTY
    _, markdown, _ = run(capsys, "-C", str(project), "plan", "--format", "markdown")
    assert markdown.startswith("### reconciler plan") and "<details>" in markdown


def test_usage_errors_exit_1(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "-C", str(project), "plan", "--format", "yaml")
    assert code == 1 and "Invalid value for '--format'" in err
    code, _, err = run(capsys, "-C", str(project / "nowhere"), "plan")
    assert code == 1 and "no specs/ directory" in err
    code, _, err = run(capsys, "-C", str(project), "plan", "--var", "novalue")
    assert code == 1 and "NAME=VALUE" in err


def test_state_list_show_rm(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_state(project)
    code, out, _ = run(capsys, "-C", str(project), "state", "list")
    assert code == 0 and len(out.splitlines()) == 20 and "bs-main:campaign/summer\t" in out
    code, out, _ = run(capsys, "-C", str(project), "state", "show", "bs-main:campaign/summer")
    shown = json.loads(out)["bs-main:campaign/summer"]
    assert shown["type"] == "campaign" and shown["attributes"]["end_date"] == "2026-08-31"
    code, out, _ = run(capsys, "-C", str(project), "state", "rm", "bs-main:campaign/summer")
    assert code == 0 and "not touched" in out
    code, _, err = run(capsys, "-C", str(project), "state", "show", "bs-main:campaign/summer")
    assert code == 1 and "not in the state" in err
    _, out, _ = run(capsys, "-C", str(project), "plan")
    assert "+ bs-main:campaign/summer" in out


def test_graph_formats(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, dot, _ = run(capsys, "-C", str(project), "graph")
    assert dot.startswith("digraph plan {") and '"bs-main:zone/home-lb" -> "bs-main:placement/' in dot
    _, mermaid, _ = run(capsys, "-C", str(project), "graph", "--format", "mermaid")
    assert mermaid.startswith("flowchart LR")


def test_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0 and "$schema" in schema


def test_every_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    commands = (["validate"], ["plan"], ["apply"], ["status"], ["graph"], ["state", "list"], ["state", "show"],
                ["state", "rm"], ["schema"], ["sandbox", "serve"], ["github", "comment"],
                ["github", "reviewed-digest"])  # fmt: skip
    for command in commands:
        code, out, _ = run(capsys, *command, "--help")
        assert code == 0 and "Example" in out, command


def test_installed_command_runs_as_a_process(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "-C", str(project), "plan", "--detailed-exitcode"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 2, result.stderr
    assert "Plan: 20 to create" in result.stdout


def test_an_unexpected_error_is_one_line_that_says_it_is_a_bug(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.project import Project

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("an invariant broke")

    monkeypatch.setattr(Project, "plan", broken)  # stands in for a bug: no input makes the real code do this
    code, out, err = run(capsys, "-C", str(project), "plan")
    assert code == 1 and out == ""
    assert err.startswith("Error: internal error (a bug in reconciler): RuntimeError: an invariant broke.")
    assert len(err.splitlines()) == 1 and "RECONCILER_DEBUG=1 shows the traceback" in err
    monkeypatch.setenv("RECONCILER_DEBUG", "1")
    with pytest.raises(RuntimeError, match="an invariant broke"):  # uncaught: Python prints the traceback
        main(["-C", str(project), "plan"])


def test_an_unexpected_errors_message_never_shows_a_credential(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.project import Project

    monkeypatch.setenv("META_ACCESS_TOKEN", "EAAB-very-secret-value-123")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("GET https://x.invalid/?access_token=abc123xyz failed with EAAB-very-secret-value-123")

    monkeypatch.setattr(Project, "plan", broken)
    code, _, err = run(capsys, "-C", str(project), "plan")
    assert code == 1 and "internal error" in err
    assert "abc123xyz" not in err and "EAAB-very-secret-value-123" not in err
