"""The control API and `reconciler sandbox serve` accept only bounded, well-typed settings.

A non-finite latency or rate used to be accepted, after which the emulator hung
and ignored SIGTERM: every setting is now checked, as a class, against its range.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import httpx
import pytest

from reconciler.cli import cli
from reconciler.cli import main as reconciler_main
from reconciler.sandbox.faults import RANGES
from reconciler.sandbox.server import serve
from tests import provider_kit as kit
from tests.e2e import sandbox_server

# Bad values as JSON text: Python's json reads NaN, Infinity and 1e999 (as inf) without complaint.
NON_NUMBERS = ["true", "[]", "{}", '"1"', '"nan"']
NON_FINITE = ["Infinity", "-Infinity", "NaN", "1e999", "-1e999"]
OUT_OF_RANGE = {
    "latency_ms": ["-1", "60000.5", "1" + "0" * 400],
    "rate_limit": ["0", "-1", "0.001", "100001", "1" + "0" * 400],
    "fault_rate": ["-0.1", "1.01", "2"],
    "drop_response_rate": ["-0.1", "1.01", "2"],
    "video_processing_ms": ["-1", "600000.5", "1" + "0" * 400],
}
BAD_SETTINGS = [
    (name, value)
    for name in RANGES
    for value in [*NON_NUMBERS, *NON_FINITE, *OUT_OF_RANGE[name], *([] if name == "rate_limit" else ["null"])]
]
BAD_SETTINGS += [("seed", value) for value in ["1.5", "true", '"7"', "[]", "NaN", "Infinity"]]
VALID_SETTINGS = [
    *((name, value) for name, allowed in RANGES.items() for value in (allowed.low, allowed.high)),
    ("latency_ms", 12.5),
    ("rate_limit", None),
    ("fault_rate", 0.5),
    ("seed", -3),
    ("seed", 2**80),
    ("seed", None),
]


async def post(sb: kit.AsyncSandbox, path: str, content: str) -> httpx.Response:
    return await sb.http.post(f"/__sandbox__{path}", content=content, headers={"content-type": "application/json"})


async def assert_refused(sb: kit.AsyncSandbox, path: str, content: str, field: str | None) -> dict[str, Any]:
    response = await post(sb, path, content)
    assert response.status_code == 400, (content, response.text)
    body = response.json()
    assert body["field"] == field, (content, body)
    return body


@pytest.mark.parametrize("scope", [{}, {"platform": "meta"}], ids=["default", "platform"])
@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS)
def test_a_bad_setting_is_refused_naming_the_field_and_its_range(name: str, value: str, scope: dict[str, str]) -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        before = await sb.control("POST", "/faults", {})
        content = json.dumps(scope)[:-1] + (", " if scope else "") + f'"{name}": {value}}}'
        body = await assert_refused(sb, "/faults", content, name)
        if name in RANGES:
            allowed = RANGES[name]
            assert f"{name} must be a finite number from {allowed.low:g} to {allowed.high:g}" == body["error"]
        else:
            assert "seed must be an integer" in body["error"]
        assert await sb.control("POST", "/faults", {}) == before  # nothing changed

    kit.in_sandbox(scenario, kit.AsyncSandbox)


@pytest.mark.parametrize(("name", "value"), VALID_SETTINGS)
def test_every_value_in_range_is_taken(name: str, value: Any) -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        described = await sb.control("POST", "/faults", {"platform": "tiktok", name: value})
        if name != "seed":
            assert described["platforms"]["tiktok"][name] == value
        described = await sb.control("POST", "/faults", {name: value})
        if name != "seed":
            assert described["default"][name] == value

    kit.in_sandbox(scenario, kit.AsyncSandbox)


@pytest.mark.parametrize("path", ["/faults", "/auth", "/review"])
@pytest.mark.parametrize(
    "content", ["{not json", "[]", '"text"', "7", "null", "[" * 100_000, '{"bogus": 1}', "\xff".encode("latin-1")]
)
def test_a_body_that_is_not_a_known_json_object_is_refused(path: str, content: str | bytes) -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        response = await sb.http.post(f"/__sandbox__{path}", content=content)
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["field"] == ("bogus" if content == '{"bogus": 1}' else None)
        assert body["error"].startswith(("the body must be", "unknown keys: bogus; allowed: "))

    kit.in_sandbox(scenario, kit.AsyncSandbox)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/faults", {"platform": "nope"}, "platform"),
        ("/faults", {"platform": 3}, "platform"),
        ("/faults", {"reject": 5}, "reject"),
        ("/faults", {"reject": "campaign"}, "reject"),
        ("/faults", {"reject": {"platform": "meta", "type": "ad"}}, "reject"),
        ("/faults", {"reject": [{"platform": "meta"}]}, "reject"),
        ("/faults", {"reject": [{"platform": "meta", "type": "ad", "extra": 1}]}, "reject"),
        ("/faults", {"reject": [{"platform": "meta", "type": 7}]}, "reject"),
        ("/faults", {"reject": [{"platform": "nope", "type": "ad"}]}, "reject"),
        ("/auth", {"platform": "meta", "valid_tokens": "abc"}, "valid_tokens"),
        ("/auth", {"platform": "meta", "valid_tokens": [1]}, "valid_tokens"),
        ("/auth", {"platform": "meta", "expire_access_tokens": "yes"}, "expire_access_tokens"),
        ("/auth", {"valid_tokens": []}, "platform"),
        ("/review", {"name_contains": 1, "status": "approved"}, "name_contains"),
        ("/review", {"name_contains": "x", "status": ["approved"]}, "status"),
        ("/review", {"name_contains": "x", "status": "approved", "reason": 5}, "reason"),
    ],
)
def test_every_other_control_field_is_checked(path: str, body: dict[str, Any], field: str) -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        await assert_refused(sb, path, json.dumps(body), field)

    kit.in_sandbox(scenario, kit.AsyncSandbox)


# --- the same bounds on `reconciler sandbox serve` ---

SERVE_OPTIONS = {"latency_ms": "--latency-ms", "rate_limit": "--rate-limit", "fault_rate": "--fault-rate"}
SERVE_OPTIONS["drop_response_rate"] = "--drop-response-rate"
SERVE_OPTIONS["video_processing_ms"] = "--video-processing-ms"


def test_serve_options_declare_the_control_api_ranges() -> None:
    serve_command = cli.commands["sandbox"].commands["serve"]  # type: ignore[attr-defined]
    declared = {p.name: (p.type.min, p.type.max) for p in serve_command.params if p.name in RANGES}
    assert declared == {name: (allowed.low, allowed.high) for name, allowed in RANGES.items()}


@pytest.mark.parametrize(
    ("name", "value"),
    [(name, value) for name in RANGES for value in ["inf", "-inf", "nan", "-1", "1e6", "x"]],
)
def test_serve_refuses_a_bad_setting_before_serving(name: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    # The port is taken: were the setting let through, serving would fail with another message.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        with pytest.raises(SystemExit) as exit_:
            reconciler_main(["sandbox", "serve", "--port", port, SERVE_OPTIONS[name], value])
    err = capsys.readouterr().err
    assert exit_.value.code == 1
    assert SERVE_OPTIONS[name] in err or f"{name} must be a finite number" in err, err
    assert "Traceback" not in err


def test_serve_refuses_the_log_level_that_dumps_headers() -> None:
    with pytest.raises(ValueError, match="log_level"):
        serve(log_level="trace")


def test_sigterm_stops_the_server_promptly_while_a_response_is_held_in_latency() -> None:
    with sandbox_server("--latency-ms", "60000") as server:
        answers: list[int] = []
        url = f"{server.url}/broadstreet/api/1/networks?access_token=t"
        request = threading.Thread(target=lambda: answers.append(httpx.get(url, timeout=90).status_code))
        request.start()
        time.sleep(0.5)  # the request is held now
        assert not answers
        started = time.monotonic()
        server.process.terminate()
        server.process.wait(timeout=15)
        stopped_after = time.monotonic() - started
        request.join(timeout=15)
    assert stopped_after < 5
    assert answers == [200]  # answered at shutdown rather than dropped
