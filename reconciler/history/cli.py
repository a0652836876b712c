"""`reconciler history` (list the runs) and `reconciler history show RUN` (one run); cli.py registers them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from reconciler.history.records import OperationRecord, Run

if TYPE_CHECKING:
    from reconciler.project import Project

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
FORMAT = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)


def register(
    root: click.Group, *, project_of: Callable[[click.Context, bool], Project], project_options: Decorator
) -> None:
    """Add `history` to `root`; `project_of(ctx, sandbox)` is the project the options name."""

    @root.group(invoke_without_command=True)
    @click.option("--limit", type=click.IntRange(1), metavar="N", help="Show the N newest runs only.")
    @FORMAT
    @click.option("--sandbox", "use_sandbox", is_flag=True, help="The history of --sandbox runs.")
    @project_options
    @click.pass_context
    def history(ctx: click.Context, limit: int | None, output_format: str, use_sandbox: bool) -> None:
        """List the recorded applies, newest first: id, start, duration, who, commit, outcome, counts.

        Every apply that carries out changes is recorded in state/WORKSPACE.history/
        (one JSON lines file per run, committed with the state), or, with a state URL,
        in the database's reconciler_runs and reconciler_run_operations tables.

        \b
        Examples:
          reconciler history --limit 10
          reconciler history show 20261202T051500Z-3fa2c1
        """
        ctx.meta["sandbox_history"] = use_sandbox
        if ctx.invoked_subcommand is None:
            _list(project_of(ctx, use_sandbox).history.runs(limit), output_format)

    @history.command("show")
    @click.argument("run_id", metavar="RUN")
    @FORMAT
    @click.option("--sandbox", "use_sandbox", is_flag=True, help="A run of the --sandbox history.")
    @project_options
    @click.pass_context
    def show(ctx: click.Context, run_id: str, output_format: str, use_sandbox: bool) -> None:
        """Show one run: who, where, commit, plan digest, overrides, then each operation.

        Text shows the fields each operation changed; json has the attributes before and after.

        \b
        Example:
          reconciler history show 20261202T051500Z-3fa2c1 --format json
        """
        sandbox = use_sandbox or ctx.meta.get("sandbox_history", False)
        _show(project_of(ctx, sandbox).history.get(run_id), output_format)


def _list(runs: list[Run], output_format: str) -> None:
    if output_format == "json":
        click.echo(json.dumps([_summary(r) for r in runs], indent=2))
        return
    if not runs:
        click.echo("No runs recorded yet: every `reconciler apply` that changes something is recorded.")
        return
    click.echo(f"{'RUN':<24} {'STARTED':<20} {'DURATION':>8}  {'WHO':<14} {'COMMIT':<8} {'OUTCOME':<12} COUNTS")
    for run in runs:
        click.echo(
            f"{run.run_id:<24} {run.start.started_at[:19].replace('T', ' '):<20} {_duration(run):>8}  "
            f"{run.start.who[:14]:<14} {(run.start.commit or '-')[:7]:<8} {run.outcome:<12} {_counts(run)}"
        )


def _show(run: Run, output_format: str) -> None:
    if output_format == "json":
        click.echo(json.dumps(run.to_json(), indent=2, sort_keys=True))
        return
    start = run.start
    click.echo(f"Run {run.run_id} ({'sandbox, ' if start.sandbox else ''}workspace {start.workspace}): {run.outcome}")
    click.echo(f"  started  {start.started_at}" + (f", ended {run.end.ended_at} ({_duration(run)})" if run.end else ""))
    click.echo(f"  who      {start.who}")
    click.echo(f"  where    {start.where}")
    click.echo(f"  commit   {start.commit or '(unknown)'}")
    click.echo(f"  plan     digest {start.plan_digest}" + (f", from {start.plan_file}" if start.plan_file else ""))
    for override in start.overrides:
        click.echo(f"  override {override['policy']}: {override['reason']}")
    click.echo(f"  counts   {_counts(run)}")
    if run.end and run.end.message:
        click.echo(f"  note     {run.end.message}")
    if not run.operations:
        return
    width = max(len(o.address) for o in run.operations)
    id_width = max(len(o.id or "-") for o in run.operations)
    click.echo(f"\n  {'ADDRESS':<{width}}  {'ACTION':<8} {'OUTCOME':<8} {'ID':<{id_width}} TRIES  DETAIL")
    for op in run.operations:
        line = f"  {op.address:<{width}}  {op.action:<8} {op.outcome:<8} {op.id or '-':<{id_width}} {op.attempts:>5}"
        click.echo(f"{line}  {_detail(op)}")


def _detail(op: OperationRecord) -> str:
    """The changed fields (before -> after), or the error, or the note."""
    if op.outcome == "failed":
        return f"{op.error_class}: {op.message}"
    if op.outcome == "skipped":
        return op.message
    undoes = f"undid {op.undoes}; " if op.undoes else ""
    before = op.before.attributes if op.before else {}
    after = op.after.attributes if op.after else {}
    if op.before is None or op.after is None:  # a create or delete: the fields it made or dropped
        fields = ", ".join(op.changed_fields())
        return f"{undoes}{'+' if op.after else '-'} {fields}" if fields else undoes + op.message
    changes = [f"{k}: {_short(before.get(k))} -> {_short(after.get(k))}" for k in op.changed_fields()]
    return undoes + ("; ".join(changes) or op.message or "no field changed")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _counts(run: Run) -> str:
    return ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in run.counts.items() if n) or "nothing"


def _duration(run: Run) -> str:
    if run.end is None:
        return "-"
    seconds = (datetime.fromisoformat(run.end.ended_at) - datetime.fromisoformat(run.start.started_at)).total_seconds()
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def _summary(run: Run) -> dict[str, Any]:
    """A run without its operations, for the listing."""
    data = run.to_json()
    del data["operations"]
    return data
