"""The outcome of an apply, read from its `--events` file, as a pull request comment.

One new comment per apply (not a sticky one: each run is a fact of its own). It
says whether the apply finished, its counts and run id, each failure with its
address and message, and the error lines a workflow step wrote (`--log`), so a
refused or failed apply says why on the pull request that was merged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.files import read_text
from reconciler.github.client import GitHubClient
from reconciler.github.comment import append_step_summary
from reconciler.github.environment import RepositoryContext
from reconciler.github.merged import merged_pull_request
from reconciler.plan.render.markdown import code_fence, escape_markdown

SHOWN_FAILURES = 50  # more would drown the comment; the events file has them all
LOG_LINES = 40  # the last lines of --log quoted
TEXT_LIMIT = 8_000  # characters of one failure message or of the quoted log, so the comment stays postable


@dataclass
class ApplyReport:
    """What an events file says about one apply."""

    events: int = 0
    done: dict[str, Any] | None = None  # the apply:done event, when the apply finished
    finished: dict[str, int] = field(default_factory=dict)  # op:done/op:error/op:skip seen (no apply:done)
    failures: list[dict[str, Any]] = field(default_factory=list)  # op:error events


def read_events(path: Path) -> ApplyReport:
    """Read `apply --events FILE` output; a line that is not an event is an error naming file and line."""
    text = read_text(path, "events file")
    report = ApplyReport()
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            if number == len(lines) and report.events:  # no newline after it: cut short by a killed apply
                break
            raise ReconcilerError(f"{path}:{number}: not a JSON line of `apply --events` ({exc})") from None
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            raise ReconcilerError(f"{path}:{number}: not an apply event (a JSON object with an `event` name)")
        report.events += 1
        name = event["event"]
        if name == "apply:done":
            report.done = event
        elif name in ("op:done", "op:error", "op:skip") and not event.get("rollback"):
            report.finished[name] = report.finished.get(name, 0) + 1
        if name == "op:error":
            report.failures.append(event)
    return report


def apply_result_markdown(report: ApplyReport, workspace: str, log: str = "") -> str:
    """The comment body (without its marker)."""
    lines = [f"### reconciler apply: workspace {_code(workspace)}", "", _verdict(report, bool(log)), ""]
    counts = _counts(report)
    if counts:
        lines += ["| Operations | Count |", "|:--|--:|"]
        lines += [f"| {name.replace('_', ' ')} | {n} |" for name, n in counts.items()]
        lines.append("")
    run_id = (report.done or {}).get("run_id")
    if run_id:
        lines += [f"Run id: {_code(str(run_id))}: {_code(f'reconciler history show {run_id}')}", ""]
    if report.failures:
        lines += ["**Failures**", ""]
        for failure in report.failures[:SHOWN_FAILURES]:
            undo = "rollback: " if failure.get("rollback") else ""
            what = f"{undo}{failure.get('action') or '?'} {_code(str(failure.get('address')))}"
            problem = f"{failure.get('error_class') or 'error'}: {failure.get('message') or ''}"
            lines.append(f"- {what}: {escape_markdown(_cut(problem, TEXT_LIMIT // 10))}")
        if len(report.failures) > SHOWN_FAILURES:
            lines.append(f"- … and {len(report.failures) - SHOWN_FAILURES} more in the events file")
        lines.append("")
    if log:
        quoted = _cut("\n".join(log.rstrip("\n").split("\n")[-LOG_LINES:]), TEXT_LIMIT)
        fence = code_fence(quoted)
        lines += ["**Errors**", "", fence, quoted, fence, ""]
    return "\n".join(lines)


def _code(text: str) -> str:
    """`text` as inline code: markdown escapes do not work inside, so no backtick may be either."""
    return "`" + text.replace("`", "'") + "`"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _verdict(report: ApplyReport, errors: bool) -> str:
    if report.done is not None:
        if report.done.get("message") == "ok" and not errors:
            return "✅ **Apply complete.**"
        if report.done.get("message") == "ok":
            return "❌ **Apply complete, but the step failed afterwards** (see the errors below)."
        return (
            "❌ **Apply failed.** What was done is recorded in the state. Fix the cause in a new pull request "
            "(its plan shows what remains), or review `reconciler plan` and run the apply workflow by hand "
            "with that plan's digest."
        )
    if report.events:
        return (
            "❌ **The apply stopped before it finished** (killed or cancelled). The state records every "
            "operation sent; the next apply looks up the unfinished ones first, so nothing is made twice. "
            "Review a new plan (what remains) and apply it."
        )
    if errors:
        return "❌ **The apply did not run: nothing was sent.**"
    return "✅ No changes: nothing to apply."


def _counts(report: ApplyReport) -> dict[str, int]:
    if report.done is not None:
        counts = report.done.get("counts")
        return {str(k): v for k, v in counts.items() if isinstance(v, int) and v} if isinstance(counts, dict) else {}
    names = {"op:done": "done", "op:error": "failed", "op:skip": "skipped"}
    return {names[name]: n for name, n in report.finished.items()}


def apply_marker(workspace: str) -> str:
    """The hidden first line of an apply-result comment (never taken for the sticky plan comment)."""
    return f"<!-- reconciler:apply workspace={workspace} -->"


def post_apply_result(markdown: str, workspace: str, context: RepositoryContext, sha: str) -> str:
    """Post the outcome on the pull request merged as `sha`; return the comment's URL.

    The job summary (when set) gets it first, so it is there even when posting fails.
    """
    if context.step_summary is not None:
        append_step_summary(context.step_summary, markdown)
    with GitHubClient(context.token, context.api_url) as client:
        pull = merged_pull_request(client, context.repository, sha)
        body = f"{apply_marker(workspace)}\n{markdown}"
        return client.create_issue_comment(context.repository, pull.number, body).html_url
