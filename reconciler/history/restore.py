"""`reconciler plan --restore RUN`: the plan that brings the recorded objects back to how RUN left them.

The attributes at the end of RUN are the current state with the operations of every later run
undone, newest first (each operation's `before`). That state, taken as the desired resources,
is diffed against the current state by the planner's own diff (plan/diff.py): objects changed
since are updated or replaced, objects deleted since are created again, objects created since
are deleted (plan/lifecycle.py's default delete mode: paused on Meta, TikTok and Snapchat).
Refs between objects are inferred from the recorded ids, as rollback does, so a re-created
parent's new id reaches its children. What cannot be restored is left as it is and named in
the plan's warnings. The specs are not changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.apply.executor import infer_refs
from reconciler.apply.steps import DEPOSED_SUFFIX
from reconciler.history.records import OperationRecord, Run
from reconciler.media import media_format
from reconciler.model import Asset, Plan, RecordedResource, Resource, TargetConfig, split_address
from reconciler.plan import plan_targets
from reconciler.plan.diff import diff
from reconciler.plan.lifecycle import apply_lifecycle
from reconciler.policy.evaluate import check_overrides, gate
from reconciler.policy.violations import Override
from reconciler.resource_types import RESOURCE_TYPES

if TYPE_CHECKING:
    from reconciler.project import Project


def restore_plan(
    project: Project, run_id: str, variables: Mapping[str, str] | None = None, overrides: Sequence[Override] = ()
) -> Plan:
    """The plan restoring the objects to the end of run `run_id`; ReconcilerError for an unknown run."""
    history = project.history
    run = history.get(run_id)
    later = [r for r in reversed(history.runs()) if r.run_id > run.run_id]  # oldest first
    compiled = project.compile(variables)
    check_overrides(compiled.policies, overrides)
    state = project.store.read()
    targets, notes = plan_targets(compiled.targets, state, project.endpoint)
    at_end, paused = _state_at_end(state.resources, later)
    assets = {r.asset.sha256: r.asset for r in compiled.resources if r.asset is not None}
    wanted = {sha for r in at_end.values() if isinstance(sha := r.attributes.get("asset_sha256"), str)}
    if wanted - assets.keys():  # a file no spec names now may still be in the project
        assets = _project_files(project.directory, wanted - assets.keys()) | assets
    desired, problems = _desired(at_end, state.resources, targets, assets, paused)
    changes = apply_lifecycle(diff(desired, state.resources), targets, compiled.lifecycles)
    warnings = [
        f"This plan restores the recorded objects to how run {run.run_id} left them ({_since(later)}). "
        "The specs were not changed: the next `reconciler plan` from the specs will show the difference.",
        *notes,
        *problems,
    ]
    if state.pending:
        warnings.append("the state holds operations of unknown outcome: run `reconciler apply` first, then restore")
    plan = Plan(
        changes=changes,
        warnings=warnings,
        lineage=state.lineage if state.serial else None,
        serial=state.serial,
        targets=targets,
    )
    return gate(plan, compiled.policies, compiled.campaign_labels, overrides)


def _since(later: list[Run]) -> str:
    if not later:
        return "no run since"
    return f"undoing {len(later)} later run{'s' * (len(later) != 1)}: {', '.join(r.run_id for r in later)}"


def _state_at_end(
    current: Mapping[str, RecordedResource], later: list[Run]
) -> tuple[dict[str, RecordedResource], dict[str, OperationRecord]]:
    """The state as the first of `later` found it, and the pause that dropped each object since."""
    at_end = dict(current)
    paused: dict[str, OperationRecord] = {}
    for run in reversed(later):
        for op in reversed(run.operations):
            if op.address.endswith(DEPOSED_SUFFIX):  # an old object of a replace: gone with its replace
                continue
            if op.before is None:
                at_end.pop(op.address, None)
            else:
                at_end[op.address] = op.before
            if op.action == "pause" and op.outcome == "done":
                paused[op.address] = op
    return at_end, paused


def _desired(
    at_end: Mapping[str, RecordedResource],
    current: Mapping[str, RecordedResource],
    targets: Mapping[str, TargetConfig],
    assets: Mapping[str, Asset],
    paused: Mapping[str, OperationRecord],
) -> tuple[list[Resource], list[str]]:
    """The resources to plan for (parents first), and why each object left as it is cannot be restored."""
    problems: dict[str, str] = {}
    chosen: dict[str, RecordedResource] = {}
    for address in _parents_first(at_end):
        record = at_end[address]
        reason = _cannot_restore(record, current.get(address), targets, assets, paused.get(address))
        missing = [d for d in record.depends_on if d not in chosen]  # a parent left as it is still serves
        if reason is None and missing:
            gone = "cannot be restored" if missing[0] in problems else "no longer exists"
            reason = f"its parent {missing[0]} {gone}"
        if reason is None:
            chosen[address] = record
            continue
        problems[address] = reason
        if address in current:  # left as it is now
            chosen[address] = current[address]
    # What an object left as it is still depends on is kept as well, not deleted under it.
    keep = [a for a in chosen if a in problems]
    while keep:
        for dependency in chosen[keep.pop()].depends_on:
            if dependency not in chosen and dependency in current:
                chosen[dependency] = current[dependency]
                problems.setdefault(dependency, f"kept: {_dependents(dependency, chosen)} still depends on it")
                keep.append(dependency)
    # Refs are inferred from the ids the attributes were recorded with: those at the end of the run
    # for a restored object, the current ones for an object left as it is.
    then = {a: r.id for a, r in at_end.items()}
    now = {a: r.id for a, r in current.items()}
    resources = [
        _resource(r, targets[r.target].platform, now if a in problems else then, assets) for a, r in chosen.items()
    ]
    lines = [f"cannot restore {address}: {reason}" for address, reason in sorted(problems.items())]
    return resources, lines


def _cannot_restore(
    record: RecordedResource,
    now: RecordedResource | None,
    targets: Mapping[str, TargetConfig],
    assets: Mapping[str, Asset],
    paused: OperationRecord | None,
) -> str | None:
    if now == record:
        return None
    target = targets.get(record.target)
    if target is None:
        return f"its target {record.target} is neither in the specs nor recorded in the state"
    if (target.platform, record.type) not in RESOURCE_TYPES:
        return f"{target.platform} cannot create a {record.type}"
    if now is None and paused is not None:
        return (
            f"it was paused and dropped from the state at {paused.at} and still exists, paused, with id {record.id}; "
            "making it again would duplicate it. To bring it back, declare it in the specs again, adopt it with "
            f"`reconciler state import {record.address} {record.id}`, and apply"
        )
    sha = record.attributes.get("asset_sha256")
    if sha and (now is None or now.attributes.get("asset_sha256") != sha) and sha not in assets:
        return f"no file in the project has its content (sha256 {sha[:12]}...), so it cannot be uploaded again"
    return None


def _project_files(directory: Path, wanted: set[str]) -> dict[str, Asset]:
    """Images and videos under specs/ and assets/ whose sha256 is one of `wanted` (hidden paths skipped)."""
    found: dict[str, Asset] = {}
    for folder in ("specs", "assets"):
        for path in sorted((directory / folder).rglob("*")):
            relative = path.relative_to(directory)
            if any(part.startswith(".") for part in relative.parts) or path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            media_type = media_format(data)
            sha = hashlib.sha256(data).hexdigest()
            if media_type is not None and sha in wanted:
                found.setdefault(sha, Asset(path=str(path.resolve()), sha256=sha, media_type=media_type))
    return found


def _resource(
    record: RecordedResource, platform: str, ids: Mapping[str, str], assets: Mapping[str, Asset]
) -> Resource:
    """A recorded object as a desired one: refs inferred from the ids of what it depends on."""
    refs = infer_refs(record.attributes, {d: ids[d] for d in record.depends_on if d in ids})
    target, type_, name = split_address(record.address)
    sha = record.attributes.get("asset_sha256")
    return Resource(
        address=record.address,
        target=target,
        platform=platform,
        type=type_,
        name=name,
        attributes=record.attributes,
        refs=refs,
        depends_on=record.depends_on,
        asset=assets.get(sha) if isinstance(sha, str) else None,
        lifecycle=record.lifecycle,
    )


def _parents_first(records: Mapping[str, RecordedResource]) -> list[str]:
    """Addresses with every recorded dependency before its dependents (ties by address)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(address: str) -> None:
        if address in seen or address not in records:
            return
        seen.add(address)
        for dependency in records[address].depends_on:
            visit(dependency)
        order.append(address)

    for address in sorted(records):
        visit(address)
    return order


def _dependents(address: str, chosen: Mapping[str, RecordedResource]) -> str:
    return ", ".join(sorted(a for a, r in chosen.items() if address in r.depends_on)) or "another object"
