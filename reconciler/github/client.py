"""A tiny GitHub REST client: just the calls the plan comment and the drift issue need.

Synchronous on purpose: one command makes a handful of sequential requests.
Every answer is checked for the shape it must have; anything else is a one-line
ReconcilerError naming the request, never a traceback, and never the token.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.errors import ReconcilerError
from reconciler.providers.http import log_request

API_VERSION = "2022-11-28"
PAGE_SIZE = 100  # GitHub's maximum per_page
_MESSAGE_LIMIT = 300  # characters of GitHub's own error message worth showing

logger = logging.getLogger(__name__)  # each request at debug (RECONCILER_LOG=debug), as the providers'


@dataclass(frozen=True)
class IssueComment:
    id: int
    body: str
    html_url: str
    author: str  # user.login; "" when the account was deleted (GitHub then serves user: null)
    author_type: str  # user.type: "User", "Bot" or "Organization"


@dataclass(frozen=True)
class Issue:
    number: int
    title: str
    body: str
    html_url: str
    author: str  # as on IssueComment
    author_type: str
    is_pull_request: bool  # the issues listing also serves pull requests, marked by a pull_request key


@dataclass(frozen=True)
class PullRequest:
    number: int
    html_url: str
    merged: bool  # merged_at is set (a closed, unmerged pull request has none)
    merge_commit_sha: str | None


class GitHubAPIError(ReconcilerError):
    """GitHub answered with an error status; `status` lets a caller recover from a 403 or 404."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class GitHubClient:
    """The REST API at `api_url` (github.com or GitHub Enterprise), an http(s) URL already checked."""

    def __init__(self, token: str, api_url: str, timeout: float = 30.0) -> None:
        self._token = token
        self._origin = _origin(httpx.URL(api_url))
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

    def authenticated_login(self) -> str | None:
        """The token's own login (GET /user), or None when the token may not ask.

        GITHUB_TOKEN and GitHub App installation tokens get 403 "Resource not accessible
        by integration" here; some GitHub Enterprise setups answer 404.
        """
        try:
            data = self._object("GET", "/user")
        except GitHubAPIError as error:
            if error.status in (403, 404):
                return None
            raise
        return _get(data, "login", str, f"GET {self._path('/user')}")

    def list_issue_comments(self, repo: str, number: int) -> Iterator[IssueComment]:
        """All comments on an issue or pull request, oldest first, following the Link header."""
        for item, where in self._pages(f"/repos/{repo}/issues/{number}/comments"):
            yield _comment(item, where)

    def list_open_issues(self, repo: str) -> Iterator[Issue]:
        """The repository's open issues, newest first; pull requests, which GitHub lists here too, included."""
        for item, where in self._pages(f"/repos/{repo}/issues", state="open"):
            yield _issue(item, where)

    def create_issue(self, repo: str, title: str, body: str) -> Issue:
        url = f"/repos/{repo}/issues"
        return _issue(self._object("POST", url, json={"title": title, "body": body}), f"POST {self._path(url)}")

    def update_issue(self, repo: str, number: int, **fields: str) -> Issue:
        """Change an issue's `body`, `title`, `state` or `state_reason`."""
        url = f"/repos/{repo}/issues/{number}"
        return _issue(self._object("PATCH", url, json=fields), f"PATCH {self._path(url)}")

    def list_commit_pulls(self, repo: str, sha: str) -> Iterator[PullRequest]:
        """The pull requests associated with a commit: those it was merged by, or is the head of."""
        for item, where in self._pages(f"/repos/{repo}/commits/{sha}/pulls"):
            yield _pull_request(item, where)

    def _pages(self, url: str, **query: str) -> Iterator[tuple[Any, str]]:
        """Every item of a listing with where it came from, following the Link header."""
        next_url: str | None = url
        params: dict[str, Any] | None = {"per_page": PAGE_SIZE, **query}
        while next_url:
            response = self._request("GET", next_url, params=params)
            where = _where(response.request)
            for i, item in enumerate(_json(response, list, where)):
                yield item, f"{where} item {i}"
            next_url = self._next_page(response, where)
            params = None  # the next link already carries the query

    def create_issue_comment(self, repo: str, number: int, body: str) -> IssueComment:
        url = f"/repos/{repo}/issues/{number}/comments"
        return _comment(self._object("POST", url, json={"body": body}), f"POST {self._path(url)}")

    def update_issue_comment(self, repo: str, comment_id: int, body: str) -> IssueComment:
        url = f"/repos/{repo}/issues/comments/{comment_id}"
        return _comment(self._object("PATCH", url, json={"body": body}), f"PATCH {self._path(url)}")

    def _next_page(self, response: httpx.Response, where: str) -> str | None:
        link = response.links.get("next", {}).get("url")
        if link is None:
            return None
        try:
            url = response.request.url.join(link)
        except httpx.InvalidURL:
            raise ReconcilerError(f"GitHub API {where} answered an invalid next-page link.") from None
        # The token goes with every request: never to a host the API URL did not name.
        if _origin(url) != self._origin:
            raise ReconcilerError(
                f"GitHub API {where} answered a next-page link to {_origin(url)}, not {self._origin}; "
                "not followed, so the token is never sent elsewhere."
            )
        return str(url)

    def _object(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = self._request(method, url, **kwargs)
        return _json(response, dict, _where(response.request))

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        request = self._http.build_request(method, url, **kwargs)
        started = time.monotonic()
        try:
            response = self._http.send(request)
        except httpx.HTTPError as exc:
            seconds = time.monotonic() - started
            log_request(logger, request.method, request.url, f"no response ({type(exc).__name__})", seconds, 1,
                        self._redact)  # fmt: skip
            problem = _one_line(str(exc) or type(exc).__name__)
            raise ReconcilerError(
                self._redact(f"GitHub API {_where(request)} failed: {problem}; check GITHUB_API_URL and the network.")
            ) from None
        seconds = time.monotonic() - started
        log_request(logger, request.method, request.url, str(response.status_code), seconds, 1, self._redact)
        if response.is_success:
            return response
        raise GitHubAPIError(self._redact(_describe_failure(response)), response.status_code)

    def _path(self, url: str) -> str:
        """The path an API-relative URL is requested at, as error messages name it."""
        return self._http.build_request("GET", url).url.path

    def _redact(self, message: str) -> str:
        # The token only travels in a header, but make sure no message can ever carry it.
        return message.replace(self._token, "***") if self._token else message


def _origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.host}:{url.port or {'http': 80, 'https': 443}.get(url.scheme)}"


_KINDS = {dict: "a JSON object", list: "a JSON list", str: "a string", int: "an integer"}


def _json(response: httpx.Response, kind: type, where: str) -> Any:
    """The body as JSON of the given kind, or an error saying what came instead."""
    try:
        data = json.loads(response.content.decode("utf-8"))
    except ValueError:  # not UTF-8, or not JSON
        content_type = response.headers.get("content-type", "no content type")
        raise ReconcilerError(
            f"GitHub API {where} answered {response.status_code} with a body that is not JSON ({content_type}); "
            "check GITHUB_API_URL points at the REST API."
        ) from None
    if not isinstance(data, kind):
        raise ReconcilerError(f"GitHub API {where} answered {_kind(data)}, expected {_KINDS[kind]}.")
    return data


def _comment(data: Any, where: str) -> IssueComment:
    if not isinstance(data, dict):
        raise ReconcilerError(f"GitHub API {where} is {_kind(data)}, expected a comment object.")
    author, author_type = _author(data, where)
    return IssueComment(
        id=_get(data, "id", int, where),
        body=_get(data, "body", str, where, default=""),
        html_url=_get(data, "html_url", str, where),
        author=author,
        author_type=author_type,
    )


def _issue(data: Any, where: str) -> Issue:
    if not isinstance(data, dict):
        raise ReconcilerError(f"GitHub API {where} is {_kind(data)}, expected an issue object.")
    author, author_type = _author(data, where)
    return Issue(
        number=_get(data, "number", int, where),
        title=_get(data, "title", str, where),
        body=_get(data, "body", str, where, default=""),
        html_url=_get(data, "html_url", str, where),
        author=author,
        author_type=author_type,
        is_pull_request=data.get("pull_request") is not None,
    )


def _author(data: dict[str, Any], where: str) -> tuple[str, str]:
    """user.login and user.type; both "" when the account was deleted (GitHub then serves user: null)."""
    user = data.get("user")
    if user is None:
        return "", ""
    if not isinstance(user, dict):
        raise ReconcilerError(f"GitHub API {where}: user is {_kind(user)}, expected an object or null.")
    return _get(user, "login", str, where, default=""), _get(user, "type", str, where, default="")


def _pull_request(data: Any, where: str) -> PullRequest:
    if not isinstance(data, dict):
        raise ReconcilerError(f"GitHub API {where} is {_kind(data)}, expected a pull request object.")
    return PullRequest(
        number=_get(data, "number", int, where),
        html_url=_get(data, "html_url", str, where),
        merged=_get(data, "merged_at", str, where, default=None) is not None,
        merge_commit_sha=_get(data, "merge_commit_sha", str, where, default=None),
    )


_REQUIRED = object()


def _get(data: dict[str, Any], key: str, kind: type, where: str, default: Any = _REQUIRED) -> Any:
    value = data.get(key)
    if value is None and default is not _REQUIRED:
        return default
    # bool is an int subclass; no id is a boolean.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ReconcilerError(f"GitHub API {where}: {key} is {_kind(value)}, expected {_KINDS[kind]}.")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return _KINDS.get(type(value), type(value).__name__)


def _one_line(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _where(request: httpx.Request) -> str:
    return f"{request.method} {request.url.path}"


def _describe_failure(response: httpx.Response) -> str:
    try:
        data = json.loads(response.content.decode("utf-8"))
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {}
    message = data.get("message")
    errors = data.get("errors")
    details = [
        e["message"] for e in (errors if isinstance(errors, list) else []) if isinstance(e, dict) and e.get("message")
    ]
    text = f"GitHub API {_where(response.request)} failed: {response.status_code}"
    if message:
        text += f" {message}"
    if details:
        text += f" ({'; '.join(map(str, details))})"
    if response.is_redirect:  # the REST API does not redirect these calls; a wrong URL or a proxy does
        text += f" redirect to {response.headers.get('location', '?')}, not followed"
    text = _one_line(text)
    hint = _HINTS.get(response.status_code) or ("Check GITHUB_API_URL." if response.is_redirect else None)
    return f"{text}. {hint}" if hint else text


_HINTS = {
    401: "Check that GITHUB_TOKEN holds a valid token.",
    403: (
        "The token may lack permission: the workflow needs `permissions: pull-requests: write` "
        "(plan comment) or `issues: write` (drift issue); pull requests from forks only get a read-only token."
    ),
    404: "Check GITHUB_REPOSITORY and the pull request number, and that the token can see the repository.",
}
