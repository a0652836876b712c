"""Recorded state: the local file store (snapshot + journal + lock)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.model import RecordedResource
from reconciler.state import LocalFileStore, PendingOperation, State, StateLockedError, StateStore
from reconciler.state.local import JOURNAL_LIMIT

REPO_ROOT = Path(__file__).resolve().parents[1]


def resource(address: str, id_: str, depends_on: tuple[str, ...] = (), **attributes: object) -> RecordedResource:
    target, rest = address.split(":", 1)
    return RecordedResource(address, id_, rest.split("/")[0], target, dict(attributes), depends_on)


def pending(address: str, action: str = "create", **attributes: object) -> PendingOperation:
    target, rest = address.split(":", 1)
    type_, name = rest.split("/", 1)
    return PendingOperation(address, action, type_, target, name, dict(attributes), "2026-06-01T12:00:00Z")  # type: ignore[arg-type]


def run_python(project: Path, code: str, **kwargs: object) -> subprocess.Popen[str]:
    """Start a Python process running `code` with `store` bound to the project's default workspace."""
    prelude = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from reconciler.model import RecordedResource\n"
        "from reconciler.state import LocalFileStore, PendingOperation\n"
        f"store = LocalFileStore(Path({str(project)!r}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        env=env,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )


def crash_after_writes(project: Path) -> None:
    """A process that confirms 3 writes under the lock and dies without compacting or unlocking."""
    code = """
        with store.lock("apply"):
            store.begin(PendingOperation("bs:campaign/a", "create", "campaign", "bs", "a", {"n": 1}, "t"))
            store.record("bs:campaign/a", RecordedResource("bs:campaign/a", "101", "campaign", "bs", {"n": 1}))
            store.begin(PendingOperation("bs:zone/z", "create", "zone", "bs", "z", {}, "t"))
            os._exit(0)
    """
    assert run_python(project, code).wait(timeout=30) == 0


def test_store_implements_protocol(tmp_path: Path) -> None:
    assert isinstance(LocalFileStore(tmp_path), StateStore)


def test_missing_state_is_empty_and_not_written(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    state = store.read()
    assert (state.serial, state.resources, state.pending) == (0, {}, {})
    with store.lock("plan"):
        assert store.read().lineage == state.lineage
    assert not (tmp_path / "state").exists() or list((tmp_path / "state").iterdir()) == []


def test_round_trip_and_file_format(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    with store.lock("apply"):
        store.begin(pending("bs:advertiser/acme", name="ACME"))
        store.record("bs:advertiser/acme", resource("bs:advertiser/acme", "7", name="ACME"))
        store.begin(pending("bs:campaign/summer", advertiser_id="7"))
    lineage = store.read().lineage

    state = LocalFileStore(tmp_path).read()
    assert state.serial == 3
    assert state.resources == {"bs:advertiser/acme": resource("bs:advertiser/acme", "7", name="ACME")}
    assert state.pending == {"bs:campaign/summer": pending("bs:campaign/summer", advertiser_id="7")}
    assert state.id_of("bs:advertiser/acme") == "7"
    assert state.id_of("bs:campaign/summer") is None
    expected = f"""{{
  "endpoints": {{}},
  "format_version": 1,
  "lineage": "{lineage}",
  "pending": {{
    "bs:campaign/summer": {{
      "action": "create",
      "attributes": {{
        "advertiser_id": "7"
      }},
      "depends_on": [],
      "name": "summer",
      "started_at": "2026-06-01T12:00:00Z",
      "target": "bs",
      "type": "campaign"
    }}
  }},
  "resources": {{
    "bs:advertiser/acme": {{
      "attributes": {{
        "name": "ACME"
      }},
      "depends_on": [],
      "id": "7",
      "target": "bs",
      "type": "advertiser"
    }}
  }},
  "serial": 3,
  "targets": {{}}
}}
"""
    assert (tmp_path / "state" / "default.json").read_text() == expected
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["default.json"]


def test_serial_increments_on_every_write(tmp_path: Path) -> None:
    store, reader = LocalFileStore(tmp_path), LocalFileStore(tmp_path)
    address = "bs:zone/home"
    with store.lock("apply"):
        writes = [
            lambda: store.begin(pending(address)),
            lambda: store.record(address, resource(address, "1")),
            lambda: store.begin(pending(address, "update")),
            lambda: store.forget_pending(address),
            lambda: store.record(address, None),
            lambda: store.record(address, resource(address, "2")),
            lambda: store.remove(address),
        ]
        for serial, write in enumerate(writes, 1):
            write()
            assert reader.read().serial == serial  # on disk, not just in memory
        store.forget_pending(address)  # nothing pending: not a write
        assert reader.read().serial == len(writes)
    assert reader.read().serial == len(writes)


def test_record_none_and_remove_drop_entries(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    with store.lock("apply"):
        store.record("bs:zone/a", resource("bs:zone/a", "1"))
        store.record("bs:zone/b", resource("bs:zone/b", "2"))
        store.begin(pending("bs:zone/a", "delete"))
        store.record("bs:zone/a", None)
        store.begin(pending("bs:zone/b", "update"))
        store.remove("bs:zone/b")
        with pytest.raises(ReconcilerError, match="bs:zone/c is not in the state"):
            store.remove("bs:zone/c")
    state = LocalFileStore(tmp_path).read()
    assert (state.resources, state.pending) == ({}, {})


def test_lineage_fixed_at_creation(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    lineage = store.read().lineage
    assert LocalFileStore(tmp_path).read().lineage != lineage  # nothing written yet: nothing fixed
    with store.lock("apply"):
        store.record("bs:zone/a", resource("bs:zone/a", "1"))
    with LocalFileStore(tmp_path).lock("apply"):
        pass
    other = LocalFileStore(tmp_path)
    with other.lock("apply"):
        for i in range(JOURNAL_LIMIT + 5):  # through an automatic compaction too
            other.record("bs:zone/a", resource("bs:zone/a", str(i)))
    assert LocalFileStore(tmp_path).read().lineage == lineage


def test_writes_need_the_lock(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    with pytest.raises(RuntimeError, match="need the lock"):
        store.begin(pending("bs:zone/a"))
    with pytest.raises(RuntimeError, match="need the lock"):
        store.compact()


def test_journal_is_compacted_past_the_limit(tmp_path: Path) -> None:
    store, snapshot = LocalFileStore(tmp_path), tmp_path / "state" / "default.json"
    journal = tmp_path / "state" / "default.journal"
    with store.lock("apply"):
        for i in range(1, JOURNAL_LIMIT + 1):
            store.begin(pending(f"bs:zone/z{i}"))
        assert not snapshot.exists()
        assert len(journal.read_bytes().splitlines()) == JOURNAL_LIMIT
        store.begin(pending("bs:zone/last"))
        assert json.loads(snapshot.read_text())["serial"] == JOURNAL_LIMIT + 1
        assert not journal.exists()
        store.begin(pending("bs:zone/after"))
        assert len(journal.read_bytes().splitlines()) == 1
    assert LocalFileStore(tmp_path).read().serial == JOURNAL_LIMIT + 2


def test_hand_written_state_is_read(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    hand_written = {
        "format_version": 1,
        "lineage": "5b1e1c1e-0000-4000-8000-000000000001",
        "serial": 7,
        "resources": {
            "bs-main:advertiser/acme": {
                "id": 4711,  # a number typed by hand is taken as the id string
                "type": "advertiser",
                "target": "bs-main",
                "attributes": {"name": "ACME Corp"},
                "depends_on": [],
            },
            "bs-main:campaign/acme-summer": {
                "id": "9001",
                "type": "campaign",
                "target": "bs-main",
                "attributes": {"name": "acme-summer", "advertiser_id": "4711"},
                "depends_on": ["bs-main:advertiser/acme"],
            },
        },
        "pending": {},
    }
    (tmp_path / "state" / "staging.json").write_text(json.dumps(hand_written))
    store = LocalFileStore(tmp_path, "staging")
    state = store.read()
    assert (state.lineage, state.serial) == (hand_written["lineage"], 7)
    assert state.id_of("bs-main:advertiser/acme") == "4711"
    assert state.resources["bs-main:campaign/acme-summer"].depends_on == ("bs-main:advertiser/acme",)
    with store.lock("state rm"):
        store.remove("bs-main:campaign/acme-summer")
    after = LocalFileStore(tmp_path, "staging").read()
    assert (after.lineage, after.serial, list(after.resources)) == (state.lineage, 8, ["bs-main:advertiser/acme"])


def test_crash_before_compaction_keeps_confirmed_writes(tmp_path: Path) -> None:
    crash_after_writes(tmp_path)
    state_dir = tmp_path / "state"
    assert not (state_dir / "default.json").exists()  # the process died before any compaction
    state = LocalFileStore(tmp_path).read()
    assert state.serial == 3
    assert state.id_of("bs:campaign/a") == "101"
    assert list(state.pending) == ["bs:zone/z"]

    (state_dir / ".default.json.k3j2.tmp").write_text('{"format_version": 1, "lin')  # a snapshot write cut short
    store = LocalFileStore(tmp_path)
    with store.lock("apply"):  # the dead process's lock is taken over; the journal is folded in
        assert sorted(p.name for p in state_dir.iterdir()) == ["default.json", "default.lock"]
        assert json.loads((state_dir / "default.json").read_text())["serial"] == 3
        store.record("bs:zone/z", resource("bs:zone/z", "5"))
    after = LocalFileStore(tmp_path).read()
    assert (after.lineage, after.serial, after.pending) == (state.lineage, 4, {})


def test_torn_last_journal_line_is_ignored(tmp_path: Path) -> None:
    crash_after_writes(tmp_path)
    journal = tmp_path / "state" / "default.journal"
    complete = journal.read_bytes()
    torn = complete.splitlines()[-1][:40]  # a record whose write was cut short
    journal.write_bytes(complete + torn)

    state = LocalFileStore(tmp_path).read()
    assert state.serial == 3
    store = LocalFileStore(tmp_path)
    with store.lock("apply"):
        store.record("bs:zone/z", resource("bs:zone/z", "5"))
        during = LocalFileStore(tmp_path).read()  # the new record was not glued to the torn one
        assert (during.serial, during.id_of("bs:zone/z")) == (4, "5")
    assert LocalFileStore(tmp_path).read() == during


def test_damaged_journal_line_is_an_error(tmp_path: Path) -> None:
    crash_after_writes(tmp_path)
    journal = tmp_path / "state" / "default.journal"
    lines = journal.read_bytes().splitlines(keepends=True)
    damaged = lines[0] + b"{garbage}\n" + b"".join(lines[1:])
    journal.write_bytes(damaged)
    with pytest.raises(ReconcilerError, match=r"default\.journal:2: the state journal is damaged"):
        LocalFileStore(tmp_path).read()
    with pytest.raises(ReconcilerError, match="damaged"), LocalFileStore(tmp_path).lock("apply"):
        pass
    assert journal.read_bytes() == damaged
    assert not (tmp_path / "state" / "default.lock").exists()


def test_journal_already_in_snapshot_is_skipped(tmp_path: Path) -> None:
    """A crash after the snapshot replaced but before the journal was removed."""
    store = LocalFileStore(tmp_path)
    journal = tmp_path / "state" / "default.journal"
    with store.lock("apply"):
        store.record("bs:zone/a", resource("bs:zone/a", "1"))
        store.begin(pending("bs:zone/b"))
        leftover = journal.read_bytes()
    journal.write_bytes(leftover)
    assert LocalFileStore(tmp_path).read() == store.read()
    assert store.read().serial == 2
    with store.lock("apply"):
        store.record("bs:zone/b", resource("bs:zone/b", "2"))
    assert LocalFileStore(tmp_path).read().serial == 3


def test_journal_of_another_state_is_refused(tmp_path: Path) -> None:
    crash_after_writes(tmp_path)
    journal = (tmp_path / "state" / "default.journal").read_bytes()
    other = tmp_path / "other"
    with LocalFileStore(other).lock("apply"):
        LocalFileStore(other).read()  # nothing yet
    with (store := LocalFileStore(other)).lock("apply"):
        store.record("bs:zone/x", resource("bs:zone/x", "1"))
    (other / "state" / "default.journal").write_bytes(journal)
    with pytest.raises(ReconcilerError, match="belongs to state lineage"):
        LocalFileStore(other).read()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('{"format_version": 2, "lineage": "x", "serial": 1}', "format_version 2 is not supported"),
        ('{"format_version": 1, "lineage": "x", "serial": 1, "resource": {}}', "unknown field resource"),
        ('{"format_version": 1, "lineage": "x", "serial": -1}', "serial: must be a non-negative integer"),
        (
            '{"format_version": 1, "lineage": "x", "serial": 1, "resources": {"bs:zone/a": {"type": "zone", '
            '"target": "bs"}}}',
            r"resources\['bs:zone/a'\]: missing id",
        ),
        (
            '{"format_version": 1, "lineage": "x", "serial": 1, "pending": {"bs:zone/a": {"action": "make", '
            '"type": "zone", "target": "bs", "name": "a", "started_at": "t"}}}',
            r"pending\['bs:zone/a'\]: action must be one of create, update, delete",
        ),
    ],
)
def test_bad_state_file_is_a_clear_error_and_left_untouched(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "state" / "default.json"
    path.parent.mkdir()
    path.write_text(content)
    store = LocalFileStore(tmp_path)
    with pytest.raises(ReconcilerError, match=problem) as error:
        store.read()
    assert str(path) in str(error.value) and "git checkout" in str(error.value)
    with pytest.raises(ReconcilerError, match=problem), store.lock("apply"):
        store.begin(pending("bs:zone/a"))  # never reached
    assert path.read_text() == content
    assert sorted(p.name for p in path.parent.iterdir()) == ["default.json"]


@pytest.mark.parametrize("workspace", ["", "Prod", "-x", "a/b", "../x", "a.b"])
def test_invalid_workspace_name(tmp_path: Path, workspace: str) -> None:
    with pytest.raises(ReconcilerError, match="invalid workspace name"):
        LocalFileStore(tmp_path, workspace)


def start_lock_holder(project: Path) -> subprocess.Popen[str]:
    holder = run_python(
        project,
        """
        with store.lock("apply"):
            print("locked", flush=True)
            sys.stdin.read()
        """,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


def test_lock_held_by_live_process_fails_fast(tmp_path: Path) -> None:
    holder = start_lock_holder(tmp_path)
    try:
        started = time.monotonic()
        with pytest.raises(StateLockedError) as error, LocalFileStore(tmp_path).lock("plan"):
            pass
        assert time.monotonic() - started < 1
        message = str(error.value)
        lock_path = tmp_path / "state" / "default.lock"
        assert f"pid {holder.pid} on host {socket.gethostname()} for 'apply' since 20" in message
        assert f"rm {lock_path}" in message
        assert lock_path.exists()  # the loser leaves the holder's lock alone
    finally:
        holder.communicate("")
    assert holder.returncode == 0
    assert not (tmp_path / "state" / "default.lock").exists()


def test_stale_lock_of_killed_process_is_taken_over(tmp_path: Path) -> None:
    holder = start_lock_holder(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    lock_path = tmp_path / "state" / "default.lock"
    assert json.loads(lock_path.read_text())["pid"] == holder.pid  # left behind

    store = LocalFileStore(tmp_path)
    with store.lock("apply"):
        info = json.loads(lock_path.read_text())
        assert (info["pid"], info["operation"]) == (os.getpid(), "apply")
        store.record("bs:zone/a", resource("bs:zone/a", "1"))
    assert not lock_path.exists()


def test_second_lock_in_same_process_fails(tmp_path: Path) -> None:
    first, second = LocalFileStore(tmp_path), LocalFileStore(tmp_path)
    with first.lock("apply"), pytest.raises(StateLockedError, match=f"pid {os.getpid()}"), second.lock("state rm"):
        pass
    with LocalFileStore(tmp_path).lock("state rm"):  # released: free again
        pass


def test_many_threads_writing(tmp_path: Path) -> None:
    store, threads_count, per_thread = LocalFileStore(tmp_path), 8, 100
    errors: list[BaseException] = []
    seen_serials: list[int] = []
    done = threading.Event()

    def writer(t: int) -> None:
        try:
            for i in range(per_thread):
                address = f"bs:zone/t{t}-{i}"
                store.begin(pending(address))
                store.record(address, resource(address, f"{t}-{i}"))
        except BaseException as exc:  # noqa: BLE001  # reported by the main thread
            errors.append(exc)

    def reader() -> None:  # another store reading from disk while compactions happen
        disk = LocalFileStore(tmp_path)
        try:
            while not done.is_set():
                seen_serials.append(disk.read().serial)
                time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    with store.lock("apply"):
        watcher = threading.Thread(target=reader)
        watcher.start()
        workers = [threading.Thread(target=writer, args=(t,)) for t in range(threads_count)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        done.set()
        watcher.join()
    assert errors == []
    assert seen_serials == sorted(seen_serials)
    state = LocalFileStore(tmp_path).read()
    assert state.serial == 2 * threads_count * per_thread
    assert state.pending == {}
    assert len(state.resources) == threads_count * per_thread
    assert all(state.id_of(f"bs:zone/t{t}-{i}") == f"{t}-{i}" for t in range(threads_count) for i in range(per_thread))


def test_state_copy_is_independent() -> None:
    state = State.empty()
    copy = state.copy()
    copy.resources["bs:zone/a"] = resource("bs:zone/a", "1")
    assert state.resources == {} and copy.lineage == state.lineage
