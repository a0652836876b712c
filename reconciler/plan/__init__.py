"""The planner: desired resources + recorded state -> Plan. Knows no HTTP."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from reconciler.errors import ReconcilerError
from reconciler.golive.hold import hold_for_review, hold_replacements
from reconciler.model import Action, Change, Plan, RecordedResource, TargetConfig
from reconciler.plan.diff import diff
from reconciler.plan.graph import restrict
from reconciler.plan.moves import resolve_moves
from reconciler.resource_types import ACCOUNT_SETTING, RESOURCE_TYPES, resource_type
from reconciler.spec.compile import Compiled
from reconciler.state.store import SANDBOX_ENDPOINT

if TYPE_CHECKING:
    from reconciler.state import State


def build_plan(
    compiled: Compiled,
    state: State,
    target_patterns: Sequence[str] = (),
    gone: Mapping[str, RecordedResource] | None = None,
    *,
    endpoint_of: EndpointOf,
) -> Plan:
    """The plan of `compiled` against `state`, for a run reaching each target through `endpoint_of(target)`.

    `gone`: recorded objects a refresh found deleted on the platform (and left out of
    `state`); a create at such an address carries the old record, so that apply
    replaces exactly that record and no other.
    """
    moves = resolve_moves(compiled.renames, (r.address for r in compiled.resources), state.resources)
    # activation: after_review: gated objects are desired paused until the state records them live.
    resources, held, waiting = hold_for_review(compiled.resources, compiled.gates, state)
    changes = hold_replacements(diff(resources, state.resources, moves), compiled.gates)
    changes = [
        replace(c, reason=held[c.address]) if c.address in held and not c.reason and c.action is not Action.NOOP
        else c
        for c in changes
    ]  # fmt: skip
    if gone:
        changes = [
            replace(c, recorded=gone[c.address], reason=c.reason or "deleted outside reconciler")
            if c.action is Action.CREATE and c.address in gone
            else c
            for c in changes
        ]
    targets, notes = plan_targets(compiled.targets, state, endpoint_of)
    warnings = list(compiled.warnings) + notes + waiting
    for address, pending in sorted(state.pending.items()):
        warnings.append(
            f"{address}: a {pending.action} begun at {pending.started_at} has an unknown outcome; "
            "apply looks the object up and adopts it before doing anything else"
        )
    if target_patterns:
        changes = restrict(changes, target_patterns)
        warnings.append(
            "Resource targeting is in effect: only "
            + ", ".join(target_patterns)
            + " and what they depend on are planned. Plan without --target before relying on the result."
        )
    warnings += _undeletable(changes, targets)
    return Plan(
        changes=changes,
        warnings=warnings,
        # A state never written has no lineage yet (Terraform's first plan): compared on serial only.
        lineage=state.lineage if state.serial else None,
        serial=state.serial,
        targets=targets,
    )


# The endpoint a run reaches a target through: its API's URL, or SANDBOX_ENDPOINT.
EndpointOf = Callable[[TargetConfig], str]


def plan_targets(
    declared: Mapping[str, TargetConfig], state: State, endpoint_of: EndpointOf
) -> tuple[dict[str, TargetConfig], list[str]]:
    """The targets a plan applies with, and a warning for each that left the specs.

    A target that left the specs while objects are still recorded on it is planned
    with the configuration it last applied with, so that its objects are deleted
    where they are. Raises ReconcilerError when that configuration is unknown,
    when a declared target's platform or account is not the one its objects are in,
    or when this run would reach a target through another endpoint than its objects
    were written through (the sandbox's ids on a live API, or the other way round).
    """
    targets = dict(declared)
    notes = []
    recorded_on: dict[str, list[str]] = {}
    for address, resource in state.resources.items():
        recorded_on.setdefault(resource.target, []).append(address)
    for name in sorted(state.targets_in_use()):
        addresses = sorted(recorded_on.get(name, ()))
        recorded, current = state.targets.get(name), declared.get(name)
        if current is None:
            if recorded is None:
                raise ReconcilerError(_unknown_config(name, addresses))
            targets[name] = recorded
            notes.append(
                f"target {name} is no longer in the specs: its {len(addresses)} recorded objects are deleted "
                "with the configuration it last applied with"
            )
        elif recorded is not None and _account(recorded) != _account(current):
            raise ReconcilerError(_moved_account(name, _account(recorded), _account(current), addresses))
        elif recorded is None and (misfit := [a for a in addresses if not _fits(state, a, current.platform)]):
            # A state from before targets were recorded: the types of its objects still tell the platform.
            raise ReconcilerError(_moved_account(name, "another platform", _account(current), misfit))
        before = state.endpoints.get(name)
        if before is not None and not _same_endpoint(before, after := endpoint_of(targets[name])):
            raise ReconcilerError(_moved_endpoint(name, before, after, addresses))
    return targets, notes


def _same_endpoint(a: str, b: str) -> bool:
    """Whether two endpoints reach the same service: same scheme, host and port.

    The path is left out: it carries the API version, which a reconciler upgrade moves
    (Meta v25.0 -> v26.0) without moving a single object.
    """
    return _origin(a) == _origin(b)


def _origin(endpoint: str) -> tuple[str, ...]:
    url = urlsplit(endpoint)
    try:
        port = url.port or {"http": 80, "https": 443}.get(url.scheme.lower())
    except ValueError:  # a hand-edited state's bad port: compared as written
        return (endpoint,)
    if not url.netloc:
        return (endpoint,)  # no host: SANDBOX_ENDPOINT and the like
    return (url.scheme.lower(), (url.hostname or "").lower(), str(port))


def _undeletable(changes: Sequence[Change], targets: Mapping[str, TargetConfig]) -> list[str]:
    """A warning per target and type whose deleted or replaced objects the platform cannot delete."""
    gone: dict[tuple[str, str], list[str]] = {}
    for c in changes:
        if c.action in (Action.DELETE, Action.REPLACE) and c.target in targets:
            platform = targets[c.target].platform
            if not resource_type(platform, c.type).deletable:
                gone.setdefault((c.target, c.type), []).append(c.address)
    return [
        f"{len(addresses)} {type_} object(s) on {target} ({', '.join(addresses[:2])}{', ...' * (len(addresses) > 2)})"
        f" will only be forgotten, not deleted: {targets[target].platform} has no delete for them, so they stay "
        "in the ad account's library (unused)"
        for (target, type_), addresses in sorted(gone.items())
    ]


def _account(target: TargetConfig) -> str:
    setting = ACCOUNT_SETTING[target.platform]
    return f"{target.platform} ({setting} {target.settings.get(setting)})"


def _fits(state: State, address: str, platform: str) -> bool:
    return (platform, state.resources[address].type) in RESOURCE_TYPES


def _unknown_config(name: str, addresses: list[str]) -> str:
    return (
        f"target {name} is no longer in the specs, but {len(addresses)} objects are recorded on it "
        f"({', '.join(addresses[:3])}{', ...' if len(addresses) > 3 else ''}) and this state does not record the "
        "configuration to delete them with (it was written by an older reconciler). Declare the Target again "
        "and apply (that deletes them and records it), then remove it; or, to leave them running untracked, "
        "`reconciler state rm ADDRESS` each one."
    )


def _moved_account(name: str, before: str, after: str, addresses: list[str]) -> str:
    return (
        f"target {name} is declared on {after}, but {len(addresses)} objects recorded on it "
        f"({', '.join(addresses[:3])}{', ...' if len(addresses) > 3 else ''}) are on {before}: "
        "their updates and deletes would go to the wrong account. To use the new account, give its "
        "Target a new name (and keep or remove the old one); to delete the old objects first, declare the old "
        "Target again without their specs and apply."
    )


def _moved_endpoint(name: str, before: str, after: str, addresses: list[str]) -> str:
    if before == SANDBOX_ENDPOINT:
        fix = "Run with --sandbox to use them; if this state file was copied here, restore the live one from git."
    elif after == SANDBOX_ENDPOINT:
        fix = "Run without --sandbox to use them (a --sandbox run keeps its own state/WORKSPACE.sandbox.json)."
    else:
        fix = (
            f"Point the Target's api_base_url back at {before}; to start afresh on {after}, give the Target a "
            "new name or use another --workspace."
        )
    return (
        f"target {name} would be reached through {after}, but {len(addresses)} objects recorded on it "
        f"({', '.join(addresses[:3])}{', ...' if len(addresses) > 3 else ''}) were applied through {before}: "
        f"their ids mean nothing there. Nothing was written. {fix}"
    )


def check_fresh(plan: Plan, state: State, source: str) -> None:
    """Refuse a saved plan made against another state, or before the state last changed."""
    if plan.lineage is not None and plan.lineage != state.lineage:
        raise ReconcilerError(
            f"{source} does not match the state (lineage {plan.lineage} vs {state.lineage}): it was made for "
            "another project or workspace. Make a new plan here with `reconciler plan --out FILE`."
        )
    if plan.lineage is None and state.serial:
        raise ReconcilerError(
            f"{source} is stale: it was made before this workspace had a state, and the state has been written "
            f"since (now serial {state.serial}); it would create again what is now recorded. Make a new plan with "
            "`reconciler plan --out FILE`, review it, and apply that."
        )
    if plan.serial != state.serial:
        raise ReconcilerError(
            f"{source} is stale: the state changed since it was made (serial {plan.serial}, now {state.serial}). "
            "Make a new plan with `reconciler plan --out FILE`, review it, and apply that."
        )


def check_targets(plan: Plan, expected: Mapping[str, TargetConfig], source: str) -> None:
    """Refuse a saved plan whose targets are not those of the specs (and state) here.

    A plan file is reviewed data, not configuration: an edited endpoint or
    credential name would send the token, or another secret, elsewhere.
    """
    problems = []
    for name, target in sorted(plan.targets.items()):
        current = expected.get(name)
        if current is None:
            problems.append(f"{name}: not a target of the specs")
        elif target != current:
            problems.append(f"{name}: " + "; ".join(target.differences(current)))
    if problems:
        raise ReconcilerError(
            f"{source} was made with other targets than the specs declare (plan -> specs): "
            + " | ".join(problems)
            + ". Nothing was sent. Make a new plan with `reconciler plan --out FILE`, review it, and apply that."
        )
