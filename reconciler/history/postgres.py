"""The run history in the state's PostgreSQL database: one row per run, one per operation.

`reconciler_runs` holds a run's start and, once it ended, its end (`outcome` NULL: unfinished,
so a killed run is found by the next apply as with the file store); `reconciler_run_operations`
one row per operation, `seq` in the order they finished. Both are keyed by (workspace, sandbox)
like the state, and created by the state's schema migrations (reconciler/state/postgres.py).
The connection is in autocommit: each write is committed at once, so a killed run keeps every
operation it appended. Rows are made from, and read back through, the records' JSON
(records.py), so both stores keep the same fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from reconciler.history.records import OperationRecord, Run, RunEnd, RunStart, iso
from reconciler.history.store import no_such_run
from reconciler.state.backend import scrub
from reconciler.state.local import check_workspace_name
from reconciler.state.postgres import connect, database_errors

_KEY = "workspace = %(workspace)s AND sandbox = %(sandbox)s"
_RUN_COLUMNS = (
    "run_id, started_at, who, origin, commit, plan_digest, plan_file, overrides, planned, "
    "ended_at, outcome, counts, message, found_by"
)
_OPERATION_COLUMNS = (
    "address, action, outcome, at, platform_id, attempts, duration_ms, error_class, message, before, after, undoes"
)
# JSON key of the records -> column, where they differ ("where" is an SQL keyword; "id" names the platform's).
_START_COLUMN = {"where": "origin"}
_OPERATION_COLUMN = {"id": "platform_id"}


class PostgresHistory:
    """The HistoryStore of one workspace (its `--sandbox` runs when `sandbox`) in the database `url` names."""

    def __init__(self, url: str, workspace: str = "default", *, sandbox: bool = False) -> None:
        check_workspace_name(workspace)
        self.url, self.workspace, self.sandbox = url, workspace, sandbox
        self._key = {"workspace": workspace, "sandbox": sandbox}
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def where(self) -> str:
        """The database and workspace, for messages (password as ***)."""
        return f"{scrub(self.url, self.url)} workspace {self.workspace!r}{' (sandbox)' if self.sandbox else ''}"

    def start(self, run: RunStart) -> None:
        row = _row(run.to_json(), _START_COLUMN)
        values = ", ".join(f"%({c})s" for c in row)
        self._execute(
            f"INSERT INTO reconciler_runs (workspace, sandbox, {', '.join(row)}) "
            f"VALUES (%(workspace)s, %(sandbox)s, {values})",
            row,
        )

    def append(self, run_id: str, operation: OperationRecord) -> None:
        row = _row(operation.to_json(), _OPERATION_COLUMN)
        values = ", ".join(f"%({c})s" for c in row)
        self._execute(
            f"INSERT INTO reconciler_run_operations (workspace, sandbox, run_id, seq, {', '.join(row)}) "
            "SELECT %(workspace)s, %(sandbox)s, %(run_id)s, COALESCE(max(seq), 0) + 1, "
            f"{values} FROM reconciler_run_operations WHERE {_KEY} AND run_id = %(run_id)s",
            {**row, "run_id": run_id},
        )

    def finish(self, run_id: str, end: RunEnd) -> None:
        row = _row({"found_by": None, **end.to_json()}, {})  # found_by: written only when set
        updated = self._execute(
            "UPDATE reconciler_runs SET ended_at = %(ended_at)s, outcome = %(outcome)s, counts = %(counts)s, "
            f"message = %(message)s, found_by = %(found_by)s WHERE {_KEY} AND run_id = %(run_id)s",
            {**row, "run_id": run_id},
        )
        if updated == 0:
            raise no_such_run(run_id, self.where)

    def runs(self, limit: int | None = None) -> list[Run]:
        return self._runs("", {}, limit)

    def get(self, run_id: str) -> Run:
        found = self._runs("AND run_id = %(run_id)s", {"run_id": run_id}, None)
        if not found:
            raise no_such_run(run_id, self.where)
        return found[0]

    def unfinished(self) -> list[str]:
        return self._ids(f"SELECT run_id FROM reconciler_runs WHERE {_KEY} AND outcome IS NULL ORDER BY run_id")

    def latest(self) -> str | None:
        ids = self._ids(f"SELECT max(run_id) FROM reconciler_runs WHERE {_KEY}")  # NULL: no run
        return ids[0] if ids else None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _runs(self, condition: str, params: dict[str, Any], limit: int | None) -> list[Run]:
        """The runs matching `condition`, newest first, each with its operations."""
        params = {**self._key, **params, "limit": limit}
        with database_errors(self.url):
            conn = self._db()
            runs = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM reconciler_runs WHERE {_KEY} {condition} "
                "ORDER BY run_id DESC LIMIT %(limit)s",
                params,
            ).fetchall()
            ids = [row[0] for row in runs]
            operations: dict[str, list[OperationRecord]] = {run_id: [] for run_id in ids}
            for run_id, *row in conn.execute(
                f"SELECT run_id, {_OPERATION_COLUMNS} FROM reconciler_run_operations "
                f"WHERE {_KEY} AND run_id = ANY(%(ids)s) ORDER BY run_id, seq",
                {**self._key, "ids": ids},
            ):
                data = _record(_OPERATION_COLUMNS, row, _OPERATION_COLUMN)
                operations[run_id].append(OperationRecord.from_json(data))
        found = []
        for row in runs:
            data = _record(_RUN_COLUMNS, row, _START_COLUMN)
            start = RunStart.from_json({**data, "workspace": self.workspace, "sandbox": self.sandbox})
            end = RunEnd.from_json(data) if data["outcome"] is not None else None
            found.append(Run(start, operations[start.run_id], end))
        return found

    def _ids(self, query: str) -> list[str]:
        with database_errors(self.url):
            return [row[0] for row in self._db().execute(query, self._key) if row[0] is not None]

    def _execute(self, statement: str, params: dict[str, Any]) -> int:
        """Run one write (committed at once: autocommit); returns the rows it changed."""
        with database_errors(self.url):
            return self._db().execute(statement, {**self._key, **params}).rowcount

    def _db(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.url, autocommit=True)
        return self._conn


def _row(data: dict[str, Any], renamed: dict[str, str]) -> dict[str, Any]:
    """A record's JSON as column values: JSON objects and lists as jsonb; without its type, workspace, sandbox."""
    skip = {"type", "workspace", "sandbox"}
    return {
        renamed.get(key, key): Jsonb(value) if isinstance(value, dict | list) else value
        for key, value in data.items()
        if key not in skip
    }


def _record(columns: str, row: tuple[Any, ...], renamed: dict[str, str]) -> dict[str, Any]:
    """A row back as the record's JSON (times as the history writes them), for its from_json."""
    keys = {column: key for key, column in renamed.items()}
    return {
        keys.get(column, column): iso(value) if isinstance(value, datetime) else value
        for column, value in zip(columns.split(", "), row, strict=True)
    }
