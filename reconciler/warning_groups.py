"""Repeated warnings told once: "3 creatives skipped on targets that cannot show them", each listed below.

Warnings are plain strings made where the problem is found (compile, plan,
refresh, go-live). The families that repeat once per campaign, creative or
object are recognised here by their wording, so every place that prints
warnings (plan text, the PR comment, validate) groups them the same way.
An identical warning is kept once; a family with a single member stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class WarningGroup:
    """One line to print, and the items it stands for (none for a warning on its own)."""

    headline: str
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Family:
    pattern: re.Pattern[str]
    headline: str  # with {n}, the number of members
    item: str  # the member's line, from the pattern's named groups


_FAMILIES = (
    _Family(
        re.compile(r"creative (?P<creative>\S+) \((?P<format>[^)]+)\) skipped on (?P<target>\S+): (?P<why>.+)"),
        "{n} creatives skipped on targets that cannot show them",
        "{creative} ({format}) on {target}: {why}",
    ),
    _Family(
        re.compile(
            r"(?P<campaign>\S+) on (?P<target>\S+): activation: after_review is ignored on (?P<platform>\S+) .+"
        ),
        "{n} campaigns: activation: after_review is ignored where there is no ad review; they go live there as usual",
        "{campaign} on {target} ({platform})",
    ),
    _Family(
        re.compile(r"(?P<campaign>\S+) on (?P<target>\S+): waiting for review \(activation: after_review\): .*"),
        "{n} campaigns kept paused until every ad is approved (activation: after_review); an apply then enables them",
        "{campaign} on {target}",
    ),
    _Family(
        re.compile(r"(?P<address>\S+): a (?P<action>\S+) begun at (?P<at>\S+) has an unknown outcome; .*"),
        "{n} operations have an unknown outcome; apply looks each object up and adopts it before anything else",
        "{address} ({action} begun at {at})",
    ),
    _Family(
        re.compile(r"(?P<address>\S+) was deleted outside reconciler"),
        "{n} objects were deleted outside reconciler",
        "{address}",
    ),
    _Family(
        re.compile(r"(?P<address>\S+) was changed outside reconciler: (?P<fields>.+)"),
        "{n} objects were changed outside reconciler",
        "{address}: {fields}",
    ),
)


def group_warnings(warnings: Iterable[str]) -> list[WarningGroup]:
    """The warnings, each once, families of two or more folded into one group where the first appeared."""
    order: list[str | _Family] = []  # a warning on its own, or a family at its first member
    members: dict[_Family, list[tuple[str, re.Match[str]]]] = {}
    for warning in dict.fromkeys(warnings):
        family, match = _family_of(warning)
        if family is None or match is None:
            order.append(warning)
            continue
        if family not in members:
            members[family] = []
            order.append(family)
        members[family].append((warning, match))
    groups = []
    for entry in order:
        found = members.get(entry, []) if isinstance(entry, _Family) else []
        if isinstance(entry, str) or len(found) == 1:
            groups.append(WarningGroup(entry if isinstance(entry, str) else found[0][0]))
        else:
            items = tuple(entry.item.format(**match.groupdict()) for _, match in found)
            groups.append(WarningGroup(entry.headline.format(n=len(found)), items))
    return groups


def _family_of(warning: str) -> tuple[_Family | None, re.Match[str] | None]:
    for family in _FAMILIES:
        match = family.pattern.fullmatch(warning)
        if match:
            return family, match
    return None, None


def warning_lines(warnings: Iterable[str], label: str = "Warning:") -> list[str]:
    """The grouped warnings as terminal lines: `Warning: HEADLINE`, then `  - item` per member; no blank lines."""
    lines = []
    for group in group_warnings(warnings):
        lines.append(f"{label} {group.headline}" + (":" if group.items else ""))
        lines += [f"  - {item}" for item in group.items]
    return lines
