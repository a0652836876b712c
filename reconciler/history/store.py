"""Where run history lives: the HistoryStore protocol, the file store, and `open_history`.

With a state URL the history is in the state's database (postgres.py). Without one, the file
store keeps one JSON lines file per run, `state/WORKSPACE.history/RUN_ID.jsonl`
(`WORKSPACE.sandbox.history/` for `--sandbox` runs), committed with the state. Each line is
appended with one write() as it happens, so a killed run keeps every line it wrote; no fsync:
the page cache outlives the process, and the state journal, not the history, is what crash
safety rests on. A torn last line (killed mid-write) is ignored when read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

from reconciler.errors import ReconcilerError
from reconciler.history.records import RUN_ID_RE, OperationRecord, Run, RunEnd, RunStart
from reconciler.state.backend import check_state_url
from reconciler.state.local import workspace_files

_TAIL_BYTES = 4096  # an end line is short: the last line of a finished run is within this


class HistoryStore(Protocol):
    """The runs of one workspace. Writes happen under the workspace's state lock."""

    def start(self, run: RunStart) -> None:
        """Record that a run began."""
        ...

    def append(self, run_id: str, operation: OperationRecord) -> None:
        """Record one finished operation of a started run; kept even if the process dies right after."""
        ...

    def finish(self, run_id: str, end: RunEnd) -> None:
        """Record how a run ended."""
        ...

    def runs(self, limit: int | None = None) -> list[Run]:
        """The runs, newest first, at most `limit`."""
        ...

    def get(self, run_id: str) -> Run:
        """One run; raises ReconcilerError naming it when there is no such run."""
        ...

    def unfinished(self) -> list[str]:
        """Ids of the runs that have no end (killed), oldest first."""
        ...

    def latest(self) -> str | None:
        """The id of the newest run, None when there is none."""
        ...


def open_history(project_dir: Path, workspace: str, *, sandbox: bool = False, url: str | None = None) -> HistoryStore:
    """The history store of a workspace: where its state is, the database `url` names (the state URL) or
    the project's state/ files without one."""
    if url:
        check_state_url(url)
        from reconciler.history.postgres import PostgresHistory  # psycopg is loaded only when a database is used

        return PostgresHistory(url, workspace, sandbox=sandbox)
    files = workspace_files(project_dir, workspace)
    return FileHistoryStore(files.sandbox_history if sandbox else files.history)


def no_such_run(run_id: str, where: object) -> ReconcilerError:
    return ReconcilerError(
        f"no run {run_id!r} in {where}; `reconciler history` lists the runs (ids like 20261202T051500Z-3fa2c1)"
    )


class FileHistoryStore:
    """One JSON lines file per run in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fds: dict[str, int] = {}  # run id -> append descriptor, while the run is being written

    def start(self, run: RunStart) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path(run.run_id), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
        self._fds[run.run_id] = fd
        self._write(run.run_id, run.to_json())

    def append(self, run_id: str, operation: OperationRecord) -> None:
        self._write(run_id, operation.to_json())

    def finish(self, run_id: str, end: RunEnd) -> None:
        if run_id not in self._fds:  # another process's run (killed): opened only to append its end
            self._fds[run_id] = os.open(self._path(run_id), os.O_WRONLY | os.O_APPEND)
        try:
            self._write(run_id, end.to_json())
        finally:
            os.close(self._fds.pop(run_id))

    def runs(self, limit: int | None = None) -> list[Run]:
        ids = sorted(self._ids(), reverse=True)
        return [self.get(run_id) for run_id in ids[:limit]]

    def get(self, run_id: str) -> Run:
        path = self._path(run_id) if RUN_ID_RE.fullmatch(run_id) else None
        if path is None or not path.is_file():
            raise no_such_run(run_id, self.directory)
        return _parse(path, path.read_bytes())

    def unfinished(self) -> list[str]:
        return [run_id for run_id in sorted(self._ids()) if not self._ended(self._path(run_id))]

    def latest(self) -> str | None:
        return max(self._ids(), default=None)

    def _ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return [p.stem for p in self.directory.glob("*.jsonl") if RUN_ID_RE.fullmatch(p.stem)]

    def _path(self, run_id: str) -> Path:
        return self.directory / f"{run_id}.jsonl"

    def _write(self, run_id: str, data: dict[str, Any]) -> None:
        line = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
        os.write(self._fds[run_id], line.encode())

    @staticmethod
    def _ended(path: Path) -> bool:
        """Whether the last complete line of `path` is an end (read from the file's tail only)."""
        with open(path, "rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - _TAIL_BYTES))
            lines = file.read().split(b"\n")
        if len(lines) < 2 or lines[-1] != b"":  # empty, or a torn last write: no end after it
            return False
        try:
            record = json.loads(lines[-2])
        except ValueError:  # the tail cut a long operation line: not an end
            return False
        return isinstance(record, dict) and record.get("type") == "end"


def _parse(path: Path, data: bytes) -> Run:
    start: RunStart | None = None
    operations: list[OperationRecord] = []
    end: RunEnd | None = None
    for number, line in enumerate(data.split(b"\n")[:-1], 1):  # the last piece: "" or a torn write
        try:
            record = json.loads(line)
            kind = record.get("type")
            if kind == "start":
                start = RunStart.from_json(record)
            elif kind == "operation":
                operations.append(OperationRecord.from_json(record))
            elif kind == "end":
                end = RunEnd.from_json(record)
            else:
                raise ValueError(f"unknown line type {kind!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ReconcilerError(f"{path}:{number}: not a history record ({exc})") from None
    if start is None:
        raise ReconcilerError(f"{path}: not a history record (no start line)")
    return Run(start, operations, end)
