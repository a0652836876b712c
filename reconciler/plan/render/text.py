"""The plan as terminal text, Terraform-like.

The per-change lines (`Line`) are built here once and shared with the
markdown renderer, which prints them in a ```diff block.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.model import Action, Change, Plan, set_path
from reconciler.plan.spend import Spend, Spender, format_amount, signed_amount, spend_of
from reconciler.resource_types import ResourceType, resource_type
from reconciler.warning_groups import warning_lines

# NOOP shows only for a move: the object is renamed in the state, nothing is sent.
SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.REPLACE: "-/+", Action.DELETE: "-", Action.NOOP: "->"}
_LEGEND = {
    Action.CREATE: "create",
    Action.UPDATE: "update in place",
    Action.REPLACE: "replace (delete and create again)",
    Action.DELETE: "delete",
    Action.NOOP: "move (renamed in the state, same object and id)",
}
PAUSE_LEGEND = (
    "paused and dropped from the state: it keeps its reporting (lifecycle.on_delete: delete or --prune deletes)"
)
MAX_STRING = 72  # longer strings (html, body text) are cut in the plan view
_CONTEXT = 20  # characters shown before the first difference of two long strings
NO_CHANGES = "No changes. Recorded state matches the specs."
_UNKNOWN = "\ue000"  # private-use marker for a ref value not known until apply
_ABSENT = object()  # a field missing on one side of a change
FORCES_REPLACEMENT = "# forces replacement"


@dataclass(frozen=True)
class Line:
    """One line of a change: its header (the address) or one field."""

    symbol: str  # "+", "~", "-/+", "-" or "->" (a move only)
    text: str  # the address, or `name = value` with the name padded
    note: str = ""  # after the text: why a replace, or "# forces replacement"
    header: bool = False


SPEND_CAMPAIGNS_IN_SUMMARY = 10  # more campaigns with a budget change are listed after the changes
COUNT_COLUMNS = ("create", "update", "replace", "delete")  # plus "move" when the plan moves anything


def render_text(plan: Plan, color: bool, *, compact: bool = False, warnings: bool = True) -> str:
    """The plan for a terminal; ANSI colours only when `color` (the CLI decides).

    The summary comes first (counts per target and type, spend, warnings, policy), so a
    plan of thousands of changes is read from the top; then the changes themselves, which
    `compact` leaves out, and the one-line verdict again at the very end.
    """
    paint = _Paint(color)
    spend = spend_of(plan) if plan.has_changes else Spend(())
    by_campaign = _spenders_by_campaign(spend)
    listed_later = len(by_campaign) > SPEND_CAMPAIGNS_IN_SUMMARY
    out = [paint.bold(summary_line(plan)), ""]
    out += count_lines(plan)
    spend_section = spend_lines(spend, paint.bold, campaigns=not listed_later)
    if listed_later:  # before the section's closing blank line
        where = "listed without --compact" if compact else "listed by campaign after the changes"
        spend_section.insert(-1, f"  {len(by_campaign)} campaigns change budget or delivery: {where}.")
    out += spend_section
    if warnings and plan.warnings:
        out += warning_lines(plan.warnings, paint.yellow_bold("Warning:")) + [""]
    out += policy_lines(plan, paint)
    groups = changes_by_target(plan)
    if compact or not groups:
        return "\n".join(out).rstrip("\n") + "\n"
    used = {change.action for _, changes in groups for change in changes}
    out.append("Resource actions are indicated with the following symbols:")
    out += [f"{paint.symbol(SYMBOLS[a])} {_LEGEND[a]}" for a in _LEGEND if a in used]
    if any(c.delete_mode == "pause" for _, changes in groups for c in changes):
        out.append(f"{paint.symbol(SYMBOLS[Action.DELETE])} (pause) {PAUSE_LEGEND}")
    out += ["", "reconciler will perform the following actions:"]
    for target, changes in groups:
        out += ["", paint.bold(target_heading(plan, target, changes))]
        for change in changes:
            out.append("")
            out += [_format(line, paint) for line in change_lines(change, plan)]
    out.append("")
    if listed_later:
        out += [paint.bold("Spend") + " by campaign:"] + _campaign_spend_lines(spend) + [""]
    out.append(paint.bold(summary_line(plan)))
    return "\n".join(out) + "\n"


def change_counts(plan: Plan) -> list[tuple[str, str | None, dict[str, int]]]:
    """(target, None, counts) per target, each followed by (target, type, counts) per type, in plan order.

    Counts by action name over COUNT_COLUMNS, plus "move" for renames in the state.
    """
    rows: list[tuple[str, str | None, dict[str, int]]] = []
    for target, changes in changes_by_target(plan):
        by_type: dict[str, dict[str, int]] = {}
        for change in changes:
            counts = by_type.setdefault(change.type, dict.fromkeys((*COUNT_COLUMNS, "move"), 0))
            counts["move" if change.action is Action.NOOP else change.action.value] += 1
        total = {column: sum(counts[column] for counts in by_type.values()) for column in (*COUNT_COLUMNS, "move")}
        rows.append((target, None, total))
        rows += [(target, type_, counts) for type_, counts in by_type.items()]
    return rows


def count_columns(plan: Plan) -> tuple[str, ...]:
    return (*COUNT_COLUMNS, "move") if plan.moves else COUNT_COLUMNS


def count_lines(plan: Plan) -> list[str]:
    """The table of changes per target and per type under it; empty when nothing changes."""
    rows = change_counts(plan)
    if not rows:
        return []
    columns = count_columns(plan)
    names = [f"  {type_}" if type_ else _target_name(plan, target) for target, type_, _ in rows]
    width = max(len(name) for name in names)
    out = ["Changes by target and type:", "  " + " " * width + "".join(f" {c:>7}" for c in columns)]
    for name, (_, _, counts) in zip(names, rows, strict=True):
        out.append(f"  {name.ljust(width)}" + "".join(f" {counts[c] or '.':>7}" for c in columns))
    return out + [""]


def _target_name(plan: Plan, target: str) -> str:
    config = plan.targets.get(target)
    return f"{target} ({config.platform})" if config else target


def policy_lines(plan: Plan, paint: _Paint) -> list[str]:
    """The "Policy violations" section, then the overrides of this run; empty when there are neither."""
    out: list[str] = []
    if plan.violations:
        out.append(paint.bold("Policy violations:"))
        for v in plan.violations:
            where = f" {v.address}:" if v.address else ""
            tag = f"overridden ({v.enforcement})" if v.overridden is not None else v.enforcement
            out.append(f"  {paint.red('x') if v.blocking else '~'} [{tag}] {v.policy} {v.rule}:{where} {v.message}")
        blocking = plan.blocking_violations
        if blocking:
            out.append(f"  {len(blocking)} violation{'s' * (len(blocking) != 1)}: apply will refuse this plan.")
        out.append("")
    if plan.overrides:
        out.append(paint.bold("Policy overrides:"))
        out += [f"  {o.policy}: {o.reason}" for o in plan.overrides]
        out.append("")
    return out


def summary_line(plan: Plan) -> str:
    if not plan.has_changes:
        return NO_CHANGES
    s = plan.summary
    moves = f" {plan.moves} moved to a new address." if plan.moves else ""
    pauses = sum(1 for c in plan.changes if c.delete_mode == "pause")
    paused = f" ({pauses} of them paused, not deleted)" if pauses else ""
    return (
        f"Plan: {s['create']} to create, {s['update']} to update, {s['replace']} to replace, "
        f"{s['delete']} to delete{paused}." + moves
    )


def spend_lines(spend: Spend, bold: Callable[[str], str] = str, *, campaigns: bool = True) -> list[str]:
    """The Spend section: totals per currency, then (with `campaigns`) each campaign whose budget or delivery changes.

    Empty when the plan touches nothing that carries a budget or can spend.
    """
    if not spend.currencies and not spend.items:
        return []
    out = [bold("Spend") + " (budgets of what can spend, before -> after):"]
    for currency in spend.currencies:
        t = spend.total(currency)
        for kind, before, after in (
            ("daily", t.daily_before, t.daily_after),
            ("lifetime", t.lifetime_before, t.lifetime_after),
        ):
            change = f" ({signed_amount(after - before, currency)})" if after != before else " (no change)"
            out.append(
                f"  {currency} {kind:<8} {format_amount(before, currency)} -> {format_amount(after, currency)}{change}"
            )
    if campaigns:
        out += _campaign_spend_lines(spend)
    return out + [""]


def _spenders_by_campaign(spend: Spend) -> dict[str, list[Spender]]:
    by_campaign: dict[str, list[Spender]] = {}
    for item in spend.items:
        by_campaign.setdefault(item.campaign, []).append(item)
    return by_campaign


def _campaign_spend_lines(spend: Spend) -> list[str]:
    width = max((len(item.target) for item in spend.items), default=0)
    out = []
    for campaign, items in _spenders_by_campaign(spend).items():
        out.append(f"  {campaign}:")
        out += [f"    {item.target.ljust(width)}  {spend_row(item)}" for item in items]
    return out


def spend_row(item: Spender) -> str:
    """One resource's budget change in words: "daily 50.00 USD -> 75.00 USD; starts spending"."""
    parts = []
    for kind, before, after in (
        ("daily", item.daily_before, item.daily_after),
        ("lifetime", item.lifetime_before, item.lifetime_after),
    ):
        if before is None and after is None:
            continue
        if before == after:
            parts.append(f"{kind} {format_amount(after, item.currency)}")
        else:
            parts.append(f"{kind} {format_amount(before, item.currency)} -> {format_amount(after, item.currency)}")
    if item.currency is None:
        parts.append("no budget on Broadstreet")
    notes = {Action.CREATE: "new", Action.DELETE: "deleted", Action.REPLACE: "replaced"}
    flags = [notes[item.action]] if item.action in notes else []
    if item.starts_spending:
        flags.append("starts spending")
    elif item.stops_spending:
        flags.append("stops spending")
    elif item.action is not Action.DELETE and not item.spends_after:
        flags.append("paused")
    return ", ".join(parts) + (f" ({', '.join(flags)})" if flags else "")


def changes_by_target(plan: Plan) -> list[tuple[str, list[Change]]]:
    """Changes other than noop (a move counts), grouped by target in order of first appearance."""
    groups: dict[str, list[Change]] = {}
    for change in plan.changes:
        if change.action is not Action.NOOP or change.moved_from:
            groups.setdefault(change.target, []).append(change)
    return list(groups.items())


def target_heading(plan: Plan, target: str, changes: list[Change]) -> str:
    return f"{_target_name(plan, target)}: {len(changes)} change{'s' if len(changes) != 1 else ''}"


def change_lines(change: Change, plan: Plan) -> list[Line]:
    """The header line of one change and its field lines, for text and markdown."""
    kind = _resource_type(change, plan)
    note = change.reason
    if change.action is Action.REPLACE and not note:
        forced = [f for f in change.changed_fields if kind and kind.requires_replace(f)]
        names = ", ".join(forced or change.changed_fields)
        note = f"must be replaced: {names}" if names else "must be replaced"
    if change.moved_from:
        note = f"moved from {change.moved_from}" + (f"; {note}" if note else "")
    if change.delete_mode == "pause":  # paused and dropped from the state, its reporting kept (plan/lifecycle.py)
        note = "pause" + (f"; {note}" if note and note != "no longer in the specs" else "")
    header = Line(SYMBOLS[change.action], change.address, f"({note})" if note else "", header=True)
    fields = _field_lines(change, plan, kind)
    width = max((len(name) for _, name, _, _ in fields), default=0)
    return [header] + [Line(symbol, f"{name.ljust(width)} = {value}", note) for symbol, name, value, note in fields]


def format_value(value: Any, start: int = 0) -> str:
    """A JSON scalar, or compact one-line JSON for lists and objects.

    A long string shows MAX_STRING characters from `start`, with "…" where it is cut.
    """
    if not isinstance(value, str) or (start == 0 and len(value) <= MAX_STRING):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    shown = value[start : start + MAX_STRING]
    rest = len(value) - start - len(shown)
    more = f"…({rest} more chars)" if rest else ""
    return json.dumps(("…" if start else "") + shown, ensure_ascii=False) + more


def _diff_start(old: Any, new: Any) -> int:
    """Where to start showing two long strings: a little before they first differ."""
    if not (isinstance(old, str) and isinstance(new, str)) or max(len(old), len(new)) <= MAX_STRING:
        return 0
    same = len(os.path.commonprefix([old, new]))
    return max(0, same - _CONTEXT)


def platform_of(change: Change, plan: Plan) -> str | None:
    """The change's platform, from the plan's targets or else its desired resource."""
    config = plan.targets.get(change.target)
    return config.platform if config else change.desired.platform if change.desired else None


def _resource_type(change: Change, plan: Plan) -> ResourceType | None:
    platform = platform_of(change, plan)
    if platform is None:
        return None
    try:
        return resource_type(platform, change.type)
    except KeyError:
        return None


def _field_lines(change: Change, plan: Plan, kind: ResourceType | None) -> list[tuple[str, str, str, str]]:
    """(symbol, field path, rendered value, note) for the fields worth showing.

    A changed object shows only its changed leaves, by dotted path, as Terraform does.
    """
    before = change.before or {}
    after = change.after or {}
    refs = change.desired.refs if change.desired else {}
    unknown = {path: address for path, address in refs.items() if address in plan.new_ids}

    def new_value(path: str, value: Any, start: int = 0) -> str:
        """`value` (at `path` in after), showing refs to resources created or replaced here as unknown."""
        if path in unknown:
            return _known_after_apply(unknown[path])
        inside = {p: a for p, a in unknown.items() if p.startswith(path + ".")}
        if not inside:
            return format_value(value, start)
        holder = {path: copy.deepcopy(value)}
        for ref_path, address in inside.items():
            set_path(holder, path + ref_path[len(path) :], _UNKNOWN + address)
        text = format_value(holder[path])
        for address in inside.values():
            text = text.replace(json.dumps(_UNKNOWN + address, ensure_ascii=False), _known_after_apply(address))
        return text

    def leaves(path: str, old: Any, new: Any) -> list[tuple[str, str, str]]:
        if isinstance(old, dict) and isinstance(new, dict):
            keys = sorted(old.keys() | new.keys())
            return [leaf for k in keys for leaf in leaves(f"{path}.{k}", old.get(k, _ABSENT), new.get(k, _ABSENT))]
        if old is _ABSENT:
            return [("+", path, new_value(path, new))]
        if new is _ABSENT:
            return [("-", path, format_value(old))]
        if old == new and path not in unknown:
            return []
        start = _diff_start(old, new)
        return [("~", path, f"{format_value(old, start)} -> {new_value(path, new, start)}")]

    if change.action is Action.CREATE:
        return [("+", f, new_value(f, after[f]), "") for f in sorted(after)]
    if change.action is Action.DELETE:
        return [("-", f, format_value(before[f]), "") for f in sorted(before)]
    lines = []
    for field in change.changed_fields:
        note = FORCES_REPLACEMENT if change.action is Action.REPLACE and kind and kind.requires_replace(field) else ""
        changed = leaves(field, before.get(field, _ABSENT), after.get(field, _ABSENT))
        lines += [(symbol, path, value, note) for symbol, path, value in changed]
    return lines


def _known_after_apply(address: str) -> str:
    return f"(known after apply: {address})"


def _format(line: Line, paint: _Paint) -> str:
    indent = "" if line.header else "    "
    text = paint.bold(line.text) if line.header else line.text
    note = "" if not line.note else f" {line.note if line.header else paint.red(line.note)}"
    return f"{indent}{paint.symbol(line.symbol)} {text}{note}"


class _Paint:
    """ANSI colours, or nothing at all."""

    _CODES = {"+": "32", "-": "31", "~": "33", "->": "36"}

    def __init__(self, color: bool) -> None:
        self.color = color

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def symbol(self, symbol: str) -> str:
        """The symbol right-aligned in three columns, padded outside the colour codes."""
        if symbol == "-/+":
            return f"{self._wrap('31', '-')}/{self._wrap('32', '+')}"
        return " " * (3 - len(symbol)) + self._wrap(self._CODES[symbol], symbol)

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def yellow_bold(self, text: str) -> str:
        return self._wrap("1;33", text)
