"""The HTTP layer every provider shares: one pooled httpx client per target,
a rate limiter, the retry policy, error classification and secret redaction.

It knows no platform: how credentials are sent (query parameter or header) and
how an error body reads are parameters. It retries reads (and calls marked
idempotent) itself, under RetryPolicy. Other writes are sent once: the executor
retries them under the same policy, because only it knows whether a failed call
was a create whose outcome is unknown (resolved by lookup, never resent blind).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from itertools import count
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus, unquote_plus

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from reconciler.model import TargetConfig
from reconciler.providers.base import ErrorClass, ProviderError

logger = logging.getLogger(__name__)

# Reads are safe to repeat and have no outcome to be unsure about.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

T = TypeVar("T")

# Uploads can be slow; connecting should not be.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
DEFAULT_MAX_CONNECTIONS = 10
# An imported upload larger than this is refused rather than held in memory (Snapchat videos reach 1 GB).
MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """How transient errors (RATE_LIMIT, NETWORK) are retried: of reads here, of writes by the executor."""

    max_attempts: int = 6
    base: float = 0.2  # seconds: the first backoff window
    max_wait: float = 30.0  # seconds: the largest backoff window (a longer Retry-After still wins)

    def retrying(self, on_retry: Callable[[int, ProviderError, float], None] | None = None) -> _GivingUp:
        """A tenacity retrier; `on_retry(next_attempt, error, wait_seconds)` is called before each wait."""
        jitter = wait_random_exponential(multiplier=self.base, max=self.max_wait)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            retry_after = error.retry_after if isinstance(error, ProviderError) else None
            return max(jitter(state), retry_after or 0.0)

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            if on_retry is not None and isinstance(error, ProviderError):
                on_retry(state.attempt_number + 1, error, state.next_action.sleep if state.next_action else 0.0)

        def retryable(error: BaseException) -> bool:
            return isinstance(error, ProviderError) and error.transient and not error.retries_exhausted

        retrier = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait,
            retry=retry_if_exception(retryable),
            before_sleep=before_sleep,
            reraise=True,
        )
        return _GivingUp(retrier)


class _GivingUp:
    """A retrier that marks the error it gives up on, so no enclosing retrier tries it again."""

    def __init__(self, retrier: AsyncRetrying) -> None:
        self._retrier = retrier

    async def __call__(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        try:
            return await self._retrier(fn, *args, **kwargs)
        except ProviderError as error:
            error.retries_exhausted = error.retries_exhausted or error.transient
            raise


# The policy of clients made without one. Read when a client is made, so tests can shorten it.
DEFAULT_RETRY = RetryPolicy()

MASK = "***"
_SECRET_NAMES = r"access[_-]token|refresh[_-]token|client[_-]secret|api[_-]key|authorization"
# `name=value` (query strings, forms) and `"name": "value"` / `Name: value` (JSON, headers).
_SECRET_FIELD_RE = re.compile(
    rf"""((?:{_SECRET_NAMES})["']?\s*[=:]\s*["']?(?:(?:bearer|basic)\s+)?)[^\s"'&,;}}#]+""", re.I
)
_BEARER_RE = re.compile(r"(\bBearer\s+)[^\s\"',;]+", re.I)


MIN_SECRET_LENGTH = 8
# A query parameter so named holds a credential (`token`, `access_token`, `client_secret`, `api_key`...).
_SECRET_PARAMETER_RE = re.compile(r"token|secret|password|signature|credential|auth|(^|[_-])key$", re.I)


class Redactor:
    """Removes secrets from text: known secret values (raw and URL-encoded),
    credential-named fields (`access_token=...`, `"client_secret": ...`) and
    bearer tokens."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        # A very short value cannot be told apart from ordinary text ("t" would mask every t);
        # no real token is that short, and the patterns below still mask it where credentials go.
        if len(secret) >= MIN_SECRET_LENGTH:
            self._secrets.update({secret, quote(secret, safe=""), quote_plus(secret)})

    def __call__(self, text: str) -> str:
        # Longest first, so a secret that contains another is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        text = _SECRET_FIELD_RE.sub(rf"\1{MASK}", text)
        return _BEARER_RE.sub(rf"\1{MASK}", text)


_PATTERNS = Redactor()  # no known values: masks credential-named fields and bearer tokens


def redact_target(target: str) -> str:
    """A request target (path and query) as a log may show it.

    Each query parameter that names a credential is masked whole, whatever its
    value holds (the generic patterns stop at characters such as `,`).
    """
    path, sep, query = target.partition("?")
    if sep:
        query = "&".join(_redact_parameter(parameter) for parameter in query.split("&"))
    return _PATTERNS(path + sep + query)


def _redact_parameter(parameter: str) -> str:
    if not _holds_secret(unquote_plus(parameter)):  # `access%5Ftoken=` names a credential too
        return parameter
    name, sep, _ = parameter.partition("=")
    return f"{name}={MASK}" if sep else MASK


def _holds_secret(parameter: str) -> bool:
    """Whether a decoded `name=value` (or a lone `value`) is a credential."""
    name, sep, _ = parameter.partition("=")
    return _PATTERNS(parameter) != parameter or bool(sep and _SECRET_PARAMETER_RE.search(name))


def shown_url(url: httpx.URL, redact: Callable[[str], str] | None = None) -> str:
    """`url` as a log may show it, decoded to be read: no user or password, credential parameters masked."""
    query = "&".join(
        f"{name}={MASK if _holds_secret(f'{name}={value}') else value}" for name, value in url.params.multi_items()
    )
    return (redact or _PATTERNS)(f"{url.scheme}://{url.netloc.decode('ascii')}{url.path}{'?' * bool(query)}{query}")


def log_request(
    log: logging.Logger,
    method: str,
    url: httpx.URL,
    outcome: str,
    seconds: float,
    attempt: int,
    redact: Callable[[str], str] | None = None,
) -> None:
    """One debug line per request sent (RECONCILER_LOG=debug): method, URL, outcome, duration, attempt.

    Never a header or a body: those carry credentials and the people's data.
    """
    if log.isEnabledFor(logging.DEBUG):  # showing the URL costs a redaction: only when it is shown
        shown = shown_url(url, redact)
        log.debug("%s %s -> %s in %d ms (attempt %d)", method, shown, outcome, round(seconds * 1000), attempt)


# The executor's attempt at the operation a write belongs to, for the log: it retries writes, the client reads.
OPERATION_ATTEMPT: ContextVar[int] = ContextVar("operation_attempt", default=1)


class RateLimiter:
    """Paces one target's requests at most `rate` per second, evenly spaced.

    A token bucket holding a single token: bursts are never allowed, so a
    platform limit counted over any window is not exceeded when `rate` is that
    limit. `pause()` (on a 429 with Retry-After) holds back every request of
    the target, including those already waiting. Uses the event loop's clock.
    """

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = float("-inf")  # loop time of the next free slot
        self._paused_until = float("-inf")

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            start = max(now, self._next, self._paused_until)
            self._next = start + self._interval
            if start > now:
                await asyncio.sleep(start - now)
            # A pause that began while we slept moves us behind it (in a new slot).
            if start >= self._paused_until:
                return

    def pause(self, seconds: float) -> None:
        until = asyncio.get_running_loop().time() + seconds
        self._paused_until = max(self._paused_until, until)


@dataclass(frozen=True)
class ErrorDetail:
    """What a platform's error body says, as read by the provider's parser."""

    message: str
    # Overrides the class the HTTP status implies, for platforms that signal
    # e.g. rate limiting in the body of a 400 (Meta's error codes 4, 17, 613).
    error_class: ErrorClass | None = None
    # Seconds to wait, for platforms that say it elsewhere than Retry-After
    # (Meta: estimated_time_to_regain_access in a usage header).
    retry_after: float | None = None
    # The object does not exist, for platforms that do not answer 404 (Meta: 400 with subcode 33).
    not_found: bool = False


ErrorParser = Callable[[httpx.Response], ErrorDetail]
# Seconds to hold the target's requests back after a response, from what it says of the quota in use (Meta's
# usage headers), so that the client slows down before it is throttled; None: no need.
Pacer = Callable[[httpx.Response], float | None]
# Reads the decoded body of a 2xx response: an ErrorDetail when the platform
# reports a failure inside a successful HTTP answer (TikTok's `code` != 0).
BodyCheck = Callable[[Any], ErrorDetail | None]


def default_error_parser(response: httpx.Response) -> ErrorDetail:
    text = " ".join(response.text.split())
    return ErrorDetail(text[:300] or response.reason_phrase)


class NotFound(ProviderError):
    """HTTP 404. Callers decide: a read returns None, a delete succeeds, and
    anything else is a missing dependency."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(ErrorClass.DEPENDENCY, message, status=status)


def _class_for_status(status: int) -> ErrorClass:
    if status in (401, 403):
        return ErrorClass.AUTH
    if status == 404:
        return ErrorClass.DEPENDENCY
    if status == 409:
        return ErrorClass.CONFLICT
    if status == 429:
        return ErrorClass.RATE_LIMIT
    if status == 408 or status >= 500:
        return ErrorClass.NETWORK
    return ErrorClass.VALIDATION  # 400, 422 and the rest: the request as sent was refused


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None  # float() also reads "inf", "nan"
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpClient:
    """One target's connection to its platform API.

    `request()` returns the decoded JSON body of a 2xx response (None when
    empty) and raises ProviderError otherwise, with every message redacted.
    Every attempt, first or retried, waits for the target's rate limiter.
    """

    def __init__(
        self,
        base_url: str,
        *,
        rate_limit: float | None,
        auth_params: Mapping[str, str] | None = None,
        auth_headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        error_parser: ErrorParser = default_error_parser,
        body_check: BodyCheck | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        pace: Pacer | None = None,
    ) -> None:
        self.redact = Redactor(secrets)
        self._pace = pace
        self._retry = retry or DEFAULT_RETRY
        self.set_auth(params=auth_params, headers=auth_headers)
        self._error_parser = error_parser
        self._body_check = body_check
        self._limiter = RateLimiter(rate_limit)
        self._base_path = httpx.URL(base_url).path.rstrip("/")
        # HTTP/1.1 (httpx's default): the platforms and the sandbox speak it;
        # pooled keep-alive connections, as many as the target may use at once.
        pool = max_connections or DEFAULT_MAX_CONNECTIONS
        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits, transport=transport)

    @classmethod
    def for_target(
        cls, target: TargetConfig, *, default_base_url: str, default_rate_limit: float | None, **options: Any
    ) -> HttpClient:
        """The client of one target: its api_base_url, rate limit and concurrency, else the platform's defaults."""
        return cls(
            str(target.api_base_url or default_base_url),
            rate_limit=target.rate_limit or default_rate_limit,
            max_connections=target.concurrency,
            **options,
        )

    def set_auth(self, *, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> None:
        """Credentials sent with every request (replacing earlier ones); their values are redacted."""
        self._auth_params = dict(params or {})
        self._auth_headers = dict(headers or {})
        for value in (*self._auth_params.values(), *self._auth_headers.values()):
            self.redact.add(value)
            self.redact.add(value.removeprefix("Bearer ").strip())

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> Any:
        """`data` + `files` send a multipart form (uploads) instead of `json`.

        A read (GET, HEAD, OPTIONS), or a call the caller marks `idempotent` (a
        lookup or token grant sent as POST), is retried on transient errors under
        the retry policy. Any other write is sent once, for the executor to retry.
        """
        method = method.upper()
        repeatable = idempotent or method in SAFE_METHODS
        send = partial(self._send, method, path, params, json, data, files, write=not repeatable)
        if not repeatable:
            return await send(attempt=OPERATION_ATTEMPT.get())
        attempts = count(1)

        async def numbered() -> Any:
            return await send(attempt=next(attempts))

        return await self._retry.retrying(self._log_retry)(numbered)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        files: Mapping[str, Any] | None,
        *,
        write: bool,
        attempt: int,
    ) -> Any:
        """One attempt (the `attempt`th); `write`: a request whose failure in flight leaves its outcome unknown."""
        request = self._client.build_request(
            method,
            path,
            params={**(params or {}), **self._auth_params},
            json=json,
            data=data,
            files=files,
            headers=self._auth_headers,
        )
        await self._limiter.acquire()
        started = time.monotonic()
        try:
            response = await self._client.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached the server.
            self._log_request(request, f"not sent ({type(exc).__name__})", started, attempt)
            shown = self._describe_request(request)
            raise ProviderError(
                ErrorClass.NETWORK, self.redact(f"{shown} could not be sent: {_describe(exc)}")
            ) from None
        except Exception as exc:
            # Failed while in flight (read timeout, connection dropped, or the
            # transport itself raised): the server may have carried it out.
            self._log_request(request, f"no response ({type(exc).__name__})", started, attempt)
            shown = self._describe_request(request)
            note = " (the request may have been carried out)" if write else ""
            raise ProviderError(
                ErrorClass.NETWORK,
                self.redact(f"{shown} failed: {_describe(exc)}{note}"),
                outcome_unknown=write,
            ) from None
        self._log_request(request, str(response.status_code), started, attempt)
        if self._pace is not None and (hold := self._pace(response)):
            logger.debug("pacing: holding requests back %.2fs for the quota in use", hold)
            self._limiter.pause(hold)
        if not response.is_success:
            raise self._error(response, write)
        body = self._decode(response, write)
        detail = self._body_check(body) if self._body_check is not None else None
        if detail is not None:
            raise self._error(response, write, detail)
        return body

    async def download(self, url: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
        """The bytes at an absolute http(s) URL the platform returned (an uploaded image or video).

        Sent without the target's credentials: the URL may be on another host (a CDN), which must
        never see the token. Retried like a read; refused past `max_bytes`. Only a URL on the API's
        own host waits for the target's rate limit: a CDN's requests are not API calls.
        """
        target = httpx.URL(url)
        if target.scheme not in ("http", "https") or not target.host:
            raise ProviderError(ErrorClass.VALIDATION, self.redact(f"not a download URL: {url!r}"))
        attempts = count(1)
        return await self._retry.retrying(self._log_retry)(self._download_once, target, max_bytes, attempts)

    async def _download_once(self, url: httpx.URL, max_bytes: int, attempts: Iterator[int]) -> bytes:
        unsigned = url.copy_with(query=None)  # a signed URL's query is not shown
        shown = self.redact(f"GET {unsigned}")
        if (url.scheme, url.host, url.port) == (self._client.base_url.scheme, self._client.base_url.host,
                                                 self._client.base_url.port):  # fmt: skip
            await self._limiter.acquire()
        attempt, started = next(attempts), time.monotonic()
        try:
            async with self._client.stream("GET", url) as response:
                log_request(logger, "GET", unsigned, str(response.status_code), time.monotonic() - started, attempt,
                            self.redact)  # fmt: skip
                if not response.is_success:
                    error_class = _class_for_status(response.status_code)
                    raise ProviderError(error_class, f"{shown} returned HTTP {response.status_code}")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise ProviderError(ErrorClass.VALIDATION, f"{shown}: larger than {max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            log_request(logger, "GET", unsigned, f"failed ({type(exc).__name__})", time.monotonic() - started, attempt,
                        self.redact)  # fmt: skip
            raise ProviderError(ErrorClass.NETWORK, self.redact(f"{shown} failed: {_describe(exc)}")) from None

    async def aclose(self) -> None:
        await self._client.aclose()

    def _log_retry(self, next_attempt: int, error: ProviderError, wait: float) -> None:
        # The message is redacted already (every ProviderError raised here is).
        logger.info("%s; retrying in %.2fs (attempt %d of %d)", error, wait, next_attempt, self._retry.max_attempts)

    def _log_request(self, request: httpx.Request, outcome: str, started: float, attempt: int) -> None:
        log_request(logger, request.method, request.url, outcome, time.monotonic() - started, attempt, self.redact)

    def _describe_request(self, request: httpx.Request) -> str:
        """`POST /advertisers?network_id=85&access_token=***`: the path relative to the API root."""
        path = request.url.path
        if self._base_path and path.startswith(self._base_path):
            path = path[len(self._base_path) :] or "/"
        query = "&".join(
            f"{key}={MASK if key in self._auth_params else value}" for key, value in request.url.params.multi_items()
        )
        return self.redact(f"{request.method} {path}{'?' + query if query else ''}")

    def _decode(self, response: httpx.Response, write: bool) -> Any:
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            # Done, perhaps, but we cannot tell what was made.
            raise ProviderError(
                ErrorClass.NETWORK,
                f"{self._describe_request(response.request)} returned HTTP {response.status_code} with a body "
                "that is not JSON",
                status=response.status_code,
                outcome_unknown=write,
            ) from None

    def _error(self, response: httpx.Response, write: bool, detail: ErrorDetail | None = None) -> ProviderError:
        status = response.status_code
        detail = detail or self._error_parser(response)
        error_class = detail.error_class or _class_for_status(status)
        message = self.redact(f"{self._describe_request(response.request)} returned HTTP {status}: {detail.message}")
        if detail.not_found or (error_class is ErrorClass.DEPENDENCY and status == 404):
            return NotFound(message, status)
        retry_after = None
        if error_class is ErrorClass.RATE_LIMIT:
            retry_after = detail.retry_after
            if retry_after is None:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                self._limiter.pause(retry_after)
        return ProviderError(
            error_class,
            message,
            status=status,
            retry_after=retry_after,
            # A 5xx may come after the server did the work.
            outcome_unknown=error_class is ErrorClass.NETWORK and write,
        )


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
