"""A tiny GitHub REST client: just the issue-comment calls the plan comment needs.

Synchronous on purpose: one command makes a handful of sequential requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from reconciler.errors import ReconcilerError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
PAGE_SIZE = 100  # GitHub's maximum per_page


class GitHubClient:
    """Issue comments over GitHub's REST API (github.com or GitHub Enterprise via `api_url`)."""

    def __init__(self, token: str, api_url: str = DEFAULT_API_URL, timeout: float = 30.0) -> None:
        self._token = token
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "reconciler",
            },
            timeout=timeout,
        )

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    def list_issue_comments(self, repo: str, number: int) -> Iterator[dict[str, Any]]:
        """All comments on an issue or pull request, oldest first, following the Link header."""
        url: str | None = f"/repos/{repo}/issues/{number}/comments"
        params: dict[str, Any] | None = {"per_page": PAGE_SIZE}
        while url:
            response = self._request("GET", url, params=params)
            yield from response.json()
            url = response.links.get("next", {}).get("url")
            params = None  # the next link already carries the query

    def create_issue_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        return self._request("POST", f"/repos/{repo}/issues/{number}/comments", json={"body": body}).json()

    def update_issue_comment(self, repo: str, comment_id: int, body: str) -> dict[str, Any]:
        return self._request("PATCH", f"/repos/{repo}/issues/comments/{comment_id}", json={"body": body}).json()

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise ReconcilerError(self._redact(f"GitHub API {method} {url} failed: {exc}")) from None
        if response.is_success:
            return response
        raise ReconcilerError(self._redact(_describe_failure(method, response)))

    def _redact(self, message: str) -> str:
        # The token only travels in a header, but make sure no message can ever carry it.
        return message.replace(self._token, "***") if self._token else message


def _describe_failure(method: str, response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {}
    message = data.get("message")
    details = [e.get("message") for e in data.get("errors", []) if isinstance(e, dict) and e.get("message")]
    text = f"GitHub API {method} {response.request.url.path} failed: {response.status_code}"
    if message:
        text += f" {message}"
    if details:
        text += f" ({'; '.join(details)})"
    hint = _HINTS.get(response.status_code)
    return f"{text}. {hint}" if hint else text


_HINTS = {
    401: "Check that GITHUB_TOKEN holds a valid token.",
    403: (
        "The token may lack permission: the workflow needs `permissions: pull-requests: write`; "
        "pull requests from forks only get a read-only token."
    ),
    404: "Check GITHUB_REPOSITORY and the pull request number, and that the token can see the repository.",
}
