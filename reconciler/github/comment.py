"""The sticky plan comment on a pull request (Atlantis/tfcmt style).

One comment per workspace, found again by a hidden marker and its author and edited
in place, so a pull request never collects a stack of stale plans.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.github.client import GitHubAPIError, GitHubClient, Issue, IssueComment
from reconciler.github.environment import STEP_SUMMARY, PullRequestContext
from reconciler.model import Plan
from reconciler.plan.digest import plan_digest
from reconciler.plan.render.markdown import render_markdown
from reconciler.plan.render.text import NO_CHANGES

COMMENT_LIMIT = 65_536  # GitHub rejects longer comment bodies with 422 "body is too long"
TRUNCATED_NOTE = "\n> Plan truncated: {omitted} characters omitted. The full plan is in the workflow run's artifacts.\n"

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FENCE_CLOSE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$")
_DETAILS_OPEN = re.compile(r"<details[\s>]", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)


# The hidden first line of a plan comment. Comments from before the digest existed have none.
_MARKER = re.compile(r"<!-- reconciler:plan workspace=(?P<workspace>\S+)(?: digest=(?P<digest>[0-9a-f]{64}))? -->")


def marker(workspace: str, digest: str | None = None) -> str:
    """The hidden first line that identifies this workspace's plan comment and keeps the plan's digest."""
    kept = f" digest={digest}" if digest else ""
    return f"<!-- reconciler:plan workspace={workspace}{kept} -->"


def marked_digest(body: str, workspace: str) -> tuple[bool, str | None]:
    """Whether `body` is a plan comment of `workspace`, and the digest its marker keeps (None if none)."""
    match = _MARKER.fullmatch(body.split("\n", 1)[0])
    if match is None or match["workspace"] != workspace:
        return False, None
    return True, match["digest"]


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


def append_step_summary(path: Path, markdown: str) -> None:
    try:
        # Non-blocking, so a FIFO without a reader fails (ENXIO) instead of waiting forever.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as summary:
            summary.write(markdown + "\n")
    except OSError as exc:
        raise ReconcilerError(
            f"{STEP_SUMMARY.name}={path}: cannot append the plan to the job summary: {exc.strerror or exc}."
        ) from None


# Whose comment is ours. Confirmed: comments posted with a workflow's GITHUB_TOKEN carry
# user.login "github-actions[bot]" and user.type "Bot"; GET /user answers GITHUB_TOKEN, and GitHub
# App installation tokens too, 403 "Resource not accessible by integration" (e.g.
# actions/create-github-app-token#258), while a personal access token gets its own login.
# Assumed, not verified here: people's logins cannot contain "[" (GitHub allows letters, digits and
# hyphens), so nobody can sign up as the bot; an App posts as "<app-slug>[bot]", which /user cannot
# tell us, so with an App token pass --author "<app-slug>[bot]" or its comment is never found again.
ACTIONS_BOT = "github-actions[bot]"


def comment_author(client: GitHubClient, override: str | None) -> str:
    """The login our comments carry: the override, else the token's own login, else the Actions bot."""
    return override or client.authenticated_login() or ACTIONS_BOT


def is_ours(comment: IssueComment, workspace: str, author: str) -> bool:
    """Our plan comment for this workspace: the marker, and written by us (anyone can copy a marker)."""
    return marked_digest(comment.body, workspace)[0] and written_by(comment, author)


def written_by(item: IssueComment | Issue, author: str) -> bool:
    """Whether a comment or issue was written by `author` (see comment_author)."""
    if item.author.casefold() != author.casefold():
        return False
    # A "[bot]" login is an App's (the Actions bot too): its comments must say so as well.
    return item.author_type == "Bot" or not author.endswith("[bot]")


def post_plan_comment(plan: Plan, workspace: str, context: PullRequestContext, author: str | None = None) -> str:
    """Create or update the workspace's plan comment on the pull request; return its URL.

    Also appends the same markdown to GITHUB_STEP_SUMMARY when set, before posting,
    so the summary is there even when the comment cannot be posted (fork pull requests).
    `author` overrides whose comment counts as ours (see comment_author).
    """
    head = marker(workspace, plan_digest(plan))
    markdown = plan_markdown(plan, COMMENT_LIMIT - len(head) - 1)
    body = f"{head}\n{markdown}"
    if context.step_summary is not None:
        append_step_summary(context.step_summary, markdown)

    repo, number = context.repository, context.number
    with GitHubClient(context.token, context.api_url) as client:
        login = comment_author(client, author)
        # The newest of ours: after a fallback post below, that is the one edited next time.
        existing = [c for c in client.list_issue_comments(repo, number) if is_ours(c, workspace, login)]
        if existing:
            try:
                return client.update_issue_comment(repo, existing[-1].id, body).html_url
            except GitHubAPIError as error:
                # Deleted meanwhile, or no longer editable by this token: a fresh comment beats failing every push.
                if error.status not in (403, 404):
                    raise
        return client.create_issue_comment(repo, number, body).html_url
