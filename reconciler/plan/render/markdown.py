"""The plan as a GitHub pull-request comment (templates/plan.md.j2).

The template only lays things out: every value reaches it already formatted,
and anything from the specs is escaped here, since autoescape is off.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import jinja2

from reconciler.model import Action, Change, Plan
from reconciler.plan.lifecycle import spending_removals
from reconciler.plan.render.text import (
    NO_CHANGES,
    Line,
    change_lines,
    changes_by_target,
    platform_of,
    summary_line,
    target_heading,
)
from reconciler.spec.compile import ZERO_DECIMAL_CURRENCIES

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

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def render_markdown(plan: Plan, details_limit: int | None = None) -> str:
    """The PR comment. With `details_limit`, per-target diffs stop before the text exceeds it."""
    sections = [
        _Section(target_heading(plan, target, changes), _diff(plan, changes))
        for target, changes in changes_by_target(plan)
    ]
    context = {
        "has_changes": plan.has_changes,
        "no_changes": NO_CHANGES,
        "summary_line": summary_line(plan),
        "summary": [(_ACTION_LABELS[Action(a)], n) for a, n in plan.summary.items()],
        "budgets": _budget_rows(plan),
        "warnings": plan.warnings,
        "spending_banner": _spending_banner(plan),
    }
    template = _ENV.get_template("plan.md.j2")
    shown = len(sections)
    text = template.render(context, sections=sections, omitted=0)
    while details_limit is not None and shown > 0 and len(text) > details_limit:
        shown -= 1
        text = template.render(context, sections=sections[:shown], omitted=len(sections) - shown)
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
        """A code fence longer than any run of backticks in the diff, so values cannot close it."""
        longest = max((len(run) for run in re.findall(r"`+", self.diff)), default=0)
        return "`" * max(3, longest + 1)


def _diff(plan: Plan, changes: list[Change]) -> str:
    blocks = ["\n".join(_diff_line(line) for line in change_lines(change, plan)) for change in changes]
    return "\n\n".join(blocks)


def _diff_line(line: Line) -> str:
    indent = "" if line.header else "    "
    note = f" {line.note}" if line.note else ""
    return f"{_DIFF_PREFIX[line.symbol]} {indent}{line.text}{note}"


def _budget_rows(plan: Plan) -> list[dict[str, str]]:
    """Daily budget per currency in major units, over every change (unchanged ones too, so that
    Before and After are the whole daily spend this plan sees); empty when no budget moves."""
    totals: dict[str, list[Decimal]] = {}
    for change in plan.changes:
        platform = platform_of(change, plan)
        config = plan.targets.get(change.target)
        settings = config.settings if config else {}
        for side, attributes in enumerate((change.before, change.after)):
            if not attributes:
                continue
            currency = str(attributes.get("currency") or settings.get("currency", "USD"))
            amount = _daily_budget(platform, attributes, currency)
            if amount is not None:
                totals.setdefault(currency, [Decimal(0), Decimal(0)])[side] += amount
    if all(before == after for before, after in totals.values()):
        return []
    rows = []
    for currency, (before, after) in sorted(totals.items()):
        places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
        rows.append(
            {
                "currency": currency,
                "before": f"{before:,.{places}f}",
                "after": f"{after:,.{places}f}",
                "delta": f"{after - before:+,.{places}f}",
            }
        )
    return rows


def _daily_budget(platform: str | None, attributes: dict[str, Any], currency: str) -> Decimal | None:
    """A resource's daily budget in major units, from the platform's own fields and units."""
    if platform == "meta":
        minor = _number(attributes.get("daily_budget"))
        if minor is None:
            return None
        return minor if currency in ZERO_DECIMAL_CURRENCIES else minor / 100
    if platform == "snapchat":
        micros = _number(attributes.get("daily_budget_micro"))
        return None if micros is None else micros / 1_000_000
    if platform == "tiktok" and attributes.get("budget_mode") == "BUDGET_MODE_DAY":
        return _number(attributes.get("budget"))
    return None  # broadstreet has no budgets


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None and not isinstance(value, bool) else None
    except InvalidOperation:
        return None
