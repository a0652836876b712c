"""Checks across documents: unique names and references between kinds.

Each document has already passed its own model; here we only look at how
documents refer to each other (asset files are checked as they are found, in files.py).
Credentials are env var names: they are never read here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Set
from typing import Any

from reconciler.errors import SpecIssue
from reconciler.model import Rename
from reconciler.spec import Source, SpecSet
from reconciler.spec.models import Campaign, Placement

# Platforms whose lifetime budget needs an end time (research: Meta ad set end_time, Snapchat
# ad squad end_time; TikTok BUDGET_MODE_TOTAL with SCHEDULE_START_END only, UNCONFIRMED).
LIFETIME_NEEDS_END = frozenset({"meta", "tiktok", "snapchat"})

FieldLines = Mapping[str, int]  # dotted field path -> 1-based line, per document


def check_unique(entries: Iterable[tuple[str, str, Source]]) -> list[SpecIssue]:
    """One issue per repeated (kind, name), naming both places."""
    first: dict[tuple[str, str], Source] = {}
    issues = []
    for kind, name, source in entries:
        seen = first.setdefault((kind, name), source)
        if seen is not source:
            issues.append(
                SpecIssue(
                    source.file,
                    source.line,
                    "name",
                    f"duplicate {kind} `{name}`: also declared at {seen.file}:{seen.line}; "
                    f"names must be unique per kind{_PLACEMENT_NAMES if kind == 'Placement' else ''}, "
                    "rename or remove one",
                )
            )
    return issues


_PLACEMENT_NAMES = " (a placement without `name` is named CAMPAIGN.CREATIVE.ZONE, joined with '.')"


def check_references(
    specs: SpecSet,
    field_lines: Mapping[tuple[str, str], FieldLines] | None = None,
    invalid: Set[tuple[str, str]] = frozenset(),
) -> list[SpecIssue]:
    """Every reference between documents that does not resolve or does not fit.

    `field_lines` (from the loader) lets an issue point at the exact line of
    the offending field; without it, issues point at the document. `invalid`
    holds the (kind, name) of documents that exist but failed their own
    validation: references to them are not reported a second time.
    """
    return _Checker(specs, field_lines or {}, invalid).run()


class _Checker:
    def __init__(
        self,
        specs: SpecSet,
        field_lines: Mapping[tuple[str, str], FieldLines],
        invalid: Set[tuple[str, str]],
    ) -> None:
        self.specs = specs
        self.field_lines = field_lines
        self.invalid = invalid
        self.issues: list[SpecIssue] = []

    def run(self) -> list[SpecIssue]:
        specs = self.specs
        for name, zone in specs.zones.items():
            target = self._ref("Zone", name, "target", zone.target, specs.targets, "Target")
            if target is not None and target.platform != "broadstreet":
                self._issue(
                    "Zone",
                    name,
                    "target",
                    f"zones exist only on broadstreet targets; `{zone.target}` is a {target.platform} target",
                )
        for name, creative in specs.creatives.items():
            self._ref("Creative", name, "advertiser", creative.advertiser, specs.advertisers, "Advertiser")
        for name, campaign in specs.campaigns.items():
            self._campaign(name, campaign)
        for name, placement in specs.placements.items():
            self._placement(name, placement)
        self._moves()
        for name, policy in specs.policies.items():
            for index, target in enumerate(policy.scope.targets if policy.scope else ()):
                if target not in specs.targets:
                    self._issue(
                        "Policy",
                        name,
                        f"scope.targets.{index}",
                        f"`{target}` is not a declared Target; the scope would match nothing"
                        + _close(target, specs.targets),
                    )
        return self.issues

    def _moves(self) -> None:
        """A spec-level Moved renames a document: the old name must be gone, the new one declared.
        (Address moves are checked against the compiled resources, in plan/moves.py.)"""
        specs = self.specs
        declared: dict[str, Mapping[str, Any]] = {
            "Advertiser": specs.advertisers,
            "Zone": specs.zones,
            "Creative": specs.creatives,
            "Campaign": specs.campaigns,
            "Placement": specs.placements,
        }
        sources: dict[str, str] = {}  # from -> the Moved that first names it
        for full, moved in specs.moves.items():
            if (earlier := sources.setdefault(moved.from_, full)) != full:
                self._issue("Moved", full, "from", f"`{moved.from_}` is already moved by `{earlier}`; keep one")
            if moved.is_address:
                continue
            kind, _, old = moved.from_.partition("/")
            new = moved.to.partition("/")[2]
            if old in declared[kind]:
                where = specs.sources[(kind, old)]
                self._issue(
                    "Moved",
                    full,
                    "from",
                    f"`{moved.from_}` is still declared ({where.file}:{where.line}); a move's `from` is the old "
                    "name: rename that document to the new one, or remove this Moved",
                )
            if new not in declared[kind] and (kind, new) not in self.invalid:
                self._issue(
                    "Moved",
                    full,
                    "to",
                    f"`{moved.to}` is not declared; declare `kind: {kind}` named `{new}` (the renamed document), "
                    "or remove this Moved",
                )

    def _campaign(self, name: str, campaign: Campaign) -> None:
        specs = self.specs
        self._ref("Campaign", name, "advertiser", campaign.advertiser, specs.advertisers, "Advertiser")
        self._list_refs(name, "targets", campaign.targets, specs.targets, "Target")
        self._list_refs(name, "creatives", campaign.creatives, specs.creatives, "Creative")
        for index, creative_name in enumerate(campaign.creatives):
            creative = specs.creatives.get(creative_name)
            # an unknown advertiser on either side is reported already; a mismatch would only be noise
            known = creative is not None and creative.advertiser in specs.advertisers
            if known and campaign.advertiser in specs.advertisers and creative.advertiser != campaign.advertiser:
                self._issue(
                    "Campaign",
                    name,
                    f"creatives.{index}",
                    f"creative `{creative_name}` belongs to advertiser `{creative.advertiser}`, but this "
                    f"campaign is for `{campaign.advertiser}`; use a creative of `{campaign.advertiser}`",
                )
        self._lifetime_needs_end(name, campaign)

    def _lifetime_needs_end(self, name: str, campaign: Campaign) -> None:
        """Meta, TikTok and Snapchat spend a lifetime budget over a flight: it needs an end."""
        if campaign.budget is None or campaign.budget.lifetime is None or campaign.end_date is not None:
            return
        platforms = {getattr(self.specs.targets.get(t), "platform", "") for t in campaign.targets}
        social = sorted(platforms & LIFETIME_NEEDS_END)
        if social:
            self._issue(
                "Campaign",
                name,
                "budget.lifetime",
                f"a lifetime budget needs an end_date on {', '.join(social)}; add end_date, "
                "or use a daily budget for an always-on campaign",
            )

    def _list_refs(self, name: str, field: str, names: list[str], known: Mapping[str, Any], kind: str) -> None:
        seen: set[str] = set()
        for index, ref in enumerate(names):
            if ref in seen:
                self._issue("Campaign", name, f"{field}.{index}", f"`{ref}` is listed twice; remove one")
            seen.add(ref)
            self._ref("Campaign", name, f"{field}.{index}", ref, known, kind)

    def _placement(self, name: str, placement: Placement) -> None:
        specs = self.specs
        campaign = self._ref("Placement", name, "campaign", placement.campaign, specs.campaigns, "Campaign")
        creative = self._ref("Placement", name, "creative", placement.creative, specs.creatives, "Creative")
        zone = self._ref("Placement", name, "zone", placement.zone, specs.zones, "Zone")
        if campaign is None or any(("Target", t) in self.invalid for t in campaign.targets):
            return  # an invalid target was reported already; what depends on it would only repeat that
        broadstreet = [t for t in campaign.targets if getattr(specs.targets.get(t), "platform", "") == "broadstreet"]
        if not broadstreet:
            self._issue(
                "Placement",
                name,
                "campaign",
                f"campaign `{placement.campaign}` has no broadstreet target, so it has nothing to place; "
                "add a broadstreet target to the campaign's targets",
            )
        elif zone is not None and zone.target in specs.targets and zone.target not in campaign.targets:
            self._issue(
                "Placement",
                name,
                "zone",
                f"zone `{placement.zone}` is on target `{zone.target}`, which campaign `{placement.campaign}` "
                f"does not publish to (its broadstreet targets: {', '.join(broadstreet)}); add "
                f"`{zone.target}` to the campaign's targets or choose a zone on one of them",
            )
        if creative is not None and placement.creative not in campaign.creatives:
            self._issue(
                "Placement",
                name,
                "creative",
                f"creative `{placement.creative}` is not among campaign `{placement.campaign}`'s creatives; "
                "add it to the campaign's `creatives` list",
            )

    def _ref(self, kind: str, name: str, field: str, ref: str, known: Mapping[str, Any], ref_kind: str) -> Any:
        """The referenced document, or None after reporting that it does not exist."""
        found = known.get(ref)
        if found is None and (ref_kind, ref) not in self.invalid:
            close = difflib.get_close_matches(ref, list(known), n=1, cutoff=0.6)
            hint = f"did you mean `{close[0]}`?" if close else f"declare it with `kind: {ref_kind}`"
            self._issue(kind, name, field, f"unknown {ref_kind.lower()} `{ref}`; {hint}")
        return found

    def _issue(self, kind: str, name: str, field: str, message: str) -> None:
        source = self.specs.sources.get((kind, name), Source("specs", 0))
        line = self.field_lines.get((kind, name), {}).get(field, source.line)
        self.issues.append(SpecIssue(source.file, line, field, message))


def check_moved(specs: SpecSet, addresses: Set[str]) -> tuple[list[Rename], list[SpecIssue]]:
    """The renames of the Moved documents, and an issue for each address move that does not fit
    `addresses` (the compiled resources): its `from` still derived, or its `to` not."""
    renames, issues = [], []
    for full, moved in specs.moves.items():
        source = specs.sources[("Moved", full)]
        if not moved.is_address:
            kind, _, old = moved.from_.partition("/")
            renames.append(Rename(kind, old, moved.to.partition("/")[2]))
            continue
        renames.append(Rename(None, moved.from_, moved.to))
        if moved.from_ in addresses:
            issues.append(
                SpecIssue(
                    source.file,
                    source.line,
                    "from",
                    f"`{moved.from_}` is still derived from the specs; a move's `from` is the old address: "
                    "rename what derives it, or remove this Moved",
                )
            )
        if moved.to not in addresses:
            issues.append(
                SpecIssue(
                    source.file,
                    source.line,
                    "to",
                    f"`{moved.to}` is not derived from the specs (see `reconciler plan` for the addresses); "
                    "fix the address or remove this Moved",
                )
            )
    return renames, issues


def _close(value: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""
