"""The sandbox's object store: every emulated platform keeps its objects here.

An object is (platform, type, id, fields, deleted). Deleting only sets the
flag, so the control API can still show what a run removed. Every write is
persisted at once (when a data file is given), so a killed sandbox comes back
with what its clients were told exists: as one line appended to
`<data file>.journal`, folded into the data file once the journal holds more
lines than the store has objects (rewriting the whole file on every write made
an apply of n objects cost O(n^2)).
"""

from __future__ import annotations

import copy
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError

FORMAT_VERSION = 1
JOURNAL_MIN_LINES = 1000  # the journal is folded into the data file past this and the number of objects


@dataclass
class StoredObject:
    platform: str
    type: str
    id: str
    fields: dict[str, Any] = field(default_factory=dict)
    deleted: bool = False


def check_data_file(path: Path) -> None:
    """Refuse a data file that is not a regular file, or whose directory does not exist.

    A device would be read forever (/dev/zero) or written into; a missing directory
    usually means a mistyped path, better said than silently created.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise ReconcilerError(f"{path}: the sandbox data file's directory does not exist") from None
        return
    except OSError as exc:
        raise ReconcilerError(f"{path}: cannot use it as the sandbox data file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise ReconcilerError(f"{path}: the sandbox data file must be a regular file")


class Store:
    """Thread-safe object store with optional JSON persistence.

    Every method takes the store's re-entrant lock, and callers that must check
    and then write (uniqueness, parents) hold `transaction()` around both. The
    lock is never held across an `await`, so it is also safe under asyncio.
    Methods return copies: callers cannot change stored objects behind the lock.
    """

    def __init__(self, data_file: Path | None = None) -> None:
        self._data_file = data_file
        self._journal_file = data_file.with_name(data_file.name + ".journal") if data_file else None
        self._lock = threading.RLock()
        self._objects: dict[tuple[str, str, str], StoredObject] = {}
        self._next_ids: dict[str, int] = {}
        self._seq = 0  # writes persisted so far; the data file records the last one it holds
        self._journal_lines = 0
        if data_file is not None:
            self._load(data_file)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock so that a read-check-write sequence is atomic."""
        with self._lock:
            yield

    def new_id(self, platform: str, type_: str, start: int) -> int:
        """The next numeric id for this type: `start`, then increasing.

        Not saved on its own: the counter reaches the file with the write that uses the id,
        and an id that was never used may safely be handed out again after a restart.
        """
        with self._lock:
            key = f"{platform}/{type_}"
            value = self._next_ids.get(key, start)
            self._next_ids[key] = value + 1
            return value

    def put(self, platform: str, type_: str, id_: str, fields: dict[str, Any]) -> StoredObject:
        """Create an object, or bring back a deleted one with the same id (placements reuse ids)."""
        with self._lock:
            key = (platform, type_, id_)
            existing = self._objects.get(key)
            if existing is not None and not existing.deleted:
                raise KeyError(f"{platform} {type_} {id_} exists already")
            obj = StoredObject(platform, type_, id_, copy.deepcopy(fields))
            self._objects.pop(key, None)  # a resurrected object moves to the end, like a new one
            self._objects[key] = obj
            self._save(obj, moved=True)
            return copy.deepcopy(obj)

    def get(self, platform: str, type_: str, id_: str, *, include_deleted: bool = False) -> StoredObject | None:
        with self._lock:
            obj = self._objects.get((platform, type_, id_))
            if obj is None or (obj.deleted and not include_deleted):
                return None
            return copy.deepcopy(obj)

    def update(
        self, platform: str, type_: str, id_: str, changes: dict[str, Any], *, replace: bool = False
    ) -> StoredObject:
        """Merge `changes` into a live object's fields (with `replace`: the fields become `changes`)."""
        with self._lock:
            obj = self._live(platform, type_, id_)
            if replace:
                obj.fields.clear()
            obj.fields.update(copy.deepcopy(changes))
            self._save(obj)
            return copy.deepcopy(obj)

    def delete(self, platform: str, type_: str, id_: str) -> None:
        """Mark a live object deleted; it stays visible to `find(include_deleted=True)`."""
        with self._lock:
            obj = self._live(platform, type_, id_)
            obj.deleted = True
            self._save(obj)

    def find(
        self,
        platform: str | None = None,
        type_: str | None = None,
        *,
        include_deleted: bool = False,
        **field_equals: Any,
    ) -> list[StoredObject]:
        """Objects in creation order, filtered by platform, type and exact field values."""
        with self._lock:
            return [
                copy.deepcopy(obj)
                for obj in self._objects.values()
                if (platform is None or obj.platform == platform)
                and (type_ is None or obj.type == type_)
                and (include_deleted or not obj.deleted)
                and all(obj.fields.get(k) == v for k, v in field_equals.items())
            ]

    def reset(self) -> None:
        """Forget every object and id counter."""
        with self._lock:
            self._objects.clear()
            self._next_ids.clear()
            if self._data_file is not None:
                self._write_data_file()

    def _live(self, platform: str, type_: str, id_: str) -> StoredObject:
        obj = self._objects.get((platform, type_, id_))
        if obj is None or obj.deleted:
            raise KeyError(f"{platform} {type_} {id_} does not exist")
        return obj

    def _save(self, obj: StoredObject, *, moved: bool = False) -> None:
        """Persist one write: `obj` as it now is (`moved`: to the end of the creation order)."""
        if self._data_file is None or self._journal_file is None:
            return
        if self._journal_lines >= max(JOURNAL_MIN_LINES, len(self._objects)):
            self._write_data_file()
            return
        self._seq += 1
        line = {"seq": self._seq, "object": asdict(obj), "moved": moved, "next_ids": self._next_ids}
        # One write() of one line: a sandbox killed mid-write leaves at most a torn last line,
        # which loading ignores. No fsync: we emulate killed processes, not power loss.
        with open(self._journal_file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, sort_keys=True) + "\n")
        self._journal_lines += 1

    def _write_data_file(self) -> None:
        """Everything into the data file (temp file + rename), then drop the journal."""
        assert self._data_file is not None and self._journal_file is not None
        data = {
            "format_version": FORMAT_VERSION,
            "seq": self._seq,
            "next_ids": self._next_ids,
            "objects": [asdict(obj) for obj in self._objects.values()],
        }
        self._data_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self._data_file.name}.", dir=self._data_file.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
            os.replace(tmp, self._data_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        # Killed before this unlink: loading skips the lines the data file already holds (by seq).
        self._journal_file.unlink(missing_ok=True)
        self._journal_lines = 0

    def _load(self, path: Path) -> None:
        assert self._journal_file is not None
        check_data_file(path)
        if not path.exists():
            # An empty sandbox: the file is there from the start, and a stray journal goes.
            self._write_data_file()
        current = path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"unsupported format_version {data.get('format_version')!r}")
            self._seq = int(data.get("seq", 0))
            self._next_ids = {str(k): int(v) for k, v in data["next_ids"].items()}
            for raw in data["objects"]:
                obj = StoredObject(**raw)
                self._objects[(obj.platform, obj.type, obj.id)] = obj
            if self._journal_file.exists():
                current = self._journal_file
                self._replay(self._journal_file.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReconcilerError(
                f"{current}: cannot read the sandbox data ({exc}). "
                "Delete it to start an empty sandbox, or point --data at another file."
            ) from exc

    def _replay(self, text: str) -> None:
        # The last piece is "" or a line torn by a kill: its write was never answered.
        for line in text.split("\n")[:-1]:
            record = json.loads(line)
            if record["seq"] <= self._seq:
                continue  # already in the data file
            obj = StoredObject(**record["object"])
            key = (obj.platform, obj.type, obj.id)
            if record["moved"]:
                self._objects.pop(key, None)
            self._objects[key] = obj
            self._next_ids = {str(k): int(v) for k, v in record["next_ids"].items()}
            self._seq = record["seq"]
            self._journal_lines += 1
