"""The shared HTTP layer: rate limiter pacing, redaction, error classification.

The limiter runs on an event loop whose clock is virtual (it jumps to the next
timer instead of sleeping), so pacing is checked exactly and instantly. Status
codes the sandbox does not produce (409, HTTP-date Retry-After, platform error
overrides) use httpx.MockTransport; the Broadstreet tests use the sandbox.
"""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from reconciler.providers.base import ErrorClass, ProviderError
from reconciler.providers.http import (
    ErrorDetail,
    HttpClient,
    NotFound,
    RateLimiter,
    Redactor,
    RetryPolicy,
    parse_retry_after,
)

TOKEN = "tok-Zq8/+x=secret"


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock only moves when every task waits on a timer."""

    def __init__(self) -> None:
        super().__init__()
        self._now = 0.0
        select = self._selector.select

        def virtual_select(timeout: float | None = None) -> Any:
            events = select(0)
            if not events and timeout:
                self._now += timeout
            return events

        self._selector.select = virtual_select  # type: ignore[method-assign]

    def time(self) -> float:
        return self._now


def run_virtual(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main())


async def acquire_at(limiter: RateLimiter, times: list[float]) -> None:
    await limiter.acquire()
    times.append(asyncio.get_running_loop().time())


def test_limiter_spaces_sequential_requests_evenly() -> None:
    async def main() -> list[float]:
        limiter, times = RateLimiter(10), []
        for _ in range(5):
            await acquire_at(limiter, times)
        return times

    assert run_virtual(main) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_limiter_never_exceeds_rate_with_concurrent_callers() -> None:
    async def main() -> list[float]:
        limiter, times = RateLimiter(4), []
        await asyncio.gather(*(acquire_at(limiter, times) for _ in range(12)))
        return times

    times = sorted(run_virtual(main))
    assert times == pytest.approx([i * 0.25 for i in range(12)])
    # No 1-second window holds more than the limit (the server's bucket holds `rate` tokens).
    assert all(sum(t <= s < t + 1 for s in times) <= 4 for t in times)


def test_limiter_without_rate_does_not_wait() -> None:
    async def main() -> list[float]:
        limiter, times = RateLimiter(None), []
        await asyncio.gather(*(acquire_at(limiter, times) for _ in range(5)))
        return times

    assert run_virtual(main) == [0.0] * 5


def test_limiter_starts_after_idle_without_catching_up() -> None:
    async def main() -> list[float]:
        limiter, times = RateLimiter(10), []
        await acquire_at(limiter, times)
        await asyncio.sleep(5)
        await acquire_at(limiter, times)
        await acquire_at(limiter, times)
        return times

    assert run_virtual(main) == pytest.approx([0.0, 5.0, 5.1])


def test_limiter_pause_holds_back_waiting_and_new_requests() -> None:
    async def main() -> list[float]:
        limiter, times = RateLimiter(10), []
        waiters = [asyncio.create_task(acquire_at(limiter, times)) for _ in range(3)]
        await asyncio.sleep(0.05)  # the first has gone, two wait for slots 0.1 and 0.2
        limiter.pause(2.0)  # a 429 with Retry-After: 2
        await asyncio.gather(*waiters)
        await acquire_at(limiter, times)
        return times

    times = run_virtual(main)
    assert times[0] == pytest.approx(0.0)
    assert all(t >= 2.05 for t in times[1:])
    assert all(b - a >= 0.1 - 1e-9 for a, b in zip(times[1:], times[2:], strict=False))


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-1") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("inf") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < parse_retry_after(later) <= 30  # type: ignore[operator]


def test_redactor_masks_known_secrets_in_every_encoding() -> None:
    redact = Redactor([TOKEN])
    text = f"raw {TOKEN} url tok-Zq8%2F%2Bx%3Dsecret form tok-Zq8%2F%2Bx%3Dsecret"
    assert redact(text) == "raw *** url *** form ***"


def test_redactor_leaves_text_alone_for_a_too_short_secret_but_masks_it_where_credentials_go() -> None:
    redact = Redactor(["t"])
    assert redact("The parameter targeting is required") == "The parameter targeting is required"
    assert redact("POST /act_1/adsets?access_token=t") == "POST /act_1/adsets?access_token=***"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /x?a=1&access_token=abc123&b=2", "GET /x?a=1&access_token=***&b=2"),
        ('{"refresh_token": "r-1", "ok": 1}', '{"refresh_token": "***", "ok": 1}'),
        ("client_secret=s3&x=1", "client_secret=***&x=1"),
        ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
        ("Access-Token: 0123abcd", "Access-Token: ***"),
        ("sent with bearer xyz", "sent with bearer ***"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_redactor_masks_credential_fields(text: str, expected: str) -> None:
    assert Redactor()(text) == expected


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> HttpClient:
    kwargs.setdefault("auth_params", {"access_token": TOKEN})
    return HttpClient(
        "https://api.example.test/api/1", rate_limit=None, transport=httpx.MockTransport(handler), **kwargs
    )


def call(client: HttpClient, method: str, path: str, **kwargs: Any) -> Any:
    async def main() -> Any:
        try:
            return await client.request(method, path, **kwargs)
        finally:
            await client.aclose()

    return asyncio.run(main())


def error_of(client: HttpClient, method: str = "POST", path: str = "/things", **kwargs: Any) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        call(client, method, path, **kwargs)
    return info.value


def test_request_sends_auth_and_decodes_json() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"thing": {"id": 7}})

    client = mock_client(handler, auth_headers={"Access-Token": "hdr-secret"})
    assert call(client, "POST", "/things", params={"parent_id": 3}, json={"name": "a"}) == {"thing": {"id": 7}}
    [request] = seen
    assert request.url.path == "/api/1/things"
    assert dict(request.url.params) == {"parent_id": "3", "access_token": TOKEN}
    assert request.headers["Access-Token"] == "hdr-secret"
    assert request.headers["Content-Type"] == "application/json"


def test_empty_success_body_is_none() -> None:
    assert call(mock_client(lambda r: httpx.Response(204)), "DELETE", "/things/1") is None


@pytest.mark.parametrize(
    ("status", "error_class", "unknown"),
    [
        (400, ErrorClass.VALIDATION, False),
        (401, ErrorClass.AUTH, False),
        (403, ErrorClass.AUTH, False),
        (409, ErrorClass.CONFLICT, False),
        (422, ErrorClass.VALIDATION, False),
        (500, ErrorClass.NETWORK, True),
        (503, ErrorClass.NETWORK, True),
    ],
)
def test_status_classification(status: int, error_class: ErrorClass, unknown: bool) -> None:
    exc = error_of(mock_client(lambda r: httpx.Response(status, text="nope")))
    assert (exc.error_class, exc.status, exc.outcome_unknown) == (error_class, status, unknown)
    assert str(exc) == f"{error_class.value}: POST /things?access_token=*** returned HTTP {status}: nope"


def test_5xx_on_a_read_is_not_an_unknown_outcome() -> None:
    exc = error_of(mock_client(lambda r: httpx.Response(502)), "GET")
    assert exc.error_class is ErrorClass.NETWORK and not exc.outcome_unknown


def test_404_is_not_found() -> None:
    exc = error_of(mock_client(lambda r: httpx.Response(404, json={"error": "Not found"})), "GET")
    assert isinstance(exc, NotFound) and exc.error_class is ErrorClass.DEPENDENCY


def test_429_reports_retry_after_as_http_date() -> None:
    later = email.utils.formatdate(time.time() + 20, usegmt=True)
    exc = error_of(mock_client(lambda r: httpx.Response(429, headers={"Retry-After": later})))
    assert exc.error_class is ErrorClass.RATE_LIMIT and 15 < exc.retry_after <= 20  # type: ignore[operator]


def test_error_parser_can_override_the_class() -> None:
    def parser(response: httpx.Response) -> ErrorDetail:
        code = response.json()["error"]["code"]
        return ErrorDetail(f"code {code}", ErrorClass.RATE_LIMIT if code == 17 else None)

    body = {"error": {"code": 17}}
    exc = error_of(mock_client(lambda r: httpx.Response(400, json=body), error_parser=parser))
    assert exc.error_class is ErrorClass.RATE_LIMIT and exc.message.endswith("code 17")


def test_non_json_success_body_is_an_unknown_outcome() -> None:
    exc = error_of(mock_client(lambda r: httpx.Response(201, text="<html>")))
    assert exc.error_class is ErrorClass.NETWORK and exc.outcome_unknown


def test_secrets_never_reach_error_messages() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        echoed = f"{request.url} {request.headers['Authorization']} {request.content.decode()}"
        return httpx.Response(500, text=f"boom: {echoed}")

    client = mock_client(echo, auth_headers={"Authorization": "Bearer hdr-Secret-42"}, secrets=["extra-Secret-9"])
    exc = error_of(client, json={"note": "extra-Secret-9"})
    for text in (str(exc), repr(exc), exc.message):
        assert TOKEN not in text and "hdr-Secret-42" not in text and "Secret" not in text
    assert "access_token=***" in str(exc)


def test_transport_exception_in_flight_is_an_unknown_outcome() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out reading {request.url}", request=request)

    exc = error_of(mock_client(fail))
    assert exc.error_class is ErrorClass.NETWORK and exc.outcome_unknown
    assert TOKEN not in str(exc) and "ReadTimeout" in str(exc)
    assert exc.__cause__ is None and exc.__suppress_context__


def test_connection_refused_was_not_sent() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = HttpClient(f"http://127.0.0.1:{port}/api/1", rate_limit=None, auth_params={"access_token": TOKEN})
    exc = error_of(client)
    assert exc.error_class is ErrorClass.NETWORK and not exc.outcome_unknown
    assert "could not be sent" in str(exc) and TOKEN not in str(exc)


# --- retries: every read, and calls marked idempotent, under the one RetryPolicy ---


def scripted(
    *answers: httpx.Response | type[httpx.TransportError],
) -> tuple[Callable[..., httpx.Response], list[float]]:
    """A handler giving `answers` in turn (an exception class is raised), the last one from then on;
    and the loop times at which requests arrived."""
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(asyncio.get_running_loop().time())
        answer = answers[min(len(arrivals), len(answers)) - 1]
        if isinstance(answer, httpx.Response):
            return answer
        raise answer("transient", request=request)

    return handler, arrivals


TRANSIENT = [
    pytest.param(httpx.Response(500), id="500"),
    pytest.param(httpx.Response(502), id="502"),
    pytest.param(httpx.Response(503), id="503"),
    pytest.param(httpx.Response(408), id="408"),
    pytest.param(httpx.Response(429), id="429"),
    pytest.param(httpx.ConnectError, id="connection-refused"),
    pytest.param(httpx.ReadTimeout, id="read-timeout"),
    pytest.param(httpx.RemoteProtocolError, id="connection-reset"),
    pytest.param(httpx.ReadError, id="read-error"),
]


@pytest.mark.parametrize("failure", TRANSIENT)
def test_a_read_is_retried_through_transient_failures(failure: Any) -> None:
    handler, arrivals = scripted(failure, failure, httpx.Response(200, json={"ok": 1}))
    assert call(mock_client(handler), "GET", "/things/1") == {"ok": 1}
    assert len(arrivals) == 3


@pytest.mark.parametrize("failure", TRANSIENT)
def test_an_idempotent_post_is_retried_like_a_read(failure: Any) -> None:
    handler, arrivals = scripted(failure, httpx.Response(200, json={"access_token": "a"}))
    assert call(mock_client(handler), "POST", "/token", data={"grant": "x"}, idempotent=True) == {"access_token": "a"}
    assert len(arrivals) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_a_read_refused_for_a_lasting_reason_is_sent_once(status: int) -> None:
    handler, arrivals = scripted(httpx.Response(status, text="no"), httpx.Response(200, json={}))
    exc = error_of(mock_client(handler), "GET", "/things/1")
    assert not exc.transient and len(arrivals) == 1


@pytest.mark.parametrize("failure", [httpx.Response(503), httpx.ReadTimeout, httpx.RemoteProtocolError])
def test_a_write_is_sent_once_its_retry_left_to_the_executor(failure: Any) -> None:
    # A create whose answer was lost must be looked up before it is sent again, never resent here.
    handler, arrivals = scripted(failure, httpx.Response(201, json={"id": 1}))
    exc = error_of(mock_client(handler), "POST", "/things", json={"name": "a"})
    assert exc.transient and exc.outcome_unknown and len(arrivals) == 1


def test_a_read_that_keeps_failing_gives_up_after_the_policy_attempts() -> None:
    handler, arrivals = scripted(httpx.Response(503))
    policy = RetryPolicy(max_attempts=4, base=0.001, max_wait=0.001)
    exc = error_of(mock_client(handler, retry=policy), "GET", "/things/1")
    assert (exc.error_class, exc.status, exc.outcome_unknown, len(arrivals)) == (ErrorClass.NETWORK, 503, False, 4)


def test_retried_reads_wait_for_retry_after_and_the_rate_limiter() -> None:
    async def main() -> list[float]:
        handler, arrivals = scripted(
            httpx.Response(503), httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={})
        )
        client = HttpClient("https://api.example.test/api/1", rate_limit=2, transport=httpx.MockTransport(handler))
        try:
            await client.request("GET", "/things/1")
        finally:
            await client.aclose()
        return arrivals

    first, second, third = run_virtual(main)
    assert second - first >= 0.5  # each attempt takes its own rate limiter slot (2/s)
    assert third - second >= 3  # and never comes sooner than Retry-After


def test_a_retried_read_that_gave_up_is_not_retried_again_by_an_enclosing_policy() -> None:
    """A step (executor) around a lookup (client) must not multiply attempts: 6 x 6 in an outage."""
    import asyncio

    from reconciler.providers.base import ErrorClass, ProviderError
    from reconciler.providers.http import RetryPolicy

    calls = 0

    async def read() -> None:
        nonlocal calls
        calls += 1
        raise ProviderError(ErrorClass.NETWORK, "503")

    inner, outer = RetryPolicy(max_attempts=3, base=0.0), RetryPolicy(max_attempts=4, base=0.0)

    async def step() -> None:
        await inner.retrying()(read)

    with pytest.raises(ProviderError) as raised:
        asyncio.run(outer.retrying()(step))
    assert calls == 3 and raised.value.retries_exhausted
