"""Ctrl+C (SIGINT) on the real command: exit 130, one line saying what it left, and the next apply converges."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

from reconciler.state import LocalFileStore
from tests.e2e import broadstreet_project, run_reconciler, sandbox_server, start_reconciler
from tests.test_e2e_apply import apply_ok, assert_converged


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def started(events: Path) -> bool:
    lines = events.read_text().splitlines() if events.exists() else []
    return any(json.loads(line)["event"] == "op:start" for line in lines)


def test_ctrl_c_during_apply_exits_130_and_the_next_apply_resolves_what_was_in_flight(tmp_path: Path) -> None:
    with sandbox_server("--latency-ms", "200") as sandbox:  # slow enough to be caught mid-apply
        project = broadstreet_project(tmp_path, sandbox.url, campaigns=2)
        events = tmp_path / "events.jsonl"
        process = start_reconciler(project, "apply", "--auto-approve", "--events", str(events))
        wait_until(lambda: started(events), "the first op:start")
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        _, stderr = process.communicate(timeout=30)
        assert time.monotonic() - interrupted < 5  # in-flight requests are cancelled, not awaited
        assert process.returncode == 130, stderr
        pending = LocalFileStore(project).read().pending
        assert pending, "interrupted with nothing in flight: the test did not catch the apply mid-way"
        were = "operation was" if len(pending) == 1 else "operations were"
        assert stderr == (
            f"Interrupted: {len(pending)} {were} in flight; their outcome is unknown and the next "
            "`reconciler apply` resolves them by lookup before planning.\n"
        )

        output = apply_ok(project)
        for address in pending:
            assert f"{address}: an interrupted create" in output
        assert_converged(project, sandbox, 2)  # every object once, each recorded: no duplicate
        assert run_reconciler(project, "plan", "--detailed-exitcode").returncode == 0


def test_ctrl_c_in_any_other_command_exits_130(tmp_path: Path) -> None:
    with sandbox_server() as sandbox:
        project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
        apply_ok(project)
        sandbox.control("POST", "faults", json={"latency_ms": 5000})
        reads = sandbox.control("GET", "stats")["requests"]["broadstreet"].get("GET", 0)
        process = start_reconciler(project, "plan", "--refresh")
        stats = lambda: sandbox.control("GET", "stats")["requests"]["broadstreet"].get("GET", 0)  # noqa: E731
        wait_until(lambda: stats() > reads, "the refresh's first read")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert stderr.strip() == "Interrupted."
