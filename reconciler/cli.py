"""The `reconciler` command. Thin: parse arguments, call the core, render."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shlex
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler import connect, logs
from reconciler.apply import open_event_sink, render_summary
from reconciler.completion import address_completer
from reconciler.errors import ReconcilerError, SpecError
from reconciler.files import write_text
from reconciler.github.annotations import format_annotation, in_github_actions
from reconciler.github.cli import github
from reconciler.golive.enable import parse_duration
from reconciler.history.cli import register as register_history_commands
from reconciler.model import Plan, TargetConfig
from reconciler.plan.digest import parse_digest
from reconciler.plan.graph import draw_graph
from reconciler.plan.planfile import read_plan_file
from reconciler.plan.render import render_json, render_markdown, render_text
from reconciler.policy.violations import Override
from reconciler.project import Connect, Project
from reconciler.providers.base import ProviderError
from reconciler.spec.loader import read_var_file, var_value
from reconciler.state.backend import STATE_URL_ENV, redact_url
from reconciler.state.cli import register as register_state_commands
from reconciler.ui.cli import register as register_ui_command
from reconciler.warning_groups import warning_lines

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


WORKSPACE_ENV = "RECONCILER_WORKSPACE"


def _project(ctx: click.Context, sandbox: bool = False) -> Project:
    """The project that -C and --workspace name: after the subcommand if given there, else before it."""
    root = ctx.find_root().params
    directory = Path(ctx.meta.get("project_dir", root["project_dir"]))
    workspace = ctx.meta.get("workspace", root["workspace"])
    return Project(directory, workspace, sandbox, root["state_url"], ctx.meta.get("lock_timeout", 0.0))


# ADDR arguments and --target complete from the recorded state (reconciler/completion.py).
_complete_address = address_completer(_project)


def _given_after_the_subcommand(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[str(param.name)] = value  # ctx.meta is shared by the whole command line


def _project_dir_option(**kwargs: Any) -> Callable[..., Any]:
    return click.option(
        "-C",
        "project_dir",
        metavar="DIR",
        type=click.Path(file_okay=False),
        help="Project directory holding specs/ and state/ (default: current directory).",
        **kwargs,
    )


def project_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """-C and --workspace after the subcommand as well (`reconciler plan --workspace prod`); these win."""
    command = click.option(
        "--workspace",
        metavar="NAME",
        expose_value=False,
        callback=_given_after_the_subcommand,
        help=f"State workspace: state/NAME.json (default: ${WORKSPACE_ENV}, else 'default').",
    )(command)
    return _project_dir_option(expose_value=False, callback=_given_after_the_subcommand)(command)


def _parse_vars(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, Any]:
    """--var NAME=VALUE, VALUE read as one YAML scalar (by specs/vars.yaml's rules); the last of a NAME wins."""
    variables = {}
    for value in values:
        name, sep, content = value.partition("=")
        name = name.strip()
        if not sep or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", ctx, param)
        try:
            variables[name] = var_value(content)
        except ValueError as exc:
            hint = f"to pass it as text: --var {_as_text(name, content)}"
            raise click.BadParameter(f"{value!r}: {exc}; {hint}", ctx, param) from None
    return variables


class _Duration(click.ParamType):
    """A duration as Terraform writes them (40s, 5m, 1h30m), in seconds; anything else is a usage error."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = _Duration()


def lock_timeout_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--lock-timeout DURATION, read by _project."""
    return click.option(
        "--lock-timeout",
        metavar="DURATION",
        type=DURATION,
        expose_value=False,
        callback=_given_after_the_subcommand,
        help="Wait up to DURATION (30s, 5m) for the workspace lock (default: fail at once, naming its holder).",
    )(command)


def _as_text(name: str, content: str) -> str:
    """NAME=VALUE with VALUE in YAML single quotes, quoted for a POSIX shell."""
    argument = f"{name}='" + content.replace("'", "''") + "'"
    return f'"{argument}"' if not set(argument) & set('"$`\\!') else shlex.quote(argument)


def var_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--var-file and --var; the command receives them merged as `variables` (--var over the files, in order)."""

    @functools.wraps(command)
    def with_variables(*args: Any, var_files: tuple[Path, ...], variables: dict[str, Any], **kwargs: Any) -> Any:
        merged: dict[str, Any] = {}
        for path in var_files:
            merged.update(read_var_file(path))
        return command(*args, variables={**merged, **variables}, **kwargs)

    with_variables = click.option(
        "--var",
        "variables",
        multiple=True,
        metavar="NAME=VALUE",
        callback=_parse_vars,
        help="Template variable for *.j2 specs, VALUE read as YAML (7 a number, '007' text); "
        "overrides specs/vars.yaml and --var-file. Repeatable.",
    )(with_variables)
    return click.option(
        "--var-file",
        "var_files",
        multiple=True,
        metavar="FILE",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="YAML mapping of template variables, over specs/vars.yaml; repeatable, later files win.",
    )(with_variables)


def policy_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--override-policy NAME (repeatable) and --reason TEXT; the command receives `overrides`."""

    @functools.wraps(command)
    def with_overrides(*args: Any, override_policy: tuple[str, ...], reason: str | None, **kwargs: Any) -> Any:
        if override_policy and not (reason or "").strip():
            raise click.UsageError("--override-policy needs --reason TEXT: why this run may break the policy")
        if reason and not override_policy:
            raise click.UsageError("--reason goes with --override-policy NAME")
        overrides = [Override(name, (reason or "").strip()) for name in dict.fromkeys(override_policy)]
        return command(*args, overrides=overrides, **kwargs)

    with_overrides = click.option(
        "--reason", metavar="TEXT", help="Why the overridden policies may be broken; kept in the plan file."
    )(with_overrides)
    return click.option(
        "--override-policy",
        multiple=True,
        metavar="NAME",
        help="Set aside the soft Policy NAME for this run (needs --reason). Repeatable.",
    )(with_overrides)


def sandbox_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--sandbox",
        "use_sandbox",
        is_flag=True,
        help="Talk to the in-process emulator (kept under state/) instead of the real APIs.",
    )(command)


def _connector(project: Project, use_sandbox: bool) -> Connect:
    if use_sandbox:
        from reconciler.sandbox import create_app

        def to_sandbox(targets: Mapping[str, TargetConfig]) -> connect.Connection:
            project.sandbox_data.parent.mkdir(exist_ok=True)  # the project's own state/ directory
            return connect.sandbox(targets, os.environ, create_app(project.sandbox_data))

        return to_sandbox
    return lambda targets: connect.live(targets, os.environ)


def _quiet(ctx: click.Context) -> bool:
    return bool(ctx.find_root().params.get("quiet"))


def _note(ctx: click.Context, message: str) -> None:
    """A warning, hint or progress line: on stderr, and not at all with --quiet."""
    if not _quiet(ctx):
        click.echo(message, err=True)


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


@click.group(context_settings=CONTEXT_SETTINGS)
@_project_dir_option(default=".")
@click.option(
    "--workspace",
    default="default",
    show_default=True,
    metavar="NAME",
    envvar=WORKSPACE_ENV,
    show_envvar=True,
    help="State workspace: state/NAME.json. -C and --workspace may also follow the subcommand.",
)
@click.option(
    "--state-url",
    metavar="URL",
    envvar=STATE_URL_ENV,
    show_envvar=True,
    help="Keep the state in this PostgreSQL database (postgresql://USER:PASSWORD@HOST/DB) instead of state/.",
)
@click.option(
    "--log-level",
    type=click.Choice(logs.LEVELS, case_sensitive=False),
    default=logs.DEFAULT_LEVEL,
    show_default=True,
    envvar=logs.LOG_ENV,
    show_envvar=True,
    help="What to log on stderr; debug: every HTTP request (method, redacted URL, status, duration, attempt).",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="For scripts: print only errors and what the command is for; no warnings, progress or hints.",
)
@click.version_option(package_name="reconciler")
def cli(project_dir: str, workspace: str, state_url: str | None, log_level: str, quiet: bool) -> None:
    """Ad operations as code: plan and apply ad campaigns declared in YAML.

    \b
    Typical use:
      reconciler validate
      reconciler plan --out plan.json
      reconciler apply plan.json
    """
    # --quiet keeps the log to errors too, unless a level was asked for.
    logs.configure("error" if quiet and log_level == logs.DEFAULT_LEVEL else log_level)


@cli.command()
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: the problems as a list of {file, line, field, message} on stdout ([] when there are none).",
)
@var_option
@project_options
@click.pass_context
def validate(ctx: click.Context, output_format: str, variables: dict[str, Any]) -> None:
    """Check the specs: syntax, fields, references, assets. Sends no request.

    \b
    Examples:
      reconciler -C my-project validate --var env=prod
      reconciler validate --format json | jq -r '.[] | "\\(.file):\\(.line): \\(.message)"'
    """
    if output_format == "json":
        try:
            compiled = _project(ctx).compile(variables)
        except SpecError as error:
            click.echo(json.dumps([dataclasses.asdict(issue) for issue in error.issues], indent=2))
            ctx.exit(1)
        for line in warning_lines(compiled.warnings):
            _note(ctx, line)
        click.echo("[]")
        return
    compiled = _project(ctx).compile(variables)
    for line in warning_lines(compiled.warnings):
        _note(ctx, line)
    targets = len(compiled.targets)
    if not _quiet(ctx):
        click.echo(f"Specs are valid: {len(compiled.resources)} resources on {targets} target{'s' * (targets != 1)}.")


plan_format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="How to print the plan.",
)


@cli.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan as JSON to FILE.")
@plan_format_option
@click.option("--refresh", is_flag=True, help="Read the live objects first and plan to undo out-of-band edits.")
@click.option(
    "--compact", is_flag=True, help="Text format: the summary only (counts, spend, warnings), not each change."
)
@click.option(
    "--target",
    "target_patterns",
    multiple=True,
    metavar="ADDR",
    shell_complete=_complete_address,
    help="Plan only ADDR (glob allowed, e.g. 'bs-main:*') and what it depends on. Repeatable.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when the plan has changes, 0 when it has none (1 when it breaks a policy, as without it).",
)
@click.option(
    "--prune",
    is_flag=True,
    help="Delete what left the specs, even on Meta, TikTok and Snapchat (where it is otherwise paused and "
    "dropped from the state, keeping its reporting).",
)
@click.option(
    "--restore",
    "restore_run",
    metavar="RUN",
    help="Plan to bring the recorded objects back to how run RUN (`reconciler history`) left them; "
    "the specs are not read for the changes.",
)
@policy_options
@sandbox_option
@var_option
@project_options
@click.pass_context
def plan(
    ctx: click.Context,
    out: Path | None,
    output_format: str,
    refresh: bool,
    compact: bool,
    target_patterns: tuple[str, ...],
    detailed_exitcode: bool,
    prune: bool,
    restore_run: str | None,
    use_sandbox: bool,
    variables: dict[str, Any],
    overrides: list[Override],
) -> None:
    """Show what apply would create, update, replace and delete.

    Without --refresh no request is sent: the plan compares the specs with
    the recorded state only. A plan that breaks a Policy lists the violations
    and exits 1 (a soft policy: --override-policy NAME --reason TEXT).

    \b
    Examples:
      reconciler plan
      reconciler plan --out plan.json --detailed-exitcode
      reconciler plan --format markdown --target 'bs-main:campaign/*'
      reconciler plan --restore 20261202T051500Z-3fa2c1 --out restore.json
      reconciler plan --compact          # counts per target and type, spend, warnings
    """
    project = _project(ctx, use_sandbox)
    connect = _connector(project, use_sandbox) if refresh else None
    if restore_run is not None:
        if refresh or target_patterns or prune:
            raise click.UsageError("--restore plans from the run history: --refresh, --target and --prune do not apply")
        from reconciler.history.restore import restore_plan

        result = restore_plan(project, restore_run, variables, overrides)
    else:
        result = project.plan(variables, target_patterns, refresh_with=connect, prune=prune, overrides=overrides)
    if out:
        write_text(out, render_json(result), "plan file")
    if output_format == "json":
        click.echo(render_json(result), nl=False)
    elif output_format == "markdown":
        click.echo(render_markdown(result), nl=False)
    else:
        click.echo(render_text(result, color=_use_color(), compact=compact, warnings=not _quiet(ctx)), nl=False)
        if out and not _quiet(ctx):
            click.echo(f"\nSaved the plan to {out}. Apply exactly this plan with: reconciler apply {out}")
    if result.blocking_violations:
        ctx.exit(1)
    if detailed_exitcode and result.has_changes:
        ctx.exit(2)


@cli.command()
@click.argument("plan_file", metavar="PLANFILE", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@plan_format_option
def show(plan_file: Path, output_format: str) -> None:
    """Print a saved plan (`plan --out FILE`) as `plan` does; reads neither the specs nor the state.

    \b
    Examples:
      reconciler show plan.json
      reconciler show plan.json --format markdown > plan.md
    """
    saved = read_plan_file(plan_file)
    if output_format == "json":
        click.echo(render_json(saved), nl=False)
    elif output_format == "markdown":
        click.echo(render_markdown(saved), nl=False)
    else:
        click.echo(render_text(saved, color=_use_color()), nl=False)


@cli.command()
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (CI); a PLANFILE is applied without asking.")
@click.option(
    "--parallelism",
    default=10,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Operations in flight at once, across all targets.",
)
@click.option(
    "--on-error",
    type=click.Choice(["continue", "stop", "rollback"]),
    default="continue",
    show_default=True,
    help="continue: independent work goes on, dependents are skipped; stop: start nothing new; "
    "rollback: undo this run's changes.",
)
@click.option(
    "--events",
    metavar="FILE|-",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write one JSON line per event to FILE, or stdout with '-'.",
)
@click.option("--refresh", is_flag=True, help="Read the live objects first and undo out-of-band edits.")
@click.option(
    "--target",
    "target_patterns",
    multiple=True,
    metavar="ADDR",
    shell_complete=_complete_address,
    help="Apply only ADDR and its needs.",
)
@click.option(
    "--prune",
    is_flag=True,
    help="Delete what left the specs, even on Meta, TikTok and Snapchat (where it is otherwise paused and "
    "dropped from the state, keeping its reporting).",
)
@click.option(
    "--wait-for-review",
    "wait_for_review",
    metavar="DURATION",
    type=DURATION,
    help="Wait up to DURATION (40s, 5m, 1h) for the reviews of campaigns with activation: after_review.",
)
@click.option(
    "--expect-digest",
    metavar="SHA",
    callback=lambda _ctx, _param, value: _digest(value),
    help="Apply only if the plan made now has this digest (the reviewed plan's; sha256:... allowed).",
)
@policy_options
@sandbox_option
@var_option
@lock_timeout_option
@project_options
@click.pass_context
def apply(
    ctx: click.Context,
    plan_file: Path | None,
    auto_approve: bool,
    parallelism: int,
    on_error: str,
    events: str | None,
    refresh: bool,
    target_patterns: tuple[str, ...],
    prune: bool,
    wait_for_review: float | None,
    expect_digest: str | None,
    use_sandbox: bool,
    variables: dict[str, Any],
    overrides: list[Override],
) -> None:
    """Carry out the plan: create, update, replace and delete on the platforms.

    With PLANFILE (from `plan --out`), apply exactly that reviewed plan, without
    asking again; it is refused if the state changed since, or if its targets
    are not those the specs declare. Without it, plan now and ask first. A plan that breaks a
    Policy (judged again now, RECONCILER_NOW in tests) is refused before
    anything is sent; a saved plan keeps the overrides it was made with.
    State is saved after every operation; an interrupted apply is resumed
    safely by the next one. Campaigns with activation: after_review go live
    once every ad of theirs on a target is approved (--wait-for-review waits).

    \b
    Examples:
      reconciler apply
      reconciler plan --out plan.json && reconciler apply plan.json
      reconciler apply --sandbox --auto-approve      # against the local emulator
      reconciler apply --auto-approve --expect-digest "$(reconciler github reviewed-digest)"  # CI, on merge
    """
    project = _project(ctx, use_sandbox)
    if plan_file and (target_patterns or refresh or prune):
        raise click.UsageError("a saved plan is applied as it is: --target, --refresh and --prune go to `plan`")
    if plan_file and expect_digest:
        raise click.UsageError("--expect-digest plans afresh: give it without PLANFILE (a saved plan checks its own)")
    human = sys.stderr if events == "-" else sys.stdout
    quiet = _quiet(ctx)
    declined = False

    def confirm(plan: Plan) -> bool:
        nonlocal declined
        asks = not (auto_approve or plan_file is not None)
        if asks or not quiet:  # a question is never asked without the plan it is about
            click.echo(render_text(plan, color=_use_color(), warnings=not quiet), nl=False, file=human)
        if not plan.has_changes:
            return False
        if auto_approve or plan_file is not None:  # a saved plan was reviewed already: as Terraform, no second ask
            return True
        if not sys.stdin.isatty():
            raise ReconcilerError("apply needs confirmation: run it in a terminal, or pass --auto-approve")
        declined = not _ask("\nApply these changes?", err=events == "-")
        return not declined

    try:
        with open_event_sink(events, progress=not quiet) as sink:
            result = project.apply(
                connect=_connector(project, use_sandbox),
                events=sink,
                confirm=confirm,
                notify=lambda line: None if quiet else click.echo(line, file=human),
                plan_file=plan_file,
                variables=variables,
                target_patterns=target_patterns,
                refresh=refresh,
                parallelism=parallelism,
                on_error=on_error,  # type: ignore[arg-type]
                prune=prune,
                wait_for_review=wait_for_review,
                overrides=overrides,
                expect_digest=expect_digest,
            )
    except KeyboardInterrupt:  # the progress bar has taken itself off the screen
        raise Interrupted(_after_interrupted_apply(project)) from None
    if declined:
        raise ReconcilerError("apply cancelled: nothing was changed")
    if result is not None and not result.ok:
        if quiet:  # the failures are the errors --quiet still shows
            click.echo(render_summary(result).lstrip("\n"), nl=False, err=True)
        ctx.exit(1)


def _digest(value: str | None) -> str | None:
    try:
        return None if value is None else parse_digest(value)
    except ReconcilerError as error:
        raise click.BadParameter(str(error)) from None


class Interrupted(Exception):
    """Ctrl+C, with what it left behind; main() prints it and exits 130 (128 + SIGINT, as shells do)."""


def _ask(question: str, *, err: bool) -> bool:
    """A yes/no prompt that Ctrl+C interrupts at once (Ctrl+D declines)."""
    # The prompt runs inside asyncio.run, whose SIGINT handler only cancels the main task for
    # its next await: input() would go on waiting. The default handler raises right away.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return click.confirm(question, default=False, err=err)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise Interrupted("Interrupted: nothing was changed.") from None
        return False  # end of input
    finally:
        signal.signal(signal.SIGINT, previous)


def _after_interrupted_apply(project: Project) -> str:
    """What an interrupted apply left: every finished operation is recorded, the rest is pending."""
    pending = len(project.store.read().pending)
    if not pending:
        return "Interrupted: every finished operation is recorded in the state; `reconciler apply` carries on."
    were = "operation was" if pending == 1 else "operations were"
    return (
        f"Interrupted: {pending} {were} in flight; their outcome is unknown and the next "
        "`reconciler apply` resolves them by lookup before planning."
    )


@cli.command()
@click.option("--format", "output_format", type=click.Choice(["dot", "mermaid"]), default="dot", show_default=True)
@click.option("--changed-only", is_flag=True, help="Draw only what the plan changes, not the unchanged resources.")
@var_option
@project_options
@click.pass_context
def graph(ctx: click.Context, output_format: str, changed_only: bool, variables: dict[str, Any]) -> None:
    """Print the plan's dependency graph (Graphviz dot or Mermaid).

    A Mermaid graph past GitHub's rendering limit (50 KB) is drawn by target
    and type instead, with a note on stderr.

    \b
    Examples:
      reconciler graph | dot -Tsvg > plan.svg
      reconciler graph --changed-only --format mermaid
    """
    drawn, note = draw_graph(_project(ctx).plan(variables).changes, output_format, changed_only=changed_only)
    if note:
        _note(ctx, f"Note: {note}")
    click.echo(drawn, nl=False)


@cli.command()
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when any campaign is not healthy, 0 when all are.")
@sandbox_option
@var_option
@project_options
@click.pass_context
def status(
    ctx: click.Context, output_format: str, detailed_exitcode: bool, use_sandbox: bool, variables: dict[str, Any]
) -> None:
    """Per campaign and target: the platforms' review verdicts and health.

    critical: an ad was rejected or an operation was interrupted; warning: an
    ad awaits review, changes are not applied yet, or a campaign with
    activation: after_review is held paused; healthy otherwise.

    \b
    Example:
      reconciler status
      reconciler status --format json | jq '.[] | select(.health != "healthy")'
      reconciler status --detailed-exitcode   # 2: something needs attention
    """
    project = _project(ctx, use_sandbox)
    statuses = project.status(_connector(project, use_sandbox), variables)
    unhealthy = detailed_exitcode and any(s.health != "healthy" for s in statuses)
    if output_format == "json":
        click.echo(json.dumps([dataclasses.asdict(s) for s in statuses], indent=2))
        ctx.exit(2 if unhealthy else 0)
    width = max([len(s.campaign) for s in statuses] + [8])
    click.echo(f"{'CAMPAIGN':<{width}}  {'TARGET':<12} {'HEALTH':<9} APPROVED PENDING REJECTED")
    for s in statuses:
        reviews = s.reviews
        click.echo(
            f"{s.campaign:<{width}}  {s.target:<12} {s.health:<9} "
            f"{reviews['approved']:>8} {reviews['pending']:>7} {reviews['rejected']:>8}"
        )
        for note in s.notes:
            click.echo(f"{'':<{width}}    {note}")
    ctx.exit(2 if unhealthy else 0)


@cli.group()
@click.option("--sandbox", "use_sandbox", is_flag=True, help="The state of --sandbox runs (WORKSPACE.sandbox.json).")
@click.pass_context
def state(ctx: click.Context, use_sandbox: bool) -> None:
    """Inspect or edit the recorded state (state/WORKSPACE.json)."""
    ctx.meta["sandbox_state"] = use_sandbox


@state.command("list")
@project_options
@click.pass_context
def state_list(ctx: click.Context) -> None:
    """List recorded addresses with their platform ids.

    \b
    Example:
      reconciler state list
    """
    recorded = _project(ctx, ctx.meta.get("sandbox_state", False)).store.read()
    for address, resource in sorted(recorded.resources.items()):
        click.echo(f"{address}\t{resource.id}")
    for address, pending in sorted(recorded.pending.items()):
        click.echo(f"{address}\t(pending {pending.action} since {pending.started_at})")


@state.command("show")
@click.argument("address", shell_complete=_complete_address)
@project_options
@click.pass_context
def state_show(ctx: click.Context, address: str) -> None:
    """Show one recorded resource as JSON.

    \b
    Example:
      reconciler state show bs-main:campaign/acme-summer
    """
    recorded = _project(ctx, ctx.meta.get("sandbox_state", False)).store.read()
    resource = recorded.resources.get(address)
    if resource is None:
        raise ReconcilerError(f"{address} is not in the state; `reconciler state list` shows what is")
    click.echo(json.dumps({address: resource.to_json()}, indent=2, sort_keys=True))


@state.command("rm")
@click.argument("address", shell_complete=_complete_address)
@lock_timeout_option
@project_options
@click.pass_context
def state_rm(ctx: click.Context, address: str) -> None:
    """Forget a resource without touching the platform (the next plan creates it again).

    \b
    Example:
      reconciler state rm bs-main:placement/acme-summer.summer-728x90.home-leaderboard
    """
    store = _project(ctx, ctx.meta.get("sandbox_state", False)).store
    with store.lock("state rm"):
        if address not in store.read().resources:
            raise ReconcilerError(f"{address} is not in the state; `reconciler state list` shows what is")
        store.remove(address)
    click.echo(f"Removed {address} from the state. The object itself was not touched.")


@state.command("mv")
@click.argument("old", shell_complete=_complete_address)
@click.argument("new")
@lock_timeout_option
@project_options
@click.pass_context
def state_mv(ctx: click.Context, old: str, new: str) -> None:
    """Record the object at OLD under NEW (same target and type), keeping its platform id.

    
    Example:
      reconciler state mv meta-main:ad/spring.hero meta-main:ad/spring.hero-v2
    """
    store = _project(ctx, ctx.meta.get("sandbox_state", False)).store
    with store.lock("state mv"):
        store.move(old, new)
    click.echo(f"Moved {old} to {new} in the state. The object itself was not touched.")


@cli.command("import")
@click.argument("targets", nargs=-1, metavar="[TARGET...]")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the specs to FILE (under specs/) instead of specs/imported/TARGET.yaml.",
)
@click.option("--type", "types", multiple=True, metavar="TYPE", help="Only objects of this address type; repeatable.")
@click.option("--name-contains", metavar="TEXT", help="Only objects whose platform name contains TEXT (any case).")
@sandbox_option
@var_option
@lock_timeout_option
@project_options
@click.pass_context
def import_(
    ctx: click.Context,
    targets: tuple[str, ...],
    out: Path | None,
    types: tuple[str, ...],
    name_contains: str | None,
    use_sandbox: bool,
    variables: dict[str, Any],
) -> None:
    """Adopt live objects: write specs for them and record them in the state.

    Lists every object of each TARGET's account (every target when none is
    named), writes specs/imported/TARGET.yaml (and downloaded files under
    assets/imported/) and records the objects, so that the next plan has
    nothing to do. Objects already in the state are left alone; what the spec
    format cannot express is listed, not written. Nothing on a platform changes.

    \b
    Examples:
      reconciler import                           # every target
      reconciler import meta-us --type campaign --name-contains spring
      reconciler import --sandbox                 # the emulator's objects
    """
    from reconciler.importer import ImportRequest, run_import

    project = _project(ctx, use_sandbox)
    if out is not None:
        out = _inside_specs(project.directory, out)
    result = run_import(
        project.directory,
        project.store,
        _connector(project, use_sandbox),
        project.endpoint,
        ImportRequest(targets=targets, out=out, types=types, name_contains=name_contains),
        variables=variables,
        progress=lambda line: _note(ctx, line),
    )
    for skipped in result.skipped:
        click.echo(f"Skipped: {skipped.line()}")
    for path in result.files:
        click.echo(f"Wrote {path}")
    if not _quiet(ctx):
        click.echo("".join(f"{line}\n" for line in warning_lines(result.differences)), nl=False)
    counts = (
        f"{sum(result.listed.values())} live objects listed, {result.already} already in the state, "
        f"{len(result.skipped)} skipped"
    )
    if not result.recorded:
        click.echo(f"Nothing to import: {counts}.")
        return
    click.echo(f"Imported {len(result.recorded)} resources ({counts}). Run `reconciler plan` to check.")


def _inside_specs(directory: Path, out: Path) -> Path:
    """--out must be a spec file the loader reads: under the project's specs/, named *.yaml."""
    path = (Path.cwd() / out).resolve() if not out.is_absolute() else out.resolve()
    specs = (directory / "specs").resolve()
    if not path.is_relative_to(specs) or path.suffix not in (".yaml", ".yml"):
        raise click.BadParameter(f"{out}: must be a .yaml file under {directory / 'specs'}", param_hint="--out")
    return path


@state.command("import")
@click.argument("address")
@click.argument("platform_id", metavar="ID")
@sandbox_option
@var_option
@lock_timeout_option
@project_options
@click.pass_context
def state_import(
    ctx: click.Context, address: str, platform_id: str, use_sandbox: bool, variables: dict[str, Any]
) -> None:
    """Adopt the existing platform object ID for ADDRESS, which the specs declare.

    Reads the object and records it; nothing on the platform changes. The next
    plan shows only the fields where it differs from the spec.

    \b
    Example:
      reconciler state import meta-us:campaign/spring 120210000000001
    """
    from reconciler.importer.single import import_one

    project = _project(ctx, use_sandbox or ctx.meta.get("sandbox_state", False))
    recorded = import_one(project.directory, project.store, _connector(project, project.sandbox), project.endpoint,
                          address, platform_id, variables=variables)  # fmt: skip
    click.echo(
        f"Imported {address} (id {recorded.id}). The object itself was not touched; "
        "`reconciler plan` shows where it differs from the spec."
    )


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the spec kinds, for editors.

    \b
    Example (VS Code, yaml-language-server):
      reconciler schema > .reconciler.schema.json
      # then in a spec file: # yaml-language-server: $schema=../.reconciler.schema.json
    """
    from reconciler.spec.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))


@cli.group()
def sandbox() -> None:
    """The local emulator of the Broadstreet, Meta, TikTok and Snapchat APIs."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8750, show_default=True, type=click.IntRange(0, 65535))
# The ranges of reconciler.sandbox.faults.RANGES (not imported: it would load the sandbox for every command);
# click's FloatRange lets "nan" through, which the sandbox itself then refuses.
@click.option(
    "--latency-ms", default=0.0, show_default=True, type=click.FloatRange(0, 60_000), help="Delay per request."
)
@click.option("--rate-limit", type=click.FloatRange(0.01, 100_000), help="Requests/s per platform; 429 above.")
@click.option("--fault-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of requests failing with 5xx.")
@click.option(
    "--drop-response-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    help="Share of writes carried out whose response is then lost.",
)
@click.option(
    "--video-processing-ms",
    default=0.0,
    type=click.FloatRange(0, 600_000),
    help="How long a new Meta video stays in processing.",
)
@click.option("--seed", type=int, help="Seed for reproducible faults.")
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), help="Keep the objects in FILE across runs.")
def sandbox_serve(
    host: str,
    port: int,
    latency_ms: float,
    rate_limit: float | None,
    fault_rate: float,
    drop_response_rate: float,
    video_processing_ms: float,
    seed: int | None,
    data: Path | None,
) -> None:
    """Serve the emulated APIs on one port, plus the /__sandbox__ control API.

    Point a target at it with api_base_url, e.g.
    http://127.0.0.1:8750/broadstreet/api/1 for Broadstreet.

    \b
    Example:
      reconciler sandbox serve --port 8750 --latency-ms 20 --fault-rate 0.1 --seed 7
    """
    from reconciler.sandbox.server import serve

    serve(
        host,
        port,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        fault_rate=fault_rate,
        drop_response_rate=drop_response_rate,
        video_processing_ms=video_processing_ms,
        seed=seed,
        data_file=data,
    )


cli.add_command(github)
register_state_commands(
    cli, state, project_of=_project, project_options=project_options, lock_timeout_option=lock_timeout_option
)
register_history_commands(cli, project_of=_project, project_options=project_options)
register_ui_command(cli, project_of=_project, project_options=project_options, scrub=lambda text: _scrubbed(text))


BUG_ENV = "RECONCILER_DEBUG"


def main(argv: list[str] | None = None) -> None:
    """Entry point: an error is one line on stderr and exit 1, never a traceback; Ctrl+C exits 130."""
    try:
        code = cli.main(args=argv, prog_name="reconciler", standalone_mode=False)
    except SpecError as error:
        if in_github_actions(os.environ):
            for issue in error.issues:
                click.echo(format_annotation(issue))
        _fail(str(error))
    except (ReconcilerError, ProviderError) as error:
        _fail(str(error))
    except Interrupted as error:
        _interrupted(str(error))
    except click.exceptions.Abort as error:
        # click turns Ctrl+C into Abort; any other Abort is end of input at a prompt.
        if isinstance(error.__context__, KeyboardInterrupt):
            _interrupted("Interrupted.")
        _fail("Aborted.")
    except click.UsageError as error:
        hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
        _fail(f"{error.format_message()}{hint}")  # 1, not click's 2: 2 means "plan has changes"
    except click.ClickException as error:
        _fail(error.format_message())
    except KeyboardInterrupt:
        _interrupted("Interrupted.")
    except OSError as error:
        # A file the system refused (a state file that is a directory, a full disk): the user can act on it.
        where = f"{error.filename}: " if error.filename else ""
        _fail(f"{where}{error.strerror or error}")
    except Exception as error:  # the last line of defence: say it is a bug, in one line
        if os.environ.get(BUG_ENV):
            raise
        _fail(
            f"internal error (a bug in reconciler): {type(error).__name__}: {_scrubbed(str(error))}. Please report "
            f"it with the command you ran; {BUG_ENV}=1 shows the traceback."
        )
    sys.exit(code or 0)


def _scrubbed(text: str) -> str:
    """`text` without credentials: what an unforeseen error's message may carry (a URL with a token)."""
    from reconciler.providers.http import Redactor

    secret_names = ("TOKEN", "SECRET", "PASSWORD", "KEY")
    return redact_url(Redactor(v for k, v in os.environ.items() if any(n in k.upper() for n in secret_names))(text))


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _interrupted(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(130)
