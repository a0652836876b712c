"""The few types passed along the pipeline.

specs -> Resource (desired) -> diff against RecordedResource (state)
      -> Change -> Plan -> Operation (executor) -> provider

They are plain data: no I/O, no platform knowledge.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.policy.violations import Override, Violation


@dataclass(frozen=True)
class Asset:
    """A local file uploaded as part of a resource (image, video)."""

    path: str  # absolute path of the file on this machine
    sha256: str
    media_type: str  # e.g. "image/png"


@dataclass(frozen=True)
class TargetConfig:
    """What a provider needs to talk to one target: no YAML, no secrets (only env var names)."""

    name: str
    platform: str  # broadstreet | meta | tiktok | snapchat
    settings: dict[str, Any] = field(default_factory=dict)  # network_id, ad_account_id, ...
    credentials: dict[str, str] = field(default_factory=dict)  # e.g. {"token_env": "BROADSTREET_API_TOKEN"}
    api_base_url: str | None = None
    auth_url: str | None = None
    concurrency: int | None = None
    rate_limit: float | None = None  # requests per second

    def to_json(self) -> dict[str, Any]:
        """Every field but the name (the key it is stored under), as plain JSON."""
        data = dataclasses.asdict(self)
        del data["name"]
        return data

    @classmethod
    def from_json(cls, name: str, data: Any) -> TargetConfig:
        """The inverse of to_json, checked: raises ValueError naming the field that is wrong."""
        if not isinstance(data, dict):
            raise ValueError("expected an object")
        unknown = sorted(data.keys() - _TARGET_FIELD_TYPES.keys())
        if unknown:
            raise ValueError(f"unknown field {', '.join(unknown)}")
        fields: dict[str, Any] = {}
        for key, kinds in _TARGET_FIELD_TYPES.items():
            value = data.get(key, _TARGET_DEFAULTS.get(key))
            # bool is an int subclass; never a valid count or rate here.
            if not isinstance(value, kinds) or isinstance(value, bool):
                raise ValueError(f"{key}: expected {_TARGET_FIELD_NAMES[key]}, got {type(value).__name__}")
            fields[key] = value
        if not all(isinstance(v, str) for v in fields["credentials"].values()):
            raise ValueError("credentials: expected names of environment variables")
        if fields["rate_limit"] is not None:
            fields["rate_limit"] = float(fields["rate_limit"])
        return cls(name=name, **fields)

    def differences(self, other: TargetConfig) -> list[str]:
        """'field: this -> other' for each field that differs, settings key by key."""
        mine, theirs = self.to_json(), other.to_json()
        for group in ("settings", "credentials"):
            for key in sorted(mine[group].keys() | theirs[group].keys()):
                mine[f"{group}.{key}"], theirs[f"{group}.{key}"] = mine[group].get(key), theirs[group].get(key)
            del mine[group], theirs[group]
        return [f"{key}: {mine[key]!r} -> {theirs[key]!r}" for key in sorted(mine) if mine[key] != theirs[key]]


_TARGET_FIELD_TYPES: dict[str, Any] = {
    "platform": str,
    "settings": dict,
    "credentials": dict,
    "api_base_url": (str, type(None)),
    "auth_url": (str, type(None)),
    "concurrency": (int, type(None)),
    "rate_limit": (int, float, type(None)),
}
_TARGET_DEFAULTS: dict[str, Any] = {"settings": {}, "credentials": {}}
_TARGET_FIELD_NAMES = {
    "platform": "a string",
    "settings": "an object",
    "credentials": "an object",
    "api_base_url": "a URL or null",
    "auth_url": "a URL or null",
    "concurrency": "an integer or null",
    "rate_limit": "a number or null",
}


@dataclass(frozen=True)
class Resource:
    """One object we want to exist on a platform.

    `attributes` use the platform API's own field names, values and units.
    `refs` maps an attribute name to the address of the resource whose platform
    id fills it at apply time (e.g. {"advertiser_id": "bs-main:advertiser/acme"}).
    """

    address: str  # TARGET:TYPE/NAME
    target: str
    platform: str
    type: str
    name: str
    attributes: dict[str, Any]
    refs: dict[str, str] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    asset: Asset | None = None
    lifecycle: Lifecycle | None = None  # from the spec documents it is derived from


@dataclass(frozen=True)
class Lifecycle:
    """What the spec documents a resource is derived from say about destroying it.

    Recorded with the resource in the state at apply, so that a plan can still honour
    it once the documents are gone from the specs.
    """

    prevent_destroy: bool = False
    on_delete: str | None = None  # "delete" | "pause" | None: the platform's default (lifecycle.py)
    origin: tuple[str, ...] = ()  # the documents, as "Kind/name"
    source: str = ""  # "Kind/name (file:line)": the document that sets prevent_destroy (or the first one)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"prevent_destroy": self.prevent_destroy, "origin": list(self.origin)}
        if self.on_delete:
            data["on_delete"] = self.on_delete
        if self.source:
            data["source"] = self.source
        return data

    @classmethod
    def from_json(cls, data: Any) -> Lifecycle | None:
        """The inverse of to_json; None for anything that is not an object (a state from before lifecycles)."""
        if not isinstance(data, dict):
            return None
        on_delete = data.get("on_delete")
        return cls(
            prevent_destroy=data.get("prevent_destroy") is True,
            on_delete=on_delete if on_delete in ("delete", "pause") else None,
            origin=tuple(str(o) for o in data.get("origin") or () if isinstance(o, str)),
            source=str(data.get("source") or ""),
        )


def make_address(target: str, type_: str, name: str) -> str:
    return f"{target}:{type_}/{name}"


def split_address(address: str) -> tuple[str, str, str]:
    """'bs-main:campaign/acme' -> ('bs-main', 'campaign', 'acme')."""
    target, _, rest = address.partition(":")
    type_, _, name = rest.partition("/")
    if not (target and type_ and name):
        raise ValueError(f"not a resource address: {address!r} (expected TARGET:TYPE/NAME)")
    return target, type_, name


@dataclass(frozen=True)
class RecordedResource:
    """A resource as last applied, from the state file."""

    address: str
    id: str  # the platform's id, as a string
    type: str
    target: str
    attributes: dict[str, Any]  # as applied, ref fields holding resolved platform ids
    depends_on: tuple[str, ...] = ()
    lifecycle: Lifecycle | None = None  # the Resource's, as last applied; absent in older states

    def to_json(self) -> dict[str, Any]:
        data = {
            "id": self.id,
            "type": self.type,
            "target": self.target,
            "attributes": self.attributes,
            "depends_on": list(self.depends_on),
        }
        if self.lifecycle is not None:  # left out when unset, so older readers see the format they know
            data["lifecycle"] = self.lifecycle.to_json()
        return data

    @classmethod
    def from_json(cls, address: str, data: dict[str, Any]) -> RecordedResource:
        return cls(
            address=address,
            id=str(data["id"]),
            type=data["type"],
            target=data["target"],
            attributes=dict(data.get("attributes") or {}),
            depends_on=tuple(data.get("depends_on") or ()),
            lifecycle=Lifecycle.from_json(data.get("lifecycle")),
        )


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "noop"


@dataclass(frozen=True)
class Change:
    """What the plan proposes for one address (Terraform's ResourceInstanceChange).

    `before` is the recorded attributes (None on create), `after` the desired
    ones (None on delete). `desired` and `recorded` keep the full objects the
    executor needs.
    """

    address: str
    target: str
    type: str
    action: Action
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed_fields: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    reason: str = ""  # why, when not obvious: "content of summer-728x90 changed", "deleted out of band"
    desired: Resource | None = None
    recorded: RecordedResource | None = None
    moved_from: str | None = None  # the address the object was recorded at, when a Moved renames it
    # On a delete: "pause" (the object is paused and dropped from the state, keeping its reporting)
    # or "delete". None on other actions. Set by plan/lifecycle.py.
    delete_mode: str | None = None


@dataclass(frozen=True)
class Rename:
    """One Moved document: a spec object renamed (kind set) or one resource address (kind None)."""

    kind: str | None  # Campaign, Creative, ...; None when old and new are TARGET:TYPE/NAME
    old: str
    new: str


@dataclass
class Plan:
    """Plain data: the changes, in dependency order, and what the reviewer must know."""

    changes: list[Change]
    warnings: list[str] = field(default_factory=list)
    lineage: str | None = None
    serial: int = 0
    targets: dict[str, TargetConfig] = field(default_factory=dict)
    prune: bool = False  # planned with --prune: deletes are hard deletes everywhere
    # The policy gate's findings (reconciler/policy) and the overrides this run was given.
    violations: list[Violation] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)

    @property
    def blocking_violations(self) -> list[Violation]:
        return [v for v in self.violations if v.blocking]

    @property
    def summary(self) -> dict[str, int]:
        counts = {action.value: 0 for action in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        return counts

    @property
    def moves(self) -> int:
        return sum(1 for c in self.changes if c.moved_from)

    @functools.cached_property
    def new_ids(self) -> frozenset[str]:
        """Addresses whose platform id is only known after apply (created or replaced)."""
        return frozenset(c.address for c in self.changes if c.action in (Action.CREATE, Action.REPLACE))

    @property
    def has_changes(self) -> bool:
        return any(c.action is not Action.NOOP or c.moved_from for c in self.changes)

    def change(self, address: str) -> Change:
        for change in self.changes:
            if change.address == address:
                return change
        raise KeyError(address)


@dataclass(frozen=True)
class Operation:
    """One call the executor asks a provider to make.

    A replace becomes a delete Operation and a create Operation. `attributes`
    are fully resolved: ref fields already hold platform ids.
    """

    address: str
    action: Action  # CREATE, UPDATE or DELETE
    type: str
    name: str
    attributes: dict[str, Any]
    id: str | None = None  # platform id, for update and delete
    changed_fields: tuple[str, ...] = ()
    asset: Asset | None = None


# ------------------------------------------------------------------ refs
# A ref path names an attribute, possibly nested: "advertiser_id",
# "creative.creative_id" (Meta ad), "image_ids.0" (TikTok ad). Digits index lists.


def set_path(attributes: dict[str, Any], path: str, value: Any) -> None:
    """Set the value at a dotted path in place, creating dicts and lists on the way."""
    parts = path.split(".")
    node: Any = attributes
    for part, following in zip(parts, parts[1:], strict=False):
        key: Any = int(part) if isinstance(node, list) else part
        if isinstance(node, list):
            while len(node) <= key:
                node.append(None)
        child = node[key] if isinstance(node, list) else node.get(key)
        if not isinstance(child, dict | list):
            child = [] if following.isdigit() else {}
            node[key] = child
        node = child
    last = parts[-1]
    if isinstance(node, list):
        index = int(last)
        while len(node) <= index:
            node.append(None)
        node[index] = value
    else:
        node[last] = value


def resolve_refs(
    attributes: dict[str, Any], refs: dict[str, str], id_of: Callable[[str], str | None]
) -> tuple[dict[str, Any], list[str]]:
    """Attributes with every ref path filled by id_of(address).

    Returns (attributes, addresses whose id is unknown); unknown ids are left as None.
    """
    resolved = copy.deepcopy(attributes)
    missing: list[str] = []
    for path, address in refs.items():
        platform_id = id_of(address)
        if platform_id is None:
            missing.append(address)
        set_path(resolved, path, platform_id)
    return resolved, missing


def ref_field(path: str) -> str:
    """The top-level attribute a ref path lives in: 'creative.creative_id' -> 'creative'."""
    return path.split(".", 1)[0]
