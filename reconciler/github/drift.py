"""The drift issue: one open issue per workspace while the live platforms differ from the specs.

A scheduled workflow runs `plan --refresh`; a plan with changes opens the workspace's
issue or rewrites the open one, and a plan without changes closes it with a comment.
The issue is found again by a hidden marker in its body and by its author, like the
sticky plan comment, so a copied marker in someone else's issue is never touched.
"""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.errors import ReconcilerError
from reconciler.github.client import GitHubClient, Issue
from reconciler.github.comment import COMMENT_LIMIT, append_step_summary, comment_author, plan_markdown, written_by
from reconciler.github.environment import RepositoryContext
from reconciler.model import Plan
from reconciler.state.local import WORKSPACE_RE

# GitHub refuses issue bodies over 65,536 characters, as it does comments.
BODY_LIMIT = COMMENT_LIMIT


def marker(workspace: str) -> str:
    """The hidden first line that identifies this workspace's drift issue."""
    return f"<!-- reconciler:drift workspace={workspace} -->"


def title(workspace: str) -> str:
    return f"Drift in workspace {workspace}"


def drift_markdown(plan: Plan, workspace: str, checked: datetime, limit: int) -> str:
    """What drift means and how to act on it, then the plan, in at most `limit` characters."""
    intro = (
        f"## {title(workspace)}\n\n"
        f"`reconciler --workspace {workspace} plan --refresh` found that the live objects differ from the specs "
        f"(last checked {checked:%Y-%m-%d %H:%M} UTC). Applying would make the changes below: run "
        f"`reconciler --workspace {workspace} apply --refresh` to undo the out-of-band edits, or change the specs "
        "to keep them. This issue is updated by every check and closed by the first one that finds no drift.\n\n"
    )
    return intro + plan_markdown(plan, limit - len(intro))


def report_drift(
    plan: Plan, workspace: str, context: RepositoryContext, author: str | None = None, now: datetime | None = None
) -> str:
    """Open, update or close the workspace's drift issue as the plan says; return what was done, with its URL.

    Also appends the plan to GITHUB_STEP_SUMMARY when set, before any request.
    `author` overrides whose issue counts as ours (see comment.comment_author).
    """
    if not WORKSPACE_RE.fullmatch(workspace):
        raise ReconcilerError(
            f"--workspace {workspace!r}: not a workspace name (lowercase letters, digits, '_' and '-')."
        )
    checked = now or datetime.now(UTC)
    head = marker(workspace)
    markdown = drift_markdown(plan, workspace, checked, BODY_LIMIT - len(head) - 1) if plan.has_changes else None
    if context.step_summary is not None:
        append_step_summary(context.step_summary, markdown or f"No drift in workspace {workspace}.")

    repo = context.repository
    with GitHubClient(context.token, context.api_url) as client:
        issue = _open_issue(client, repo, head, comment_author(client, author))
        if markdown is not None:
            body = f"{head}\n{markdown}"
            if issue is None:
                return f"Opened {client.create_issue(repo, title(workspace), body).html_url}"
            return f"Updated {client.update_issue(repo, issue.number, body=body).html_url}"
        if issue is None:
            return f"No drift in workspace {workspace}; no drift issue is open."
        client.create_issue_comment(
            repo,
            issue.number,
            f"The drift is gone: `plan --refresh` of {checked:%Y-%m-%d %H:%M} UTC found no changes. Closing.",
        )
        closed = client.update_issue(repo, issue.number, state="closed", state_reason="completed")
        return f"Closed {closed.html_url}: no drift in workspace {workspace} any more."


def _open_issue(client: GitHubClient, repo: str, head: str, login: str) -> Issue | None:
    """The newest open issue we wrote that starts with `head`; pull requests and others' issues are skipped."""
    ours = [
        issue
        for issue in client.list_open_issues(repo)
        if not issue.is_pull_request and issue.body.startswith(head) and written_by(issue, login)
    ]
    return max(ours, key=lambda issue: issue.number, default=None)
