"""`reconciler github ...`: commands run from GitHub Actions. The lead's main registers `github`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from reconciler.files import read_text
from reconciler.github.apply_result import apply_result_markdown, post_apply_result, read_events
from reconciler.github.client import GitHubClient
from reconciler.github.comment import ACTIONS_BOT, post_plan_comment
from reconciler.github.drift import report_drift
from reconciler.github.environment import (
    API_URL,
    EVENT_PATH,
    REPOSITORY,
    SHA,
    STEP_SUMMARY,
    TOKEN,
    Variable,
    current_commit,
    pull_request_context,
    repository_context,
)
from reconciler.github.merged import merged_pull_request, reviewed_digest
from reconciler.plan.planfile import read_plan_file


class GitHubCommand(click.Command):
    """A command that declares the environment variables it reads: --help lists them, the tests sweep them."""

    def __init__(self, *args: Any, environment: tuple[Variable, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environment = environment

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.environment:
            with formatter.section("Environment"):
                formatter.write_dl(
                    [(v.name, f"{v.help}{'' if v.required else ' (optional)'}") for v in self.environment]
                )
        super().format_epilog(ctx, formatter)


class GitHubGroup(click.Group):
    command_class = GitHubCommand


@click.group(cls=GitHubGroup)
def github() -> None:
    """Commands for GitHub Actions workflows."""


_AUTHOR = click.option(
    "--author",
    envvar="RECONCILER_GITHUB_AUTHOR",
    show_envvar=True,
    default=None,
    metavar="LOGIN",
    help=(
        "Login whose marked comment or issue is ours; others' are never used or edited. "
        f"Default: the token's own login (GET /user), else {ACTIONS_BOT} (GITHUB_TOKEN). "
        "Set it to APP-SLUG[bot] for a GitHub App token."
    ),
)
_WORKSPACE = click.option(
    "--workspace",
    default=None,
    help="Workspace whose plan comment to use (default: the global --workspace, else 'default').",
)


@github.command(environment=(TOKEN, REPOSITORY, EVENT_PATH, SHA, API_URL, STEP_SUMMARY))
@click.option(
    "--plan",
    "plan_file",
    # Not checked by click: read_plan_file explains a missing, unreadable or malformed file in one line.
    type=click.Path(path_type=Path),
    help="Plan file written by `reconciler plan --out FILE`: post or edit the sticky plan comment.",
)
@click.option(
    "--apply-result",
    "events_file",
    type=click.Path(path_type=Path),
    help="Events file written by `reconciler apply --events FILE`: post the outcome on the merged pull request.",
)
@click.option(
    "--log",
    "log_file",
    type=click.Path(path_type=Path),
    help="With --apply-result: what the workflow's reconciler steps wrote to stderr, quoted as the errors.",
)
@_WORKSPACE
@_AUTHOR
@click.pass_context
def comment(
    ctx: click.Context,
    plan_file: Path | None,
    events_file: Path | None,
    log_file: Path | None,
    workspace: str | None,
    author: str | None,
) -> None:
    """Post the plan as one sticky comment on the pull request, or an apply's outcome on the merged one.

    With --plan (a pull_request workflow), the workspace's comment is edited on later runs; it shows the
    plan's digest and keeps it in its hidden marker. With --apply-result (on the merge commit: GITHUB_SHA),
    a new comment on the pull request merged as that commit says what the apply did. Either appends its
    markdown to GITHUB_STEP_SUMMARY when set. Prints the comment URL.

    \b
    Examples:
      reconciler plan --out plan.json --detailed-exitcode || test $? -eq 2
      reconciler github comment --plan plan.json
      reconciler github comment --apply-result events.jsonl --log errors.log
    """
    if (plan_file is None) == (events_file is None):
        raise click.UsageError("give exactly one of --plan FILE and --apply-result EVENTS_FILE")
    if log_file is not None and events_file is None:
        raise click.UsageError("--log goes with --apply-result")
    workspace = _workspace(ctx, workspace)
    if plan_file is not None:
        plan = read_plan_file(plan_file)
        click.echo(post_plan_comment(plan, workspace, pull_request_context(os.environ), author))
        return
    assert events_file is not None
    report = read_events(events_file)
    log = read_text(log_file, "log file").strip() if log_file is not None else ""
    context = repository_context(os.environ)
    sha = current_commit(os.environ, _directory(ctx))
    click.echo(post_apply_result(apply_result_markdown(report, workspace, log), workspace, context, sha))


@github.command("drift-issue", environment=(TOKEN, REPOSITORY, API_URL, STEP_SUMMARY))
@click.option(
    "--plan",
    "plan_file",
    required=True,
    # Not checked by click: read_plan_file explains a missing, unreadable or malformed file in one line.
    type=click.Path(path_type=Path),
    help="Plan file written by `reconciler plan --refresh --out FILE`.",
)
@click.option(
    "--workspace",
    default=None,
    help="Workspace whose drift issue to open, update or close (default: the global --workspace, else 'default').",
)
@_AUTHOR
@click.pass_context
def drift_issue(ctx: click.Context, plan_file: Path, workspace: str | None, author: str | None) -> None:
    """Keep one open issue per workspace that shows the drift a `plan --refresh` found.

    A plan with changes opens the workspace's issue, or rewrites the open one; a plan
    without changes closes it with a comment. Also appends the plan to
    GITHUB_STEP_SUMMARY when set. Prints what it did and the issue URL.

    \b
    Example (a scheduled workflow step; plan exits 2 when there is drift):
      reconciler --workspace prod plan --refresh --detailed-exitcode --out plan.json || test $? -eq 2
      reconciler github drift-issue --plan plan.json --workspace prod
    """
    plan = read_plan_file(plan_file)
    context = repository_context(os.environ)
    click.echo(report_drift(plan, _workspace(ctx, workspace), context, author))


@github.command("reviewed-digest", environment=(TOKEN, REPOSITORY, SHA, API_URL))
@_WORKSPACE
@_AUTHOR
@click.pass_context
def reviewed_digest_command(ctx: click.Context, workspace: str | None, author: str | None) -> None:
    """Print the digest of the plan reviewed on the pull request merged as the current commit.

    Finds the pull request whose merge commit is GITHUB_SHA (else `git rev-parse HEAD`) and reads the digest
    kept by its sticky plan comment for the workspace. No such pull request, no comment, or a comment without
    a digest: exit 1, saying which. The pull request goes to stderr, the digest alone to stdout.

    \b
    Example (the apply workflow, on a push to main):
      digest=$(reconciler github reviewed-digest --workspace prod)
      reconciler --workspace prod apply --auto-approve --expect-digest "$digest"
    """
    workspace = _workspace(ctx, workspace)
    context = repository_context(os.environ)
    sha = current_commit(os.environ, _directory(ctx))
    with GitHubClient(context.token, context.api_url) as client:
        pull = merged_pull_request(client, context.repository, sha)
        digest = reviewed_digest(client, context.repository, pull, workspace, author)
    click.echo(f"Reviewed plan for workspace {workspace}: pull request #{pull.number} ({pull.html_url})", err=True)
    click.echo(digest)


def _workspace(ctx: click.Context, workspace: str | None) -> str:
    # The root group's --workspace, when the lead's main defines one and it was given.
    return workspace or ctx.find_root().params.get("workspace") or "default"


def _directory(ctx: click.Context) -> Path:
    return Path(ctx.find_root().params.get("project_dir") or ".")
