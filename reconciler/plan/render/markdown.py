"""The plan as a GitHub pull-request comment (templates/plan.md.j2).

The template only lays things out: every value reaches it already formatted,
and anything from the specs is escaped here, since autoescape is off.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jinja2

from reconciler.model import Action, Change, Plan
from reconciler.plan.digest import plan_digest
from reconciler.plan.lifecycle import spending_removals
from reconciler.plan.render.text import (
    NO_CHANGES,
    Line,
    change_counts,
    change_lines,
    changes_by_target,
    count_columns,
    summary_line,
    target_heading,
)
from reconciler.plan.spend import Spender, format_amount, signed_amount, spend_of
from reconciler.warning_groups import group_warnings

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("reconciler", "templates"),
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)

# GitHub colours diff lines by their first character: + green, - red, ! orange.
# A replace keeps "-/+" (red), as Atlantis shows Terraform plans.
_DIFF_PREFIX = {"+": "+", "-": "-", "~": "!", "-/+": "-/+", "->": "!"}
_ACTION_LABELS = {
    Action.CREATE: "create",
    Action.UPDATE: "update",
    Action.REPLACE: "replace",
    Action.DELETE: "delete",
    Action.NOOP: "unchanged",
}

STARTING_LISTED = 10  # campaigns named in the "Starts spending" line; the rest are counted
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def render_markdown(plan: Plan, details_limit: int | None = None) -> str:
    """The PR comment. With `details_limit`, what does not fit goes, least needed first.

    First the per-target diffs, from the last target, then the per-campaign spend rows:
    the counts per target and type, the spend totals and the warnings always stay.
    """
    sections = [
        _Section(target_heading(plan, target, changes), _diff(plan, changes))
        for target, changes in changes_by_target(plan)
    ]
    columns = count_columns(plan)
    context = {
        "has_changes": plan.has_changes,
        "no_changes": NO_CHANGES,
        "summary_line": summary_line(plan),
        "digest": plan_digest(plan),
        "summary": [(_ACTION_LABELS[Action(a)], n) for a, n in plan.summary.items()],
        "count_columns": columns,
        "counts": [
            {"target": target, "type": type_ or "all types", "counts": [counts[c] for c in columns]}
            for target, type_, counts in change_counts(plan)
        ],
        **_spend_context(plan),
        "spend_rows_omitted": 0,
        "warnings": group_warnings(plan.warnings),
        "spending_banner": _spending_banner(plan),
        **_policy_context(plan),
    }
    template = _ENV.get_template("plan.md.j2")
    shown = len(sections)
    text = template.render(context, sections=sections, omitted=0)
    while details_limit is not None and shown > 0 and len(text) > details_limit:
        shown -= 1
        text = template.render(context, sections=sections[:shown], omitted=len(sections) - shown)
    if details_limit is not None and len(text) > details_limit and context["spend_rows"]:
        context.update(spend_rows=[], spend_rows_omitted=len(context["spend_rows"]))
        text = template.render(context, sections=[], omitted=len(sections))
    return text


def _spending_banner(plan: Plan) -> str:
    """One line when the plan deletes, pauses or replaces objects that can spend; "" otherwise."""
    removals = spending_removals(plan)
    if not removals:
        return ""
    verbs = {"delete": "deletes", "pause": "pauses", "replace": "replaces"}
    parts = [f"{verbs[kind]} {len(addresses)}" for kind, addresses in removals.items()]
    said = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    shown = [a for addresses in removals.values() for a in addresses]
    listed = ", ".join(f"`{a}`" for a in shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
    noun = "object that can" if len(shown) == 1 else "objects that can"
    kept = (
        " Paused ones left the specs and stay on the platform, paused, with their reporting."
        if "pause" in removals
        else ""
    )
    return f"This plan {said} {noun} spend: {listed}.{kept} Review before approving."


def escape_markdown(text: str) -> str:
    """`text` shown literally in GitHub markdown, table cells included."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


_ENV.filters["md"] = escape_markdown


@dataclass(frozen=True)
class _Section:
    heading: str
    diff: str

    @property
    def fence(self) -> str:
        return code_fence(self.diff)


def code_fence(text: str) -> str:
    """A code fence longer than any run of backticks in `text`, so its content cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _diff(plan: Plan, changes: list[Change]) -> str:
    blocks = ["\n".join(_diff_line(line) for line in change_lines(change, plan)) for change in changes]
    return "\n\n".join(blocks)


def _diff_line(line: Line) -> str:
    indent = "" if line.header else "    "
    note = f" {line.note}" if line.note else ""
    return f"{_DIFF_PREFIX[line.symbol]} {indent}{line.text}{note}"


def _spend_context(plan: Plan) -> dict[str, Any]:
    """The Spend table rows: totals per currency and one row per changed budget or spender.

    Nothing when no budget or delivery changes: the comment stays short for such plans.
    """
    spend = spend_of(plan)
    items = spend.items
    if not items:
        return {"spend_totals": [], "spend_rows": [], "starts_spending": ""}
    totals = []
    for currency in spend.currencies:
        t = spend.total(currency)
        totals.append(
            {
                "currency": currency,
                "daily": _before_after(t.daily_before, t.daily_after, currency),
                "daily_change": signed_amount(t.daily_increase, currency) if t.daily_increase else "–",
                "lifetime": _before_after(t.lifetime_before, t.lifetime_after, currency),
            }
        )
    rows = []
    order: dict[str, int] = {}
    for item in items:
        order.setdefault(item.campaign, len(order))
    # Per campaign, in the order campaigns first appear in the plan; targets in plan order within one.
    for item in sorted(items, key=lambda i: order[i.campaign]):
        rows.append(
            {
                "campaign": item.campaign,
                "target": item.target,
                "daily": _item_amounts(item.daily_before, item.daily_after, item.currency),
                "lifetime": _item_amounts(item.lifetime_before, item.lifetime_after, item.currency),
                "spending": _spending(item),
            }
        )
    starting: dict[str, list[str]] = {}
    for spender in spend.starting:
        starting.setdefault(spender.campaign, []).append(spender.target)
    listed = [f"{campaign} on {', '.join(targets)}" for campaign, targets in starting.items()]
    more = len(listed) - STARTING_LISTED
    warning = "; ".join(listed[:STARTING_LISTED]) + (f"; and {more} more campaigns" if more > 0 else "")
    return {"spend_totals": totals, "spend_rows": rows, "starts_spending": warning}


def _policy_context(plan: Plan) -> dict[str, Any]:
    """The violations table and the overrides, shown first in the comment."""
    rows = [
        {
            "policy": v.policy,
            "rule": v.rule,
            "address": v.address or "(whole plan)",
            "limit": v.limit,
            "value": v.value,
            "enforcement": v.enforcement,
            "status": "overridden" if v.overridden is not None else "❌ blocks apply",
            "message": v.message,
        }
        for v in plan.violations
    ]
    return {
        "violations": rows,
        "blocking": len(plan.blocking_violations),
        "overrides": [{"policy": o.policy, "reason": o.reason} for o in plan.overrides],
    }


def _spending(item: Spender) -> str:
    if item.starts_spending:
        return "▶️ starts"
    if item.stops_spending:
        return "⏹️ stops"
    if item.action is not Action.DELETE and not item.spends_after:
        return "⏸️ paused"
    return ""


def _before_after(before: Decimal, after: Decimal, currency: str | None) -> str:
    if before == after:
        return format_amount(after, currency)
    return f"{format_amount(before, currency)} → {format_amount(after, currency)}"


def _item_amounts(before: Decimal | None, after: Decimal | None, currency: str | None) -> str:
    if before is None and after is None:
        return "–"
    if before is None or after is None:
        return f"{format_amount(before, currency)} → {format_amount(after, currency)}"
    return _before_after(before, after, currency)
