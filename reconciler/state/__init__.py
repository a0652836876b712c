"""Recorded state: what was last applied, per workspace (DESIGN.md section 4)."""

from reconciler.state.local import LocalFileStore
from reconciler.state.store import PendingOperation, State, StateLockedError, StateStore

__all__ = ["LocalFileStore", "PendingOperation", "State", "StateLockedError", "StateStore"]
