"""The pull request merged as a commit, and the plan digest reviewed on it.

The apply workflow runs on the merge commit; the sticky plan comment of the pull
request that made it keeps, in its marker, the digest of the plan the reviewers saw.
"""

from __future__ import annotations

from reconciler.errors import ReconcilerError
from reconciler.github.client import GitHubClient, PullRequest
from reconciler.github.comment import comment_author, is_ours, marked_digest


def merged_pull_request(client: GitHubClient, repo: str, sha: str) -> PullRequest:
    """The merged pull request whose merge commit is `sha` (GET /repos/{repo}/commits/{sha}/pulls)."""
    pulls = list(client.list_commit_pulls(repo, sha))
    for pull in pulls:
        if pull.merged and pull.merge_commit_sha == sha:
            return pull
    # The listing also names pull requests that merely contain the commit: say which were seen.
    seen = ", ".join(f"#{p.number}" for p in pulls)
    raise ReconcilerError(
        f"no pull request of {repo} was merged as commit {sha[:12]}"
        + (f" ({seen} contain it but were not merged as it)" if seen else "")
        + ": it was pushed without one, so no plan was reviewed for it. Review a plan and apply it with "
        "`reconciler apply --expect-digest SHA` (the apply workflow's manual run takes the digest)"
    )


def reviewed_digest(client: GitHubClient, repo: str, pull: PullRequest, workspace: str, author: str | None) -> str:
    """The digest kept by the newest plan comment of ours for `workspace` on `pull`."""
    login = comment_author(client, author)
    ours = [c for c in client.list_issue_comments(repo, pull.number) if is_ours(c, workspace, login)]
    if not ours:
        raise ReconcilerError(
            f"pull request #{pull.number} ({pull.html_url}) has no plan comment for workspace {workspace} "
            f"by {login}: no plan was reviewed there. Review a plan and apply it with --expect-digest"
        )
    digest = marked_digest(ours[-1].body, workspace)[1]
    if digest is None:
        raise ReconcilerError(
            f"the plan comment for workspace {workspace} on pull request #{pull.number} ({ours[-1].html_url}) "
            "has no digest (it was posted by an older reconciler). Review a plan and apply it with --expect-digest"
        )
    return digest
