"""PostgresStore against a real PostgreSQL server (tests/postgres.py): the file store's guarantees."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from reconciler.errors import ReconcilerError
from reconciler.model import RecordedResource
from reconciler.state import PendingOperation, StateLockedError, StateStore
from reconciler.state.postgres import MIGRATIONS, PostgresStore
from tests.postgres import PASSWORD

REPO_ROOT = Path(__file__).resolve().parents[1]


def resource(address: str, id_: str, **attributes: object) -> RecordedResource:
    target, rest = address.split(":", 1)
    return RecordedResource(address, id_, rest.split("/")[0], target, dict(attributes))


def pending(address: str) -> PendingOperation:
    target, rest = address.split(":", 1)
    type_, name = rest.split("/", 1)
    return PendingOperation(address, "create", type_, target, name, {"n": 1}, "2026-06-01T12:00:00Z")


def test_round_trip_pending_record_move_remove(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    assert isinstance(store, StateStore)
    fresh = store.read()
    assert fresh.serial == 0
    with store.lock("apply"):
        assert store.read().lineage == fresh.lineage  # the lineage a first write records
        store.begin(pending("bs:campaign/a"))
        assert "bs:campaign/a" in PostgresStore(pg_url).read().pending  # committed before it returns
        store.record("bs:campaign/a", resource("bs:campaign/a", "101", n=1))
        store.record("bs:zone/z", resource("bs:zone/z", "7"))
        store.move("bs:zone/z", "bs:zone/top")
        with pytest.raises(ReconcilerError, match="only the name may change"):
            store.move("bs:zone/top", "bs:campaign/top")
        store.remove("bs:campaign/a")
        store.begin(pending("bs:campaign/b"))
        store.forget_pending("bs:campaign/b")
        during = PostgresStore(pg_url).read()  # snapshot + journal, read by another store
    after = PostgresStore(pg_url).read()  # folded into the row on release
    assert during.to_json() == after.to_json()
    assert after.lineage == fresh.lineage and after.serial == 7
    assert set(after.resources) == {"bs:zone/top"} and after.resources["bs:zone/top"].id == "7"
    assert not after.pending
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM reconciler_journal").fetchone() == (0,)
        assert conn.execute("SELECT version FROM reconciler_schema").fetchone() == (len(MIGRATIONS),)


def test_sandbox_state_is_separate(pg_url: str) -> None:
    live, sandbox = PostgresStore(pg_url), PostgresStore(pg_url, sandbox=True)
    with sandbox.lock("apply"):
        sandbox.record("bs:zone/z", resource("bs:zone/z", "1"))
    assert live.read().resources == {} and set(sandbox.read().resources) == {"bs:zone/z"}
    with live.lock("apply"):  # a lock of its own too
        pass


def test_write_behind_the_lock_holders_back_is_refused(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    with store.lock("apply"):
        store.record("bs:zone/a", resource("bs:zone/a", "1"))
        with psycopg.connect(pg_url) as conn:  # another writer, ignoring the lock
            conn.execute("UPDATE reconciler_states SET serial = serial + 5")
        with pytest.raises(ReconcilerError, match=r"changed by another writer \(serial 6, expected 1\); nothing"):
            store.record("bs:zone/b", resource("bs:zone/b", "2"))
        with pytest.raises(ReconcilerError, match="changed by another writer"):
            store.record("bs:zone/c", resource("bs:zone/c", "3"))  # refused from now on
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM reconciler_journal").fetchone() == (1,)


def run_holder(pg_url: str, code: str) -> subprocess.Popen[str]:
    prelude = (
        "import sys\nfrom reconciler.model import RecordedResource\n"
        "from reconciler.state.postgres import PostgresStore\n"
        f"store = PostgresStore({pg_url!r})\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


HOLD = """
    with store.lock("apply"):
        print("locked", flush=True)
        sys.stdin.readline()
        store.record("bs:zone/late", RecordedResource("bs:zone/late", "9", "zone", "bs", {}))
"""


def test_lock_names_its_holder_waits_and_is_taken_over_when_killed(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    holder = run_holder(pg_url, HOLD)
    try:
        started = time.monotonic()
        with pytest.raises(StateLockedError) as error, PostgresStore(pg_url).lock("plan"):
            pass
        assert time.monotonic() - started < 2
        message = str(error.value)
        assert f"pid {holder.pid} on host {socket.gethostname()} for 'apply' since 20" in message
        assert "by user " in message and "reconciler state unlock --force" in message and " rm " not in message
        assert PASSWORD not in message
        started = time.monotonic()
        with pytest.raises(StateLockedError, match=r"waited 0.5s"), PostgresStore(pg_url).lock("plan", 0.5):
            pass
        assert time.monotonic() - started >= 0.5
    finally:
        holder.kill()  # SIGKILL: no unlock; PostgreSQL ends its session and releases the advisory lock
        holder.wait()
    store = PostgresStore(pg_url)
    stale = store.lock_holder()
    assert stale is not None and stale.pid == holder.pid
    for _ in range(50):  # the server notices the closed connection within moments
        if not (store.lock_holder() or stale).alive:
            break
        time.sleep(0.1)
    with caplog.at_level(logging.WARNING), store.lock("apply", timeout=5):
        store.record("bs:zone/a", resource("bs:zone/a", "1"))
    assert "took over the stale state lock of postgresql://reconciler:***@" in caplog.text
    assert f"left by pid {holder.pid} on host" in caplog.text and PASSWORD not in caplog.text
    assert store.lock_holder() is None


def test_lock_timeout_waits_for_the_holder_to_finish(pg_url: str) -> None:
    holder = run_holder(pg_url, HOLD)
    assert holder.stdin is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    store = PostgresStore(pg_url)
    with store.lock("apply", timeout=20):
        assert set(store.read().resources) == {"bs:zone/late"}  # the holder's write came first
    assert holder.wait(timeout=20) == 0


def test_break_lock_of_a_live_holder_stops_its_writes(pg_url: str) -> None:
    holder = run_holder(pg_url, HOLD)
    store = PostgresStore(pg_url)
    done = store.break_lock()
    assert done is not None and f"pid {holder.pid}" in done and "ended its database session" in done
    _, stderr = holder.communicate("\n", timeout=20)
    assert holder.returncode != 0 and "no longer holds the state lock" in stderr and "nothing was written" in stderr
    assert store.read().resources == {}
    assert store.break_lock() is None


def test_bad_password_and_refused_connection_are_one_line_without_the_password(pg_url: str) -> None:
    wrong = pg_url.replace(PASSWORD, "not-the-" + PASSWORD)
    with pytest.raises(ReconcilerError) as error:
        PostgresStore(wrong).read()
    assert "password authentication failed" in str(error.value) and "***" in str(error.value)
    assert PASSWORD not in str(error.value) and "\n" not in str(error.value)
    port = pg_url.split("@127.0.0.1:")[1].split("/")[0]
    with pytest.raises(ReconcilerError, match="state database") as error:
        PostgresStore(pg_url.replace(f":{port}/", ":1/")).read()
    assert PASSWORD not in str(error.value)


def test_a_writer_that_lost_its_lock_never_overwrites(pg_url: str) -> None:
    first, second = PostgresStore(pg_url), PostgresStore(pg_url)
    with first.lock("apply"):
        first.record("bs:zone/a", resource("bs:zone/a", "1"))
        assert "ended its database session" in (second.break_lock() or "")  # `state unlock --force`
        with second.lock("apply"):
            second.record("bs:zone/b", resource("bs:zone/b", "2"))
            with pytest.raises(ReconcilerError, match="no longer holds the state lock"):
                first.record("bs:zone/c", resource("bs:zone/c", "3"))
        with pytest.raises(ReconcilerError, match="no longer holds the state lock"):
            first.record("bs:zone/c", resource("bs:zone/c", "3"))  # refused from then on, even with the lock free
    assert set(PostgresStore(pg_url).read().resources) == {"bs:zone/a", "bs:zone/b"}


def test_a_new_migration_upgrades_an_existing_database(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = PostgresStore(pg_url)
    with store.lock("apply"):
        store.record("bs:zone/a", resource("bs:zone/a", "1"))
    monkeypatch.setattr(
        "reconciler.state.postgres.MIGRATIONS", [*MIGRATIONS, ("CREATE TABLE reconciler_example (id text)",)]
    )
    assert set(PostgresStore(pg_url).read().resources) == {"bs:zone/a"}
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM reconciler_schema").fetchone() == (len(MIGRATIONS) + 1,)
        assert conn.execute("SELECT count(*) FROM reconciler_example").fetchone() == (0,)
    monkeypatch.undo()
    newer = f"schema version {len(MIGRATIONS) + 1}, newer than this reconciler's {len(MIGRATIONS)}: upgrade"
    with pytest.raises(ReconcilerError, match=newer):
        PostgresStore(pg_url).read()
