"""`reconciler sandbox serve` never logs a credential, whichever way a client sends it.

The real server runs as a subprocess; the real providers (through `reconciler apply`)
and hand-made requests send credentials in every way the platforms take them, on
successes and on errors (404, 400, 401, 429, 5xx, lost responses); then its whole
output and its data file are searched for them.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from reconciler.sandbox import snapchat
from reconciler.sandbox.server import RedactSecrets, redact_target
from tests import provider_kit as kit
from tests.conftest import SPECS
from tests.e2e import sandbox_server

CANARY = "c4nary-9d2e"  # every credential below contains it: the log must never show it
CREDENTIALS = {
    "BROADSTREET_API_TOKEN": f"bs-{CANARY}-query",
    "META_ACCESS_TOKEN": f"meta-{CANARY}-query",
    "TIKTOK_ACCESS_TOKEN": f"tt-{CANARY}-header",
    "SNAP_REFRESH": f"snap-{CANARY}-refresh",
    "SNAP_ID": "snap-client-id",  # not a secret
    "SNAP_SECRET": f"snap-{CANARY}-secret",
}
SNAP_TOKEN_PATH = snapchat.MOUNT + snapchat.TOKEN_PATH
# The generic redaction patterns stop at `,` and `;`: the access log masks a credential parameter whole.
ODD = f"{CANARY}-a,{CANARY}-b;{CANARY}-c"


def point_at(project: Path, url: str) -> Path:
    """The shared four-platform project, every target pointed at the sandbox at `url`."""
    specs = SPECS
    for platform, root in kit.API_ROOTS.items():
        extra = f"auth_url: {url}{SNAP_TOKEN_PATH}\n" if platform == "snapchat" else ""
        specs = specs.replace(f"platform: {platform}\n", f"platform: {platform}\napi_base_url: {url}{root}\n{extra}")
    (project / "specs" / "main.yaml").write_text(specs)
    return project


def apply(project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", **CREDENTIALS}
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "-C", str(project), "apply", "--auto-approve"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def send_by_hand(http: httpx.Client) -> list[str]:
    """Credentials in every place, on successes and errors; returns the request lines to find in the log."""
    bs, meta, tt = (kit.API_ROOTS[p] for p in ("broadstreet", "meta", "tiktok"))
    token = CREDENTIALS["BROADSTREET_API_TOKEN"]
    lines = []

    def send(method: str, path: str, query: str = "", **kwargs: Any) -> httpx.Response:
        response = http.request(method, path + (f"?{query}" if query else ""), **kwargs)
        lines.append(f'"{method} {path}')
        return response

    assert send("GET", f"{bs}/networks", f"access_token={token}").status_code == 200
    assert send("GET", f"{bs}/no-such-route", f"access_token={token}").status_code == 404
    assert send("GET", f"{bs}/networks", f"access_token={quote(ODD, safe=',;')}&x=1").status_code == 200
    assert send("GET", f"{bs}/networks", f"access%5Ftoken={quote_plus(ODD)}").status_code == 200
    bad_json = {"content": b"{not json", "headers": {"content-type": "application/json"}}
    assert send("POST", f"{bs}/advertisers", f"access_token={token}&network_id=85", **bad_json).status_code == 400
    send("GET", f"{meta}/me", "", headers={"Authorization": f"Bearer {CANARY}-bearer"})
    assert send("POST", f"{meta}/act_1/campaigns", "", data={"access_token": f"{CANARY}-form"}).status_code == 400
    send("GET", f"{tt}/campaign/get/", "advertiser_id=1", headers={"Access-Token": f"{CANARY}-tt"})
    form = {"grant_type": "refresh_token", "client_id": "x", "client_secret": f"{CANARY}-cs", "refresh_token": "r"}
    http.post("/__sandbox__/auth", json={"platform": "snapchat", "valid_tokens": [f"{CANARY}-only"]})
    assert send("POST", SNAP_TOKEN_PATH, "", data=form).status_code == 400  # invalid_grant: refresh token refused
    http.post("/__sandbox__/auth", json={"platform": "snapchat", "valid_tokens": None})
    http.post("/__sandbox__/auth", json={"platform": "broadstreet", "valid_tokens": ["another-token"]})
    assert send("GET", f"{bs}/networks", f"access_token={token}").status_code == 401
    http.post("/__sandbox__/auth", json={"platform": "broadstreet", "valid_tokens": None})

    # Injected faults: 5xx, 429 and lost responses carry the credentials as well.
    http.post("/__sandbox__/faults", json={"fault_rate": 1})
    assert send("GET", f"{bs}/networks", f"access_token={token}").status_code >= 500
    send("GET", f"{tt}/campaign/get/", "", headers={"Access-Token": f"{CANARY}-tt"})
    http.post("/__sandbox__/faults", json={"fault_rate": 0, "rate_limit": 0.01})
    send("GET", f"{bs}/networks", f"access_token={token}")
    assert send("GET", f"{bs}/networks", f"access_token={token}").status_code == 429
    http.post("/__sandbox__/faults", json={"rate_limit": None, "drop_response_rate": 1})
    with pytest.raises(httpx.TransportError):
        send("POST", f"{bs}/advertisers", f"access_token={token}&network_id=85", data={"name": "lost"})
    http.post("/__sandbox__/faults", json={"drop_response_rate": 0})
    return lines


def test_the_server_logs_requests_but_never_a_credential(tmp_path: Path, project: Path) -> None:
    data = tmp_path / "sandbox.json"
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log, sandbox_server("--data", str(data), log=log) as server:
        result = apply(point_at(project, server.url))
        assert result.returncode == 0, result.stdout + result.stderr
        # Every provider got through: query tokens, headers, Snapchat's OAuth refresh and Bearer token.
        assert all(server.writes(platform) for platform in kit.API_ROOTS)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            request_lines = send_by_hand(http)
    output = log_path.read_text()
    stored = data.read_text() + data.with_name(data.name + ".journal").read_text()

    # Every credential sent contains CANARY, which URL-encoding leaves as it is.
    assert [line for line in output.splitlines() if CANARY in line] == []
    assert CANARY not in stored
    assert "sandbox-snap-" not in output + stored  # the access tokens the sandbox itself issued
    for line in request_lines:
        assert line in output  # still logged, credentials masked
    assert 'access_token=*** HTTP/1.1" 200' in output
    assert 'POST /snapchat/login/oauth2/access_token HTTP/1.1" 200' in output  # the providers' refresh
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("/a/b", "/a/b"),
        ("/a?access_token=s3cr3t-value&x=1", "/a?access_token=***&x=1"),
        ("/a?x=1&access_token=a,b;c", "/a?x=1&access_token=***"),
        ("/a?access%5Ftoken=a%2Cb", "/a?access%5Ftoken=***"),
        ("/a?client_secret=x&refresh_token=y&name=z", "/a?client_secret=***&refresh_token=***&name=z"),
        ("/a?q=Bearer+abc", "/a?q=***"),
        ("/a?Bearer%20abc&x=1", "/a?***&x=1"),
    ],
)
def test_the_access_log_masks_credential_parameters_whole(target: str, shown: str) -> None:
    assert redact_target(target) == shown


def test_messages_and_tracebacks_are_redacted() -> None:
    """Records other than the access log's: their message and exception text, as the server's handlers write them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("tests.sandbox.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"refused access_token={CANARY} and Authorization: Bearer {CANARY}")
        except ValueError:
            logger.exception("boom with refresh_token=%s", CANARY)
        logger.warning("client_secret: %s", CANARY)
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "boom with refresh_token=***" in written and "ValueError: refused access_token=***" in written
    assert "Traceback" in written and "client_secret: ***" in written
    assert CANARY not in written
