"""`reconciler github comment` against a local fake GitHub API over real HTTP, and annotations."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.responses import JSONResponse

from reconciler.errors import ReconcilerError, SpecIssue
from reconciler.github.annotations import format_annotation, in_github_actions
from reconciler.github.cli import github
from reconciler.github.client import GitHubClient
from reconciler.github.comment import COMMENT_LIMIT, cut_markdown, marked_digest, marker
from reconciler.model import Action, Change, Plan, RecordedResource, Resource, TargetConfig
from reconciler.plan.digest import plan_digest
from reconciler.plan.planfile import plan_to_json
from reconciler.plan.render.markdown import render_markdown
from reconciler.plan.render.text import NO_CHANGES
from tests import github_fake
from tests.github_fake import PR, REPO, TOKEN, FakeGitHub

fake_server = github_fake.fake_server
fake = github_fake.fake

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
        "RECONCILER_GITHUB_AUTHOR": None,
    }


def run_comment(tmp_path: Path, plan: Plan, env: dict[str, str | None], *args: str):
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan_to_json(plan)))
    return CliRunner().invoke(github, ["comment", "--plan", str(plan_file), *args], env=env)


def ours(fake: FakeGitHub, workspace: str = "default") -> list[dict[str, Any]]:
    """The workspace's plan comments written by the token's identity."""
    return [
        c
        for c in fake.comments.get(PR, [])
        if marked_digest(c["body"], workspace)[0] and (c["user"]["login"], c["user"]["type"]) == fake.identity
    ]


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
    assert sum(method == "GET" and "/comments" in path for method, path in fake.requests) == 3
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


# --- whose comment is ours ----------------------------------------------------------------------

# Anyone can copy the marker: a person, another bot; and a (hypothetical) non-bot account named like the bot.
STRANGERS = [
    ("mallory", "User"),
    ("github-actions", "User"),
    ("dependabot[bot]", "Bot"),
    ("github-actions[bot]", "User"),
]


@pytest.mark.parametrize("bot_comment", [False, True], ids=["only the stranger's", "and the bot's own"])
@pytest.mark.parametrize("stranger", STRANGERS, ids=lambda s: f"{s[0]}:{s[1]}")
def test_a_strangers_comment_with_the_marker_is_never_edited(tmp_path, fake, env, stranger, bot_comment):
    forged = fake.add(PR, f"{marker('default')}\nforged plan", author=stranger)
    own = fake.add(PR, f"{marker('default')}\nan earlier plan") if bot_comment else None

    result = run_comment(tmp_path, small_plan(), env)
    assert result.exit_code == 0, result.output
    assert forged["body"] == f"{marker('default')}\nforged plan"
    assert ("PATCH", fake.path(f"/repos/{REPO}/issues/comments/{forged['id']}")) not in fake.requests
    [comment] = ours(fake)
    assert "bs-main:advertiser/acme" in comment["body"]
    assert result.output.strip() == comment["html_url"]
    if own is not None:
        assert comment["id"] == own["id"]  # edited in place
        assert not any(method == "POST" for method, _ in fake.requests)


def test_a_personal_access_token_edits_its_own_comment(tmp_path, fake, env):
    """GET /user answers a PAT with its login; the Actions bot's comment is then someone else's."""
    fake.user_endpoint, fake.identity = True, ("octo-ci", "User")
    bots = fake.add(PR, f"{marker('default')}\nposted with GITHUB_TOKEN", author=("github-actions[bot]", "Bot"))
    mine = fake.add(PR, f"{marker('default')}\nan earlier plan")

    result = run_comment(tmp_path, small_plan(), env)
    assert result.exit_code == 0, result.output
    assert ("GET", fake.path("/user")) in fake.requests
    assert "bs-main:advertiser/acme" in mine["body"]
    assert bots["body"].endswith("posted with GITHUB_TOKEN")


@pytest.mark.parametrize("how", ["option", "environment"])
def test_an_app_token_finds_its_comment_by_the_author_override(tmp_path, fake, env, how):
    """An App token gets 403 from GET /user like GITHUB_TOKEN, but posts as APP-SLUG[bot]."""
    app = ("reconciler-app[bot]", "Bot")
    fake.identity = app
    earlier = fake.add(PR, f"{marker('default')}\nan earlier plan")
    bots = fake.add(PR, f"{marker('default')}\nposted with GITHUB_TOKEN", author=("github-actions[bot]", "Bot"))

    args: tuple[str, ...] = ()
    if how == "option":
        args = ("--author", app[0])
    else:
        env["RECONCILER_GITHUB_AUTHOR"] = app[0]
    result = run_comment(tmp_path, small_plan(), env, *args)
    assert result.exit_code == 0, result.output
    assert "bs-main:advertiser/acme" in earlier["body"]
    assert bots["body"].endswith("posted with GITHUB_TOKEN")
    assert len(fake.comments[PR]) == 2
    assert ("GET", fake.path("/user")) not in fake.requests  # the override is taken as given


@pytest.mark.parametrize("status", [403, 404])
def test_an_edit_refused_falls_back_to_a_new_comment_which_later_runs_edit(tmp_path, fake, env, status):
    old = fake.add(PR, f"{marker('default')}\nan earlier plan")
    patch_old = ("PATCH", fake.path(f"/repos/{REPO}/issues/comments/{old['id']}"))
    fake.broken[patch_old] = JSONResponse({"message": "Resource not accessible by integration"}, status)

    first = run_comment(tmp_path, small_plan(), env)
    assert first.exit_code == 0, first.output
    assert patch_old in fake.requests
    new = fake.comments[PR][-1]
    assert new["id"] != old["id"] and "bs-main:advertiser/acme" in new["body"]
    assert first.output.strip() == new["html_url"]

    fake.requests.clear()
    second = run_comment(tmp_path, small_plan(), env)
    assert second.exit_code == 0, second.output
    assert ("PATCH", fake.path(f"/repos/{REPO}/issues/comments/{new['id']}")) in fake.requests
    assert patch_old not in fake.requests  # the newest of ours is the one edited: no stack of comments
    assert len(fake.comments[PR]) == 2


def test_an_edit_failing_otherwise_is_an_error(tmp_path, fake, env):
    old = fake.add(PR, f"{marker('default')}\nan earlier plan")
    patch_old = ("PATCH", fake.path(f"/repos/{REPO}/issues/comments/{old['id']}"))
    fake.broken[patch_old] = JSONResponse({"message": "Server Error"}, 500)
    result = run_comment(tmp_path, small_plan(), env)
    assert isinstance(result.exception, ReconcilerError)
    assert "500 Server Error" in str(result.exception)
    assert len(fake.comments[PR]) == 1


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
    text = body.split("\n", 1)[1]
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
    assert comment["body"].splitlines() == [marker("default", plan_digest(no_change_plan())), NO_CHANGES]


def test_step_summary_gets_the_same_markdown(tmp_path, fake, env):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    assert run_comment(tmp_path, small_plan(), env).exit_code == 0
    [comment] = ours(fake)
    written = summary.read_text()
    assert written.startswith("earlier step\n")  # appended, never overwritten
    assert comment["body"].split("\n", 1)[1].strip() in written
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
