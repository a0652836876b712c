"""What was reviewed is what is applied: the digest in the plan comment, `github reviewed-digest`,
`apply --expect-digest` against the sandbox, and `github comment --apply-result`, against a local
fake GitHub API over real HTTP."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.events import Event
from reconciler.cli import main
from reconciler.github.apply_result import apply_marker
from reconciler.github.comment import marker
from reconciler.plan.digest import plan_digest
from reconciler.plan.planfile import plan_to_json
from tests import github_fake
from tests.e2e import TOKEN as BROADSTREET_TOKEN
from tests.e2e import Sandbox, broadstreet_project, run_reconciler
from tests.github_fake import MERGE_SHA, PR, REPO, TOKEN, FakeGitHub
from tests.test_github import small_plan

fake_server = github_fake.fake_server
fake = github_fake.fake

STRANGER = ("mallory", "User")


@pytest.fixture()
def env(tmp_path: Path, fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Actions environment of a workflow run on MERGE_SHA; returns the event file (a pull request's)."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": PR}}))
    values = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_SHA": MERGE_SHA,
        "GITHUB_API_URL": fake.base_url,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in ("GITHUB_STEP_SUMMARY", "RECONCILER_GITHUB_AUTHOR", "RECONCILER_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    return event


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The real entry point in-process; the token never appears in what it prints."""
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    return int(exit_.value.code or 0), captured.out, captured.err


def error_line(code: int, out: str, err: str) -> str:
    assert code == 1, (out, err)
    [line] = err.splitlines()
    assert line.startswith("Error: ") and "Traceback" not in err
    return line


# --- the plan comment keeps the digest --------------------------------------------------------


def test_the_plan_comment_shows_its_digest_and_is_edited_again_with_a_new_one(tmp_path, env, fake, capsys):
    plan_file = tmp_path / "plan.json"
    plan = small_plan()
    plan_file.write_text(json.dumps(plan_to_json(plan)))
    assert run(capsys, "github", "comment", "--plan", str(plan_file))[0] == 0
    [comment] = fake.comments[PR]
    digest = plan_digest(plan)
    assert comment["body"].startswith(f"<!-- reconciler:plan workspace=default digest={digest} -->\n")
    assert f"Plan digest: `sha256:{digest}`" in comment["body"]

    plan.changes.pop()
    plan_file.write_text(json.dumps(plan_to_json(plan)))
    assert run(capsys, "github", "comment", "--plan", str(plan_file))[0] == 0
    [edited] = fake.comments[PR]  # found again by its marker, whatever digest it kept
    assert edited["id"] == comment["id"]
    assert edited["body"].startswith(marker("default", plan_digest(plan)) + "\n")
    assert plan_digest(plan) != digest


# --- reviewed-digest --------------------------------------------------------------------------


def test_reviewed_digest_prints_the_digest_of_the_merged_pull_requests_plan_comment(env, fake, capsys):
    fake.merge(PR - 1, merged=False)  # a pull request that only contains the commit
    fake.merge(PR - 2, merged=False)  # the listing is paged: ours is on the second page
    fake.merge(PR)
    for i in range(3):
        fake.add(PR, f"LGTM {i}")
    fake.add(PR, f"{marker('default', 'cd' * 32)}\na forged plan", author=STRANGER)
    fake.add(PR, f"{marker('staging', 'ef' * 32)}\nthe staging plan")
    fake.add(PR, f"{marker('default', 'ab' * 32)}\nthe reviewed plan")

    code, out, err = run(capsys, "github", "reviewed-digest")
    assert code == 0, err
    assert out == "ab" * 32 + "\n"  # the digest alone: `DIGEST=$(reconciler github reviewed-digest)`
    assert f"pull request #{PR}" in err
    assert run(capsys, "github", "reviewed-digest", "--workspace", "staging")[1] == "ef" * 32 + "\n"
    assert run(capsys, "--workspace", "staging", "github", "reviewed-digest")[1] == "ef" * 32 + "\n"
    pulls = fake.path(f"/repos/{REPO}/commits/{MERGE_SHA}/pulls")
    assert [r for r in fake.requests if r[1] == pulls] == [("GET", pulls)] * 6  # two pages per run


def test_reviewed_digest_without_a_merged_pull_request(env, fake, capsys):
    line = error_line(*run(capsys, "github", "reviewed-digest"))
    assert f"no pull request of {REPO} was merged as commit {MERGE_SHA[:12]}" in line
    assert "--expect-digest" in line

    fake.merge(PR, merged=False)
    line = error_line(*run(capsys, "github", "reviewed-digest"))
    assert f"#{PR} contain it but were not merged as it" in line


def test_reviewed_digest_without_our_plan_comment(env, fake, capsys):
    fake.merge(PR)
    fake.add(PR, f"{marker('default', 'cd' * 32)}\na forged plan", author=STRANGER)
    fake.add(PR, f"{marker('staging', 'ef' * 32)}\nanother workspace's plan")
    line = error_line(*run(capsys, "github", "reviewed-digest"))
    assert f"pull request #{PR}" in line and "has no plan comment for workspace default" in line
    assert "cd" * 32 not in line


def test_reviewed_digest_from_a_comment_without_a_digest(env, fake, capsys):
    fake.merge(PR)
    old = fake.add(PR, f"{marker('default')}\na plan from before the digest")
    line = error_line(*run(capsys, "github", "reviewed-digest"))
    assert "has no digest" in line and old["html_url"] in line


def test_reviewed_digest_reads_the_commit_from_git_without_github_sha(tmp_path, env, fake, capsys, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "specs").mkdir(parents=True)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "merge"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    fake.merge(PR, head)
    fake.add(PR, f"{marker('default', 'ab' * 32)}\nthe reviewed plan")
    monkeypatch.delenv("GITHUB_SHA")
    assert run(capsys, "-C", str(repo), "github", "reviewed-digest")[1] == "ab" * 32 + "\n"

    line = error_line(*run(capsys, "-C", str(tmp_path), "github", "reviewed-digest"))  # not a repository
    assert "GITHUB_SHA is not set and `git rev-parse HEAD`" in line


# --- apply --expect-digest against the sandbox ------------------------------------------------


def test_apply_applies_only_the_reviewed_digest(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    planned = run_reconciler(project, "plan", "--out", str(project / "plan.json"))
    assert planned.returncode == 0, planned.stderr
    digest = json.loads((project / "plan.json").read_text())["digest"]
    other = "0" * 64

    refused = run_reconciler(project, "apply", "--auto-approve", "--expect-digest", other)
    assert refused.returncode == 1
    assert f"sha256:{digest}" in refused.stderr and f"sha256:{other}" in refused.stderr
    assert "Nothing was sent" in refused.stderr and "review it" in refused.stderr
    assert sandbox.writes() == 0 and sandbox.objects() == []
    assert BROADSTREET_TOKEN not in refused.stdout + refused.stderr

    applied = run_reconciler(project, "apply", "--auto-approve", "--expect-digest", f"sha256:{digest.upper()}")
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete: 10 done" in applied.stdout
    assert len(sandbox.objects()) == 10


def test_expect_digest_usage_errors(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    run_reconciler(project, "plan", "--out", str(project / "plan.json"))
    digest = json.loads((project / "plan.json").read_text())["digest"]
    with_file = run_reconciler(
        project, "apply", str(project / "plan.json"), "--auto-approve", "--expect-digest", digest
    )
    assert with_file.returncode == 1 and "--expect-digest plans afresh" in with_file.stderr
    bad = run_reconciler(project, "apply", "--auto-approve", "--expect-digest", "abc123")
    assert bad.returncode == 1 and "'abc123' is not a plan digest" in bad.stderr
    assert sandbox.writes() == 0


# --- comment --apply-result -------------------------------------------------------------------


def events_file(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def posted(fake: FakeGitHub) -> str:
    [comment] = fake.comments[PR]
    assert comment["body"].startswith(apply_marker("default") + "\n")
    return comment["body"]


def test_apply_result_of_a_real_failing_apply_with_its_run_id(tmp_path, env, fake, capsys, sandbox):
    project = broadstreet_project(tmp_path / "project", sandbox.url, campaigns=1)
    sandbox.control("POST", "faults", json={"reject": [{"platform": "broadstreet", "type": "placement"}]})
    try:
        failed = run_reconciler(project, "apply", "--auto-approve", "--events", str(project / "events.jsonl"))
    finally:
        sandbox.control("POST", "faults", json={"reject": []})
    assert failed.returncode == 1
    lines = (project / "events.jsonl").read_text().splitlines()
    done = json.loads(lines[-1])
    assert done["event"] == "apply:done"
    run_id = done["run_id"]  # the run history's id of this apply
    assert (project / "state" / "default.history" / f"{run_id}.jsonl").is_file()
    events = events_file(tmp_path / "events.jsonl", [*map(json.loads, lines[:-1]), done])
    fake.merge(PR)

    code, out, err = run(capsys, "github", "comment", "--apply-result", str(events))
    assert code == 0, err
    body = posted(fake)
    assert out.strip() == fake.comments[PR][0]["html_url"]
    assert "❌ **Apply failed.**" in body
    assert f"| done | {done['counts']['done']} |" in body and f"| failed | {done['counts']['failed']} |" in body
    assert f"Run id: `{run_id}`: `reconciler history show {run_id}`" in body
    failures = [json.loads(line) for line in lines if json.loads(line)["event"] == "op:error"]
    assert len(failures) == 4
    for failure in failures:
        assert f"- create `{failure['address']}`: {failure['error_class']}: " in body
    assert TOKEN not in body and BROADSTREET_TOKEN not in body


def test_apply_result_of_a_killed_apply(tmp_path, env, fake, capsys):
    events = [
        Event("op:start", "bs-main:advertiser/acme", "create").to_json(),
        Event("op:done", "bs-main:advertiser/acme", "create", id="7").to_json(),
        Event("op:start", "bs-main:zone/top", "create").to_json(),
    ]
    path = events_file(tmp_path / "events.jsonl", events)
    with path.open("a") as file:
        file.write('{"event": "op:do')  # the line a SIGKILL cut short
    fake.merge(PR)
    assert run(capsys, "github", "comment", "--apply-result", str(path), "--workspace", "prod")[0] == 0
    [comment] = fake.comments[PR]
    body = comment["body"]
    assert body.startswith(apply_marker("prod") + "\n") and "workspace `prod`" in body
    assert "**The apply stopped before it finished** (killed or cancelled)" in body
    assert "| done | 1 |" in body


def test_apply_result_of_an_apply_refused_before_sending_quotes_the_errors(tmp_path, env, fake, capsys, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    log = tmp_path / "errors.log"
    log.write_text("Error: the plan made now has digest sha256:aa, not the reviewed sha256:bb: ...\n")
    fake.merge(PR)
    path = events_file(tmp_path / "events.jsonl", [])
    assert run(capsys, "github", "comment", "--apply-result", str(path), "--log", str(log))[0] == 0
    body = posted(fake)
    assert "❌ **The apply did not run: nothing was sent.**" in body
    assert "```\nError: the plan made now has digest sha256:aa, not the reviewed sha256:bb: ...\n```" in body
    assert body.split("\n", 1)[1] in summary.read_text()  # the job summary has it too, without the marker


def test_apply_result_of_an_apply_with_nothing_to_do(tmp_path, env, fake, capsys):
    fake.merge(PR)
    path = events_file(tmp_path / "events.jsonl", [])
    assert run(capsys, "github", "comment", "--apply-result", str(path))[0] == 0
    assert "✅ No changes: nothing to apply." in posted(fake)


def test_apply_result_refuses_a_garbled_events_file(tmp_path, env, fake, capsys):
    fake.merge(PR)
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(Event("op:start", "a", "create").to_json()) + "\nnot json\n{}\n")
    line = error_line(*run(capsys, "github", "comment", "--apply-result", str(path)))
    assert f"{path}:2: not a JSON line of `apply --events`" in line
    path.write_text(json.dumps(Event("op:start", "a", "create").to_json()) + '\n["op:done"]\n')
    assert f"{path}:2: not an apply event" in error_line(*run(capsys, "github", "comment", "--apply-result", str(path)))
    missing = tmp_path / "missing.jsonl"
    assert str(missing) in error_line(*run(capsys, "github", "comment", "--apply-result", str(missing)))
    assert fake.comments == {}


def test_apply_result_without_a_merged_pull_request_posts_nothing(tmp_path, env, fake, capsys):
    path = events_file(tmp_path / "events.jsonl", [])
    line = error_line(*run(capsys, "github", "comment", "--apply-result", str(path)))
    assert "no pull request of" in line
    assert fake.comments == {}


def test_comment_takes_exactly_one_of_plan_and_apply_result(tmp_path, env, fake, capsys):
    path = events_file(tmp_path / "events.jsonl", [])
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(plan_to_json(small_plan())))
    both = error_line(*run(capsys, "github", "comment", "--plan", str(plan), "--apply-result", str(path)))
    neither = error_line(*run(capsys, "github", "comment"))
    assert "exactly one of --plan FILE and --apply-result EVENTS_FILE" in both and neither == both
    log_alone = error_line(*run(capsys, "github", "comment", "--plan", str(plan), "--log", str(path)))
    assert "--log goes with --apply-result" in log_alone
    assert fake.requests == []
