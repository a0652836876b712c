"""`reconciler github comment` against a local fake GitHub API over real HTTP, and annotations."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from reconciler.errors import ReconcilerError, SpecIssue
from reconciler.github.annotations import format_annotation, in_github_actions
from reconciler.github.cli import github
from reconciler.github.client import GitHubClient
from reconciler.github.comment import COMMENT_LIMIT, cut_markdown, marker
from reconciler.model import Action, Change, Plan, RecordedResource, Resource, TargetConfig
from reconciler.plan.planfile import plan_to_json
from reconciler.plan.render.markdown import render_markdown
from reconciler.plan.render.text import NO_CHANGES

TOKEN = "ghs_s3cr3tT0kenValue1234567890"
REPO = "acme/ads"
PR = 17
PAGE_CAP = 2  # the fake serves at most this many comments per page, to exercise pagination


# --- fake GitHub API ---------------------------------------------------------------------------


@dataclass
class FakeGitHub:
    """Issue comments of one repository, as GitHub's REST API serves them."""

    base_url: str = ""
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1000

    def reset(self) -> None:
        self.comments.clear()
        self.requests.clear()

    def add(self, number: int, body: str) -> dict[str, Any]:
        self.next_id += 1
        comment = {
            "id": self.next_id,
            "body": body,
            "html_url": f"https://github.example/{REPO}/pull/{number}#issuecomment-{self.next_id}",
        }
        self.comments.setdefault(number, []).append(comment)
        return comment

    def app(self) -> Starlette:
        def denied(request: Request) -> JSONResponse | None:
            self.requests.append((request.method, request.url.path))
            if request.headers.get("authorization") != f"Bearer {TOKEN}":
                return JSONResponse({"message": "Bad credentials"}, status_code=401)
            if request.headers.get("x-github-api-version") != "2022-11-28":
                return JSONResponse({"message": "Unsupported API version"}, status_code=400)
            if f"{request.path_params['owner']}/{request.path_params['repo']}" != REPO:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return None

        def too_long(body: str) -> JSONResponse | None:
            if len(body) <= COMMENT_LIMIT:
                return None
            error = {"field": "body", "message": "body is too long (maximum is 65536 characters)"}
            return JSONResponse({"message": "Validation Failed", "errors": [error]}, status_code=422)

        async def issue_comments(request: Request) -> JSONResponse:
            if problem := denied(request):
                return problem
            number = int(request.path_params["number"])
            if request.method == "POST":
                body = (await request.json())["body"]
                return too_long(body) or JSONResponse(self.add(number, body), 201)
            per_page = min(int(request.query_params.get("per_page", 30)), PAGE_CAP)
            page = int(request.query_params.get("page", 1))
            items = self.comments.get(number, [])
            headers = {}
            if page * per_page < len(items):
                url = request.url.include_query_params(per_page=per_page, page=page + 1)
                headers["Link"] = f'<{url}>; rel="next"'
            return JSONResponse(items[(page - 1) * per_page : page * per_page], headers=headers)

        async def edit_comment(request: Request) -> JSONResponse:
            if problem := denied(request):
                return problem
            comment_id = int(request.path_params["comment_id"])
            body = (await request.json())["body"]
            if problem := too_long(body):
                return problem
            for comment in (c for items in self.comments.values() for c in items):
                if comment["id"] == comment_id:
                    comment["body"] = body
                    return JSONResponse(comment)
            return JSONResponse({"message": "Not Found"}, status_code=404)

        return Starlette(
            routes=[
                Route("/repos/{owner}/{repo}/issues/{number:int}/comments", issue_comments, methods=["GET", "POST"]),
                Route("/repos/{owner}/{repo}/issues/comments/{comment_id:int}", edit_comment, methods=["PATCH"]),
            ]
        )


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # A path prefix, as on GitHub Enterprise (https://HOST/api/v3).
    fake.base_url = f"http://127.0.0.1:{port}/api/v3"
    app = Starlette()
    app.mount("/api/v3", fake.app())
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the fake GitHub API did not start")
        threading.Event().wait(0.01)
    yield fake
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture()
def fake(fake_server: FakeGitHub) -> FakeGitHub:
    fake_server.reset()
    return fake_server


# --- plans -------------------------------------------------------------------------------------

TARGETS = {
    "bs-main": TargetConfig("bs-main", "broadstreet", {"network_id": 85}, {"token_env": "BROADSTREET_API_TOKEN"}),
    "meta-us": TargetConfig("meta-us", "meta", {"ad_account_id": "act_1"}, {"token_env": "META_ACCESS_TOKEN"}),
}


def _create(target: str, type_: str, name: str, attributes: dict[str, Any]) -> Change:
    address = f"{target}:{type_}/{name}"
    resource = Resource(address, target, TARGETS[target].platform, type_, name, attributes)
    return Change(address, target, type_, Action.CREATE, None, attributes, desired=resource)


def _update(target: str, type_: str, name: str, before: dict[str, Any], after: dict[str, Any]) -> Change:
    address = f"{target}:{type_}/{name}"
    resource = Resource(address, target, TARGETS[target].platform, type_, name, after)
    recorded = RecordedResource(address, "42", type_, target, before)
    changed = tuple(k for k in after if before.get(k) != after[k])
    return Change(address, target, type_, Action.UPDATE, before, after, changed, desired=resource, recorded=recorded)


def small_plan() -> Plan:
    changes = [
        _create("bs-main", "advertiser", "acme", {"name": "ACME Corp", "web_home_url": "https://acme.example"}),
        _update(
            "meta-us",
            "campaign",
            "acme-summer",
            {"name": "acme-summer", "status": "PAUSED"},
            {"name": "acme-summer", "status": "ACTIVE"},
        ),
    ]
    return Plan(changes, lineage="5f0c", serial=3, targets=dict(TARGETS))


def big_plan(campaigns: dict[str, int], warnings: int = 0) -> Plan:
    """`campaigns[target]` created campaigns of about 500 characters of markdown each, plus warnings."""
    changes = [
        _create(
            target, "campaign", f"campaign-{i:04d}", {f"field_{k}": f"value {k} of campaign {i}" for k in range(12)}
        )
        for target, count in campaigns.items()
        for i in range(count)
    ]
    notes = [f"creative banner-{i:05d} has a format meta-us cannot show; skipped there" for i in range(warnings)]
    return Plan(changes, notes, lineage="5f0c", serial=3, targets=dict(TARGETS))


def no_change_plan() -> Plan:
    attributes = {"name": "ACME Corp"}
    address = "bs-main:advertiser/acme"
    recorded = RecordedResource(address, "7", "advertiser", "bs-main", attributes)
    change = Change(address, "bs-main", "advertiser", Action.NOOP, attributes, attributes, recorded=recorded)
    return Plan([change], lineage="5f0c", serial=3, targets=dict(TARGETS))


# --- running the command -----------------------------------------------------------------------


@pytest.fixture()
def env(tmp_path: Path, fake: FakeGitHub) -> dict[str, str | None]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "pull_request": {"number": PR}}))
    # Every variable the command reads, set explicitly so a CI runner's own values never leak in.
    return {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": fake.base_url,
        "GITHUB_STEP_SUMMARY": None,
    }


def run_comment(tmp_path: Path, plan: Plan, env: dict[str, str | None], *args: str):
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan_to_json(plan)))
    return CliRunner().invoke(github, ["comment", "--plan", str(plan_file), *args], env=env)


def ours(fake: FakeGitHub, workspace: str = "default") -> list[dict[str, Any]]:
    return [c for c in fake.comments.get(PR, []) if c["body"].startswith(marker(workspace))]


def test_first_run_creates_the_comment_and_second_run_edits_it(tmp_path, fake, env):
    for i in range(3):  # other people's comments, so ours is found on a later page
        fake.add(PR, f"LGTM {i}")
    fake.add(PR, f"{marker('staging')}\nthe staging workspace's plan")

    first = run_comment(tmp_path, small_plan(), env)
    assert first.exit_code == 0, first.output
    [comment] = ours(fake)
    assert first.output.strip() == comment["html_url"]
    assert "bs-main:advertiser/acme" in comment["body"]
    assert ("POST", f"/api/v3/repos/{REPO}/issues/{PR}/comments") in fake.requests

    plan = small_plan()
    plan.changes.append(_create("bs-main", "zone", "home-leaderboard", {"name": "Homepage leaderboard"}))
    fake.requests.clear()
    second = run_comment(tmp_path, plan, env)
    assert second.exit_code == 0, second.output
    [edited] = ours(fake)
    assert edited["id"] == comment["id"]
    assert second.output.strip() == comment["html_url"]
    assert "bs-main:zone/home-leaderboard" in edited["body"]
    assert ("PATCH", f"/api/v3/repos/{REPO}/issues/comments/{comment['id']}") in fake.requests
    assert not any(method == "POST" for method, _ in fake.requests)
    # Pagination was followed: ours sits on the third page of two.
    assert sum(method == "GET" for method, _ in fake.requests) == 3
    # The other workspace's comment and the others are untouched.
    assert len(fake.comments[PR]) == 5
    assert ours(fake, "staging")[0]["body"].endswith("the staging workspace's plan")


def test_workspace_option_gets_its_own_comment(tmp_path, fake, env):
    assert run_comment(tmp_path, small_plan(), env).exit_code == 0
    result = run_comment(tmp_path, small_plan(), env, "--workspace", "staging")
    assert result.exit_code == 0, result.output
    assert len(ours(fake)) == 1
    assert len(ours(fake, "staging")) == 1


def test_issue_comment_event_uses_the_issue_number(tmp_path, fake, env):
    Path(env["GITHUB_EVENT_PATH"]).write_text(json.dumps({"issue": {"number": 9, "pull_request": {}}}))
    result = run_comment(tmp_path, small_plan(), env)
    assert result.exit_code == 0, result.output
    assert len(fake.comments[9]) == 1


def _balanced(markdown: str) -> None:
    fences = [line for line in markdown.splitlines() if re.match(r"^ {0,3}(```|~~~)", line)]
    assert len(fences) % 2 == 0, "an unclosed code fence"
    opened = len(re.findall(r"<details[\s>]", markdown))
    assert opened == markdown.count("</details>")


def test_oversize_plan_drops_whole_target_sections(tmp_path, fake, env):
    plan = big_plan({"bs-main": 10, "meta-us": 300})
    assert len(render_markdown(plan)) > 2 * COMMENT_LIMIT  # really too big for one comment

    result = run_comment(tmp_path, plan, env)
    assert result.exit_code == 0, result.output  # the fake, like GitHub, refuses bodies over the limit
    [comment] = ours(fake)
    body = comment["body"]
    assert len(body) <= COMMENT_LIMIT
    _balanced(body)
    assert "bs-main:campaign/campaign-0009" in body  # the section that fits is whole
    assert "meta-us:campaign/" not in body  # the one that does not is dropped, never cut mid-diff
    assert "1 more target omitted" in body


def test_oversize_summary_is_cut_on_a_line_with_a_note(tmp_path, fake, env):
    plan = big_plan({"bs-main": 5}, warnings=2000)
    full = render_markdown(plan)
    result = run_comment(tmp_path, plan, env)
    assert result.exit_code == 0, result.output
    [comment] = ours(fake)
    body = comment["body"]
    assert len(body) <= COMMENT_LIMIT
    _balanced(body)
    text = body.removeprefix(marker("default") + "\n")
    note = r"\n\n> Plan truncated: (\d+) characters omitted\. The full plan is in the workflow run's artifacts\.\n$"
    match = re.search(note, text)
    assert match
    kept = text[: match.start() + 1]
    assert full.startswith(kept)  # whole lines of the plan, nothing rewritten
    assert int(match.group(1)) == len(full) - len(kept)


def test_cut_never_leaves_a_fence_or_details_block_open():
    markdown = (
        "# plan\n"
        "<details><summary>t</summary>\n\n"
        "````diff\n+ a\n```\n<details>\n+ b\n````\n\n"
        "</details>\n"
        "after\n"
        "~~~\nx\n~~~\n"
    )
    safe_ends = {len("# plan\n"), markdown.index("after"), markdown.index("~~~"), len(markdown)}
    for budget in range(len(markdown) + 1):
        kept = cut_markdown(markdown, budget)
        assert len(kept) <= budget
        assert len(kept) in safe_ends or kept == ""
        assert len(kept) == max(end for end in (0, *safe_ends) if end <= budget)


def test_no_changes_is_one_line(tmp_path, fake, env):
    result = run_comment(tmp_path, no_change_plan(), env)
    assert result.exit_code == 0, result.output
    [comment] = ours(fake)
    assert comment["body"].splitlines() == [marker("default"), NO_CHANGES]


def test_step_summary_gets_the_same_markdown(tmp_path, fake, env):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    assert run_comment(tmp_path, small_plan(), env).exit_code == 0
    [comment] = ours(fake)
    written = summary.read_text()
    assert written.startswith("earlier step\n")  # appended, never overwritten
    assert comment["body"].removeprefix(marker("default") + "\n").strip() in written
    assert "<!--" not in written


@pytest.mark.parametrize("name", ["GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_EVENT_PATH"])
def test_missing_environment_variable_is_named(tmp_path, fake, env, name):
    env[name] = None
    result = run_comment(tmp_path, small_plan(), env)
    assert isinstance(result.exception, ReconcilerError)
    assert f"{name} is not set" in str(result.exception)
    assert TOKEN not in str(result.exception) and TOKEN not in result.output
    assert fake.requests == []


def test_rejected_token_is_never_shown(tmp_path, fake, env):
    env["GITHUB_TOKEN"] = TOKEN + "-revoked"
    result = run_comment(tmp_path, small_plan(), env)
    assert isinstance(result.exception, ReconcilerError)
    message = str(result.exception)
    assert "401" in message and "Bad credentials" in message
    assert TOKEN not in message and TOKEN not in result.output


def test_github_validation_errors_are_reported_with_their_details(fake):
    with GitHubClient(TOKEN, fake.base_url) as client, pytest.raises(ReconcilerError) as error:
        client.create_issue_comment(REPO, PR, "x" * (COMMENT_LIMIT + 1))
    assert str(error.value) == (
        f"GitHub API POST /api/v3/repos/{REPO}/issues/{PR}/comments failed: "
        "422 Validation Failed (body is too long (maximum is 65536 characters))"
    )


def test_event_without_a_pull_request_is_explained(tmp_path, fake, env):
    Path(env["GITHUB_EVENT_PATH"]).write_text(json.dumps({"ref": "refs/heads/main"}))
    result = run_comment(tmp_path, small_plan(), env)
    assert isinstance(result.exception, ReconcilerError)
    assert "pull_request.number" in str(result.exception)


def test_unreadable_plan_file_is_explained(tmp_path, fake, env):
    result = CliRunner().invoke(github, ["comment", "--plan", str(tmp_path / "missing.json")], env=env)
    assert isinstance(result.exception, ReconcilerError)
    assert "missing.json" in str(result.exception)


# --- annotations -------------------------------------------------------------------------------


def test_annotation_format():
    issue = SpecIssue("specs/x.yaml", 12, "budget.daily", "must be greater than 0")
    assert format_annotation(issue) == (
        "::error file=specs/x.yaml,line=12,title=Spec error in budget.daily::must be greater than 0"
    )


def test_annotation_escaping():
    issue = SpecIssue("specs/a,b:c.yaml", 3, "audience", "100% wrong:\r\nuse a list, like [US]")
    assert format_annotation(issue) == (
        "::error file=specs/a%2Cb%3Ac.yaml,line=3,title=Spec error in audience"
        "::100%25 wrong:%0D%0Ause a list, like [US]"
    )


def test_annotation_without_line_or_field():
    assert format_annotation(SpecIssue("specs/x.yaml", 0, "", "duplicate name")) == (
        "::error file=specs/x.yaml,title=Spec error::duplicate name"
    )


def test_in_github_actions():
    assert in_github_actions({"GITHUB_ACTIONS": "true"})
    assert not in_github_actions({"GITHUB_ACTIONS": "false"})
    assert not in_github_actions({})
