"""Graph's error envelope, and its answers to routing errors, rate limits and transient failures."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from starlette.responses import JSONResponse, Response

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
        # Meta reports the wait in whole minutes in the BUC usage header; 0 means "under a minute".
        # The header is keyed by the business object (the ad account); the sandbox limits per
        # platform, so the key is a placeholder.
        usage = {
            "sandbox": [
                {
                    "type": "ads_management",
                    "call_count": 100,
                    "total_cputime": 100,
                    "total_time": 100,
                    "estimated_time_to_regain_access": retry_after // 60,
                }
            ]
        }
        return GraphError(
            "(#17) User request limit reached",
            17,
            subcode=2446079,
            headers={"X-Business-Use-Case-Usage": json.dumps(usage, separators=(",", ":"))},
        ).response

    def transient_error(self) -> Response:
        return GraphError("Service temporarily unavailable", 2, status=500, transient=True).response
