"""The sticky plan comment on a pull request (Atlantis/tfcmt style).

One comment per workspace, found again by a hidden marker and edited in place,
so a pull request never collects a stack of stale plans.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.github.client import DEFAULT_API_URL, GitHubClient
from reconciler.model import Plan
from reconciler.plan.render.markdown import render_markdown
from reconciler.plan.render.text import NO_CHANGES

COMMENT_LIMIT = 65_536  # GitHub rejects longer comment bodies with 422 "body is too long"
TRUNCATED_NOTE = "\n> Plan truncated: {omitted} characters omitted. The full plan is in the workflow run's artifacts.\n"

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FENCE_CLOSE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$")
_DETAILS_OPEN = re.compile(r"<details[\s>]", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)


def marker(workspace: str) -> str:
    """The hidden first line that identifies this workspace's plan comment."""
    return f"<!-- reconciler:plan workspace={workspace} -->"


def plan_markdown(plan: Plan, limit: int = COMMENT_LIMIT) -> str:
    """The plan as markdown of at most `limit` characters, cut cleanly when it is longer."""
    if not plan.has_changes:
        return NO_CHANGES + "\n"
    # The renderer drops whole target sections (and says so), so no diff is cut mid-block.
    markdown = render_markdown(plan, details_limit=limit)
    if len(markdown) <= limit:
        return markdown
    # Even the summary and warnings are too long: keep whole lines, with a note.
    full = len(render_markdown(plan))
    kept = cut_markdown(markdown, limit - len(TRUNCATED_NOTE.format(omitted=full)))
    return kept + TRUNCATED_NOTE.format(omitted=full - len(kept))


def cut_markdown(markdown: str, budget: int) -> str:
    """The longest run of whole lines within `budget` that leaves no code fence or <details> open."""
    fence: str | None = None  # the opening fence while inside a fenced code block
    depth = 0  # open <details> blocks
    length = 0
    safe = 0  # length of the longest prefix that closes every block it opens
    for line in markdown.splitlines(keepends=True):
        length += len(line)
        if length > budget:
            break
        if fence is not None:
            close = _FENCE_CLOSE.match(line)
            if close and close.group(1).startswith(fence):  # same character, at least as long
                fence = None
        elif opening := _FENCE_OPEN.match(line):
            fence = opening.group(1)
        else:
            depth += len(_DETAILS_OPEN.findall(line)) - len(_DETAILS_CLOSE.findall(line))
        if fence is None and depth <= 0:
            safe = length
    return markdown[:safe]


def pull_request_number(event_path: str) -> int:
    """The pull request of the triggering event: pull_request.number, or issue.number for comments."""
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReconcilerError(f"GITHUB_EVENT_PATH={event_path}: cannot read the event JSON: {exc}") from None
    for key in ("pull_request", "issue"):
        number = (event.get(key) or {}).get("number") if isinstance(event, dict) else None
        if isinstance(number, int):
            return number
    raise ReconcilerError(
        f"GITHUB_EVENT_PATH={event_path}: the event has no pull_request.number or issue.number. "
        "Run `reconciler github comment` in a workflow triggered by pull_request."
    )


def post_plan_comment(plan: Plan, workspace: str, environ: Mapping[str, str]) -> str:
    """Create or update the workspace's plan comment on the pull request; return its URL.

    Also appends the same markdown to GITHUB_STEP_SUMMARY when set, before posting,
    so the summary is there even when the comment cannot be posted (fork pull requests).
    """
    token = _require(environ, "GITHUB_TOKEN")
    repo = _require(environ, "GITHUB_REPOSITORY")
    if repo.count("/") != 1:
        raise ReconcilerError(f"GITHUB_REPOSITORY={repo!r} is not of the form OWNER/NAME.")
    number = pull_request_number(_require(environ, "GITHUB_EVENT_PATH"))
    head = marker(workspace)
    markdown = plan_markdown(plan, COMMENT_LIMIT - len(head) - 1)
    body = f"{head}\n{markdown}"

    if summary_path := environ.get("GITHUB_STEP_SUMMARY"):
        with open(summary_path, "a", encoding="utf-8") as summary:
            summary.write(markdown + "\n")

    with GitHubClient(token, environ.get("GITHUB_API_URL") or DEFAULT_API_URL) as client:
        comments = client.list_issue_comments(repo, number)
        existing = next((c for c in comments if (c.get("body") or "").startswith(head)), None)
        if existing is None:
            posted = client.create_issue_comment(repo, number, body)
        else:
            posted = client.update_issue_comment(repo, existing["id"], body)
    return posted["html_url"]


def _require(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name)
    if not value:
        how = (
            "pass it to the step with `env: GITHUB_TOKEN: ${{ github.token }}`"
            if name == "GITHUB_TOKEN"
            else "GitHub Actions sets it for every step"
        )
        raise ReconcilerError(f"{name} is not set: {how}; outside GitHub Actions, export it yourself.")
    return value
