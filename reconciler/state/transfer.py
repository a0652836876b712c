"""`state push` / `state pull`: copy one workspace's state whole from one store to another."""

from __future__ import annotations

from reconciler.errors import ReconcilerError
from reconciler.state.store import StateStore


def copy_state(
    source: StateStore, target: StateStore, *, operation: str, force: bool, source_name: str, target_name: str
) -> str:
    """Make `target` hold `source`'s state; returns what was done.

    Refused (nothing written) when `target` holds another lineage, or the same one further on
    (a higher serial: it has writes `source` lacks), unless `force`. Both locks are held throughout.
    """
    with source.lock(operation), target.lock(operation):
        state, current = source.read(), target.read()
        if state.serial == 0:
            raise ReconcilerError(f"{source_name} holds no state for this workspace: nothing to copy")
        if current.serial > 0 and not force:
            if current.lineage != state.lineage:
                raise ReconcilerError(
                    f"{target_name} holds another state (lineage {current.lineage}, serial {current.serial}) than "
                    f"{source_name} (lineage {state.lineage}); nothing was written. --force replaces it"
                )
            if current.serial > state.serial:
                raise ReconcilerError(
                    f"{target_name} is ahead of {source_name} (serial {current.serial} > {state.serial}): it holds "
                    "writes the copy would lose; nothing was written. Copy the other way, or --force"
                )
        if current.lineage == state.lineage and current.serial == state.serial:
            return f"{target_name} already holds this state (serial {state.serial}): nothing to copy."
        copied = state.copy()
        copied.serial = max(state.serial, current.serial + 1)  # the serial never goes back: plans made on it go stale
        target.replace(copied)
        return (
            f"Copied the state (lineage {copied.lineage}, {len(copied.resources)} resources) from {source_name} "
            f"to {target_name}; serial {copied.serial}."
        )
