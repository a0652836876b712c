"""Desired state: load and validate specs, compile them into resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reconciler.policy.document import Policy
from reconciler.spec.models import Advertiser, Campaign, Creative, Moved, Placement, TargetBase, Zone


@dataclass(frozen=True)
class Source:
    """Where a document came from, for error messages."""

    file: str  # relative to the project directory
    line: int  # 1-based line of the document's first key


@dataclass
class SpecSet:
    """All validated documents of a project, by kind and name."""

    targets: dict[str, TargetBase] = field(default_factory=dict)
    advertisers: dict[str, Advertiser] = field(default_factory=dict)
    zones: dict[str, Zone] = field(default_factory=dict)
    creatives: dict[str, Creative] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    placements: dict[str, Placement] = field(default_factory=dict)  # by full_name
    moves: dict[str, Moved] = field(default_factory=dict)  # by full_name ("FROM -> TO")
    policies: dict[str, Policy] = field(default_factory=dict)
    sources: dict[tuple[str, str], Source] = field(default_factory=dict)  # (kind, name) -> Source
    asset_paths: dict[str, Path] = field(default_factory=dict)  # creative name -> absolute asset path
