"""Operator basics: the request log, `validate --format json`, `show PLANFILE`, shell completion of
addresses, a saved plan applied without a second question, --lock-timeout on every command that locks."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import httpx
import pytest

from reconciler.cli import cli, main
from reconciler.github.client import GitHubClient
from reconciler.providers.http import redact_target, shown_url
from reconciler.state import LocalFileStore
from tests import github_fake
from tests.conftest import SPECS
from tests.e2e import TOKEN, Sandbox, broadstreet_project, run_reconciler
from tests.test_apply_prompt import apply_in_a_terminal
from tests.test_cli import write_state

fake_server = github_fake.fake_server
fake = github_fake.fake

SECRETS = {  # how each platform sends it: Broadstreet and Meta in the query, TikTok in a header, Snapchat in a form
    "BROADSTREET_API_TOKEN": "bs-query-t0ken-5a1e",
    "META_ACCESS_TOKEN": "meta-query-t0ken-77c2",
    "TIKTOK_ACCESS_TOKEN": "tiktok-header-t0ken-9d0b",
    "SNAP_REFRESH": "snap-refresh-t0ken-3f3f",
    "SNAP_ID": "snap-client-id",
    "SNAP_SECRET": "snap-client-s3cret-8e8e",
}
SPECS_OF_TARGETS = [doc for doc in SPECS.split("---") if "kind: Target" in doc]
REQUEST_LINE = re.compile(r"^Debug: (GET|POST|PUT|PATCH|DELETE) (https?://\S+) -> (\d{3}) in \d+ ms \(attempt (\d+)\)$")


def reconciler(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess, with this module's credentials and `env` over them."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "-C", str(project), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **SECRETS, **env},
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


# -- the request log ------------------------------------------------------------------------------------


def test_debug_logs_each_request_with_no_secret_from_query_header_or_form(project: Path) -> None:
    result = reconciler(project, "--log-level", "debug", "apply", "--sandbox", "--auto-approve")
    assert result.returncode == 0, result.stderr
    lines = [m for line in result.stderr.splitlines() if (m := REQUEST_LINE.match(line))]
    assert len(lines) >= 20  # at least one per resource created
    platforms = {m[2].split("/")[3] for m in lines}  # http://sandbox.invalid/PLATFORM/...
    assert platforms == {"broadstreet", "meta", "tiktok", "snapchat"}
    assert {m[1] for m in lines} >= {"GET", "POST"}
    assert any("access_token=***" in m[2] for m in lines)  # the query's credential, masked
    output = result.stdout + result.stderr
    for name, value in SECRETS.items():
        assert name == "SNAP_ID" or value not in output, name
    assert "Access-Token" not in output and "Bearer" not in output  # headers are never logged
    assert "Debug:" not in result.stdout  # the log goes to stderr only


def test_downloads_of_imported_uploads_are_logged_without_their_query(project: Path, tmp_path: Path) -> None:
    assert reconciler(project, "apply", "--sandbox", "--auto-approve").returncode == 0
    adopting = tmp_path / "adopting"  # the targets alone, and the emulator's objects: everything is imported
    (adopting / "specs").mkdir(parents=True)
    (adopting / "state").mkdir()
    (adopting / "specs" / "targets.yaml").write_text("---".join(SPECS_OF_TARGETS))
    for data in (project / "state").glob("default.emulator.json*"):
        shutil.copy(data, adopting / "state" / data.name)
    result = reconciler(adopting, "--log-level", "debug", "import", "--sandbox")
    assert result.returncode == 0, result.stderr
    downloads = [m for line in result.stderr.splitlines() if (m := REQUEST_LINE.match(line)) and "/cdn/" in m[2]]
    assert downloads and all(m[1] == "GET" and m[3] == "200" and "?" not in m[2] for m in downloads)


def test_the_environment_sets_the_level_and_warning_is_the_default(project: Path) -> None:
    logged = reconciler(project, "apply", "--sandbox", "--auto-approve", RECONCILER_LOG="DEBUG")
    assert logged.returncode == 0 and any(REQUEST_LINE.match(line) for line in logged.stderr.splitlines())
    quiet = reconciler(project, "plan", "--sandbox", "--refresh")  # reads every object: no line of it
    assert quiet.returncode == 0 and "No changes" in quiet.stdout and "Debug:" not in quiet.stderr
    wrong = reconciler(project, "plan", RECONCILER_LOG="loud")
    assert wrong.returncode == 1 and "RECONCILER_LOG" in wrong.stderr and "'loud' is not one of" in wrong.stderr


def test_retried_requests_log_their_attempt(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    sandbox.control("POST", "faults", json={"platform": "broadstreet", "fault_rate": 0.3, "seed": 5})
    retried = set()
    for command in (("apply", "--auto-approve", "--parallelism", "1"), ("plan", "--refresh")):
        result = run_reconciler(project, "--log-level", "debug", *command)
        assert result.returncode == 0, result.stdout + result.stderr
        lines = [m for line in result.stderr.splitlines() if (m := REQUEST_LINE.match(line))]
        assert any(m[3].startswith("5") for m in lines)  # the faults, logged
        assert all(m[2].startswith(f"{sandbox.url}/broadstreet/api/1/") for m in lines)
        retried |= {m[1] for m in lines if int(m[4]) > 1}
        assert TOKEN not in result.stdout + result.stderr
    assert "GET" in retried and retried - {"GET"}  # reads retried by the client (refresh), writes by the executor


def test_the_github_client_logs_its_requests_without_the_token(
    fake: github_fake.FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add(github_fake.PR, "first")
    with caplog.at_level(logging.DEBUG, "reconciler"), GitHubClient(github_fake.TOKEN, fake.base_url) as client:
        assert [c.body for c in client.list_issue_comments(github_fake.REPO, github_fake.PR)] == ["first"]
    (line,) = [r.getMessage() for r in caplog.records if r.name == "reconciler.github.client"]
    path = f"/repos/{github_fake.REPO}/issues/{github_fake.PR}/comments?per_page=100"
    assert re.fullmatch(rf"GET {re.escape(fake.base_url)}\S*{re.escape(path)} -> 200 in \d+ ms \(attempt 1\)", line)
    assert github_fake.TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://h.example/a?token=abc,def&x=1", "https://h.example/a?token=***&x=1"),
        ("https://user:pa55word@h.example:8443/a?q=a%20b", "https://h.example:8443/a?q=a b"),
        ("https://h.example/a?access_token=s3cret&client_secret=x&sig=ok", None),
    ],
)
def test_shown_urls_carry_no_credential(url: str, shown: str | None) -> None:
    text = shown_url(httpx.URL(url))
    assert text == shown if shown else "s3cret" not in text and "client_secret=***" in text


def test_the_access_log_masks_parameters_named_as_credentials() -> None:
    assert redact_target("/a?token=x&signature=y&name=z") == "/a?token=***&signature=***&name=z"


# -- validate --format json -----------------------------------------------------------------------------


def test_validate_json_lists_each_problem_with_file_line_field_and_message(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "-C", str(project), "validate", "--format", "json")
    assert (code, json.loads(out)) == (0, [])
    assert "Warning: 3 creatives skipped" in err and "  - teaser (text/html) on meta-us" in err  # stdout: JSON only
    specs = project / "specs" / "main.yaml"
    broken = specs.read_text().replace("daily: 50.00", "daily: -5").replace("zone: home-lb", "zone: home-lx")
    specs.write_text(broken)
    code, out, _ = run(capsys, "-C", str(project), "validate", "--format", "json")
    problems = json.loads(out)
    assert code == 1 and [set(p) for p in problems] == [{"file", "line", "field", "message"}] * 2
    lines = broken.splitlines()
    by_field = {p["field"]: p for p in problems}
    assert by_field.keys() == {"budget.daily", "zone"}
    for field, text in (("budget.daily", "daily: -5"), ("zone", "zone: home-lx")):
        problem = by_field[field]
        assert problem["file"] == "specs/main.yaml" and text in lines[problem["line"] - 1]
    assert "did you mean `home-lb`" in by_field["zone"]["message"]


def test_validate_json_of_an_unreadable_project_is_an_error_not_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "-C", str(tmp_path), "validate", "--format", "json")
    assert (code, out) == (1, "") and "no specs/ directory" in err


# -- show PLANFILE --------------------------------------------------------------------------------------


def test_show_renders_a_saved_plan_as_plan_does_without_specs_or_state(
    project: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file = tmp_path_factory.mktemp("review") / "plan.json"
    printed = {}
    for output in ("text", "markdown"):
        code, printed[output], _ = run(capsys, "-C", str(project), "plan", "--format", output, "--out", str(plan_file))
        assert code == 0
    shutil.rmtree(project / "specs")  # what `show` needs is the file alone
    for output in ("text", "markdown"):
        code, out, _ = run(capsys, "show", str(plan_file), "--format", output)
        assert (code, out) == (0, printed[output].split("\nSaved the plan to")[0])
    code, out, _ = run(capsys, "show", str(plan_file), "--format", "json")
    assert (code, json.loads(out)) == (0, json.loads(plan_file.read_text()))
    assert "Plan: 20 to create" in run(capsys, "show", str(plan_file))[1]


def test_show_refuses_an_edited_plan_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"format_version": "1", "changes": []')
    code, out, err = run(capsys, "show", str(bad))
    assert code == 1 and out == "" and f"{bad}: invalid plan file" in err and "Traceback" not in err


# -- applying a saved plan ------------------------------------------------------------------------------


def test_a_saved_plan_applies_at_once_on_a_terminal(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "-C", str(project), "plan", "--sandbox", "--out", str(project / "plan.json"))[0] == 0
    code, screen = apply_in_a_terminal(project, None, str(project / "plan.json"))
    assert code == 0, screen
    assert "Apply these changes?" not in screen and "Apply complete: 20 done" in screen
    assert len(LocalFileStore(project, sandbox=True).read().resources) == 20


# -- shell completion -----------------------------------------------------------------------------------


def complete(project: Path, line: str, words: list[str] | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """What `reconciler` answers bash for `line` (the cursor at its end), run from `project`.

    `words`: the line as bash splits it (at `:` and `=` too); by default at spaces.
    """
    words = words if words is not None else line.split(" ")
    return subprocess.run(
        [sys.executable, "-m", "reconciler"],
        capture_output=True,
        text=True,
        cwd=project,
        env={
            **os.environ,
            "_RECONCILER_COMPLETE": "bash_complete",
            "COMP_WORDS": "\n".join(words),
            "COMP_CWORD": str(len(words) - 1),
            "COMP_LINE": line,
            "COMP_POINT": str(len(line)),
            **env,
        },  # fmt: skip
        timeout=60,
    )


def test_addresses_complete_from_the_state(project: Path) -> None:
    write_state(project)
    recorded = sorted(LocalFileStore(project).read().resources)
    campaigns = [a for a in recorded if ":campaign/" in a]
    assert len(campaigns) == 4
    # bash splits `bs-main:adv` into `bs-main`, `:`, `adv`, and replaces only the last word
    line, words = "reconciler state show bs-main:adv", ["reconciler", "state", "show", "bs-main", ":", "adv"]
    result = complete(project, line, words)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "plain,advertisement/banner\nplain,advertisement/teaser\nplain,advertiser/acme\n"
    line, words = "reconciler plan --target=meta-us:", ["reconciler", "plan", "--target", "=", "meta-us", ":"]
    meta = [address.removeprefix("meta-us") for address in recorded if address.startswith("meta-us:")]
    assert complete(project, line, words).stdout.splitlines() == [f"plain,{rest}" for rest in meta]
    zsh = {"_RECONCILER_COMPLETE": "zsh_complete", "COMP_WORDS": "reconciler apply --target ", "COMP_CWORD": "3"}
    answer = complete(project, "", [], **zsh).stdout.splitlines()  # type, value, help ("_": none) per candidate
    assert answer[1::3] == recorded and set(answer[::3]) == {"plain"}
    for line in ("reconciler state rm ", "reconciler state mv ", f"reconciler -C {project} apply --target "):
        result = complete(project, line, line.split(" "))
        assert [x for x in result.stdout.splitlines() if "campaign/" in x] == [f"plain,{a}" for a in campaigns], line


def test_completion_reads_the_state_the_command_line_names_and_never_fails_loudly(project: Path) -> None:
    write_state(project)
    elsewhere = project.parent
    # -C after the subcommand, the sandbox state (empty) and another workspace (none) are each their own
    assert "bs-main:zone/home-lb" in complete(elsewhere, f"reconciler state show -C {project} bs-main:z").stdout
    assert complete(project, "reconciler state --sandbox show bs-main:z").stdout.strip() == ""
    assert complete(project, "reconciler plan --workspace prod --target b").stdout.strip() == ""
    (project / "state" / "default.json").write_text("{not json")
    broken = complete(project, "reconciler state show b")
    assert (broken.returncode, broken.stdout.strip(), broken.stderr) == (0, "", "")
    no_project = complete(project / "specs", "reconciler state show b")
    assert (no_project.returncode, no_project.stdout.strip(), no_project.stderr) == (0, "", "")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_bash_script_completes_an_address_in_bash(project: Path) -> None:
    write_state(project)
    source = subprocess.run(
        [sys.executable, "-m", "reconciler"], capture_output=True, text=True,
        env={**os.environ, "_RECONCILER_COMPLETE": "bash_source"}, check=True,
    ).stdout  # fmt: skip
    assert "COMP_LINE" in source and "complete -o nosort -F _reconciler_completion reconciler" in source
    # What bash does on TAB after `reconciler state show tiktok-us:ad/`: the words split at `:`, then the function.
    script = source + (
        "COMP_LINE='reconciler state show tiktok-us:ad/'; COMP_POINT=${#COMP_LINE}\n"
        "COMP_WORDS=(reconciler state show tiktok-us : ad/); COMP_CWORD=5\n"
        '_reconciler_completion reconciler; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    script = script.replace("$1)", '"$PYTHON" -m reconciler)')  # the function runs the command it completes
    result = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, cwd=project,
                            env={**os.environ, "PYTHON": sys.executable}, timeout=60)  # fmt: skip
    assert result.stdout.splitlines() == ["ad/summer.banner"], result.stderr


# -- --lock-timeout -------------------------------------------------------------------------------------

# Every command that takes the workspace lock (grep `.lock(`: project.apply, importer, state/cli.py, cli.py).
LOCKING = ["apply", "import", "state rm", "state mv", "state import", "state push", "state pull"]


def test_every_command_that_locks_takes_lock_timeout() -> None:
    def options(path: str) -> set[str]:
        command: click.Command = cli
        for name in path.split():
            command = command.commands[name]  # type: ignore[attr-defined]
        return {opt for param in command.params for opt in param.opts}

    assert [path for path in LOCKING if "--lock-timeout" not in options(path)] == []


@pytest.mark.parametrize(
    "args",
    [
        ("apply", "--auto-approve"),
        ("import",),
        ("state", "rm", "bs-main:zone/home-lb"),
        ("state", "mv", "bs-main:zone/home-lb", "bs-main:zone/home-lb2"),
        ("state", "import", "bs-main:advertiser/acme", "1"),
    ],
)
def test_lock_timeout_waits_for_the_lock_then_names_its_holder(
    project: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    write_state(project)
    with LocalFileStore(project).lock("test"):
        code, _, err = run(capsys, "-C", str(project), *args, "--lock-timeout", "0.1s")
    assert code == 1 and f"locked by pid {os.getpid()}" in err and "(waited 0.1s for it)" in err, err
