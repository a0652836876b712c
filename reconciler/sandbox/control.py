"""The /__sandbox__ control API (DESIGN.md section 6): inspect objects, set auth, faults, reviews, accounts.

Control requests are never counted, delayed, rate-limited or failed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reconciler.sandbox.context import REVIEW_STATUSES, AccountSettings, ReviewRule, Sandbox
from reconciler.sandbox.faults import SETTING_NAMES, SettingError, parse_rejects
from reconciler.sandbox.store import Store
from reconciler.timezones import is_time_zone

PREFIX = "/__sandbox__"
TRUE_VALUES = ("1", "true", "yes")


class BadRequest(Exception):
    """Answered 400 with `{"error": message, "field": field}` (field null when the body as a whole is wrong)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


async def _body(request: Request, *keys: str) -> dict[str, Any]:
    """The JSON object of the body (empty: {}), which may hold only `keys`."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nesting too deep to parse
        raise BadRequest("the body must be JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = sorted(set(body) - set(keys))
    if unknown:
        raise BadRequest(f"unknown keys: {', '.join(unknown)}; allowed: {', '.join(keys)}", unknown[0])
    return body


def routes(
    sandbox: Sandbox,
    platforms: list[str],
    provisioners: Mapping[str, Callable[[Store, AccountSettings], dict[str, Any]]] | None = None,
) -> list[BaseRoute]:
    """The control routes, for a sandbox serving `platforms` (`provisioners`: who has ad accounts)."""
    provisioners = provisioners or {}

    def platform_of(body: dict[str, Any], *, required: bool) -> str | None:
        platform = body.get("platform")
        if platform is None and not required:
            return None
        if platform not in platforms:
            raise BadRequest(f"platform must be one of {', '.join(platforms)}", "platform")
        return platform

    async def objects(request: Request) -> Response:
        query = request.query_params
        found = sandbox.store.find(
            query.get("platform"),
            query.get("type"),
            include_deleted=query.get("include_deleted", "").lower() in TRUE_VALUES,
        )
        return JSONResponse(
            [
                {"platform": o.platform, "type": o.type, "id": o.id, "fields": o.fields, "deleted": o.deleted}
                for o in found
            ]
        )

    async def auth(request: Request) -> Response:
        body = await _body(request, "platform", "valid_tokens", "expire_access_tokens")
        platform = platform_of(body, required=True)
        tokens = body.get("valid_tokens")
        if tokens is not None and not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)):
            raise BadRequest("valid_tokens must be a list of strings (or null for any non-empty token)", "valid_tokens")
        expire = body.get("expire_access_tokens")
        if expire is not None and not isinstance(expire, bool):
            raise BadRequest("expire_access_tokens must be true or false", "expire_access_tokens")
        assert platform is not None
        sandbox.auth.configure(platform, tokens, expire)
        return JSONResponse({"ok": True})

    async def stats(request: Request) -> Response:
        return JSONResponse(sandbox.stats.snapshot(platforms))

    async def faults(request: Request) -> Response:
        body = await _body(request, "platform", *SETTING_NAMES, "seed", "reject")
        platform = platform_of(body, required=False)
        try:
            rejected_platforms = {p for p, _ in parse_rejects(body.get("reject"))}
            if not rejected_platforms <= set(platforms):
                raise SettingError("reject", f"reject: platform must be one of {', '.join(platforms)}")
            sandbox.faults.configure(body, platform)
        except SettingError as exc:
            raise BadRequest(str(exc), exc.field) from None
        return JSONResponse(sandbox.faults.describe())

    async def add_review(request: Request) -> Response:
        body = await _body(request, "name_contains", "status", "reason", "platform_status")
        name_contains, status, reason = body.get("name_contains"), body.get("status"), body.get("reason")
        platform_status = body.get("platform_status")
        if platform_status is not None and not (isinstance(platform_status, str) and platform_status.isupper()):
            raise BadRequest("platform_status must be a platform's own status, e.g. PREAPPROVED", "platform_status")
        if not isinstance(name_contains, str):
            raise BadRequest("name_contains must be a string", "name_contains")
        if status not in REVIEW_STATUSES:
            raise BadRequest(f"status must be one of {', '.join(REVIEW_STATUSES)}", "status")
        if reason is not None and not isinstance(reason, str):
            raise BadRequest("reason must be a string", "reason")
        sandbox.reviews.add(ReviewRule(name_contains, status, reason, platform_status))
        return JSONResponse({"ok": True})

    async def list_reviews(request: Request) -> Response:
        return JSONResponse([asdict(rule) for rule in sandbox.reviews.rules()])

    async def accounts(request: Request) -> Response:
        body = await _body(request, "platform", "id", "timezone", "currency")
        platform = platform_of(body, required=True)
        provision = provisioners.get(str(platform))
        if provision is None:
            raise BadRequest(f"{platform} has no ad accounts with a time zone and currency", "platform")
        account_id, timezone, currency = body.get("id"), body.get("timezone", "UTC"), body.get("currency", "USD")
        if not isinstance(account_id, str) or not account_id.strip() or len(account_id) > 64:
            raise BadRequest("id must be the account's id as its API writes it (a string)", "id")
        if not isinstance(timezone, str) or not is_time_zone(timezone):
            raise BadRequest("timezone must be an IANA time zone name, e.g. America/Los_Angeles", "timezone")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise BadRequest("currency must be an ISO 4217 code, e.g. USD", "currency")
        try:
            shown = provision(sandbox.store, AccountSettings(account_id, timezone, currency))
        except ValueError as exc:  # an id the platform would never give an account
            raise BadRequest(str(exc), "id") from None
        return JSONResponse(shown)

    async def reset(request: Request) -> Response:
        sandbox.reset()
        return JSONResponse({"ok": True})

    def route(path: str, handler: Callable[[Request], Awaitable[Response]], method: str) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except BadRequest as exc:
                return JSONResponse({"error": str(exc), "field": exc.field}, status_code=400)

        return Route(path, endpoint, methods=[method])

    return [
        route("/objects", objects, "GET"),
        route("/auth", auth, "POST"),
        route("/stats", stats, "GET"),
        route("/faults", faults, "POST"),
        route("/review", add_review, "POST"),
        route("/review", list_reviews, "GET"),
        route("/accounts", accounts, "POST"),
        route("/reset", reset, "POST"),
    ]
