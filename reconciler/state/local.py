"""State kept in files under `<project>/state/`: snapshot + write-ahead journal + lock file.

- `<workspace>.json`: the snapshot, in the DESIGN.md format (sorted keys, 2-space
  indent) since the apply workflow commits it to git.
- `<workspace>.journal`: one JSON line per write since the snapshot, each
  appended with a single write() and fsynced before the write returns. An apply
  makes ~2 writes per operation; rewriting a multi-MB snapshot each time would
  be far too slow, so the journal is folded into the snapshot (`compact`) when
  it holds more than JOURNAL_PER_RESOURCE records per resource of the state
  (and at least JOURNAL_LIMIT), and when the lock is released. Compaction unlinks the
  journal rather than truncating it, so no empty file is left to commit and a
  reader holding the old journal open still sees a consistent pair.
- `<workspace>.lock`: created with O_CREAT|O_EXCL and held with flock, so a lock
  left by a killed process (whose flock the kernel released) is taken over.

Reading = snapshot + replay of the journal. Every record carries the lineage
and its serial, so records already folded into the snapshot (a crash between
replacing the snapshot and unlinking the journal) are skipped, and a journal
that does not belong to the snapshot is refused rather than applied.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import getpass
import json
import logging
import os
import re
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.model import RecordedResource, TargetConfig, split_address
from reconciler.state.store import (
    JournaledWrites,
    LockHolder,
    PendingOperation,
    State,
    lock_attempts,
    resource_from_json,
    target_from_json,
    utc_now_iso,
)

log = logging.getLogger(__name__)

JOURNAL_LIMIT = 500  # records: the journal is folded into the snapshot past this and...
# ...past this many records per resource. A compaction holds up every write (and so every create
# about to be sent) for a time O(state); creates write two records each, so an apply that only
# creates never waits for one, and the journal stays within a few times the snapshot's size.
JOURNAL_PER_RESOURCE = 4
# No '.' in a workspace name: the suffix after the first '.' names a file's role, so no two
# workspaces' files and no two roles' files can ever have the same name (see workspace_files).
WORKSPACE_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
_OPS = ("begin", "record", "forget_pending", "remove", "target", "move")


@dataclass(frozen=True)
class WorkspaceFiles:
    """Every file one workspace keeps under `state/`: `<workspace>.<role suffix>`."""

    state: Path  # the snapshot, committed to git
    journal: Path  # writes since the snapshot
    lock: Path
    emulator: Path  # `--sandbox`: the emulator's objects (it adds `.journal` to this name for its own journal)
    # `--sandbox`'s own state: its ids are the emulator's, so a live run must never read them.
    sandbox_state: Path
    sandbox_journal: Path
    sandbox_lock: Path
    # Directories of run history (reconciler/history): one JSON lines file per apply.
    history: Path
    sandbox_history: Path

    def all(self) -> tuple[Path, ...]:
        emulator_journal = self.emulator.with_name(self.emulator.name + ".journal")
        return (
            self.state,
            self.journal,
            self.lock,
            self.emulator,
            emulator_journal,
            self.sandbox_state,
            self.sandbox_journal,
            self.sandbox_lock,
            self.history,
            self.sandbox_history,
        )

    def of_state(self, sandbox: bool) -> tuple[Path, Path, Path]:
        """(snapshot, journal, lock) of the live state, or of the sandbox's."""
        if sandbox:
            return self.sandbox_state, self.sandbox_journal, self.sandbox_lock
        return self.state, self.journal, self.lock


def check_workspace_name(workspace: str) -> None:
    """Raise ReconcilerError for a name that could collide with another workspace's files."""
    if not WORKSPACE_RE.fullmatch(workspace):
        raise ReconcilerError(
            f"invalid workspace name {workspace!r}: use lowercase letters, digits, '_' and '-', "
            "starting with a letter or digit"
        )


def list_workspaces(project_dir: Path) -> list[str]:
    """The workspaces that have a state under `<project_dir>/state/` (a snapshot or a journal), sorted."""
    found = set()
    for path in (Path(project_dir) / "state").glob("*"):
        workspace, _, role = path.name.partition(".")
        if role in ("json", "journal") and WORKSPACE_RE.fullmatch(workspace):
            found.add(workspace)
    return sorted(found)


def workspace_files(project_dir: Path, workspace: str) -> WorkspaceFiles:
    """The files of `workspace`; raises ReconcilerError for a name that could collide with another's."""
    check_workspace_name(workspace)
    directory = Path(project_dir) / "state"
    return WorkspaceFiles(
        state=directory / f"{workspace}.json",
        journal=directory / f"{workspace}.journal",
        lock=directory / f"{workspace}.lock",
        emulator=directory / f"{workspace}.emulator.json",
        sandbox_state=directory / f"{workspace}.sandbox.json",
        sandbox_journal=directory / f"{workspace}.sandbox.journal",
        sandbox_lock=directory / f"{workspace}.sandbox.lock",
        history=directory / f"{workspace}.history",
        sandbox_history=directory / f"{workspace}.sandbox.history",
    )


@dataclass(frozen=True)
class JournalEntry:
    """One journal record: a single write to the state."""

    lineage: str
    serial: int
    op: str  # one of _OPS
    address: str  # target: the target's name
    # begin: the operation; record: the result; target: the configuration
    value: PendingOperation | RecordedResource | TargetConfig | str | None = None  # move: the new address
    endpoint: str | None = None  # target: the endpoint it is reached through (None: not known)

    def encode(self) -> bytes:
        data: dict[str, Any] = {"lineage": self.lineage, "serial": self.serial, "op": self.op, "address": self.address}
        if self.op == "begin":
            data["pending"] = self.value.to_json()  # type: ignore[union-attr]
        elif self.op == "record":
            data["resource"] = self.value.to_json() if self.value else None  # type: ignore[union-attr]
        elif self.op == "target":
            data["target"] = self.value.to_json()  # type: ignore[union-attr]
            if self.endpoint is not None:
                data["endpoint"] = self.endpoint
        elif self.op == "move":
            data["to"] = self.value
        line = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return line.encode() + b"\n"  # json.dumps escapes newlines inside strings: one record, one line

    @classmethod
    def decode(cls, line: bytes) -> JournalEntry:
        """Parse and validate one line; raises ValueError."""
        data = json.loads(line)
        if not isinstance(data, dict) or data.get("op") not in _OPS:
            raise ValueError(f"op must be one of {', '.join(_OPS)}")
        lineage, serial, address = data.get("lineage"), data.get("serial"), data.get("address")
        if not isinstance(lineage, str) or not isinstance(address, str):
            raise ValueError("lineage and address must be strings")
        if isinstance(serial, bool) or not isinstance(serial, int) or serial < 1:
            raise ValueError("serial must be a positive integer")
        value: PendingOperation | RecordedResource | TargetConfig | str | None = None
        endpoint = data.get("endpoint")
        if endpoint is not None and (data["op"] != "target" or not isinstance(endpoint, str) or not endpoint):
            raise ValueError("endpoint must be a non-empty string, on a target record")
        if data["op"] == "begin":
            value = PendingOperation.from_json(address, data.get("pending"))
        elif data["op"] == "record" and data.get("resource") is not None:
            value = resource_from_json(address, data["resource"])
        elif data["op"] == "target":
            value = target_from_json(address, data.get("target"))
        elif data["op"] == "move":
            value = data.get("to")
            if not isinstance(value, str):
                raise ValueError("a move needs `to`, the new address")
            split_address(address)
            split_address(value)
        else:
            split_address(address)
        return cls(lineage, serial, data["op"], address, value, endpoint)

    def apply(self, state: State) -> None:
        """The one place where a write changes a State (live writes and replay alike)."""
        if self.op == "begin":
            state.pending[self.address] = self.value  # type: ignore[assignment]
        elif self.op == "record":
            state.pending.pop(self.address, None)
            if self.value is None:
                state.resources.pop(self.address, None)
            else:
                state.resources[self.address] = self.value  # type: ignore[assignment]
        elif self.op == "forget_pending":
            state.pending.pop(self.address, None)
        elif self.op == "target":
            state.targets[self.address] = self.value  # type: ignore[assignment]
            if self.endpoint is None:
                state.endpoints.pop(self.address, None)
            else:
                state.endpoints[self.address] = self.endpoint
        elif self.op == "move":  # one record: the old address goes and the new one holds its object
            moved = state.resources.pop(self.address, None)
            if moved is not None:
                state.resources[self.value] = dataclasses.replace(moved, address=self.value)  # type: ignore[index]
        else:  # remove
            state.resources.pop(self.address, None)
            state.pending.pop(self.address, None)
        state.serial = self.serial


class LocalFileStore(JournaledWrites):
    """The StateStore of one workspace in `<project_dir>/state/`. Thread-safe.

    `sandbox`: the state of `--sandbox` runs, in files of its own. `endpoint_of`: the endpoint
    this run reaches a target through; recorded with the target's configuration, and before the
    first write for a target whose state has none yet (a state from before endpoints were recorded).
    `lock_timeout`: seconds `lock()` waits for another holder unless told otherwise.
    """

    def __init__(
        self,
        project_dir: Path,
        workspace: str = "default",
        *,
        sandbox: bool = False,
        endpoint_of: Callable[[TargetConfig], str] | None = None,
        lock_timeout: float = 0.0,
    ) -> None:
        files = workspace_files(project_dir, workspace)
        self.lock_timeout = lock_timeout  # how long lock() waits for another holder when not told
        self.workspace = workspace
        self.directory = files.state.parent
        self.path, self.journal_path, self.lock_path = files.of_state(sandbox)
        self._endpoint_of = endpoint_of
        # A state never written keeps one lineage for the life of this store, so a
        # read() before the lock agrees with what the first write records.
        self._fresh_lineage = State.empty().lineage
        # Used only while this store holds the lock.
        # Guarded by _mutex (held briefly, never during I/O):
        self._mutex = threading.Lock()
        self._state: State | None = None  # snapshot + journal, as on disk once `_buffer` is written
        self._buffer: list[bytes] = []  # encoded records not yet written (group commit)
        # Guarded by _io_lock: one thread at a time writes files, taking along the records others queued.
        self._io_lock = threading.Lock()
        self._durable_serial = 0  # every record up to this serial is on disk
        self._snapshot_serial = 0  # serial of the snapshot file (0: none)
        self._journal_records = 0  # records in the journal file
        self._journal_fd: int | None = None
        self._failure: BaseException | None = None  # an I/O error that makes further writes unsafe

    # -- reading -----------------------------------------------------------------------------------------

    def read(self) -> State:
        """The current state: the snapshot plus the journal's confirmed records.

        Always parsed from disk, so callers get objects of their own (even while this
        store holds the lock, when memory and disk agree).
        """
        return self._load()[0]

    def _load(self) -> tuple[State, int, bool]:
        """(state, serial of the snapshot file or 0, whether a journal file exists)."""
        # Open the journal before reading the snapshot: if a compaction runs in between,
        # the old journal we hold only has records the new snapshot already contains.
        try:
            journal = open(self.journal_path, "rb")  # noqa: SIM115  # closed below
        except FileNotFoundError:
            journal = None
        with journal or contextlib.nullcontext():
            snapshot = self._read_snapshot()
            entries = self._read_journal(journal.read()) if journal else []
        if snapshot is None:
            lineage = entries[0][1].lineage if entries else self._fresh_lineage
            state = State(lineage=lineage, serial=0)
        else:
            state = snapshot
        snapshot_serial = state.serial
        for number, entry in entries:
            if entry.lineage != state.lineage:
                raise self._journal_error(number, f"it belongs to state lineage {entry.lineage}, not {state.lineage}")
            if entry.serial <= snapshot_serial and state.serial == snapshot_serial:
                continue  # already folded into the snapshot (crash before the journal was unlinked)
            if entry.serial != state.serial + 1:
                raise self._journal_error(number, f"serial {entry.serial} follows serial {state.serial}")
            entry.apply(state)
        return state, snapshot_serial, journal is not None

    def _read_snapshot(self) -> State | None:
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return None
        how_to_fix = (
            f"Nothing was written to it. Restore it from version control (git checkout -- {self.path}) "
            "or a backup, or fix it by hand, then retry."
        )
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ReconcilerError(f"{self.path}: the state file is not valid JSON ({exc}). {how_to_fix}") from None
        try:
            return State.from_json(data)
        except ValueError as exc:
            raise ReconcilerError(f"{self.path}: invalid state file: {exc}. {how_to_fix}") from None

    def _read_journal(self, data: bytes) -> list[tuple[int, JournalEntry]]:
        """(line number, record) for every complete line."""
        # The last piece is "" or a torn write that was never confirmed to anyone: ignored.
        lines = data.split(b"\n")[:-1]
        entries = []
        for number, line in enumerate(lines, 1):
            try:
                entries.append((number, JournalEntry.decode(line)))
            except (ValueError, UnicodeDecodeError) as exc:
                raise self._journal_error(number, f"unreadable record ({exc})") from None
        return entries

    def _journal_error(self, line: int, problem: str) -> ReconcilerError:
        return ReconcilerError(
            f"{self.journal_path}:{line}: the state journal is damaged: {problem}. Nothing was written. "
            f"It holds the writes of an apply made after {self.path} was last saved; restore both files "
            "from a backup, or move the journal away to drop those writes (objects they created on the "
            "platform will then no longer be tracked)."
        )

    # -- locking -----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, operation: str, timeout: float | None = None) -> Iterator[None]:
        """Hold the workspace lock (waiting up to `timeout` seconds, default the store's, for it); writes
        are allowed inside. The journal is compacted on release."""
        fd = self._acquire_lock_file(operation, self.lock_timeout if timeout is None else timeout)
        try:
            for leftover in self.directory.glob(f".{self.path.name}.*.tmp"):  # a compaction cut short
                leftover.unlink()
            state, snapshot_serial, journal_exists = self._load()
            with self._mutex:
                self._state, self._snapshot_serial = state, snapshot_serial
                self._durable_serial, self._buffer, self._journal_records, self._failure = state.serial, [], 0, None
            try:
                if journal_exists:  # left by a crash: fold it in now (this also drops a torn last line)
                    self.compact()
                yield
            finally:
                try:
                    if self._failure is None:
                        self.compact()
                finally:
                    self._close_journal()
                    with self._mutex:
                        self._state = None
        finally:
            self._release_lock_file(fd)

    def _acquire_lock_file(self, operation: str, timeout: float) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in lock_attempts(timeout):
            fd = self._try_lock_file(operation)
            if isinstance(fd, int):
                return fd
        raise _holder(fd, alive=True).locked_error(str(self.lock_path), None, timeout)

    def _try_lock_file(self, operation: str) -> int | dict[str, Any]:
        """The locked lock file's descriptor, or what its holder wrote in it if another process holds it."""
        while True:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                try:
                    fd = os.open(self.lock_path, os.O_RDWR)
                except FileNotFoundError:
                    continue  # released meanwhile: try to create it again
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                return holder
            if not _is_current(fd, self.lock_path):
                os.close(fd)  # its holder unlinked it just before we locked it: start over
                continue
            stale = _read_holder(fd)
            if stale:
                log.warning("took over the stale state lock %s left by %s", self.lock_path, stale)
            info = {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "user": _os_user(),
                "operation": operation,
                "since": utc_now_iso(),
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info, sort_keys=True) + "\n").encode(), 0)
            return fd

    def lock_holder(self) -> LockHolder | None:
        """Who holds the lock file, or left it behind (not alive: its flock was released); None if there is none."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                alive = False
            except BlockingIOError:
                alive = True
            return _holder(_read_holder(fd), alive=alive)
        finally:
            os.close(fd)  # also drops the probe's flock

    def break_lock(self) -> str | None:
        """Remove the lock file (`state unlock --force`); returns what was done, or None if there was none."""
        holder = self.lock_holder()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.lock_path)
        if holder is None:
            return None
        if holder.alive:  # a file lock cannot be taken from a live process: say what that means
            return (f"removed {self.lock_path} of {holder.describe()}, which is still running: it goes on "
                    "writing the state unchecked; stop it before you apply")  # fmt: skip
        return f"removed the stale lock {self.lock_path} of {holder.describe()}"

    def _release_lock_file(self, fd: int) -> None:
        try:
            if _is_current(fd, self.lock_path):  # unlink while still flocked, so nobody can take it first
                os.unlink(self.lock_path)
        finally:
            os.close(fd)

    # -- writing -----------------------------------------------------------------------------------------

    def replace(self, state: State) -> None:
        """Make `state` (lineage, serial and all) this workspace's state in one atomic write (`state pull`)."""
        with self._io_lock:
            self._check_healthy()
            with self._mutex:
                self._locked_state()
                self._state = state.copy()
            self._snapshot_serial = -1  # the snapshot is written whatever its serial
            self._compact_io()

    def compact(self) -> None:
        """Write the full snapshot atomically and drop the journal."""
        with self._io_lock:
            self._check_healthy()
            self._compact_io()

    def _write(
        self, op: str, address: str, value: PendingOperation | RecordedResource | TargetConfig | str | None = None
    ) -> None:
        if op != "target":
            split_address(address)
        with self._mutex:
            state = self._locked_state()
            target = value.target if isinstance(value, PendingOperation | RecordedResource) else None
            if target in state.targets and target not in state.endpoints and self._endpoint_of is not None:
                self._append(state, "target", target, state.targets[target])  # type: ignore[arg-type]
            entry = self._append(state, op, address, value)
        self._sync(entry.serial)

    def _append(
        self, state: State, op: str, address: str, value: PendingOperation | RecordedResource | TargetConfig | None
    ) -> JournalEntry:
        """Queue one record and apply it to `state`; caller holds _mutex."""
        endpoint = self._endpoint_of(value) if isinstance(value, TargetConfig) and self._endpoint_of else None
        line = JournalEntry(state.lineage, state.serial + 1, op, address, value, endpoint).encode()
        # Apply what replay will read back, so memory and disk cannot disagree.
        entry = JournalEntry.decode(line)
        entry.apply(state)
        self._buffer.append(line)
        return entry

    def _sync(self, serial: int) -> None:
        """Return once the record with `serial` is on disk, writing it and any queued with it."""
        with self._io_lock:
            self._check_healthy()
            if self._durable_serial >= serial:
                return  # another thread's write or compaction covered it
            with self._mutex:
                # A snapshot costs O(state) and comes after O(state) records: O(1) per write.
                resources = len(self._state.resources)  # type: ignore[union-attr]
                limit = max(JOURNAL_LIMIT, JOURNAL_PER_RESOURCE * resources)
                over_limit = self._journal_records + len(self._buffer) > limit
                if not over_limit:
                    lines, self._buffer = self._buffer, []
                    upto = self._state.serial  # type: ignore[union-attr]  # the serial of the last line
            if over_limit:
                self._compact_io()
                return
            try:
                self._append_journal(b"".join(lines))
            except BaseException as exc:
                self._failure = exc
                raise
            self._journal_records += len(lines)
            self._durable_serial = upto

    def _append_journal(self, data: bytes) -> None:
        if self._journal_fd is None:
            self._journal_fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            _fsync_dir(self.directory)  # make the new file's name durable too
        written = os.write(self._journal_fd, data)
        if written != len(data):
            raise OSError(f"short write to {self.journal_path} ({written} of {len(data)} bytes); disk full?")
        os.fdatasync(self._journal_fd)  # appends: data and size, not timestamps

    def _compact_io(self) -> None:
        """Fold everything into the snapshot. Caller holds _io_lock."""
        with self._mutex:
            state = self._locked_state().copy()  # entries are immutable: a shallow copy is a snapshot
            self._buffer = []  # the snapshot covers these records
        payload = None
        if state.serial > self._snapshot_serial:
            payload = (json.dumps(state.to_json(), sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
        try:
            if payload is not None:
                self._replace_snapshot(payload)
                self._snapshot_serial = state.serial
            self._close_journal()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.journal_path)
                _fsync_dir(self.directory)
        except BaseException as exc:
            self._failure = exc
            raise
        self._journal_records = 0
        self._durable_serial = state.serial

    def _replace_snapshot(self, payload: bytes) -> None:
        # Named after the snapshot: the live and the sandbox store of a workspace never clean up each other's.
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(payload)
                file.flush()
                os.fchmod(file.fileno(), 0o644)  # mkstemp makes 0600; this file is shared via git
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.directory)

    def _close_journal(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None

    def _locked_state(self) -> State:
        """The in-memory state; caller holds _mutex."""
        if self._state is None:
            raise RuntimeError("state writes need the lock: use `with store.lock(operation):`")
        return self._state

    def _check_healthy(self) -> None:
        if self._failure is not None:
            raise ReconcilerError(
                f"writing the state under {self.directory} failed ({self._failure}); stopping so that no "
                "write is lost. The state on disk is intact up to the last confirmed write; fix the cause "
                "(disk full?) and run again."
            )


def _read_holder(fd: int) -> dict[str, Any]:
    """The JSON a lock holder wrote into the lock file, or {} (e.g. not written yet)."""
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _holder(info: dict[str, Any], *, alive: bool) -> LockHolder:
    pid = info.get("pid")
    return LockHolder(
        host=str(info.get("host", "?")),
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        user=str(info["user"]) if info.get("user") else None,
        operation=str(info.get("operation", "?")),
        since=str(info.get("since", "?")),
        alive=alive,
    )


def _os_user() -> str:
    """The OS user running this process, as the lock records it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (some containers)
        return str(os.getuid())


def _is_current(fd: int, path: Path) -> bool:
    """Whether `path` still names the file open as `fd`."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
