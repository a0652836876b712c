"""The policy gate: Plan + Spend + now -> the violations of the project's Policy documents.

Pure (no HTTP, no clock of its own): `now` is passed in, so that tests can inject it
(RECONCILER_NOW, read by the project) and a saved plan is judged again at apply time.
Budgets come from plan/spend.py; nothing is recomputed here.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fnmatch import fnmatchcase

from reconciler.errors import ReconcilerError
from reconciler.model import Action, Change, Plan, split_address
from reconciler.plan.spend import Spend, Spender, format_amount, spend_of
from reconciler.policy.document import Policy
from reconciler.policy.violations import Override, Violation

NOW_ENV = "RECONCILER_NOW"  # for tests only: the clock the policy gate reads (ISO 8601)
# The types derived from a Campaign, named CAMPAIGN or CAMPAIGN.CREATIVE[.ZONE] by compile.
_CAMPAIGN_TYPES = frozenset({"campaign", "adset", "adgroup", "adsquad", "ad", "placement"})


def now(environ: Mapping[str, str] = os.environ) -> dt.datetime:
    """The current time, or RECONCILER_NOW's (tests); a time without an offset is UTC."""
    text = environ.get(NOW_ENV)
    if not text:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ReconcilerError(f"{NOW_ENV}={text!r} is not an ISO 8601 time like 2026-11-27T12:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def check_overrides(policies: Sequence[Policy], overrides: Iterable[Override]) -> list[Override]:
    """The overrides, refused when one names no policy or a hard one (which nothing overrides)."""
    by_name = {p.name: p for p in policies}
    checked = []
    for override in overrides:
        policy = by_name.get(override.policy)
        if policy is None:
            known = ", ".join(sorted(by_name)) or "none"
            raise ReconcilerError(
                f"--override-policy {override.policy}: no Policy of that name in the specs (policies: {known})"
            )
        if policy.enforcement == "hard":
            raise ReconcilerError(
                f"--override-policy {override.policy}: policy {override.policy} is hard and cannot be overridden; "
                "change the plan, or the policy itself in a reviewed change"
            )
        if not override.reason.strip():
            raise ReconcilerError(f"--override-policy {override.policy} needs --reason TEXT saying why")
        if all(o.policy != override.policy for o in checked):
            checked.append(override)
    return checked


def evaluate(
    plan: Plan,
    policies: Sequence[Policy],
    campaign_labels: Mapping[str, Mapping[str, str]],
    at: dt.datetime,
    overrides: Sequence[Override] = (),
    spend: Spend | None = None,
) -> list[Violation]:
    """Every rule of every policy that `plan` breaks at time `at`; overridden ones marked so.

    A plan with nothing to do breaks nothing: a policy gates changes, so a budget already over a
    new limit shows up on the next plan that changes something (and a drift check stays green).
    """
    if not plan.has_changes:
        return []
    spend = spend if spend is not None else spend_of(plan)
    reasons = {o.policy: o.reason for o in overrides}
    found: list[Violation] = []
    for policy in policies:
        judge = _Judge(policy, campaign_labels, reasons.get(policy.name))
        scoped = spend.only(judge.covers_spender)
        found += judge.budgets(scoped)
        found += judge.increase(scoped)
        found += judge.freeze(at)
        found += judge.protect(c for c in plan.changes if judge.covers_change(c))
    return found


class _Judge:
    """One policy's rules over the part of the plan in its scope."""

    def __init__(self, policy: Policy, labels: Mapping[str, Mapping[str, str]], overridden: str | None) -> None:
        self.policy = policy
        self.labels = labels
        self.overridden = overridden

    def covers(self, target: str, campaign: str | None) -> bool:
        scope = self.policy.scope
        if scope is None:
            return True
        if scope.targets and target not in scope.targets:
            return False
        if scope.labels:
            # A campaign no longer in the specs has no labels left to match: out of a labelled scope.
            have = self.labels.get(campaign, {}) if campaign is not None else {}
            return all(have.get(key) == value for key, value in scope.labels.items())
        return True

    def covers_spender(self, spender: Spender) -> bool:
        return self.covers(spender.target, spender.campaign)

    def covers_change(self, change: Change) -> bool:
        _, type_, name = split_address(change.address)
        return self.covers(change.target, name.split(".")[0] if type_ in _CAMPAIGN_TYPES else None)

    def violation(self, rule: str, address: str | None, limit: str, value: str, message: str) -> Violation:
        return Violation(
            policy=self.policy.name,
            rule=rule,
            address=address,
            limit=limit,
            value=value,
            enforcement=self.policy.enforcement,
            message=message,
            overridden=self.overridden,
        )

    def budgets(self, spend: Spend) -> list[Violation]:
        rule = self.policy.max_daily_budget
        if rule is None:
            return []
        currency, found = rule.currency, []

        def over(name: str, address: str | None, what: str, after: Decimal, limit: Decimal | None) -> None:
            if limit is not None and after > limit:
                found.append(
                    self.violation(
                        f"max_daily_budget.{name}",
                        address,
                        _amount(limit),
                        _amount(after),
                        f"{what} would spend {format_amount(after, currency)} a day, over the "
                        f"{format_amount(limit, currency)} limit",
                    )
                )

        if rule.per_campaign is not None:
            for campaign, totals in sorted(spend.per_campaign(currency).items()):
                over("per_campaign", f"Campaign/{campaign}", f"campaign {campaign}", totals.daily_after,
                     rule.per_campaign)  # fmt: skip
        if rule.per_target is not None:
            for target, totals in sorted(spend.per_target(currency).items()):
                over("per_target", target, f"target {target}", totals.daily_after, rule.per_target)
        if rule.total is not None and currency in spend.currencies:
            over("total", None, "the plan in total", spend.total(currency).daily_after, rule.total)
        return found

    def increase(self, spend: Spend) -> list[Violation]:
        rule = self.policy.max_daily_increase
        if rule is None or rule.currency not in spend.currencies:
            return []
        currency, totals = rule.currency, spend.total(rule.currency)
        increase, found = totals.daily_increase, []
        change = (
            f"the daily total goes from {format_amount(totals.daily_before, currency)} to "
            f"{format_amount(totals.daily_after, currency)}"
        )
        if rule.amount is not None and increase > rule.amount:
            found.append(
                self.violation(
                    "max_daily_increase.amount",
                    None,
                    _amount(rule.amount),
                    _amount(increase),
                    f"{change}: +{format_amount(increase, currency)}, over the "
                    f"+{format_amount(rule.amount, currency)} limit",
                )
            )
        # From nothing, any increase is infinitely many percent: only `amount` can judge a start from zero.
        if rule.percent is not None and totals.daily_before > 0:
            percent = increase * 100 / totals.daily_before
            if percent > rule.percent:
                found.append(
                    self.violation(
                        "max_daily_increase.percent",
                        None,
                        f"{_amount(rule.percent)}%",
                        f"{_amount(percent.quantize(Decimal('0.01')))}%",
                        f"{change}: +{_amount(percent.quantize(Decimal('0.01')))}%, over the "
                        f"+{_amount(rule.percent)}% limit",
                    )
                )
        return found

    def freeze(self, at: dt.datetime) -> list[Violation]:
        found = []
        for window in self.policy.freeze:
            if window.contains(at):
                span = f"{window.from_:%Y-%m-%dT%H:%M} to {window.to:%Y-%m-%dT%H:%M} {window.timezone}"
                local = at.astimezone(window.start().tzinfo)
                why = f" ({window.reason})" if window.reason else ""
                found.append(
                    self.violation(
                        "freeze",
                        None,
                        span,
                        local.isoformat(timespec="minutes"),
                        f"changes are frozen from {span}{why}; it is now {local:%Y-%m-%dT%H:%M} there",
                    )
                )
        return found

    def protect(self, changes: Iterable[Change]) -> list[Violation]:
        found = []
        if not self.policy.protect:
            return found
        for change in changes:
            # A pause-delete (delete_mode pause) is still a delete of the object from reconciler's view.
            if change.action not in (Action.DELETE, Action.REPLACE):
                continue
            pattern = next((p for p in self.policy.protect if fnmatchcase(change.address, p)), None)
            if pattern is not None:
                verb = "deleted" if change.action is Action.DELETE else "replaced"
                found.append(
                    self.violation(
                        "protect",
                        change.address,
                        pattern,
                        change.action.value,
                        f"{change.address} is protected ({pattern}) and would be {verb}",
                    )
                )
        return found


def _amount(value: Decimal) -> str:
    text = f"{value:f}"
    whole, _, fraction = text.partition(".")
    return f"{whole}.{(fraction + '00')[: max(2, len(fraction.rstrip('0')))]}"


def gate(
    plan: Plan,
    policies: Sequence[Policy],
    campaign_labels: Mapping[str, Mapping[str, str]],
    overrides: Sequence[Override] = (),
    at: dt.datetime | None = None,
) -> Plan:
    """`plan` with its violations and the (checked) overrides of this run set; returns it."""
    plan.overrides = check_overrides(policies, overrides)
    plan.violations = evaluate(plan, policies, campaign_labels, at or now(), plan.overrides)
    return plan


class PolicyRefused(ReconcilerError):
    """Apply refused a plan that breaks a policy; nothing was sent."""


def refuse_violations(plan: Plan, source: str = "the plan") -> None:
    """Raise PolicyRefused when `plan` has a violation no override sets aside."""
    blocking = plan.blocking_violations
    if not blocking:
        return
    lines = "; ".join(f"[{v.enforcement}] {v.policy} {v.rule}: {v.message}" for v in blocking)
    soft = sorted({v.policy for v in blocking if v.enforcement == "soft"})
    hint = (
        " A soft policy can be overridden for one run: --override-policy "
        + " --override-policy ".join(soft)
        + ' --reason "why".'
        if soft
        else ""
    )
    raise PolicyRefused(
        f"{source} breaks {len(blocking)} policy rule{'s' * (len(blocking) != 1)}, so nothing was sent: {lines}.{hint}"
    )


def frozen(
    policies: Sequence[Policy],
    campaign_labels: Mapping[str, Mapping[str, str]],
    campaign: str,
    target: str,
    overrides: Sequence[Override] = (),
    at: dt.datetime | None = None,
) -> list[Violation]:
    """The freeze windows (not overridden) that `campaign` on `target` is in now.

    For what an apply does beyond its plan: going live (reconciler/golive) starts spending too,
    so a freeze holds it even when the plan itself has nothing to do.
    """
    at = at or now()
    reasons = {o.policy: o.reason for o in overrides}
    found = []
    for policy in policies:
        judge = _Judge(policy, campaign_labels, reasons.get(policy.name))
        if judge.covers(target, campaign):
            found += [v for v in judge.freeze(at) if v.blocking]
    return found
