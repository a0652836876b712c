"""Shared fixtures: a small but complete project on disk."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.providers import http
from tests.e2e import Sandbox, sandbox_server
from tests.postgres import Server, postgres_server

SPECS = """\
kind: Target
name: bs-main
platform: broadstreet
network_id: 85
credentials: {token_env: BROADSTREET_API_TOKEN}
---
kind: Target
name: meta-us
platform: meta
ad_account_id: act_1234567890
page_id: "998877"
credentials: {token_env: META_ACCESS_TOKEN}
---
kind: Target
name: tiktok-us
platform: tiktok
advertiser_id: "7000000001"
identity_id: acme-identity
credentials: {token_env: TIKTOK_ACCESS_TOKEN}
---
kind: Target
name: snap-us
platform: snapchat
ad_account_id: 8f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
credentials: {refresh_token_env: SNAP_REFRESH, client_id_env: SNAP_ID, client_secret_env: SNAP_SECRET}
---
kind: Advertiser
name: acme
display_name: ACME Corp
web_home_url: https://acme.example
---
kind: Zone
name: home-lb
target: bs-main
display_name: Homepage leaderboard
alias: home-lb
---
kind: Creative
name: banner
advertiser: acme
format: image/png
size: 728x90
asset: assets/banner.png
click_url: https://acme.example/summer
headline: Summer sale
---
kind: Creative
name: teaser
advertiser: acme
format: text/html
size: 300x250
html: "<b>Summer</b>"
click_url: https://acme.example/summer
---
kind: Campaign
name: summer
advertiser: acme
start_date: 2026-06-01
end_date: 2026-08-31
targets: [bs-main, meta-us, tiktok-us, snap-us]
creatives: [banner, teaser]
budget: {daily: 50.00, currency: USD}
objective: traffic
audience: {countries: [US], age_min: 18}
---
kind: Placement
campaign: summer
creative: banner
zone: home-lb
restrictions: [mobile]
"""


def png_bytes(seed: int = 0) -> bytes:
    """A valid 1x1 PNG whose pixel depends on seed (distinct content, distinct hash)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"\x00" + bytes([seed % 256, 0, 0])
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory with one campaign on all four platforms."""
    (tmp_path / "specs" / "assets").mkdir(parents=True)
    (tmp_path / "state").mkdir()
    (tmp_path / "specs" / "assets" / "banner.png").write_bytes(png_bytes())
    (tmp_path / "specs" / "main.yaml").write_text(SPECS)
    return tmp_path


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    """`reconciler sandbox serve` on 127.0.0.1, one per test module."""
    with sandbox_server() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(server: Sandbox) -> Sandbox:
    """The module's sandbox server, emptied."""
    server.control("POST", "reset")
    return server


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff of milliseconds for the clients a test makes, so retried reads cost no time (a
    Retry-After still wins). Subprocesses (the e2e tests) keep the real policy."""
    monkeypatch.setattr(http, "DEFAULT_RETRY", http.RetryPolicy(base=0.001, max_wait=0.01))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """A throwaway PostgreSQL server for the whole session (skips the test if PostgreSQL is not installed)."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: Server) -> str:
    """The URL (with its password) of a database of this test's own."""
    return pg_server.create_database()


@pytest.fixture
def state_url(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """`pg_url`, set as RECONCILER_STATE_URL for the `reconciler` commands the test runs."""
    monkeypatch.setenv("RECONCILER_STATE_URL", pg_url)
    return pg_url
