"""Run history and audit: every apply recorded, who, where, from which commit, and each operation.

`records.py` the record types, `store.py` the HistoryStore protocol and the file store,
`recorder.py` the hook into apply, `cli.py` `reconciler history`.
"""

from reconciler.history.recorder import Recorder
from reconciler.history.records import OperationRecord, Run, RunEnd, RunStart
from reconciler.history.store import FileHistoryStore, HistoryStore, open_history

__all__ = [
    "FileHistoryStore",
    "HistoryStore",
    "OperationRecord",
    "Recorder",
    "Run",
    "RunEnd",
    "RunStart",
    "open_history",
]
