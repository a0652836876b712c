"""The `reconciler` command with RECONCILER_STATE_URL: applies against `sandbox serve` with the state in a real
PostgreSQL (tests/postgres.py), locks between processes, a SIGKILL, unlock, push/pull, workspaces."""

from __future__ import annotations

import json
import random
import signal
import time
from pathlib import Path

import pytest

from reconciler.state import LocalFileStore, StateLockedError
from reconciler.state.backend import redact_url
from reconciler.state.postgres import PostgresStore
from tests.e2e import Sandbox, broadstreet_project, counts, expected_counts, run_reconciler, start_reconciler
from tests.postgres import PASSWORD


def ok(project: Path, *args: str) -> str:
    result = run_reconciler(project, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    return result.stdout + result.stderr


def assert_converged(url: str, sandbox: Sandbox, campaigns: int) -> None:
    live = sandbox.objects()
    assert counts(live) == expected_counts(campaigns)  # no duplicate
    state = PostgresStore(url).read()
    assert not state.pending
    assert {(o["type"], str(o["id"])) for o in live} == {(r.type, r.id) for r in state.resources.values()}  # no orphan


def wait_for_lock(url: str, pid: int) -> None:
    deadline = time.monotonic() + 20
    while (holder := PostgresStore(url).lock_holder()) is None or holder.pid != pid:
        assert time.monotonic() < deadline, "the apply never took the lock"
        time.sleep(0.05)


def test_apply_records_in_postgres_and_a_second_apply_waits_or_fails_naming_the_holder(
    tmp_path: Path, sandbox: Sandbox, state_url: str
) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=4)
    sandbox.control("POST", "faults", json={"latency_ms": 120})
    first = start_reconciler(project, "apply", "--auto-approve", "--parallelism", "1")
    wait_for_lock(state_url, first.pid)
    refused = run_reconciler(project, "apply", "--auto-approve")
    assert refused.returncode == 1
    assert f"locked by pid {first.pid} on host " in refused.stderr and "by user " in refused.stderr
    assert "reconciler state unlock --force" in refused.stderr and "Traceback" not in refused.stderr
    waited = run_reconciler(project, "apply", "--auto-approve", "--lock-timeout", "60s")
    stdout, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stdout + stderr
    assert waited.returncode == 0 and "No changes" in waited.stdout, waited.stdout + waited.stderr
    assert PASSWORD not in stdout + stderr + refused.stdout + refused.stderr + waited.stdout + waited.stderr
    assert_converged(state_url, sandbox, 4)
    assert not (project / "state" / "default.json").exists()  # nothing went to the file store
    assert "No changes" in ok(project, "plan")
    assert "bs-main:campaign/camp0" in ok(project, "state", "list")


def test_sigkill_mid_apply_converges_on_the_next_apply(tmp_path: Path, sandbox: Sandbox, state_url: str) -> None:
    rng = random.Random(7)
    for attempt in range(3):
        sandbox.control("POST", "reset")
        sandbox.control("POST", "faults", json={"latency_ms": 15})
        project = broadstreet_project(tmp_path / f"run{attempt}", sandbox.url, campaigns=4)
        PostgresStore(state_url).close()
        process = start_reconciler(project, "--workspace", f"run{attempt}", "apply", "--auto-approve")
        time.sleep(rng.uniform(0.5, 1.8))
        process.send_signal(signal.SIGKILL)
        process.wait()
        ok(project, "--workspace", f"run{attempt}", "apply", "--auto-approve", "--lock-timeout", "10s")
        live = sandbox.objects()
        assert counts(live) == expected_counts(4)
        state = PostgresStore(state_url, f"run{attempt}").read()
        assert not state.pending
        assert {(o["type"], str(o["id"])) for o in live} == {(r.type, r.id) for r in state.resources.values()}


def test_unlock_of_a_killed_and_of_a_live_holder(tmp_path: Path, sandbox: Sandbox, state_url: str) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=4)
    assert "not locked" in ok(project, "state", "unlock")
    sandbox.control("POST", "faults", json={"latency_ms": 150})
    holder = start_reconciler(project, "apply", "--auto-approve", "--parallelism", "1")
    wait_for_lock(state_url, holder.pid)
    explained = run_reconciler(project, "state", "unlock")
    assert explained.returncode == 1 and f"pid {holder.pid}" in explained.stderr
    assert "still running" in explained.stderr and "--force" in explained.stderr
    forced = ok(project, "state", "unlock", "--force")
    assert f"Warning: removed the lock of pid {holder.pid}" in forced and "ended its database session" in forced
    _, stderr = holder.communicate(timeout=60)
    assert holder.returncode == 1 and PASSWORD not in stderr
    # Killed: PostgreSQL released its lock session; the next apply takes the lock over and finishes.
    sandbox.control("POST", "faults", json={"latency_ms": 0})
    ok(project, "apply", "--auto-approve")
    assert_converged(state_url, sandbox, 4)


def test_push_pull_round_trip_and_refusals(tmp_path: Path, sandbox: Sandbox, pg_url: str) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    ok(project, "apply", "--auto-approve")  # into state/default.json
    files = LocalFileStore(project).read()
    url = ["--state-url", pg_url]
    pushed = ok(project, *url, "state", "push")
    assert f"serial {files.serial}" in pushed and PASSWORD not in pushed and redact_url(pg_url) in pushed
    assert PostgresStore(pg_url).read().to_json() == files.to_json()
    assert "already holds this state" in ok(project, *url, "state", "push")
    assert "No changes" in ok(project, *url, "plan")
    ok(project, *url, "state", "rm", "bs-main:zone/top")  # the database moves on
    refused = run_reconciler(project, *url, "state", "push")
    assert refused.returncode == 1 and "is ahead of" in refused.stderr and "nothing was written" in refused.stderr
    ok(project, *url, "state", "pull")
    pulled = LocalFileStore(project).read()
    assert pulled.lineage == files.lineage and "bs-main:zone/top" not in pulled.resources
    assert pulled.to_json() == PostgresStore(pg_url).read().to_json()
    assert "already holds this state" in ok(project, *url, "state", "pull")

    other = broadstreet_project(tmp_path / "other", sandbox.url, campaigns=1)
    sandbox.control("POST", "reset")
    ok(other, "apply", "--auto-approve")  # another lineage
    refused = run_reconciler(other, *url, "state", "push")
    assert refused.returncode == 1 and "holds another state" in refused.stderr and "--force" in refused.stderr
    assert "Copied the state" in ok(other, *url, "state", "push", "--force")
    assert PostgresStore(pg_url).read().lineage == LocalFileStore(other).read().lineage
    no_url = run_reconciler(other, "state", "push")
    assert no_url.returncode == 1 and "RECONCILER_STATE_URL" in no_url.stderr


def test_workspaces_on_both_stores(tmp_path: Path, sandbox: Sandbox, pg_url: str) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    assert ok(project, "workspaces", "--format", "json").strip() == "[]"
    ok(project, "--workspace", "prod", "apply", "--auto-approve")
    ok(project, "apply", "--auto-approve", "--sandbox")  # default.sandbox.json and .emulator.json: not workspaces
    (project / "state" / "notes.txt").write_text("x")
    assert json.loads(ok(project, "workspaces", "--format", "json")) == ["prod"]
    assert ok(project, "workspaces") == "prod\n"
    url = ["--state-url", pg_url]
    assert json.loads(ok(project, *url, "workspaces", "--format", "json")) == []
    ok(project, *url, "--workspace", "prod", "state", "push")
    ok(project, *url, "--workspace", "b-team", "apply", "--auto-approve", "--sandbox")  # a sandbox row only
    ok(project, *url, "--workspace", "c-team", "state", "list")  # reading creates nothing
    assert json.loads(ok(project, *url, "workspaces", "--format", "json")) == ["prod"]


def test_bad_urls_are_one_line_errors_without_the_password(tmp_path: Path, sandbox: Sandbox, pg_url: str) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    wrong_password = pg_url.replace(PASSWORD, PASSWORD + "-wrong")
    unreachable = f"postgresql://reconciler:{PASSWORD}@127.0.0.1:1/db"
    for url, expected in (
        (wrong_password, "password authentication failed"),
        (unreachable, "state database postgresql://reconciler:***@127.0.0.1:1/db"),
        (f"mysql://reconciler:{PASSWORD}@127.0.0.1/db", "unsupported"),
        (pg_url + "?sslmode=bogus", "sslmode"),
    ):
        result = run_reconciler(project, "--state-url", url, "plan")
        output = result.stdout + result.stderr
        assert result.returncode == 1 and expected in output, output
        assert PASSWORD not in output and "Traceback" not in output and output.count("\n") == 1


def test_file_store_lock_timeout_and_unlock(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    lock = project / "state" / "default.lock"
    holder = LocalFileStore(project)
    with holder.lock("apply"):
        started = time.monotonic()
        with pytest.raises(StateLockedError, match=r"waited 0.3s"), LocalFileStore(project).lock("plan", 0.3):
            pass
        assert time.monotonic() - started >= 0.3
        explained = run_reconciler(project, "state", "unlock")
        assert explained.returncode == 1 and "still running" in explained.stderr
    lock.write_text(json.dumps({"host": "ci-7", "pid": 4242, "user": "deploy", "operation": "apply", "since": "x"}))
    forced = ok(project, "state", "unlock", "--force")  # left by a killed process: nobody flocks it
    assert f"Warning: removed the stale lock {lock} of pid 4242 on host ci-7, user deploy" in forced
    assert not lock.exists()
