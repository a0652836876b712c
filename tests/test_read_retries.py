"""Reads survive transient failures on every platform: `plan --refresh`, `status` and the lookups
that resolve pending creates retry them under the one RetryPolicy; lasting refusals are not retried.

In-process (the sandbox behind httpx.ASGITransport) for all four platforms, and end to end (the
`reconciler` command against `reconciler sandbox serve`) for all four at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.apply import EventSink
from reconciler.model import split_address
from reconciler.project import Project
from reconciler.providers import http
from reconciler.providers.base import ErrorClass, ProviderError
from reconciler.sandbox import PLATFORMS, snapchat
from reconciler.state import LocalFileStore, PendingOperation
from tests.conftest import SPECS, png_bytes
from tests.e2e import TOKEN, Sandbox, broadstreet_project, run_reconciler, sandbox_server
from tests.inprocess import InProcessSandbox

TARGETS = {"broadstreet": "bs-main", "meta": "meta-us", "tiktok": "tiktok-us", "snapchat": "snap-us"}
PREFIXES = {platform.name: platform.prefix for platform in PLATFORMS}
CREDENTIALS = ("META_ACCESS_TOKEN", "TIKTOK_ACCESS_TOKEN", "SNAP_REFRESH", "SNAP_ID", "SNAP_SECRET")


def interrupt_create(project: Path, address: str) -> str:
    """Turn the recorded `address` into a create whose outcome is unknown (as a killed apply
    leaves it); returns the id the lookup must find."""
    store = LocalFileStore(project)
    with store.lock("test"):
        recorded = store.read().resources[address]
        store.record(address, None)
        _, type_, name = split_address(address)
        store.begin(
            PendingOperation(
                address, "create", type_, recorded.target, name, recorded.attributes, depends_on=recorded.depends_on
            )
        )
    return recorded.id


@pytest.mark.parametrize("platform", sorted(TARGETS))
def test_refresh_status_and_pending_lookups_retry_transient_read_failures(
    project: Path, platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fourteen attempts at 50% faults: a read fails for good once in 16,000, however requests interleave.
    monkeypatch.setattr(http, "DEFAULT_RETRY", http.RetryPolicy(max_attempts=14, base=0.001, max_wait=0.01))
    sandbox = InProcessSandbox()
    sandbox.apply(project)
    warnings = Project(project).plan(refresh_with=sandbox.connect).warnings
    healthy = {s.target: s for s in Project(project).status(sandbox.connect)}
    live = sandbox.control("GET", "objects", params={"platform": platform})
    sandbox.control("POST", "faults", json={"platform": platform, "fault_rate": 0.5, "seed": 1})

    plan = Project(project).plan(refresh_with=sandbox.connect)
    assert not plan.has_changes and plan.warnings == warnings  # every live object read back as recorded

    assert {s.target: s for s in Project(project).status(sandbox.connect)} == healthy

    address = f"{TARGETS[platform]}:campaign/summer"
    made = interrupt_create(project, address)
    notes: list[str] = []
    result = Project(project).apply(
        connect=sandbox.connect, events=EventSink(), confirm=lambda plan: plan.has_changes, notify=notes.append
    )
    assert result is None  # adopted: nothing left to do, nothing created twice
    assert notes == [f"{address}: an interrupted create had been carried out; adopted id {made}"]
    assert LocalFileStore(project).read().resources[address].id == made

    assert sandbox.control("GET", "objects", params={"platform": platform}) == live
    assert sandbox.control("GET", "stats")["faults"] > 0  # reads (and Snapchat's token grants) failed, were retried


@pytest.mark.parametrize("platform", sorted(TARGETS))
def test_a_read_refused_for_bad_credentials_is_sent_once(project: Path, platform: str) -> None:
    sandbox = InProcessSandbox()
    sandbox.apply(project)
    recorded = sum(r.target == TARGETS[platform] for r in LocalFileStore(project).read().resources.values())
    sandbox.control("POST", "auth", json={"platform": platform, "valid_tokens": ["another-token-entirely"]})
    before = sandbox.control("GET", "stats")["requests"][platform]
    with pytest.raises(ProviderError) as info:
        Project(project).plan(refresh_with=sandbox.connect)
    after = sandbox.control("GET", "stats")["requests"][platform]
    sent = sum(after.values()) - sum(before.values())
    assert info.value.error_class is ErrorClass.AUTH, info.value
    assert 1 <= sent <= recorded  # at most one request per object (or one token grant): none retried


# --- end to end: the `reconciler` command against `reconciler sandbox serve` ---


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with sandbox_server() as served:
        yield served


@pytest.fixture
def served(server: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    server.control("POST", "reset")
    for variable in CREDENTIALS:
        monkeypatch.setenv(variable, f"{variable.lower()}-e2e-credential")
    return server


def served_project(directory: Path, url: str) -> Path:
    """The four-platform project of tests/conftest.py, its targets pointed at the served sandbox."""

    def point(match: re.Match[str]) -> str:
        platform = match.group(1)
        extra = f"auth_url: {url}{snapchat.MOUNT}{snapchat.TOKEN_PATH}\n" if platform == "snapchat" else ""
        return f"{match.group(0)}api_base_url: {url}{PREFIXES[platform]}\n{extra}"

    (directory / "specs" / "assets").mkdir(parents=True)
    (directory / "state").mkdir()
    (directory / "specs" / "main.yaml").write_text(re.sub(r"^platform: (\w+)\n", point, SPECS, flags=re.M))
    (directory / "specs" / "assets" / "banner.png").write_bytes(png_bytes())
    return directory


def reconciler_ok(project: Path, *args: str) -> str:
    result = run_reconciler(project, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_e2e_reads_retry_through_transient_faults_on_every_platform(tmp_path: Path, served: Sandbox) -> None:
    project = served_project(tmp_path, served.url)
    reconciler_ok(project, "apply", "--auto-approve")
    # The real policy (6 attempts): at 15% faults a read fails for good once in 88,000.
    served.control("POST", "faults", json={"fault_rate": 0.15, "seed": 2})

    reconciler_ok(project, "plan", "--refresh", "--detailed-exitcode")  # 0: read back, no drift
    status = reconciler_ok(project, "status")
    assert "critical" not in status and "warning" not in status

    pending = {target: interrupt_create(project, f"{target}:campaign/summer") for target in TARGETS.values()}
    before = {platform: served.writes(platform) for platform in TARGETS}
    out = reconciler_ok(project, "apply", "--auto-approve")
    for target, made in pending.items():
        assert f"{target}:campaign/summer: an interrupted create had been carried out; adopted id {made}" in out
    # Nothing created twice (Snapchat's only POSTs are token grants).
    assert all(served.writes(p) == before[p] for p in TARGETS if p != "snapchat")
    assert sum(o["type"] == "campaign" for o in served.objects("snapchat")) == 1
    assert served.control("GET", "stats")["faults"] > 0


def test_e2e_reads_keep_to_the_rate_limit_and_a_refused_token_is_sent_once(tmp_path: Path, served: Sandbox) -> None:
    # 31 objects are read with 8 list calls (advertisers, zones, campaigns and ads by parent, placements
    # of each of the 4 campaigns) at 4/s: sent at once they would overrun the sandbox's 4-request bucket.
    project = broadstreet_project(tmp_path, served.url, campaigns=4, rate_limit=20)
    reconciler_ok(project, "apply", "--auto-approve")
    main = project / "specs" / "main.yaml"
    main.write_text(main.read_text().replace("rate_limit: 20\n", "rate_limit: 4\n", 1))
    served.control("POST", "faults", json={"platform": "broadstreet", "rate_limit": 4})
    reconciler_ok(project, "plan", "--refresh", "--detailed-exitcode")
    stats = served.control("GET", "stats")
    assert stats["rate_limited"] == 0 and stats["requests"]["broadstreet"]["GET"] >= 8

    served.control("POST", "auth", json={"platform": "broadstreet", "valid_tokens": [TOKEN]})
    before = stats["requests"]["broadstreet"]["GET"]
    result = run_reconciler(project, "plan", "--refresh", token="a-revoked-token-123")
    assert result.returncode == 1 and "AUTH" in result.stderr and "Traceback" not in result.stderr
    sent = served.control("GET", "stats")["requests"]["broadstreet"]["GET"] - before
    assert 1 <= sent <= 31  # at most one request per object: a 401 is never retried
