"""A fake GitHub REST API served over real HTTP on 127.0.0.1, for `reconciler github ...` tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.github.comment import COMMENT_LIMIT

TOKEN = "ghs_s3cr3tT0kenValue1234567890"
REPO = "acme/ads"
PR = 17
PAGE_CAP = 2  # the fake serves at most this many comments per page, to exercise pagination
ACTIONS_BOT = ("github-actions[bot]", "Bot")  # who GITHUB_TOKEN posts as
NOT_FOR_INTEGRATIONS = {"message": "Resource not accessible by integration"}
MERGE_SHA = "3f786850e387550fdab836ed7e6dc881de23001b"  # the commit PR was merged as, in tests that merge it


@dataclass
class FakeGitHub:
    """Issue comments of one repository, as GitHub's REST API serves them.

    `identity` is who TOKEN authenticates as; GET /user answers it only when `user_endpoint`
    (a personal access token), else 403 as for GITHUB_TOKEN. `broken` answers a (method, path)
    with a fixed response instead, to play a misbehaving GitHub or proxy.
    """

    base_url: str = ""
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    broken: dict[tuple[str, str], Response] = field(default_factory=dict)
    identity: tuple[str, str] = ACTIONS_BOT
    user_endpoint: bool = False
    next_id: int = 1000
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # issues and pull requests, by number
    commit_pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sha -> its pull requests

    def reset(self) -> None:
        self.commit_pulls.clear()
        self.comments.clear()
        self.issues.clear()
        self.requests.clear()
        self.broken.clear()
        self.identity = ACTIONS_BOT
        self.user_endpoint = False
        self.next_id = 1000

    def add(self, number: int, body: str, author: tuple[str, str] | None = None) -> dict[str, Any]:
        login, type_ = author or self.identity
        self.next_id += 1
        comment = {
            "id": self.next_id,
            "body": body,
            "html_url": f"https://github.example/{REPO}/pull/{number}#issuecomment-{self.next_id}",
            "user": {"login": login, "type": type_},
        }
        self.comments.setdefault(number, []).append(comment)
        return comment

    def merge(self, number: int, sha: str = MERGE_SHA, *, merged: bool = True) -> None:
        """Pull request `number` merged as commit `sha` (or, unmerged, merely containing it)."""
        self.commit_pulls.setdefault(sha, []).append(
            {
                "number": number,
                "html_url": f"https://github.example/{REPO}/pull/{number}",
                "state": "closed",
                "merged_at": "2026-06-01T12:00:00Z" if merged else None,
                "merge_commit_sha": sha if merged else "0" * 40,
            }
        )

    def path(self, rest: str) -> str:
        """The request path of an API call, under the fake's /api/v3 prefix."""
        return f"/api/v3{rest}"

    def asgi(self) -> ASGIApp:
        """The API under /api/v3 (a path prefix, as on GitHub Enterprise), with `broken` answers first."""
        app = Starlette()
        app.mount("/api/v3", self._api())

        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            answer = self.broken.get((scope.get("method", ""), scope.get("path", "")))
            if answer is None:
                await app(scope, receive, send)
                return
            self.requests.append((scope["method"], scope["path"]))
            await answer(scope, receive, send)

        return serve

    def _api(self) -> Starlette:
        def denied(request: Request) -> JSONResponse | None:
            self.requests.append((request.method, request.url.path))
            if request.headers.get("authorization") != f"Bearer {TOKEN}":
                return JSONResponse({"message": "Bad credentials"}, status_code=401)
            if request.headers.get("x-github-api-version") != "2022-11-28":
                return JSONResponse({"message": "Unsupported API version"}, status_code=400)
            owner, repo = request.path_params.get("owner"), request.path_params.get("repo")
            if owner is not None and f"{owner}/{repo}" != REPO:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return None

        def too_long(body: str) -> JSONResponse | None:
            if len(body) <= COMMENT_LIMIT:
                return None
            error = {"field": "body", "message": "body is too long (maximum is 65536 characters)"}
            return JSONResponse({"message": "Validation Failed", "errors": [error]}, status_code=422)

        async def user(request: Request) -> JSONResponse:
            if problem := denied(request):
                return problem
            if not self.user_endpoint:
                return JSONResponse(NOT_FOR_INTEGRATIONS, status_code=403)
            login, type_ = self.identity
            return JSONResponse({"login": login, "type": type_, "id": 1})

        async def issue_comments(request: Request) -> JSONResponse:
            if problem := denied(request):
                return problem
            number = int(request.path_params["number"])
            if request.method == "POST":
                body = (await request.json())["body"]
                return too_long(body) or JSONResponse(self.add(number, body), 201)
            return one_page(request, self.comments.get(number, []))

        async def edit_comment(request: Request) -> JSONResponse:
            if problem := denied(request):
                return problem
            comment_id = int(request.path_params["comment_id"])
            body = (await request.json())["body"]
            if problem := too_long(body):
                return problem
            for comment in (c for items in self.comments.values() for c in items):
                if comment["id"] == comment_id:
                    # As GitHub answers a token editing someone else's comment.
                    if (comment["user"]["login"], comment["user"]["type"]) != self.identity:
                        return JSONResponse(NOT_FOR_INTEGRATIONS, status_code=403)
                    comment["body"] = body
                    return JSONResponse(comment)
            return JSONResponse({"message": "Not Found"}, status_code=404)

        # --- commits: the pull requests of a merge commit (reviewed-digest, comment --apply-result) ---

        async def commit_pulls(request: Request) -> JSONResponse:
            if problem := denied(request):
                return problem
            return one_page(request, self.commit_pulls.get(request.path_params["sha"], []))

        commit_routes = [Route("/repos/{owner}/{repo}/commits/{sha}/pulls", commit_pulls, methods=["GET"])]

        return Starlette(
            routes=[
                *commit_routes,
                Route("/user", user, methods=["GET"]),
                Route("/repos/{owner}/{repo}/issues/{number:int}/comments", issue_comments, methods=["GET", "POST"]),
                Route("/repos/{owner}/{repo}/issues/comments/{comment_id:int}", edit_comment, methods=["PATCH"]),
                *self._issue_routes(denied, too_long),
            ]
        )

    # --- issues (the drift issue) ----------------------------------------------------------------

    def add_issue(
        self, title: str, body: str, author: tuple[str, str] | None = None, *, pull_request: bool = False
    ) -> dict[str, Any]:
        """An open issue, or a pull request as the issues listing serves it (with a pull_request key)."""
        login, type_ = author or self.identity
        number = len(self.issues) + 1  # issues and pull requests share one sequence
        kind = "pull" if pull_request else "issues"
        issue: dict[str, Any] = {
            "id": 50_000 + number,
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "state_reason": None,
            "html_url": f"https://github.example/{REPO}/{kind}/{number}",
            "user": {"login": login, "type": type_},
        }
        if pull_request:
            issue["pull_request"] = {"url": f"https://github.example/api/v3/repos/{REPO}/pulls/{number}"}
        self.issues[number] = issue
        return issue

    def open_issues(self) -> list[dict[str, Any]]:
        """Open issues, not pull requests, oldest first."""
        return [i for i in self.issues.values() if i["state"] == "open" and "pull_request" not in i]

    def _issue_routes(self, denied: Any, too_long: Any) -> list[Route]:
        async def issues(request: Request) -> JSONResponse:
            if problem := denied(request):
                return problem
            if request.method == "POST":
                data = await request.json()
                return too_long(data["body"]) or JSONResponse(self.add_issue(data["title"], data["body"]), 201)
            state = request.query_params.get("state", "open")
            newest_first = reversed(self.issues.values())
            return one_page(request, [i for i in newest_first if state == "all" or i["state"] == state])

        async def edit_issue(request: Request) -> JSONResponse:
            if problem := denied(request):
                return problem
            issue = self.issues.get(int(request.path_params["number"]))
            if issue is None:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            data = await request.json()
            if problem := too_long(data.get("body", "")):
                return problem
            issue.update({k: data[k] for k in ("title", "body", "state", "state_reason") if k in data})
            return JSONResponse(issue)

        return [
            Route("/repos/{owner}/{repo}/issues", issues, methods=["GET", "POST"]),
            Route("/repos/{owner}/{repo}/issues/{number:int}", edit_issue, methods=["PATCH"]),
        ]


def one_page(request: Request, items: list[dict[str, Any]]) -> JSONResponse:
    """The requested page of a listing, at most PAGE_CAP items, with GitHub's Link header to the next."""
    per_page = min(int(request.query_params.get("per_page", 30)), PAGE_CAP)
    page = int(request.query_params.get("page", 1))
    headers = {}
    if page * per_page < len(items):
        url = request.url.include_query_params(per_page=per_page, page=page + 1)
        headers["Link"] = f'<{url}>; rel="next"'
    return JSONResponse(items[(page - 1) * per_page : page * per_page], headers=headers)


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Serve `app` with uvicorn on a free port of 127.0.0.1 in a thread; yield its root URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the fake server did not start")
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


@contextmanager
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with serve(fake.asgi()) as root:
        fake.base_url = f"{root}/api/v3"
        yield fake


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeGitHub]:
    with fake_github() as fake:
        yield fake


@pytest.fixture()
def fake(fake_server: FakeGitHub) -> FakeGitHub:
    fake_server.reset()
    return fake_server
