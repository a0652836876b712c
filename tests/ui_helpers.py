"""Helpers for the dashboard tests: `reconciler ui` as a real process on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.e2e import TOKEN, free_port, wait_until_serving

UI_TOKEN = "ui-secret-token-7d21e0"  # distinctive: tests assert it never appears in an answer


@contextlib.contextmanager
def ui_server(
    project: Path, *args: str, host: str = "127.0.0.1", ui_token: str | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """`reconciler -C project ui --host HOST --port FREE ARGS...`; yields its base URL (via 127.0.0.1).

    `env`: more environment variables (credentials) for it."""
    port = free_port()
    env = {**os.environ, "NO_COLOR": "1", "BROADSTREET_API_TOKEN": TOKEN, **(env or {})}
    env.pop("RECONCILER_UI_TOKEN", None)
    if ui_token:
        env["RECONCILER_UI_TOKEN"] = ui_token
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "-C", str(project), "ui", "--host", host, "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(process, f"{url}/static/ui.css", "reconciler ui", timeout=20)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()  # type: ignore[union-attr]


def sse_events(url: str, *, timeout: float = 60, **kwargs: Any) -> tuple[httpx.Headers, list[dict[str, Any]]]:
    """Every event of an SSE stream (its data as JSON), until the server ends it."""
    events = []
    with httpx.stream("GET", url, timeout=timeout, **kwargs) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: ") :]))
        return response.headers, events
