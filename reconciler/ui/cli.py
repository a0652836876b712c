"""`reconciler ui`: registered by reconciler/cli.py; the web stack is imported only when it runs
(every other command imports this module)."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from reconciler.project import Connect, Project

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def register(
    root: click.Group,
    *,
    project_of: Callable[[click.Context, bool], Project],
    project_options: Decorator,
    scrub: Callable[[str], str],
) -> None:
    """Add `ui` to `root`; `project_of(ctx, sandbox)` is the project the options name, `scrub` takes
    credentials out of an unforeseen error's text."""

    @root.command("ui")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; "
                  "any but a loopback one needs RECONCILER_UI_TOKEN.")  # fmt: skip
    @click.option("--port", default=8760, show_default=True, type=click.IntRange(0, 65535))
    @click.option("--sandbox", "use_sandbox", is_flag=True,
                  help="Show and apply to the in-process emulator (its own state under state/).")  # fmt: skip
    @project_options
    @click.pass_context
    def ui(ctx: click.Context, host: str, port: int, use_sandbox: bool) -> None:
        """A web dashboard: campaign health, the current plan, applies with live progress.

        Pages /, /plan, /runs, /runs/ID (live over server-sent events); JSON API
        POST /api/runs {"action": "plan"|"apply"}, GET /api/runs/ID, /api/status, /api/plan.
        An apply started here asks no question (the request is the confirmation) and is
        refused by policies and prevent_destroy as any apply is.

        \b
        Examples:
          reconciler ui --sandbox                      # http://127.0.0.1:8760/
          RECONCILER_UI_TOKEN=$(openssl rand -hex 32) reconciler ui --host 0.0.0.0
        """
        import uvicorn

        from reconciler.ui.app import create_app
        from reconciler.ui.security import TOKEN_ENV, check_bind

        token = os.environ.get(TOKEN_ENV) or None
        check_bind(host, token)
        project = project_of(ctx, use_sandbox)
        app = create_app(lambda: dataclasses.replace(project), _connector(use_sandbox),
                         token=token, bind_host=host, scrub=scrub)  # fmt: skip
        where = f"the sandbox, workspace {project.workspace}" if use_sandbox else f"workspace {project.workspace}"
        login = f"; log in with ${TOKEN_ENV}" if token else ""
        click.echo(f"Dashboard of {where} on http://{host}:{port}/{login} (Ctrl+C stops it)", err=True)
        # A short grace on stop: open event streams would otherwise hold the server up.
        uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)


def _connector(use_sandbox: bool) -> Callable[[Project], Connect]:
    """Per project, what its runs connect to. The sandbox is one emulator for the whole dashboard: two
    emulators over one data file (an apply and a status page at once) would overwrite each other's writes."""
    from reconciler import connect

    if not use_sandbox:
        return lambda project: lambda targets: connect.live(targets, os.environ)
    from reconciler.sandbox import create_app as create_sandbox

    @functools.cache
    def emulator(data: Path) -> ASGIApp:
        data.parent.mkdir(exist_ok=True)  # the project's own state/ directory
        return create_sandbox(data)

    def of(project: Project) -> Connect:
        app = emulator(project.sandbox_data)
        return lambda targets: connect.sandbox(targets, os.environ, app)

    return of
