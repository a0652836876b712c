"""Deletes that keep history, and objects that must not be destroyed (issue 11 item 3).

On Meta, TikTok and Snapchat a delete is irreversible and loses the object's
reporting in the platform's UI. So a campaign, ad set / ad group / ad squad or
ad removed from the specs is, by default, paused and dropped from the state
(delete_mode "pause"); a hard delete needs `lifecycle: {on_delete: delete}`
on the document it came from, or `--prune`. Broadstreet deletes stay deletes,
as do creatives and uploads.

`lifecycle: {prevent_destroy: true}` makes a plan that would delete, pause or
replace anything derived from the document fail. The settings are recorded
with each resource in the state at apply, so the plan still refuses once the
document itself is gone from the specs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from reconciler.errors import ReconcilerError
from reconciler.model import Action, Change, Lifecycle, Plan, TargetConfig
from reconciler.resource_types import RESOURCE_TYPES

PAUSE = "pause"
DELETE = "delete"


def apply_lifecycle(
    changes: Sequence[Change],
    targets: Mapping[str, TargetConfig],
    documents: Mapping[str, Lifecycle],
    *,
    prune: bool = False,
    refuse: bool = True,
) -> list[Change]:
    """`changes` with each delete's delete_mode set; raises ReconcilerError when a change would
    destroy an object whose documents set prevent_destroy.

    `documents`: "Kind/name" -> lifecycle of every document now in the specs.
    """
    out: list[Change] = []
    refused: list[str] = []
    for change in changes:
        if change.action is Action.DELETE:
            lifecycle = _current(change.recorded.lifecycle if change.recorded else None, documents)
            mode = delete_mode(change, targets, lifecycle, prune=prune)
            change = replace(change, delete_mode=mode)
            if lifecycle is not None and lifecycle.prevent_destroy and "#" not in change.address:
                what = "paused and dropped from the state" if mode == PAUSE else "deleted"
                refused.append(_refusal(change, lifecycle, what))
        elif change.action is Action.REPLACE:
            lifecycle = change.desired.lifecycle if change.desired else None
            if lifecycle is not None and lifecycle.prevent_destroy:
                refused.append(_refusal(change, lifecycle, "replaced (its old object deleted)"))
        out.append(change)
    if refused and refuse:
        raise ReconcilerError(
            f"the plan would destroy {len(refused)} object(s) protected by lifecycle.prevent_destroy; "
            "nothing was planned:\n"
            + "\n".join(f"  {line}" for line in refused)
            + "\nTo go ahead, set prevent_destroy: false on the document and apply that first (a document "
            "already removed: put it back with prevent_destroy: false, apply, then remove it)."
        )
    return out


def delete_mode(
    change: Change, targets: Mapping[str, TargetConfig], lifecycle: Lifecycle | None, *, prune: bool
) -> str:
    """ "pause" for an object of a type that pauses, unless pruning or its documents ask for a delete."""
    target = targets.get(change.target)
    resource_type = RESOURCE_TYPES.get((target.platform, change.type)) if target else None
    if resource_type is None or resource_type.pause is None or prune:
        return DELETE
    if "#" in change.address:  # the old object of an earlier replace: replaced, not removed from the specs
        return DELETE
    if lifecycle is not None and lifecycle.on_delete == DELETE:
        return DELETE
    return PAUSE


def _current(recorded: Lifecycle | None, documents: Mapping[str, Lifecycle]) -> Lifecycle | None:
    """What decides a delete: what its documents say now when all are still in the specs; once one
    is gone, what was recorded at apply (and a prevent_destroy a remaining one sets now)."""
    if recorded is None or not recorded.origin:
        return recorded
    present = [documents[o] for o in recorded.origin if o in documents]
    protecting = [d for d in present if d.prevent_destroy]
    if len(present) < len(recorded.origin):
        if protecting and not recorded.prevent_destroy:
            return replace(recorded, prevent_destroy=True, source=protecting[0].source)
        return recorded
    return Lifecycle(
        prevent_destroy=bool(protecting),
        on_delete=next((d.on_delete for d in present if d.on_delete), None),
        origin=recorded.origin,
        source=(protecting or present)[0].source,
    )


def _refusal(change: Change, lifecycle: Lifecycle, what: str) -> str:
    document = lifecycle.source or ", ".join(lifecycle.origin) or "its document"
    why = f" ({change.reason})" if change.reason else ""
    return f"{change.address} would be {what}{why}, but {document} sets lifecycle.prevent_destroy: true"


def spending_removals(plan: Plan) -> dict[str, list[str]]:
    """Addresses of objects that can spend (campaign- and budget-level objects, ads) that the plan
    deletes, pauses (as a delete) or replaces, by "delete" / "pause" / "replace": the PR comment's banner."""
    out: dict[str, list[str]] = {"delete": [], "pause": [], "replace": []}
    for change in plan.changes:
        if change.action not in (Action.DELETE, Action.REPLACE) or "#" in change.address:
            continue
        target = plan.targets.get(change.target)
        platform = target.platform if target else change.desired.platform if change.desired else None
        resource_type = RESOURCE_TYPES.get((platform or "", change.type))
        if resource_type is None or not resource_type.spends:
            continue
        kind = "replace" if change.action is Action.REPLACE else change.delete_mode or DELETE
        out[kind].append(change.address)
    return {kind: addresses for kind, addresses in out.items() if addresses}
