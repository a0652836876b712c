"""Fault injection for the emulated platforms: latency, rate limits, 5xx, lost responses.

`FaultMiddleware` wraps one platform's routes (never the control API). Settings
have a sandbox-wide default that a platform can override key by key.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Protocol

import httpx
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ResponseDropped(httpx.RemoteProtocolError):
    """The write was carried out but its response is lost.

    A subclass of httpx's own transport error on purpose: in-process clients
    (httpx.ASGITransport re-raises app exceptions) then see exactly what a real
    client sees when the server closes the connection mid-response.
    """


class ErrorResponses(Protocol):
    """How one platform answers errors that do not come from its own routes."""

    def http_error(self, status: int, message: str) -> Response:
        """A routing error (unknown path 404, wrong method 405)."""
        ...

    def rate_limited(self, retry_after: int) -> Response: ...

    def transient_error(self) -> Response:
        """The platform's answer to an internal, retryable failure."""
        ...


class SettingError(ValueError):
    """A fault setting out of its range or of the wrong type; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Range:
    """The finite numbers a setting accepts, both bounds included."""

    low: float
    high: float

    def check(self, name: str, value: Any) -> float:
        """`value` as a float when it is a number in the range (a bool is not); else SettingError."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # an integer too large for a float
                number = math.inf
            if math.isfinite(number) and self.low <= number <= self.high:
                return number
        raise SettingError(name, f"{name} must be a finite number from {self.low:g} to {self.high:g}")


# Bounded so that no setting can hold a request (or a shutdown) for ever: a minute of
# latency is longer than any client's timeout; at 0.01 requests/s Retry-After is 100 s.
# `reconciler sandbox serve`'s options declare the same ranges.
RANGES = {
    "latency_ms": Range(0, 60_000),
    "rate_limit": Range(0.01, 100_000),  # or None: no limit
    "fault_rate": Range(0, 1),
    "drop_response_rate": Range(0, 1),
    "video_processing_ms": Range(0, 600_000),  # Meta's videos (the others' uploads are ready at once)
}


@dataclass(frozen=True)
class FaultSettings:
    latency_ms: float = 0.0
    rate_limit: float | None = None  # requests/s per platform; also the burst size
    fault_rate: float = 0.0  # share of requests answered with a transient 5xx
    drop_response_rate: float = 0.0  # share of successful writes whose response is lost
    # How long a new video stays in processing before it can be used (Meta's AdVideo status.video_status).
    video_processing_ms: float = 0.0

    def __post_init__(self) -> None:
        for name, allowed in RANGES.items():
            value = getattr(self, name)
            if value is None and name == "rate_limit":
                continue
            allowed.check(name, value)


SETTING_NAMES = tuple(f.name for f in fields(FaultSettings))


def _setting_changes(raw: dict[str, Any]) -> dict[str, Any]:
    """Check and coerce the setting keys of a control-API body; other keys are ignored here."""
    changes: dict[str, Any] = {}
    for name in SETTING_NAMES:
        if name in raw:
            value = raw[name]
            changes[name] = None if value is None and name == "rate_limit" else RANGES[name].check(name, value)
    return changes


def parse_rejects(raw: Any) -> dict[tuple[str, str], int | None]:
    """The control API's `reject`: a list of {"platform": ..., "type": ..., "code": ...} (null: none).

    `code` (optional, an integer) is the platform's own error code to answer with, for platforms whose
    envelope carries one (TikTok): tests then meet each code of the platform's table end to end.
    """
    error = SettingError("reject", 'reject must be a list of {"platform": ..., "type": ..., "code"?: ...}')
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise error
    rejects: dict[tuple[str, str], int | None] = {}
    for item in raw:
        if not (isinstance(item, dict) and {"platform", "type"} <= set(item) <= {"platform", "type", "code"}):
            raise error
        if not all(isinstance(item[key], str) and item[key] for key in ("platform", "type")):
            raise error
        code = item.get("code")
        if code is not None and (not isinstance(code, int) or isinstance(code, bool)):
            raise error
        rejects[(item["platform"], item["type"])] = code
    return rejects


@dataclass
class _Bucket:
    rate: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; returns 0 when allowed, else the seconds until a token is free."""
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class Faults:
    """The current fault settings, the rate-limit buckets and the random source."""

    def __init__(self, initial: FaultSettings, seed: int | None = None) -> None:
        self._initial = initial
        self._initial_seed = seed
        self._lock = threading.Lock()
        # Responses held back by latency, and whether the server stops (they are then answered at once).
        self._held: set[asyncio.Future[None]] = set()
        self._stopping = False
        self.reset()

    def reset(self) -> None:
        """Back to the settings the sandbox was started with."""
        with self._lock:
            self._default = self._initial
            self._overrides: dict[str, dict[str, Any]] = {}
            self._rejects: dict[tuple[str, str], int | None] = {}
            self._buckets: dict[str, _Bucket] = {}
            self._random = random.Random(self._initial_seed)

    def configure(self, body: dict[str, Any], platform: str | None = None) -> None:
        """Apply a control-API body. Raises SettingError (nothing changed) on a bad value."""
        changes = _setting_changes(body)
        rejects = parse_rejects(body["reject"]) if "reject" in body else None
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise SettingError("seed", "seed must be an integer (or null for an unseeded source)")
        with self._lock:
            if platform is None:
                new_default = replace(self._default, **changes)
                overrides = self._overrides
            else:
                new_default = self._default
                overrides = {**self._overrides, platform: {**self._overrides.get(platform, {}), **changes}}
            for scoped in overrides.values():  # validate every effective combination before committing
                replace(new_default, **scoped)
            self._default, self._overrides = new_default, overrides
            if rejects is not None:
                self._rejects = rejects
            if "seed" in body:
                self._random = random.Random(seed)

    def settings(self, platform: str) -> FaultSettings:
        with self._lock:
            return replace(self._default, **self._overrides.get(platform, {}))

    def rejects(self, platform: str, type_: str) -> bool:
        """Whether creates of this type must fail with the platform's validation error."""
        with self._lock:
            return (platform, type_) in self._rejects

    def reject_code(self, platform: str, type_: str) -> int | None:
        """The error code a `reject` of this type names (None: the platform's usual validation error)."""
        with self._lock:
            return self._rejects.get((platform, type_))

    def take_token(self, platform: str, rate: float) -> int | None:
        """None when the request may go on, else the Retry-After in whole seconds (>= 1)."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(platform)
            if bucket is None or bucket.rate != rate:  # a new limit starts with a full bucket
                bucket = self._buckets[platform] = _Bucket(rate, rate, now)
            wait = bucket.take(now)
        return None if wait == 0 else max(1, math.ceil(wait))

    def usage(self, platform: str) -> float | None:
        """The share (0 to 1) of the platform's rate-limit bucket in use now; None when it has no limit."""
        rate = self.settings(platform).rate_limit
        if rate is None:
            return None
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(platform)
            if bucket is None or bucket.rate != rate:
                return 0.0
            tokens = min(rate, bucket.tokens + (now - bucket.updated) * rate)
        return max(0.0, min(1.0, (rate - tokens) / rate))

    def roll(self, probability: float) -> bool:
        """True with the given probability, from the seeded random source."""
        if probability <= 0:
            return False
        with self._lock:
            return self._random.random() < probability

    async def hold(self, seconds: float) -> None:
        """Wait `seconds`, or less if the server stops meanwhile (see release_held)."""
        loop = asyncio.get_running_loop()
        due: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(seconds, _resolve, due)
        with self._lock:
            if self._stopping:
                _resolve(due)
            self._held.add(due)
        try:
            await due
        finally:
            timer.cancel()
            with self._lock:
                self._held.discard(due)

    def release_held(self) -> None:
        """The server stops: answer every held response now, and hold none from now on.

        Else a shutdown would wait out the latency of every request in flight.
        Safe from any thread or event loop.
        """
        with self._lock:
            self._stopping = True
            held = list(self._held)
        for due in held:
            due.get_loop().call_soon_threadsafe(_resolve, due)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "default": asdict(self._default),
                "platforms": {p: asdict(replace(self._default, **o)) for p, o in self._overrides.items()},
                "reject": [
                    {"platform": p, "type": t, **({"code": code} if code is not None else {})}
                    for (p, t), code in sorted(self._rejects.items())
                ],
            }


class Stats:
    """Request counters for the control API's /stats."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: dict[str, Counter[str]] = {}
            self._events: Counter[str] = Counter()

    def request(self, platform: str, method: str) -> None:
        with self._lock:
            self._requests.setdefault(platform, Counter())[method] += 1

    def event(self, name: str) -> None:
        """Count one of: rate_limited, faults, dropped."""
        with self._lock:
            self._events[name] += 1

    def snapshot(self, platforms: list[str]) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": {p: dict(self._requests.get(p, {})) for p in platforms},
                "rate_limited": self._events["rate_limited"],
                "faults": self._events["faults"],
                "dropped": self._events["dropped"],
            }


class FaultMiddleware:
    """Counts, delays, rate-limits, fails and drops requests to one platform's routes."""

    def __init__(self, app: ASGIApp, platform: str, errors: ErrorResponses, faults: Faults, stats: Stats):
        self.app = app
        self.platform = platform
        self.errors = errors
        self.faults = faults
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        self.stats.request(self.platform, method)
        settings = self.faults.settings(self.platform)
        if settings.latency_ms:
            send = _answer_after(settings.latency_ms / 1000, send, self.faults)
        if settings.rate_limit is not None:
            retry_after = self.faults.take_token(self.platform, settings.rate_limit)
            if retry_after is not None:
                self.stats.event("rate_limited")
                await self.errors.rate_limited(retry_after)(scope, receive, send)
                return
        # The fault comes before the handler runs: a 5xx here never leaves a half-done write.
        if self.faults.roll(settings.fault_rate):
            self.stats.event("faults")
            await self.errors.transient_error()(scope, receive, send)
            return
        if method not in WRITE_METHODS or settings.drop_response_rate <= 0:
            await self.app(scope, receive, send)
            return
        await self._maybe_drop(scope, receive, send, settings.drop_response_rate)

    async def _maybe_drop(self, scope: Scope, receive: Receive, send: Send, rate: float) -> None:
        """Run the write; if it succeeded and the dice say so, lose its response."""
        dropping = False

        async def send_unless_dropped(message: Message) -> None:
            nonlocal dropping
            if message["type"] == "http.response.start":
                dropping = 200 <= message["status"] < 300 and self.faults.roll(rate)
            if not dropping:
                await send(message)

        await self.app(scope, receive, send_unless_dropped)
        if not dropping:
            return
        self.stats.event("dropped")
        # Start a response with no length, then fail: uvicorn closes the connection
        # mid-body, so the client gets a transport error and never the real answer
        # (a 204 start would already be a complete response, hence the plain 200).
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ResponseDropped(f"sandbox dropped the response to {scope['method']} {scope['path']}")


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _answer_after(latency: float, send: Send, faults: Faults) -> Send:
    """`send`, holding the response back until `latency` seconds after the request arrived.

    Latency is the platform's time to answer, counted from arrival: the
    emulator's own work overlaps it instead of adding to it, so a client sees
    `latency` whatever else the sandbox is doing at the same time.
    """
    loop = asyncio.get_running_loop()
    answer_at = loop.time() + latency

    async def send_when_due(message: Message) -> None:
        if message["type"] == "http.response.start" and (wait := answer_at - loop.time()) > 0:
            await faults.hold(wait)
        await send(message)

    return send_when_due
