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
import re
from typing import Any

from reconciler.errors import ReconcilerError
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


_SHA256 = re.compile(r"[0-9a-f]{64}")


def parse_digest(text: str) -> str:
    """A digest as `--expect-digest` takes it: 64 hex digits, `sha256:` in front allowed (as the comment shows it)."""
    digest = text.strip().lower().removeprefix("sha256:")
    if not _SHA256.fullmatch(digest):
        raise ReconcilerError(
            f"{text!r} is not a plan digest: expected 64 hex digits, as `reconciler github reviewed-digest` "
            "prints it or the plan comment shows it (sha256:...)"
        )
    return digest


def check_digest(plan: Plan, expected: str | None) -> None:
    """Refuse a plan other than the reviewed one (`expected`, already parsed); None checks nothing."""
    if expected is None:
        return
    actual = plan_digest(plan)
    if actual != expected:
        raise ReconcilerError(
            f"the plan made now has digest sha256:{actual}, not the reviewed sha256:{expected}: the specs or the "
            "state changed since that plan was reviewed (another merge, an apply, an import). Nothing was sent. "
            "Re-run the plan on the pull request (or `reconciler plan`), review it, and merge or apply with its digest"
        )
