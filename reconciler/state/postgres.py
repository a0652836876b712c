"""State in PostgreSQL: one row per workspace, a journal of its writes, and a lock per workspace.

- `reconciler_states`: one row per (workspace, sandbox). `serial` is the last write's; the
  snapshot columns (`resources`, `pending`, `targets`, `endpoints`) hold the state as of
  `snapshot_serial`, and the journal rows after it complete it. Reading is one statement, so it
  sees one consistent snapshot of both.
- `reconciler_journal`: one row per write since the snapshot, the file store's journal record
  (local.JournalEntry), so both stores replay writes with the same code. Folded into the row
  like the file store's journal: past a size, and when the lock is released.
- Every write is one transaction: the journal row(s) plus `UPDATE ... WHERE serial = <expected>
  AND <this store still holds the lock row>` (compare-and-swap). 0 rows: nothing is written and
  this store refuses every further write, so a writer that lost its lock can never overwrite.
- `reconciler_locks`: who holds a workspace's lock (host, pid, user, operation, since). The lock
  itself is a session advisory lock held on a connection of its own: PostgreSQL releases it when
  the holder's session ends (a killed process), so a row whose session is gone is stale and the
  next holder takes it over.
- `reconciler_runs` and `reconciler_run_operations`: the run history (reconciler/history/postgres.py).
- `reconciler_schema`: the schema version; MIGRATIONS[n] brings version n to n + 1, run on first use.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from reconciler.errors import ReconcilerError
from reconciler.model import RecordedResource, TargetConfig, split_address
from reconciler.state.backend import scrub
from reconciler.state.local import (
    JOURNAL_LIMIT,
    JOURNAL_PER_RESOURCE,
    JournalEntry,
    _os_user,
    check_workspace_name,
)
from reconciler.state.store import (
    FORMAT_VERSION,
    JournaledWrites,
    LockHolder,
    PendingOperation,
    State,
    lock_attempts,
    utc_now_iso,
)

log = logging.getLogger(__name__)

# Append a migration to change the schema; never edit one that was released.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE reconciler_states (
            workspace text NOT NULL,
            sandbox boolean NOT NULL,
            lineage text NOT NULL,
            serial bigint NOT NULL,
            snapshot_serial bigint NOT NULL,
            resources jsonb NOT NULL,
            pending jsonb NOT NULL,
            targets jsonb NOT NULL,
            endpoints jsonb NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (workspace, sandbox)
        )""",
        """CREATE TABLE reconciler_journal (
            workspace text NOT NULL,
            sandbox boolean NOT NULL,
            serial bigint NOT NULL,
            record jsonb NOT NULL,
            written_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (workspace, sandbox, serial),
            FOREIGN KEY (workspace, sandbox) REFERENCES reconciler_states ON DELETE CASCADE
        )""",
        """CREATE TABLE reconciler_locks (
            workspace text NOT NULL,
            sandbox boolean NOT NULL,
            lock_id uuid NOT NULL,
            host text NOT NULL,
            pid integer NOT NULL,
            os_user text NOT NULL,
            operation text NOT NULL,
            since text NOT NULL,
            backend_pid integer NOT NULL,
            PRIMARY KEY (workspace, sandbox)
        )""",
    ),
    (  # run history (reconciler/history/postgres.py)
        """CREATE TABLE reconciler_runs (
            workspace text NOT NULL,
            sandbox boolean NOT NULL,
            run_id text NOT NULL,
            started_at timestamptz NOT NULL,
            who text NOT NULL,
            origin text NOT NULL,
            commit text,
            plan_digest text NOT NULL,
            plan_file text,
            overrides jsonb NOT NULL,
            planned jsonb NOT NULL,
            ended_at timestamptz,
            outcome text,
            counts jsonb,
            message text,
            found_by text,
            PRIMARY KEY (workspace, sandbox, run_id)
        )""",
        """CREATE TABLE reconciler_run_operations (
            workspace text NOT NULL,
            sandbox boolean NOT NULL,
            run_id text NOT NULL,
            seq integer NOT NULL,
            address text NOT NULL,
            action text NOT NULL,
            outcome text NOT NULL,
            at timestamptz NOT NULL,
            platform_id text,
            attempts integer NOT NULL,
            duration_ms integer NOT NULL,
            error_class text,
            message text NOT NULL,
            before jsonb,
            after jsonb,
            undoes text,
            PRIMARY KEY (workspace, sandbox, run_id, seq),
            FOREIGN KEY (workspace, sandbox, run_id) REFERENCES reconciler_runs ON DELETE CASCADE
        )""",
    ),
]
LOCK_APPLICATION = "reconciler-lock"  # application_name of lock sessions: unlock --force ends only those
UNLOCK_REMEDY = "take the lock over: reconciler state unlock --force"
_KEY = "workspace = %(workspace)s AND sandbox = %(sandbox)s"
_HOLDING = f"EXISTS (SELECT 1 FROM reconciler_locks WHERE {_KEY} AND lock_id = %(lock_id)s)"


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A connection to the state database, its schema brought up to date; errors never show the password."""
    with database_errors(url):
        conn = psycopg.connect(url, connect_timeout=10, **kwargs)
        _migrate(conn)
        return conn


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn a driver error into one line naming the database (password as ***)."""
    try:
        yield
    except psycopg.Error as exc:
        text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise ReconcilerError(f"state database {scrub(url, url)}: {scrub(text, url)}") from None


def _migrate(conn: psycopg.Connection[Any]) -> None:
    autocommit, conn.autocommit = conn.autocommit, False
    try:
        with conn.transaction():
            # Serializes first uses: two processes never both create the tables.
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('reconciler_schema', 0))")
            conn.execute("CREATE TABLE IF NOT EXISTS reconciler_schema (version integer NOT NULL)")
            row = conn.execute("SELECT version FROM reconciler_schema").fetchone()
            version = row[0] if row else 0
            if version > len(MIGRATIONS):
                raise ReconcilerError(
                    f"the state database has schema version {version}, newer than this reconciler's "
                    f"{len(MIGRATIONS)}: upgrade reconciler"
                )
            for migration in MIGRATIONS[version:]:
                for statement in migration:
                    conn.execute(statement)
            if row is None:
                conn.execute("INSERT INTO reconciler_schema (version) VALUES (%s)", [len(MIGRATIONS)])
            elif version < len(MIGRATIONS):
                conn.execute("UPDATE reconciler_schema SET version = %s", [len(MIGRATIONS)])
    finally:
        conn.autocommit = autocommit


def list_workspaces(url: str) -> list[str]:
    """The workspaces with a live (not `--sandbox`) state in the database, sorted."""
    with connect(url) as conn, database_errors(url):
        rows = conn.execute("SELECT workspace FROM reconciler_states WHERE NOT sandbox ORDER BY workspace")
        return [row[0] for row in rows]


class PostgresStore(JournaledWrites):
    """The StateStore of one workspace in the PostgreSQL database `url` names. Thread-safe.

    `sandbox`, `endpoint_of` and `lock_timeout` as for LocalFileStore.
    """

    def __init__(
        self,
        url: str,
        workspace: str = "default",
        *,
        sandbox: bool = False,
        endpoint_of: Callable[[TargetConfig], str] | None = None,
        lock_timeout: float = 0.0,
    ) -> None:
        check_workspace_name(workspace)
        self.url, self.workspace, self.sandbox = url, workspace, sandbox
        self.lock_timeout = lock_timeout
        self._endpoint_of = endpoint_of
        self._key = {"workspace": workspace, "sandbox": sandbox}
        self._lock_name = f"reconciler:{workspace}:{'sandbox' if sandbox else 'live'}"
        self._fresh_lineage = State.empty().lineage  # as LocalFileStore: read() agrees with the first write
        # Guarded by _mutex (held across each database round trip: one transaction at a time):
        self._mutex = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._state: State | None = None  # while locked: the state as committed
        self._lock_id: str | None = None
        self._row_exists = False
        self._journal_rows = 0
        self._failure: ReconcilerError | None = None

    @property
    def where(self) -> str:
        """The database and workspace, for messages (password as ***)."""
        return f"{scrub(self.url, self.url)} workspace {self.workspace!r}{' (sandbox)' if self.sandbox else ''}"

    # -- reading -----------------------------------------------------------------------------------------

    def read(self) -> State:
        with self._mutex:
            return self._load()[0]

    def _load(self) -> tuple[State, bool, int]:
        """(state, whether its row exists, journal rows); caller holds _mutex."""
        with database_errors(self.url):
            row = (
                self._db()
                .execute(
                    "SELECT lineage, serial, snapshot_serial, resources, pending, targets, endpoints, "
                    "COALESCE((SELECT jsonb_agg(j.record ORDER BY j.serial) FROM reconciler_journal j "
                    "WHERE j.workspace = s.workspace AND j.sandbox = s.sandbox "
                    "AND j.serial > s.snapshot_serial), '[]'::jsonb) "
                    f"FROM reconciler_states s WHERE {_KEY}",
                    self._key,
                )
                .fetchone()
            )
        if row is None:
            return State(lineage=self._fresh_lineage, serial=0), False, 0
        lineage, serial, snapshot_serial, resources, pending, targets, endpoints, journal = row
        snapshot = {"format_version": FORMAT_VERSION, "lineage": lineage, "serial": snapshot_serial,
                    "resources": resources, "pending": pending, "targets": targets, "endpoints": endpoints}  # fmt: skip
        try:
            state = State.from_json(snapshot)
            for record in journal:
                entry = JournalEntry.decode(json.dumps(record).encode())
                if entry.serial != state.serial + 1 or entry.lineage != lineage:
                    raise ValueError(f"journal record {entry.serial} does not follow serial {state.serial}")
                entry.apply(state)
        except ValueError as exc:
            raise ReconcilerError(f"{self.where}: the stored state is damaged: {exc}. Nothing was written.") from None
        if state.serial != serial:
            raise ReconcilerError(f"{self.where}: the stored state is damaged: serial {serial}, journal ends at "
                                  f"{state.serial}. Nothing was written.")  # fmt: skip
        return state, True, len(journal)

    def _db(self) -> psycopg.Connection[Any]:
        """This store's connection for reads and writes (autocommit; writes open transactions)."""
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.url, autocommit=True)
        return self._conn

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- locking -----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, operation: str, timeout: float | None = None) -> Iterator[None]:
        """Hold the workspace lock (waiting up to `timeout` seconds, default the store's); writes are allowed
        inside. The journal is folded into the row on release."""
        session = connect(self.url, autocommit=True, application_name=LOCK_APPLICATION)
        try:
            self._acquire(session, operation, self.lock_timeout if timeout is None else timeout)
            try:
                with self._mutex:
                    self._state, self._row_exists, self._journal_rows = self._load()
                    self._failure = None
                    if self._journal_rows:  # left by a crash: fold it in now
                        self._write_snapshot(self._state)
                yield
            finally:
                with self._mutex:
                    try:
                        if self._failure is None and self._state is not None:
                            self._write_snapshot(self._state)
                    finally:
                        self._state = None
                # A session that died (ended by `unlock --force`, a lost connection) cannot remove its row:
                # the next holder finds it stale. Its error must not hide the one that ended the apply.
                with contextlib.suppress(psycopg.Error):
                    session.execute(f"DELETE FROM reconciler_locks WHERE {_KEY} AND lock_id = %(lock_id)s",
                                    {**self._key, "lock_id": self._lock_id})  # fmt: skip
                self._lock_id = None
        finally:
            session.close()  # ends the session, and with it the advisory lock

    def _acquire(self, session: psycopg.Connection[Any], operation: str, timeout: float) -> None:
        with database_errors(self.url):
            for _ in lock_attempts(timeout):
                got = session.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [self._lock_name])
                if got.fetchone()[0]:  # type: ignore[index]
                    break
            else:
                holder = self._holder(session) or LockHolder("?", None, None, "?", "?", alive=True)
                raise holder.locked_error(self.where, UNLOCK_REMEDY, timeout)
            stale = self._holder(session)
            if stale is not None:  # its session ended without unlocking: a killed process
                log.warning("took over the stale state lock of %s left by %s", self.where, stale.describe())
            self._lock_id = str(uuid.uuid4())
            session.execute(
                "INSERT INTO reconciler_locks (workspace, sandbox, lock_id, host, pid, os_user, operation, since, "
                "backend_pid) VALUES (%(workspace)s, %(sandbox)s, %(lock_id)s, %(host)s, %(pid)s, %(user)s, "
                "%(operation)s, %(since)s, pg_backend_pid()) ON CONFLICT (workspace, sandbox) DO UPDATE SET "
                "lock_id = EXCLUDED.lock_id, host = EXCLUDED.host, pid = EXCLUDED.pid, os_user = EXCLUDED.os_user, "
                "operation = EXCLUDED.operation, since = EXCLUDED.since, backend_pid = EXCLUDED.backend_pid",
                {**self._key, "lock_id": self._lock_id, "host": socket.gethostname(), "pid": os.getpid(),
                 "user": _os_user(), "operation": operation, "since": utc_now_iso()},
            )  # fmt: skip

    def _holder(self, conn: psycopg.Connection[Any]) -> LockHolder | None:
        row = conn.execute(
            "SELECT host, pid, os_user, operation, since, EXISTS (SELECT 1 FROM pg_stat_activity a "
            f"WHERE a.pid = l.backend_pid AND a.application_name = '{LOCK_APPLICATION}') "
            f"FROM reconciler_locks l WHERE {_KEY}",
            self._key,
        ).fetchone()
        if row is None:
            return None
        host, pid, user, operation, since, alive = row
        return LockHolder(host, pid, user, operation, since, alive=alive)

    def lock_holder(self) -> LockHolder | None:
        """Who holds the lock, or left it behind (not alive: its session is gone); None when it is free."""
        with self._mutex, database_errors(self.url):
            return self._holder(self._db())

    def break_lock(self) -> str | None:
        """Remove the lock record and end its holder's lock session (`state unlock --force`): the holder's
        next write is refused. Returns what was done, or None if there was no lock."""
        with self._mutex, database_errors(self.url):
            conn = self._db()
            row = conn.execute(
                f"DELETE FROM reconciler_locks WHERE {_KEY} RETURNING host, pid, os_user, operation, since, "
                "backend_pid", self._key).fetchone()  # fmt: skip
            if row is None:
                return None
            holder = LockHolder(*row[:5], alive=False)
            ended = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = %s AND application_name = %s",
                [row[5], LOCK_APPLICATION],
            ).fetchone()
        if ended and ended[0]:
            return (f"removed the lock of {holder.describe()} and ended its database session: that process, still "
                    "running, can no longer write this state")  # fmt: skip
        return f"removed the stale lock of {holder.describe()} (its session had already ended)"

    # -- writing -----------------------------------------------------------------------------------------

    def compact(self) -> None:
        with self._mutex:
            self._write_snapshot(self._locked_state())

    def replace(self, state: State) -> None:
        with self._mutex:
            self._locked_state()
            self._write_snapshot(state, force=True)

    def _write(
        self, op: str, address: str, value: PendingOperation | RecordedResource | TargetConfig | str | None = None
    ) -> None:
        if op != "target":
            split_address(address)
        with self._mutex:
            state = self._locked_state()
            new = state.copy()
            entries = []
            target = value.target if isinstance(value, PendingOperation | RecordedResource) else None
            if target in new.targets and target not in new.endpoints and self._endpoint_of is not None:
                entries.append(self._entry(new, "target", target, new.targets[target]))  # type: ignore[arg-type]
            entries.append(self._entry(new, op, address, value))
            params = {**self._key, "lock_id": self._lock_id, "expected": state.serial, "serial": new.serial}
            if self._row_exists:
                statement = (
                    f"UPDATE reconciler_states SET serial = %(serial)s, updated_at = now() WHERE {_KEY} "
                    f"AND serial = %(expected)s AND {_HOLDING}"
                )
            else:
                statement = (
                    "INSERT INTO reconciler_states (workspace, sandbox, lineage, serial, snapshot_serial, "
                    "resources, pending, targets, endpoints) SELECT %(workspace)s, %(sandbox)s, %(lineage)s, "
                    f"%(serial)s, 0, '{{}}', '{{}}', '{{}}', '{{}}' WHERE {_HOLDING} ON CONFLICT DO NOTHING"
                )
            records = [{**self._key, "serial": e.serial, "record": Jsonb(json.loads(e.encode()))} for e in entries]
            self._commit(
                state.serial,
                statement,
                {**params, "lineage": new.lineage},
                lambda cursor: cursor.executemany(
                    "INSERT INTO reconciler_journal (workspace, sandbox, serial, record) "
                    "VALUES (%(workspace)s, %(sandbox)s, %(serial)s, %(record)s)",
                    records,
                ),
            )
            self._state, self._row_exists = new, True
            self._journal_rows += len(entries)
            if self._journal_rows > max(JOURNAL_LIMIT, JOURNAL_PER_RESOURCE * len(new.resources)):
                self._write_snapshot(new)

    def _entry(
        self, state: State, op: str, address: str, value: PendingOperation | RecordedResource | TargetConfig | None
    ) -> JournalEntry:
        """The next write's record, applied to `state` as replay will read it back."""
        endpoint = self._endpoint_of(value) if isinstance(value, TargetConfig) and self._endpoint_of else None
        line = JournalEntry(state.lineage, state.serial + 1, op, address, value, endpoint).encode()
        entry = JournalEntry.decode(line)
        entry.apply(state)
        return entry

    def _write_snapshot(self, state: State, *, force: bool = False) -> None:
        """Store `state` whole in the row and drop the journal; caller holds _mutex. Skipped when the row
        already holds exactly the current state, unless `force`."""
        if not force and not self._journal_rows:
            return
        expected = self._locked_state().serial
        data = state.to_json()
        columns = {key: Jsonb(data[key]) for key in ("resources", "pending", "targets", "endpoints")}
        params = {**self._key, **columns, "lock_id": self._lock_id, "expected": expected,
                  "lineage": state.lineage, "serial": state.serial}  # fmt: skip
        if self._row_exists:
            statement = (
                "UPDATE reconciler_states SET lineage = %(lineage)s, serial = %(serial)s, "
                "snapshot_serial = %(serial)s, resources = %(resources)s, pending = %(pending)s, "
                "targets = %(targets)s, endpoints = %(endpoints)s, updated_at = now() "
                f"WHERE {_KEY} AND serial = %(expected)s AND {_HOLDING}"
            )
        else:
            statement = (
                "INSERT INTO reconciler_states (workspace, sandbox, lineage, serial, snapshot_serial, resources, "
                "pending, targets, endpoints) SELECT %(workspace)s, %(sandbox)s, %(lineage)s, %(serial)s, "
                f"%(serial)s, %(resources)s, %(pending)s, %(targets)s, %(endpoints)s WHERE {_HOLDING} "
                "ON CONFLICT DO NOTHING"
            )
        self._commit(
            expected,
            statement,
            params,
            lambda cursor: cursor.execute(f"DELETE FROM reconciler_journal WHERE {_KEY}", self._key),
        )
        self._state, self._row_exists, self._journal_rows = state.copy(), True, 0

    def _commit(
        self, expected: int, statement: str, params: dict[str, Any], then: Callable[[psycopg.Cursor[Any]], None]
    ) -> None:
        """One transaction: the compare-and-swap `statement` must change one row, then `then` runs; caller
        holds _mutex. Any failure rolls it back and refuses every later write of this store."""
        if self._failure is not None:
            raise self._failure
        conn = self._db()
        try:
            with database_errors(self.url), conn.transaction():
                cursor = conn.execute(statement, params)
                if cursor.rowcount != 1:
                    raise self._conflict(conn, expected)
                then(cursor)
        except ReconcilerError as exc:
            self._failure = exc
            raise

    def _conflict(self, conn: psycopg.Connection[Any], expected: int) -> ReconcilerError:
        row = conn.execute(f"SELECT serial FROM reconciler_states WHERE {_KEY}", self._key).fetchone()
        holding = conn.execute(f"SELECT {_HOLDING}", {**self._key, "lock_id": self._lock_id}).fetchone()
        if not (holding and holding[0]):
            return ReconcilerError(
                f"{self.where}: this run no longer holds the state lock (taken over with `reconciler state unlock "
                "--force`?); nothing was written"
            )
        return ReconcilerError(
            f"{self.where}: the state was changed by another writer (serial {row[0] if row else 0}, expected "
            f"{expected}); nothing was written"
        )

    def _locked_state(self) -> State:
        """The committed state; caller holds _mutex."""
        if self._state is None:
            raise RuntimeError("state writes need the lock: use `with store.lock(operation):`")
        return self._state
