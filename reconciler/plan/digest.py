"""The plan's digest: what a reviewer approved, as one sha256.

`apply --expect-digest` and the apply workflow compare it with a fresh plan's,
so a merge applies only the reviewed changes. It covers the canonical change
list: per change that does something (an action other than noop, or a move),
its address, action, after and changed_fields, in address order. Two fields
beyond that list are included because they change what apply does while
leaving those four alone: `delete_mode` of a delete (pause or hard delete) and
`moved_from` of a move.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from reconciler.model import Action, Plan


def canonical_changes(plan: Plan) -> list[dict[str, Any]]:
    """The changes the digest covers, as plain data in address order."""
    entries = []
    for change in sorted(plan.changes, key=lambda c: c.address):
        if change.action is Action.NOOP and not change.moved_from:
            continue
        entry: dict[str, Any] = {
            "address": change.address,
            "action": change.action.value,
            "after": change.after,
            "changed_fields": sorted(change.changed_fields),
        }
        if change.action is Action.DELETE:
            entry["delete_mode"] = change.delete_mode or "delete"
        if change.moved_from:
            entry["moved_from"] = change.moved_from
        entries.append(entry)
    return entries


def plan_digest(plan: Plan) -> str:
    """sha256 (hex) of the canonical change list, serialized with sorted keys and no spaces."""
    text = json.dumps(canonical_changes(plan), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
