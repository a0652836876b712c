"""`reconciler github ...`: commands run from GitHub Actions. The lead's main registers `github`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from reconciler.github.comment import post_plan_comment
from reconciler.plan.planfile import read_plan_file


@click.group()
def github() -> None:
    """Commands for GitHub Actions workflows."""


@github.command()
@click.option(
    "--plan",
    "plan_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Plan file written by `reconciler plan --out FILE`.",
)
@click.option(
    "--workspace",
    default=None,
    help="Workspace whose comment to create or edit (default: the global --workspace, else 'default').",
)
@click.pass_context
def comment(ctx: click.Context, plan_file: Path, workspace: str | None) -> None:
    """Post the plan as one sticky comment on the pull request, editing it on later runs.

    Uses GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_EVENT_PATH and GITHUB_API_URL;
    also appends the plan to GITHUB_STEP_SUMMARY when set. Prints the comment URL.

    \b
    Example (a pull_request workflow step):
      reconciler plan --out plan.json --detailed-exitcode || test $? -eq 2
      reconciler github comment --plan plan.json
    """
    plan = read_plan_file(plan_file)
    # The root group's --workspace, when the lead's main defines one and it was given.
    workspace = workspace or ctx.find_root().params.get("workspace") or "default"
    click.echo(post_plan_comment(plan, workspace, os.environ))
