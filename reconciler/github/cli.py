"""`reconciler github ...`: commands run from GitHub Actions. The lead's main registers `github`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from reconciler.github.comment import ACTIONS_BOT, post_plan_comment
from reconciler.github.drift import report_drift
from reconciler.github.environment import (
    API_URL,
    EVENT_PATH,
    REPOSITORY,
    STEP_SUMMARY,
    TOKEN,
    Variable,
    pull_request_context,
    repository_context,
)
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


plan_option = click.option(
    "--plan",
    "plan_file",
    required=True,
    # Not checked by click: read_plan_file explains a missing, unreadable or malformed file in one line.
    type=click.Path(path_type=Path),
    help="Plan file written by `reconciler plan --out FILE`.",
)
author_option = click.option(
    "--author",
    envvar="RECONCILER_GITHUB_AUTHOR",
    show_envvar=True,
    default=None,
    metavar="LOGIN",
    help=(
        "Login whose marked comment or issue is edited; others' are never touched. "
        f"Default: the token's own login (GET /user), else {ACTIONS_BOT} (GITHUB_TOKEN). "
        "Set it to APP-SLUG[bot] for a GitHub App token."
    ),
)


def _workspace(ctx: click.Context, workspace: str | None) -> str:
    """The command's --workspace, else the root group's (when the lead's main defines one), else 'default'."""
    return workspace or ctx.find_root().params.get("workspace") or "default"


@github.command(environment=(TOKEN, REPOSITORY, EVENT_PATH, API_URL, STEP_SUMMARY))
@plan_option
@click.option(
    "--workspace",
    default=None,
    help="Workspace whose comment to create or edit (default: the global --workspace, else 'default').",
)
@author_option
@click.pass_context
def comment(ctx: click.Context, plan_file: Path, workspace: str | None, author: str | None) -> None:
    """Post the plan as one sticky comment on the pull request, editing it on later runs.

    Also appends the plan to GITHUB_STEP_SUMMARY when set. Prints the comment URL.

    \b
    Example (a pull_request workflow step):
      reconciler plan --out plan.json --detailed-exitcode || test $? -eq 2
      reconciler github comment --plan plan.json
    """
    plan = read_plan_file(plan_file)
    context = pull_request_context(os.environ)
    click.echo(post_plan_comment(plan, _workspace(ctx, workspace), context, author))


@github.command("drift-issue", environment=(TOKEN, REPOSITORY, API_URL, STEP_SUMMARY))
@plan_option
@click.option(
    "--workspace",
    default=None,
    help="Workspace whose drift issue to open, update or close (default: the global --workspace, else 'default').",
)
@author_option
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
