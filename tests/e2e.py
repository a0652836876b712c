"""Helpers for end-to-end tests: a real sandbox server and the real `reconciler` command."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

TOKEN = "e2e-secret-token-4f9a1c"  # a distinctive value: tests assert it never appears in output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Sandbox:
    url: str
    process: subprocess.Popen[bytes]

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}/__sandbox__/{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def objects(self, platform: str = "broadstreet", *, include_deleted: bool = False) -> list[dict[str, Any]]:
        params = {"platform": platform, **({"include_deleted": "1"} if include_deleted else {})}
        return [o for o in self.control("GET", "objects", params=params) if o["type"] != "network"]

    def writes(self, platform: str = "broadstreet") -> int:
        counts = self.control("GET", "stats")["requests"].get(platform, {})
        return sum(n for method, n in counts.items() if method != "GET")


def wait_until_serving(process: subprocess.Popen[Any], probe: str, what: str, *, timeout: float) -> None:
    """Return once `probe` answers; kill `process` and raise if it exits or `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(probe, timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                stderr = process.communicate()[1] if process.stderr else None
                raise RuntimeError(f"{what} did not start" + (f": {stderr!r}" if stderr else "")) from None
            time.sleep(0.05)


@contextlib.contextmanager
def sandbox_server(*args: str, log: IO[bytes] | None = None) -> Iterator[Sandbox]:
    """`reconciler sandbox serve` on a free port of 127.0.0.1, stopped afterwards.

    `log` receives the server's stdout and stderr, which are discarded otherwise.
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", str(port), "--host", "127.0.0.1", *args],
        stdout=log or subprocess.DEVNULL,
        stderr=log or subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(process, f"{url}/__sandbox__/stats", "the sandbox server", timeout=15)
    try:
        yield Sandbox(url, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_reconciler(
    project: Path, *args: str, token: str = TOKEN, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "BROADSTREET_API_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "-C", str(project), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def start_reconciler(project: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "NO_COLOR": "1", "BROADSTREET_API_TOKEN": TOKEN}
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "-C", str(project), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def broadstreet_project(directory: Path, api_url: str, *, campaigns: int = 2, rate_limit: int = 500) -> Path:
    """A Broadstreet-only project: per campaign two html creatives placed in two zones."""
    specs = directory / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    (directory / "state").mkdir(exist_ok=True)
    docs = [
        f"kind: Target\nname: bs-main\nplatform: broadstreet\nnetwork_id: 85\n"
        f"api_base_url: {api_url}/broadstreet/api/1\nrate_limit: {rate_limit}\nconcurrency: 8\n"
        "credentials: {token_env: BROADSTREET_API_TOKEN}\n",
        "kind: Advertiser\nname: acme\ndisplay_name: ACME Corp\nweb_home_url: https://acme.example\n",
        "kind: Zone\nname: top\ntarget: bs-main\ndisplay_name: Top banner\nalias: top\n",
        "kind: Zone\nname: side\ntarget: bs-main\ndisplay_name: Sidebar\nalias: side\n",
    ]
    for n in range(campaigns):
        for k in ("a", "b"):
            docs.append(
                f"kind: Creative\nname: c{n}-{k}\nadvertiser: acme\nformat: text/html\nsize: 300x250\n"
                f"html: '<b>offer {n}{k}</b>'\nclick_url: https://acme.example/{n}/{k}\n"
            )
        docs.append(
            f"kind: Campaign\nname: camp{n}\nadvertiser: acme\nstart_date: 2026-06-01\nend_date: 2026-08-31\n"
            f"targets: [bs-main]\ncreatives: [c{n}-a, c{n}-b]\n"
        )
        for k in ("a", "b"):
            for zone in ("top", "side"):
                docs.append(f"kind: Placement\ncampaign: camp{n}\ncreative: c{n}-{k}\nzone: {zone}\n")
    (specs / "main.yaml").write_text("---\n".join(docs))
    return directory


def expected_counts(campaigns: int) -> dict[str, int]:
    return {
        "advertiser": 1,
        "zone": 2,
        "campaign": campaigns,
        "advertisement": 2 * campaigns,
        "placement": 4 * campaigns,
    }


def counts(objects: list[dict[str, Any]]) -> dict[str, int]:
    result: dict[str, int] = {}
    for obj in objects:
        result[obj["type"]] = result.get(obj["type"], 0) + 1
    return result
