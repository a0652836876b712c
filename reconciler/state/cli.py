"""State commands that talk to the backends: `state push`, `state pull`, `state unlock`, `workspaces`.

cli.py registers them (register()); they share its project options.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from reconciler.errors import ReconcilerError
from reconciler.project import Project
from reconciler.state.backend import STATE_URL_ENV, redact_url, workspaces
from reconciler.state.local import LocalFileStore, workspace_files
from reconciler.state.transfer import copy_state

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def register(
    root: click.Group,
    state: click.Group,
    *,
    project_of: Callable[[click.Context, bool], Project],
    project_options: Decorator,
    lock_timeout_option: Decorator,
) -> None:
    """Add the commands to `state` and `root`; `project_of(ctx, sandbox)` is the project the options name."""

    def state_project(ctx: click.Context) -> Project:
        return project_of(ctx, ctx.meta.get("sandbox_state", False))

    def files_and_backend(project: Project, command: str) -> tuple[LocalFileStore, str, str]:
        if not project.state_url:
            raise ReconcilerError(
                f"`state {command}` copies between state/ and the database --state-url or ${STATE_URL_ENV} names; "
                "neither is set"
            )
        files = LocalFileStore(project.directory, project.workspace, sandbox=project.sandbox,
                               lock_timeout=project.lock_timeout)  # fmt: skip
        snapshot = workspace_files(project.directory, project.workspace).of_state(project.sandbox)[0]
        return files, str(snapshot), f"{redact_url(project.state_url)} (workspace {project.workspace!r})"

    @state.command("push")
    @click.option("--force", is_flag=True, help="Replace a different or newer state in the database.")
    @lock_timeout_option
    @project_options
    @click.pass_context
    def push(ctx: click.Context, force: bool) -> None:
        """Copy state/WORKSPACE.json into the database RECONCILER_STATE_URL names.

        Refused if the database holds another state (another lineage) or a newer
        one (higher serial) for the workspace, unless --force.

        \b
        Example:
          RECONCILER_STATE_URL=postgresql://ci@db/reconciler reconciler state push --workspace prod
        """
        project = state_project(ctx)
        files, files_name, backend_name = files_and_backend(project, "push")
        done = copy_state(files, project.store, operation="state push", force=force,
                          source_name=files_name, target_name=backend_name)  # fmt: skip
        click.echo(done)

    @state.command("pull")
    @click.option("--force", is_flag=True, help="Replace a different or newer state/WORKSPACE.json.")
    @lock_timeout_option
    @project_options
    @click.pass_context
    def pull(ctx: click.Context, force: bool) -> None:
        """Copy the workspace's state from the database into state/WORKSPACE.json (atomically).

        Refused if the file holds another state or a newer one, unless --force.

        \b
        Example:
          reconciler state pull --workspace prod
        """
        project = state_project(ctx)
        files, files_name, backend_name = files_and_backend(project, "pull")
        done = copy_state(project.store, files, operation="state pull", force=force,
                          source_name=backend_name, target_name=files_name)  # fmt: skip
        click.echo(done)

    @state.command("unlock")
    @click.option("--force", is_flag=True, help="Remove the lock, whoever holds it.")
    @project_options
    @click.pass_context
    def unlock(ctx: click.Context, force: bool) -> None:
        """Remove the workspace's lock, left by a process that crashed or was killed.

        Without --force, only says who holds it. With PostgreSQL, a holder that is still
        running loses its lock session and every write after it is refused.

        \b
        Example:
          reconciler state unlock --force
        """
        store = state_project(ctx).store
        holder = store.lock_holder()
        if holder is None:
            click.echo("The state is not locked.")
            return
        if not force:
            status = ("that process is still running: wait for it to finish" if holder.alive
                      else "that process is gone: the lock is stale")  # fmt: skip
            raise ReconcilerError(
                f"the state is locked by {holder.describe()}; {status}. `reconciler state unlock --force` removes it"
            )
        done = store.break_lock()
        click.echo(f"Warning: {done or 'the lock was released meanwhile'}.", err=True)

    @root.command("workspaces")
    @click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True,
                  help="One name a line, or a JSON list of names (for a workflow matrix: fromJSON).")  # fmt: skip
    @project_options
    @click.pass_context
    def list_workspaces(ctx: click.Context, output: str) -> None:
        """List the workspaces the state store holds (state/ files, or the database's rows).

        \b
        Example:
          reconciler workspaces --format json     # ["default", "prod"]
        """
        project = project_of(ctx, False)
        names = workspaces(project.directory, project.state_url)
        click.echo(json.dumps(names) if output == "json" else "\n".join(names), nl=output == "json" or bool(names))
