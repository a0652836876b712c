"""Run history in PostgreSQL (issue 12 item 2): the HistoryStore protocol on both stores, and the `reconciler`
command with RECONCILER_STATE_URL against `sandbox serve` and the real server of tests/postgres.py."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psycopg
import pytest

from reconciler.errors import ReconcilerError
from reconciler.history import FileHistoryStore, HistoryStore, OperationRecord, Run, RunEnd, RunStart
from reconciler.history.postgres import PostgresHistory
from reconciler.model import RecordedResource
from reconciler.state.postgres import MIGRATIONS, PostgresStore
from tests.e2e import Sandbox, broadstreet_project, run_reconciler, start_reconciler
from tests.postgres import PASSWORD
from tests.test_history import history
from tests.test_restore import live
from tests.test_state_backend import ok


def start(run_id: str) -> RunStart:
    return RunStart(run_id, "default", "2026-12-02T05:15:00.123Z", "octocat", "https://ci.example/runs/1",
                    "0123abc", "digest-1", "plan.json", ({"policy": "spend-guard", "reason": "launch"},),
                    {"create": 1, "update": 1}, False)  # fmt: skip


def operation(address: str, outcome: str = "done", **fields: object) -> OperationRecord:
    after = RecordedResource(address, "42", "bs", "zone", {"name": "Top", "sizes": [1, 2]}, depends_on=("bs:x/y",))
    return OperationRecord(address, "create", outcome, "2026-12-02T05:15:01.456Z", id="42", attempts=2,
                           duration_ms=17, after=after, **fields)  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture(params=["files", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> HistoryStore:
    if request.param == "files":
        return FileHistoryStore(tmp_path / "default.history")
    return PostgresHistory(request.getfixturevalue("pg_url"))


def test_the_protocol_on_both_stores(store: HistoryStore) -> None:
    assert (store.runs(), store.latest(), store.unfinished()) == ([], None, [])
    first, second = "20261202T051500Z-00000a", "20261202T051500Z-00000b"
    store.start(start(first))
    created = operation("bs:zone/top")
    failed = operation("bs:zone/side", "failed", error_class="VALIDATION", message="bad size", undoes="update")
    store.append(first, created)
    store.append(first, failed)
    end = RunEnd("2026-12-02T05:15:02.789Z", "failed", {"done": 1, "failed": 1, "skipped": 0}, "bs:zone/side: bad")
    store.finish(first, end)
    store.start(start(second))
    store.append(second, created)
    assert store.get(first) == Run(start(first), [created, failed], end)  # every field as it was written
    assert store.get(second) == Run(start(second), [created], None)
    assert [r.run_id for r in store.runs()] == [second, first] and [r.run_id for r in store.runs(1)] == [second]
    assert (store.latest(), store.unfinished()) == (second, [second])
    interrupted = RunEnd("2026-12-02T05:15:01.456Z", "interrupted", {"done": 1}, "killed", found_by="x")
    store.finish(second, interrupted)
    assert store.get(second).end == interrupted and store.unfinished() == []
    with pytest.raises(ReconcilerError, match="no run '20260101T000000Z-abcdef' in .*`reconciler history` lists"):
        store.get("20260101T000000Z-abcdef")


def test_each_operation_is_committed_as_appended_and_sandbox_runs_are_apart(pg_url: str) -> None:
    writer, reader = PostgresHistory(pg_url), PostgresHistory(pg_url)  # two connections: as two processes
    writer.start(start("20261202T051500Z-00000a"))
    writer.append("20261202T051500Z-00000a", operation("bs:zone/top"))
    [run] = reader.runs()
    assert run.outcome == "unfinished" and len(run.operations) == 1
    assert PostgresHistory(pg_url, sandbox=True).runs() == []
    assert PostgresHistory(pg_url, "other").runs() == []
    with pytest.raises(ReconcilerError) as missing:
        PostgresHistory(pg_url).get("nope")
    assert PASSWORD not in str(missing.value) and "***" in str(missing.value)


def test_a_state_database_of_schema_1_gains_the_history_tables(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reconciler.state.postgres.MIGRATIONS", MIGRATIONS[:1])  # before the history
    store = PostgresStore(pg_url)
    with store.lock("apply"):
        store.record("bs:zone/a", RecordedResource("bs:zone/a", "1", "bs", "zone", {}))
    store.close()
    monkeypatch.undo()
    history_store = PostgresHistory(pg_url)
    assert history_store.runs() == []
    assert set(PostgresStore(pg_url).read().resources) == {"bs:zone/a"}
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM reconciler_schema").fetchone() == (len(MIGRATIONS),)


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_applies_are_recorded_in_the_database_and_listed(tmp_path: Path, sandbox: Sandbox, state_url: str) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    ok(project, "apply", "--auto-approve")
    specs = project / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("end_date: 2026-08-31", "end_date: 2026-09-30")
                     .replace("offer 0a", "new 0a"))  # fmt: skip
    sandbox.control("POST", "faults", json={"reject": [{"platform": "broadstreet", "type": "advertisement"}]})
    failing = run_reconciler(project, "apply", "--auto-approve")
    assert failing.returncode == 1 and PASSWORD not in failing.stdout + failing.stderr

    newest, first = history(project)
    assert first["outcome"] == "succeeded" and first["counts"]["done"] == 10
    assert newest["outcome"] == "failed" and newest["counts"]["failed"] == 1 and newest["counts"]["skipped"] == 3
    assert rows(state_url, "SELECT run_id, outcome FROM reconciler_runs WHERE NOT sandbox ORDER BY run_id") == [
        (first["run_id"], "succeeded"), (newest["run_id"], "failed"),
    ]  # fmt: skip
    assert rows(state_url, "SELECT count(*) FROM reconciler_run_operations GROUP BY run_id ORDER BY run_id") == [
        (10,), (sum(newest["counts"].values()),),
    ]  # fmt: skip
    assert not list((project / "state").glob("*.history"))  # nothing went to the files
    shown = history(project, "show", newest["run_id"])
    operations = {o["address"]: o for o in shown["operations"]}
    update = operations["bs-main:campaign/camp0"]
    assert (update["before"]["attributes"]["end_date"], update["after"]["attributes"]["end_date"]) == (
        "2026-08-31", "2026-09-30")  # fmt: skip
    failed = operations["bs-main:advertisement/c0-a"]
    assert (failed["action"], failed["outcome"], failed["error_class"]) == ("replace", "failed", "VALIDATION")

    text = ok(project, "history", "show", newest["run_id"])
    assert 'end_date: "2026-08-31" -> "2026-09-30"' in text and "replace  failed" in text
    listing = ok(project, "history")
    assert first["run_id"] in listing and newest["run_id"] in listing and "succeeded" in listing
    missing = run_reconciler(project, "history", "show", "20260101T000000Z-abcdef")
    assert missing.returncode == 1 and "no run" in missing.stderr and "workspace 'default'" in missing.stderr
    assert PASSWORD not in missing.stderr and "Traceback" not in missing.stderr

    # --sandbox runs: a history of their own in the same database.
    ok(project, "apply", "--sandbox", "--auto-approve")
    [apart] = history(project, "--sandbox")
    assert apart["sandbox"] is True and apart["outcome"] == "succeeded" and len(history(project)) == 2
    assert rows(state_url, "SELECT run_id FROM reconciler_runs WHERE sandbox") == [(apart["run_id"],)]


def test_a_sigkilled_apply_is_recorded_as_interrupted_by_the_next(
    tmp_path: Path, sandbox: Sandbox, state_url: str
) -> None:
    sandbox.control("POST", "faults", json={"latency_ms": 30})
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=4)
    process = start_reconciler(project, "apply", "--auto-approve", "--parallelism", "2")
    reader, deadline = PostgresHistory(state_url), time.monotonic() + 30
    while not (runs := reader.runs()) or len(runs[0].operations) < 3:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    [killed] = history(project)
    assert killed["outcome"] == "unfinished" and killed["counts"]["done"] >= 3
    sandbox.control("POST", "faults", json={"latency_ms": 0})
    again = ok(project, "apply", "--auto-approve", "--lock-timeout", "10s")
    assert f"Run {killed['run_id']} had been interrupted" in again
    newest, found = history(project)
    assert (found["run_id"], found["outcome"], found["found_by"]) == (killed["run_id"], "interrupted",
                                                                      newest["run_id"])  # fmt: skip
    assert newest["outcome"] == "succeeded" and found["ended_at"]
    operations = history(project, "show", found["run_id"])["operations"]
    assert len(operations) >= 3 and all(o["outcome"] == "done" and o["after"] for o in operations)


def test_plan_restore_with_state_and_history_in_postgres(tmp_path: Path, sandbox: Sandbox, state_url: str) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    ok(project, "apply", "--auto-approve")
    run_a = history(project, "--limit", "1")[0]["run_id"]
    objects_a = live(sandbox)
    specs = project / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("end_date: 2026-08-31", "end_date: 2026-09-30"))
    ok(project, "apply", "--auto-approve")
    assert live(sandbox) != objects_a
    plan_file = tmp_path / "restore.json"
    shown = ok(project, "plan", "--restore", run_a, "--out", str(plan_file))
    assert "Plan: 0 to create, 1 to update" in shown and f"how run {run_a} left them" in shown
    ok(project, "apply", "--auto-approve", str(plan_file))
    assert live(sandbox) == objects_a
    restored = history(project, "--limit", "1")[0]
    assert restored["plan_file"] == "restore.json" and restored["outcome"] == "succeeded"
    assert "No changes." in ok(project, "plan", "--restore", run_a)


def test_a_bad_state_url_is_one_line_without_the_password(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = broadstreet_project(tmp_path, "http://127.0.0.1:1", campaigns=1)  # `history` calls no platform
    wrong = pg_url.replace(PASSWORD, "wrong-pass-9d41")
    for url, expected in ((wrong, "password authentication failed"), ("mysql://u:wrong-pass-9d41@h/d", "unsupported")):
        monkeypatch.setenv("RECONCILER_STATE_URL", url)
        result = run_reconciler(project, "history")
        assert result.returncode == 1 and expected in result.stderr, result.stderr
        assert "wrong-pass-9d41" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
