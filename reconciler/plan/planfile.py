"""The plan file: a Plan as JSON (DESIGN.md section 4) and back.

The contract keys are format_version, state, changes (address, target, type,
action, before, after, changed_fields, depends_on), warnings, summary and
spend (plan/spend.py: budgets in major units, derived from the changes),
violations and overrides (reconciler/policy), and digest (plan/digest.py). So
that `apply PLANFILE` can run without the specs, each change also carries
"reason", "refs", "asset", "moved_from", "lifecycle" and the recorded platform "id", each delete
its "delete_mode" ("pause" or "delete"), and the top level carries "targets" (TargetConfig
fields: env var names, never their values) and "prune".

Reading is strict: a malformed file is a ReconcilerError naming the file and
what is wrong, never a traceback.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, NoReturn

from reconciler.errors import ReconcilerError
from reconciler.files import read_text
from reconciler.model import (
    Action,
    Asset,
    Change,
    Lifecycle,
    Plan,
    RecordedResource,
    Resource,
    TargetConfig,
    split_address,
)
from reconciler.plan.digest import plan_digest
from reconciler.plan.spend import spend_of
from reconciler.policy.violations import Override, Violation
from reconciler.resource_types import PLATFORMS

FORMAT_VERSION = "1"


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON-ready dict. Attributes must already be plain JSON types."""
    return {
        "format_version": FORMAT_VERSION,
        "state": {"lineage": plan.lineage, "serial": plan.serial},
        "targets": {name: target.to_json() for name, target in plan.targets.items()},
        "changes": [_change_to_json(change) for change in plan.changes],
        "warnings": list(plan.warnings),
        "summary": plan.summary,
        "prune": plan.prune,
        "spend": spend_of(plan).to_json(),
        "violations": [v.to_json() for v in plan.violations],
        "overrides": [o.to_json() for o in plan.overrides],
        "digest": plan_digest(plan),
    }


def _change_to_json(change: Change) -> dict[str, Any]:
    data: dict[str, Any] = {
        "address": change.address,
        "target": change.target,
        "type": change.type,
        "action": change.action.value,
        "before": change.before,
        "after": change.after,
        "changed_fields": list(change.changed_fields),
        "depends_on": list(change.depends_on),
        "refs": dict(change.desired.refs) if change.desired else {},
    }
    if change.action is Action.DELETE:
        # What apply does: "pause" (paused, dropped from the state) or "delete" (plan/lifecycle.py).
        data["delete_mode"] = change.delete_mode or "delete"
    if change.reason:
        data["reason"] = change.reason
    if change.desired and change.desired.lifecycle:
        data["lifecycle"] = change.desired.lifecycle.to_json()
    if change.moved_from:
        data["moved_from"] = change.moved_from
    if change.desired and change.desired.asset:
        data["asset"] = dataclasses.asdict(change.desired.asset)
    if change.recorded:
        data["id"] = change.recorded.id
    return data


def read_plan_file(path: Path) -> Plan:
    """Read and check a saved plan (`plan --out FILE`)."""
    text = read_text(path, "plan file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(str(path), f"line {exc.lineno} column {exc.colno}", f"not valid JSON ({exc.msg})")
    return plan_from_json(data, str(path))


def plan_from_json(data: Any, source: str) -> Plan:
    """Rebuild a Plan from plan_to_json's output; `source` names the file in errors."""
    if not isinstance(data, dict):
        _fail(source, "", f"expected a JSON object, got {_kind(data)}")
    reader = _Reader(source)
    version = reader.get(data, "format_version", str, "")
    if version != FORMAT_VERSION:
        _fail(source, "format_version", f'"{version}" is not supported (this reconciler reads "{FORMAT_VERSION}")')
    state = reader.get(data, "state", dict, "")
    targets = {
        name: reader.target(name, value) for name, value in reader.get(data, "targets", dict, "", default={}).items()
    }
    raw_changes = reader.get(data, "changes", list, "")
    plan = Plan(
        changes=[reader.change(f"changes[{i}]", item, targets) for i, item in enumerate(raw_changes)],
        warnings=reader.strings(data, "warnings", ""),
        lineage=reader.get(state, "lineage", (str, type(None)), "state"),
        serial=reader.get(state, "serial", int, "state"),
        targets=targets,
        prune=reader.get(data, "prune", bool, "", default=False),
    )
    summary = reader.get(data, "summary", dict, "")
    if summary != plan.summary:
        _fail(source, "summary", f"{json.dumps(summary)} does not match the changes ({json.dumps(plan.summary)})")
    # Derived from the changes like the summary: a reviewer read it, so an edited one is refused.
    # A plan file from before `spend` existed has none, and is read as it was.
    if "spend" in data and data["spend"] != spend_of(plan).to_json():
        _fail(source, "spend", "does not match the budgets of the changes")
    # The reviewed digest: a file whose changes were edited after review no longer matches it.
    if "digest" in data and data["digest"] != plan_digest(plan):
        _fail(source, "digest", "does not match the changes (the file was edited after it was made)")
    # Violations are shown as found at plan time; apply judges the plan again (policies, clock) itself.
    plan.overrides = [
        reader.override(f"overrides[{i}]", o) for i, o in enumerate(reader.get(data, "overrides", list, "", default=[]))
    ]
    plan.violations = [
        reader.violation(f"violations[{i}]", v, plan.overrides)
        for i, v in enumerate(reader.get(data, "violations", list, "", default=[]))
    ]
    return plan


def _fail(source: str, where: str, what: str) -> NoReturn:
    place = f" at {where}" if where else ""
    raise ReconcilerError(
        f"{source}: invalid plan file{place}: {what}. Re-create it with `reconciler plan --out FILE`."
    )


_MISSING = object()
_TYPE_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _kind(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class _Reader:
    """Typed access to the parsed JSON, failing with the file and the key's path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def get(self, obj: dict[str, Any], key: str, kinds: Any, where: str, default: Any = _MISSING) -> Any:
        path = f"{where}.{key}" if where else key
        if key not in obj:
            if default is _MISSING:
                _fail(self.source, where, f'missing key "{key}"')
            return default
        value = obj[key]
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        # bool is an int subclass; a boolean is never a valid serial or count here.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            wanted = " or ".join(_TYPE_NAMES[k] for k in kinds)
            _fail(self.source, path, f"expected {wanted}, got {_kind(value)}")
        return value

    def strings(self, obj: dict[str, Any], key: str, where: str) -> list[str]:
        values = self.get(obj, key, list, where)
        path = f"{where}.{key}" if where else key
        for i, value in enumerate(values):
            if not isinstance(value, str):
                _fail(self.source, f"{path}[{i}]", f"expected a string, got {_kind(value)}")
        return values

    def string_map(self, obj: dict[str, Any], key: str, where: str) -> dict[str, str]:
        values = self.get(obj, key, dict, where, default={})
        for name, value in values.items():
            if not isinstance(value, str):
                _fail(self.source, f"{where}.{key}.{name}", f"expected a string, got {_kind(value)}")
        return values

    def target(self, name: str, data: Any) -> TargetConfig:
        where = f"targets.{name}"
        try:
            target = TargetConfig.from_json(name, data)
        except ValueError as exc:
            _fail(self.source, where, str(exc))
        if target.platform not in PLATFORMS:
            known = ", ".join(PLATFORMS)
            _fail(self.source, f"{where}.platform", f"unknown platform {target.platform!r} (known: {known})")
        return target

    def change(self, where: str, data: Any, targets: dict[str, TargetConfig]) -> Change:
        if not isinstance(data, dict):
            _fail(self.source, where, f"expected an object, got {_kind(data)}")
        address = self.get(data, "address", str, where)
        try:
            target, type_, name = split_address(address)
        except ValueError as exc:
            _fail(self.source, f"{where}.address", str(exc))
        for key, expected in (("target", target), ("type", type_)):
            if self.get(data, key, str, where) != expected:
                _fail(self.source, f"{where}.{key}", f"does not match the address {address!r}")
        raw_action = self.get(data, "action", str, where)
        try:
            action = Action(raw_action)
        except ValueError:
            known = ", ".join(a.value for a in Action)
            _fail(self.source, f"{where}.action", f"unknown action {raw_action!r} (known: {known})")
        before = self.get(data, "before", (dict, type(None)), where)
        after = self.get(data, "after", (dict, type(None)), where)
        if after is None and action is not Action.DELETE:
            _fail(self.source, f"{where}.after", f"is null, but a {action.value} needs the desired attributes")
        if after is not None and action is Action.DELETE:
            _fail(self.source, f"{where}.after", "must be null for a delete")
        if before is None and action is not Action.CREATE:
            _fail(self.source, f"{where}.before", f"a {action.value} needs the recorded attributes, got null")
        record_id = self.get(data, "id", str, where, default=None)
        if record_id is None and action in (Action.UPDATE, Action.REPLACE, Action.DELETE):
            _fail(self.source, where, f'missing key "id" (a {action.value} needs the recorded platform id)')
        depends_on = tuple(self.strings(data, "depends_on", where))

        desired = None
        if after is not None:
            if target not in targets:
                _fail(self.source, f"{where}.target", f'{target!r} is not in "targets"')
            desired = Resource(
                address=address,
                target=target,
                platform=targets[target].platform,
                type=type_,
                name=name,
                attributes=after,
                refs=self.string_map(data, "refs", where),
                depends_on=depends_on,
                asset=self.asset(f"{where}.asset", data.get("asset")),
                lifecycle=Lifecycle.from_json(self.get(data, "lifecycle", dict, where, default=None)),
            )
        recorded = None
        if record_id is not None:
            recorded = RecordedResource(
                address=address,
                id=record_id,
                type=type_,
                target=target,
                attributes=before or {},
                depends_on=depends_on,
            )
        return Change(
            address=address,
            target=target,
            type=type_,
            action=action,
            before=before,
            after=after,
            changed_fields=tuple(self.strings(data, "changed_fields", where)),
            depends_on=depends_on,
            reason=self.get(data, "reason", str, where, default=""),
            desired=desired,
            recorded=recorded,
            moved_from=self.get(data, "moved_from", str, where, default=None),
            delete_mode=self.delete_mode(where, data, action),
        )

    def delete_mode(self, where: str, data: dict[str, Any], action: Action) -> str | None:
        if action is not Action.DELETE:
            if "delete_mode" in data:
                _fail(self.source, f"{where}.delete_mode", f"only a delete has one, not a {action.value}")
            return None
        # A plan file from before delete modes: its deletes were hard deletes.
        mode = self.get(data, "delete_mode", str, where, default="delete")
        if mode not in ("pause", "delete"):
            _fail(self.source, f"{where}.delete_mode", f'unknown delete mode {mode!r} (known: "pause", "delete")')
        return mode

    def override(self, where: str, data: Any) -> Override:
        if not isinstance(data, dict):
            _fail(self.source, where, f"expected an object, got {_kind(data)}")
        return Override(policy=self.get(data, "policy", str, where), reason=self.get(data, "reason", str, where))

    def violation(self, where: str, data: Any, overrides: list[Override]) -> Violation:
        if not isinstance(data, dict):
            _fail(self.source, where, f"expected an object, got {_kind(data)}")
        policy = self.get(data, "policy", str, where)
        overridden = self.get(data, "overridden", bool, where, default=False)
        reason = next((o.reason for o in overrides if o.policy == policy), None)
        if overridden and reason is None:
            _fail(self.source, f"{where}.overridden", f'no override of policy "{policy}" in "overrides"')
        return Violation(
            policy=policy,
            rule=self.get(data, "rule", str, where),
            address=self.get(data, "address", (str, type(None)), where),
            limit=self.get(data, "limit", str, where),
            value=self.get(data, "value", str, where),
            enforcement=self.get(data, "enforcement", str, where),
            message=self.get(data, "message", str, where),
            overridden=reason if overridden else None,
        )

    def asset(self, where: str, data: Any) -> Asset | None:
        if data is None:
            return None
        if not isinstance(data, dict):
            _fail(self.source, where, f"expected an object, got {_kind(data)}")
        return Asset(
            path=self.get(data, "path", str, where),
            sha256=self.get(data, "sha256", str, where),
            media_type=self.get(data, "media_type", str, where),
        )
