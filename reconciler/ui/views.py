"""What each page shows, as plain data built from the project (the templates only lay it out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from reconciler.history import Run
from reconciler.model import Plan, split_address
from reconciler.plan import build_plan
from reconciler.plan.render.text import (
    Line,
    change_lines,
    changes_by_target,
    spend_row,
    summary_line,
    target_heading,
)
from reconciler.plan.spend import Spend, Totals, format_amount, spend_of
from reconciler.policy.violations import Violation
from reconciler.project import Connect, Project
from reconciler.spec.loader import load_specs
from reconciler.ui.layout import Drawing, layout
from reconciler.warning_groups import WarningGroup, group_warnings

HEALTHS = ("healthy", "warning", "critical")
RECENT_RUNS = 50  # how far back the dashboard looks for each campaign's last apply


@dataclass(frozen=True)
class LastRun:
    run_id: str
    started_at: str
    outcome: str


@dataclass(frozen=True)
class CampaignRow:
    campaign: str
    advertiser: str
    target: str
    platform: str
    health: str
    reviews: dict[str, int]
    notes: tuple[str, ...]  # rejection reasons and what awaits, as `reconciler status` words them
    daily: str  # the daily budget that can spend now, in major units ("" where there is none)
    daily_planned: str  # what the current plan makes it, when it changes it
    last_run: LastRun | None


@dataclass(frozen=True)
class Filters:
    advertiser: str = ""
    target: str = ""
    health: str = ""

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Filters:
        return cls(query.get("advertiser", ""), query.get("target", ""), query.get("health", ""))

    def keep(self, row: CampaignRow) -> bool:
        return (
            (not self.advertiser or row.advertiser == self.advertiser)
            and (not self.target or row.target == self.target)
            and (not self.health or row.health == self.health)
        )


@dataclass
class Dashboard:
    rows: list[CampaignRow]  # those the filters keep
    counts: dict[str, int]  # health -> campaigns (of the filtered rows)
    advertisers: list[str]  # every choice of the filters
    targets: list[str]
    filters: Filters
    last_run: LastRun | None
    error: str = ""  # why the statuses could not be read

    def to_json(self) -> dict[str, Any]:
        return {
            "campaigns": [asdict(r) for r in self.rows],
            "counts": self.counts,
            "filters": asdict(self.filters),
            "last_run": asdict(self.last_run) if self.last_run else None,
        }


def dashboard(project: Project, connect: Connect, filters: Filters) -> Dashboard:
    """Campaigns by target: health, reviews, daily spend and the last apply that touched them."""
    statuses = project.status(connect)
    advertisers = {name: c.advertiser for name, c in load_specs(project.directory, {}).campaigns.items()}
    state = project.store.read()
    compiled = project.compile()
    plan = build_plan(compiled, state, endpoint_of=project.endpoint, refuse_protected=False)  # read, never applied
    daily = _daily(spend_of(plan))
    runs = project.history.runs(RECENT_RUNS)
    rows = []
    for s in statuses:
        now, planned = daily.get((s.campaign, s.target), ("", ""))
        platform = compiled.targets[s.target].platform if s.target in compiled.targets else ""
        rows.append(CampaignRow(s.campaign, advertisers.get(s.campaign, ""), s.target, platform, s.health,
                                s.reviews, s.notes, now, planned, _last_run(runs, s.campaign, s.target)))  # fmt: skip
    kept = [r for r in rows if filters.keep(r)]
    return Dashboard(
        rows=kept,
        counts={h: sum(1 for r in kept if r.health == h) for h in HEALTHS},
        advertisers=sorted({r.advertiser for r in rows if r.advertiser}),
        targets=sorted({r.target for r in rows}),
        filters=filters,
        last_run=_last(runs[0]) if runs else None,
    )


def _daily(spend: Spend) -> dict[tuple[str, str], tuple[str, str]]:
    """(campaign, target) -> (daily budget now, after the plan when it differs), formatted."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for currency in spend.currencies:
        for key, t in spend.per_campaign_and_target(currency).items():
            found[key] = _daily_text(t, currency)
    return found


def _daily_text(t: Totals, currency: str) -> tuple[str, str]:
    now = format_amount(t.daily_before, currency)
    return now, format_amount(t.daily_after, currency) if t.daily_after != t.daily_before else ""


def _last_run(runs: list[Run], campaign: str, target: str) -> LastRun | None:
    """The newest run with an operation on something derived from `campaign` on `target`."""
    for run in runs:  # newest first
        for op in run.operations:
            op_target, _, name = split_address(op.address.partition("#")[0])
            if op_target == target and (name == campaign or name.startswith(campaign + ".")):
                return _last(run)
    return None


def _last(run: Run) -> LastRun:
    return LastRun(run.run_id, run.start.started_at, run.outcome)


@dataclass
class PlanView:
    summary: str
    counts: dict[str, int]
    warnings: list[WarningGroup]  # repeated ones folded, as the terminal and the PR comment show them
    violations: list[Violation]
    spend_totals: list[tuple[str, str, str, str]]  # currency, kind, before, after
    spend_items: list[tuple[str, str, str]]  # campaign, target, what changes
    groups: list[tuple[str, list[list[Line]]]]  # target heading -> each change's lines
    drawing: Drawing
    has_changes: bool
    blocked: bool


def plan_view(plan: Plan, *, changed_only: bool = True) -> PlanView:
    spend = spend_of(plan)
    totals = []
    for currency in spend.currencies:
        t = spend.total(currency)
        totals.append((currency, "daily", format_amount(t.daily_before, currency),
                       format_amount(t.daily_after, currency)))  # fmt: skip
        totals.append((currency, "lifetime", format_amount(t.lifetime_before, currency),
                       format_amount(t.lifetime_after, currency)))  # fmt: skip
    return PlanView(
        summary=summary_line(plan),
        counts=plan.summary,
        warnings=group_warnings(plan.warnings),
        violations=list(plan.violations),
        spend_totals=totals,
        spend_items=[(i.campaign, i.target, spend_row(i)) for i in spend.items],
        groups=[(target_heading(plan, t, cs), [change_lines(c, plan) for c in cs])
                for t, cs in changes_by_target(plan)],  # fmt: skip
        drawing=layout(plan.changes, changed_only=changed_only),
        has_changes=plan.has_changes,
        blocked=bool(plan.blocking_violations),
    )
