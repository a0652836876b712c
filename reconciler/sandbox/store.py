"""The sandbox's object store: every emulated platform keeps its objects here.

An object is (platform, type, id, fields, deleted). Deleting only sets the
flag, so the control API can still show what a run removed. Every write is
persisted at once (when a data file is given), so a killed sandbox comes back
with what its clients were told exists.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError

FORMAT_VERSION = 1


@dataclass
class StoredObject:
    platform: str
    type: str
    id: str
    fields: dict[str, Any] = field(default_factory=dict)
    deleted: bool = False


class Store:
    """Thread-safe object store with optional JSON persistence.

    Every method takes the store's re-entrant lock, and callers that must check
    and then write (uniqueness, parents) hold `transaction()` around both. The
    lock is never held across an `await`, so it is also safe under asyncio.
    Methods return copies: callers cannot change stored objects behind the lock.
    """

    def __init__(self, data_file: Path | None = None) -> None:
        self._data_file = data_file
        self._lock = threading.RLock()
        self._objects: dict[tuple[str, str, str], StoredObject] = {}
        self._next_ids: dict[str, int] = {}
        if data_file is not None and data_file.exists():
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
            self._save()
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
            self._save()
            return copy.deepcopy(obj)

    def delete(self, platform: str, type_: str, id_: str) -> None:
        """Mark a live object deleted; it stays visible to `find(include_deleted=True)`."""
        with self._lock:
            self._live(platform, type_, id_).deleted = True
            self._save()

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
            self._save()

    def _live(self, platform: str, type_: str, id_: str) -> StoredObject:
        obj = self._objects.get((platform, type_, id_))
        if obj is None or obj.deleted:
            raise KeyError(f"{platform} {type_} {id_} does not exist")
        return obj

    def _save(self) -> None:
        if self._data_file is None:
            return
        data = {
            "format_version": FORMAT_VERSION,
            "next_ids": self._next_ids,
            "objects": [asdict(obj) for obj in self._objects.values()],
        }
        self._data_file.parent.mkdir(parents=True, exist_ok=True)
        # Temp file + rename: a sandbox killed mid-write leaves the previous file intact.
        # No fsync: we emulate killed processes, not power loss, and fsync per write is slow.
        fd, tmp = tempfile.mkstemp(prefix=f".{self._data_file.name}.", dir=self._data_file.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
            os.replace(tmp, self._data_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"unsupported format_version {data.get('format_version')!r}")
            self._next_ids = {str(k): int(v) for k, v in data["next_ids"].items()}
            for raw in data["objects"]:
                obj = StoredObject(**raw)
                self._objects[(obj.platform, obj.type, obj.id)] = obj
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReconcilerError(
                f"{path}: cannot read the sandbox data file ({exc}). "
                "Delete it to start an empty sandbox, or point --data at another file."
            ) from exc
