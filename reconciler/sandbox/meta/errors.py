"""Graph's error envelope, and its answers to routing errors, rate limits and transient failures."""

from __future__ import annotations

import base64
import os
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

# Meta's subcodes per validation check are not in the research (UNCONFIRMED): every
# check below answers this one, and only the well-known "does not exist" has its own.
INVALID_SUBCODE = 1487390
NOT_FOUND_SUBCODE = 33

# --- errors ---


def _trace_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(9)).decode("ascii")


class GraphError(Exception):
    """Raised by a handler to answer with Graph's error envelope."""

    def __init__(
        self,
        message: str,
        code: int,
        *,
        status: int = 400,
        type_: str = "OAuthException",
        subcode: int | None = None,
        title: str | None = None,
        user_msg: str | None = None,
        transient: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        error: dict[str, Any] = {"message": message, "type": type_, "code": code}
        if subcode is not None:
            error["error_subcode"] = subcode
        error["is_transient"] = transient
        if title is not None:
            error["error_user_title"] = title
        if user_msg is not None:
            error["error_user_msg"] = user_msg
        error["fbtrace_id"] = _trace_id()
        self.response = JSONResponse({"error": error}, status_code=status, headers=headers)


def _invalid(title: str, user_msg: str) -> GraphError:
    """A semantic validation failure: Graph's "Invalid parameter" with a user-facing title and text."""
    return GraphError("Invalid parameter", 100, subcode=INVALID_SUBCODE, title=title, user_msg=user_msg)


def _param_error(message: str) -> GraphError:
    """A malformed or missing parameter: Graph puts the detail in the message itself."""
    return GraphError(f"(#100) {message}", 100)


def _not_found(id_: str) -> GraphError:
    return GraphError(
        f"Unsupported get request. Object with ID '{id_}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        100,
        type_="GraphMethodException",
        subcode=NOT_FOUND_SUBCODE,
    )


class MetaErrors:
    """Graph's answers to routing errors, rate limits and transient failures."""

    def http_error(self, status: int, message: str) -> Response:
        if status == 404:
            return GraphError("(#2500) Unknown path components", 2500).response
        # Never subcode 33 here: a client would take an unrouted DELETE for "already gone".
        return GraphError(f"(#100) Unsupported request: {message}", 100).response

    def rate_limited(self, retry_after: int) -> Response:
        # Meta reports the wait in whole minutes in the BUC usage header, keyed by the ad account the call
        # counted against (0 means "under a minute"); which account that is, the request's path says.
        return _Throttled(retry_after)

    def transient_error(self) -> Response:
        return GraphError("Service temporarily unavailable", 2, status=500, transient=True).response


class _Throttled(Response):
    """Graph's #17 answer, with usage headers keyed by the account of the request it answers."""

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from reconciler.sandbox.meta.routes import account_of, usage_headers  # routes imports this module

        app = scope.get("app")
        sandbox = getattr(getattr(app, "state", None), "sandbox", None)
        account = account_of(sandbox.store, scope["path"]) if sandbox is not None else None
        headers = (
            usage_headers(account, 1.0, self.retry_after // 60, reset=self.retry_after) if account is not None else {}
        )
        response = GraphError("(#17) User request limit reached", 17, subcode=2446079, headers=headers).response
        await response(scope, receive, send)
