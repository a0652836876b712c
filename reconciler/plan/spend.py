"""What a plan does to spend: Plan -> Spend, pure (no HTTP).

Budgets are read from the platform fields compile writes (spec/compile.py), in
each API's own units, and turned into major units of their currency:

- Meta: `daily_budget` / `lifetime_budget` in the currency's minor unit
  (ZERO_DECIMAL_CURRENCIES have none), on the ad set (or a campaign, by override);
- TikTok: `budget` in major units with `budget_mode` BUDGET_MODE_DAY or BUDGET_MODE_TOTAL;
- Snapchat: `daily_budget_micro` / `lifetime_budget_micro` (`lifetime_spend_cap_micro`
  on a campaign), in micros;
- Broadstreet: campaigns carry no budget, but they can spend (deliver).

Totals count the budgets of the objects that can spend on that side of the plan
(not paused, not deleted, under a campaign that is not paused), as the research's
"sum over ACTIVE children" does: pausing a campaign lowers the daily total, and
un-pausing one raises it. Every currency a budget is in gets totals, even when
all of its budgets are paused (then zero). A lifetime budget is lifetime money,
never folded into the daily figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from reconciler.model import Action, Change, Plan, make_address, split_address
from reconciler.spec.compile import ZERO_DECIMAL_CURRENCIES

# The types that spend even without a budget field of their own: they deliver ads.
_SPENDING_TYPES = {
    "meta": "adset",
    "tiktok": "adgroup",
    "snapchat": "adsquad",
    "broadstreet": "campaign",
}
# The field saying whether an object delivers, and the value that lets it.
_STATUS = {
    "meta": ("status", "ACTIVE"),
    "tiktok": ("operation_status", "ENABLE"),
    "snapchat": ("status", "ACTIVE"),
}
UNKNOWN_CURRENCY = "XXX"  # ISO 4217's "no currency": a budget recorded without one (never written by compile)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Totals:
    """Daily and lifetime budgets before and after the plan, in major units of one currency."""

    daily_before: Decimal = ZERO
    daily_after: Decimal = ZERO
    lifetime_before: Decimal = ZERO
    lifetime_after: Decimal = ZERO

    @property
    def daily_increase(self) -> Decimal:
        return self.daily_after - self.daily_before

    @property
    def changed(self) -> bool:
        return self.daily_before != self.daily_after or self.lifetime_before != self.lifetime_after

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.daily_before + other.daily_before,
            self.daily_after + other.daily_after,
            self.lifetime_before + other.lifetime_before,
            self.lifetime_after + other.lifetime_after,
        )


@dataclass(frozen=True)
class Spender:
    """One resource of the plan that carries a budget or can spend, on both sides of the plan.

    Amounts are what the object is configured with (None: no budget of that kind),
    whether or not it can spend; `spends_before`/`spends_after` say whether it can.
    """

    campaign: str  # the spec Campaign it is derived from
    target: str
    address: str
    action: Action
    currency: str | None  # None: Broadstreet, which has no budgets
    daily_before: Decimal | None
    daily_after: Decimal | None
    lifetime_before: Decimal | None
    lifetime_after: Decimal | None
    spends_before: bool
    spends_after: bool

    @property
    def starts_spending(self) -> bool:
        return self.spends_after and not self.spends_before

    @property
    def stops_spending(self) -> bool:
        return self.spends_before and not self.spends_after

    @property
    def changed(self) -> bool:
        """Whether its budget or its ability to spend changes: it is then an item of the plan's spend."""
        return (
            self.daily_before != self.daily_after
            or self.lifetime_before != self.lifetime_after
            or self.spends_before != self.spends_after
        )

    @property
    def totals(self) -> Totals:
        """What it adds to the totals: its budgets on the sides where it can spend."""
        return Totals(
            (self.daily_before or ZERO) if self.spends_before else ZERO,
            (self.daily_after or ZERO) if self.spends_after else ZERO,
            (self.lifetime_before or ZERO) if self.spends_before else ZERO,
            (self.lifetime_after or ZERO) if self.spends_after else ZERO,
        )

    def to_json(self) -> dict[str, Any]:
        currency = self.currency
        return {
            "campaign": self.campaign,
            "target": self.target,
            "address": self.address,
            "currency": self.currency,
            "daily_before": _json_amount(self.daily_before, currency),
            "daily_after": _json_amount(self.daily_after, currency),
            "lifetime_before": _json_amount(self.lifetime_before, currency),
            "lifetime_after": _json_amount(self.lifetime_after, currency),
            "starts_spending": self.starts_spending,
            "stops_spending": self.stops_spending,
        }


@dataclass(frozen=True)
class Spend:
    """Every budget and spender of a plan; what the renderers and the policies read.

    `spenders` holds all of them, changed or not; `items` only those whose budget
    or ability to spend changes. The figures per currency (total, per campaign,
    per target) count only what can spend on each side; a policy that wants a
    budget whatever its status reads `spenders` directly.
    """

    spenders: tuple[Spender, ...]

    @property
    def items(self) -> list[Spender]:
        return [s for s in self.spenders if s.changed]

    @property
    def currencies(self) -> list[str]:
        return sorted({s.currency for s in self.spenders if s.currency is not None})

    def total(self, currency: str) -> Totals:
        return sum((s.totals for s in self.spenders if s.currency == currency), Totals())

    def per_campaign(self, currency: str) -> dict[str, Totals]:
        """Spec campaign name -> its budgets in `currency`, summed over its targets."""
        return self._grouped(currency, lambda s: s.campaign)

    def per_target(self, currency: str) -> dict[str, Totals]:
        """Target name -> the budgets in `currency` on it."""
        return self._grouped(currency, lambda s: s.target)

    def per_campaign_and_target(self, currency: str) -> dict[tuple[str, str], Totals]:
        """(campaign, target) -> the budgets in `currency` of that campaign on that target."""
        return self._grouped(currency, lambda s: (s.campaign, s.target))

    def only(self, keep: Callable[[Spender], bool]) -> Spend:
        """The spend of a part of the plan (a policy's scope, for instance)."""
        return Spend(tuple(s for s in self.spenders if keep(s)))

    @property
    def starting(self) -> list[Spender]:
        return [s for s in self.spenders if s.starts_spending]

    @property
    def stopping(self) -> list[Spender]:
        return [s for s in self.spenders if s.stops_spending]

    def _grouped(self, currency: str, key: Callable[[Spender], Any]) -> dict[Any, Totals]:
        groups: dict[Any, Totals] = {}
        for s in self.spenders:
            if s.currency == currency:
                groups[key(s)] = groups.get(key(s), Totals()) + s.totals
        return groups

    def to_json(self) -> dict[str, Any]:
        """The plan JSON's `spend` (issue 11): decimal strings in major units."""
        currencies = {}
        for currency in self.currencies:
            t = self.total(currency)
            currencies[currency] = {
                "daily_before": _json_amount(t.daily_before, currency),
                "daily_after": _json_amount(t.daily_after, currency),
                "lifetime_before": _json_amount(t.lifetime_before, currency),
                "lifetime_after": _json_amount(t.lifetime_after, currency),
            }
        return {"currencies": currencies, "items": [s.to_json() for s in self.items]}


def spend_of(plan: Plan) -> Spend:
    """The spend of every change of `plan` that carries a budget or can spend."""
    platforms = {name: config.platform for name, config in plan.targets.items()}
    by_address = {c.address: c for c in plan.changes}
    spenders = []
    for change in plan.changes:
        platform = platforms.get(change.target) or (change.desired.platform if change.desired else None)
        if platform is None:
            continue
        spender = _spender(change, platform, by_address)
        if spender is not None:
            spenders.append(spender)
    return Spend(tuple(spenders))


def _spender(change: Change, platform: str, by_address: dict[str, Change]) -> Spender | None:
    before, after = change.before, change.after
    _, _, name = split_address(change.address)
    # The campaign over an ad set / ad group / ad squad pauses it too (same name, by compile's naming);
    # a campaign's budget (an override) is in the currency of the budget under it, which compile records.
    related = None
    if platform != "broadstreet":
        kind = "campaign" if change.type != "campaign" else _SPENDING_TYPES[platform]
        related = by_address.get(make_address(change.target, kind, name))
    currency = None
    if platform != "broadstreet":
        sides = (after, before) + ((related.after, related.before) if related else ())
        currency = next((str(s["currency"]) for s in sides if s and s.get("currency")), UNKNOWN_CURRENCY)
    budgets = [_budget(platform, side, currency) for side in (before, after)]
    if change.type != _SPENDING_TYPES.get(platform) and all(b == (None, None) for b in budgets):
        return None  # neither carries a budget nor delivers by itself (ads, creatives, uploads, ...)
    parent = related if change.type != "campaign" else None
    (daily_before, lifetime_before), (daily_after, lifetime_after) = budgets
    return Spender(
        campaign=name,
        target=change.target,
        address=change.address,
        action=change.action,
        currency=currency,
        daily_before=daily_before,
        daily_after=daily_after,
        lifetime_before=lifetime_before,
        lifetime_after=lifetime_after,
        spends_before=_delivers(platform, before) and (parent is None or _delivers(platform, parent.before)),
        spends_after=_delivers(platform, after) and (parent is None or _delivers(platform, parent.after)),
    )


def _delivers(platform: str, attributes: dict[str, Any] | None) -> bool:
    """Whether an object with these attributes can spend: it exists and is not paused."""
    if attributes is None:
        return False
    if platform == "broadstreet":
        return not attributes.get("paused", False)
    field, active = _STATUS[platform]
    # No status field (an override removed it?): the platform's default is active, so it counts.
    return attributes.get(field, active) == active


def _budget(
    platform: str, attributes: dict[str, Any] | None, currency: str | None
) -> tuple[Decimal | None, Decimal | None]:
    """(daily, lifetime) in major units, from the platform's own fields and units."""
    if not attributes:
        return None, None
    if platform == "meta":
        minor = 1 if currency in ZERO_DECIMAL_CURRENCIES else 100
        return _scaled(attributes.get("daily_budget"), minor), _scaled(attributes.get("lifetime_budget"), minor)
    if platform == "snapchat":
        lifetime = attributes.get("lifetime_budget_micro")
        if lifetime is None:  # a campaign's cap over its whole flight
            lifetime = attributes.get("lifetime_spend_cap_micro")
        return _scaled(attributes.get("daily_budget_micro"), 1_000_000), _scaled(lifetime, 1_000_000)
    if platform == "tiktok":
        mode, amount = attributes.get("budget_mode"), _number(attributes.get("budget"))
        if mode == "BUDGET_MODE_DAY":
            return amount, None
        if mode == "BUDGET_MODE_TOTAL":
            return None, amount
    return None, None  # broadstreet has no budgets; TikTok's BUDGET_MODE_INFINITE has none


def _scaled(value: Any, per_unit: int) -> Decimal | None:
    """An amount in minor units or micros, in major units."""
    number = _number(value)
    return None if number is None else number / per_unit


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None and not isinstance(value, bool) else None
    except InvalidOperation:
        return None


def places(currency: str | None) -> int:
    return 0 if currency in ZERO_DECIMAL_CURRENCIES else 2


def _json_amount(amount: Decimal | None, currency: str | None) -> str | None:
    """A decimal string in major units: the currency's usual places, more only if the budget has them."""
    if amount is None:
        return None
    exponent = amount.normalize().as_tuple().exponent
    digits = max(places(currency), -exponent if isinstance(exponent, int) else 0)
    return f"{amount:.{digits}f}"


def format_amount(amount: Decimal | None, currency: str | None) -> str:
    """An amount for people: thousands separated, with its currency code; "none" when absent."""
    if amount is None:
        return "none"
    text = _json_amount(amount, currency) or ""
    whole, _, fraction = text.partition(".")
    grouped = f"{int(whole):,}" if whole.lstrip("-").isdigit() else whole
    if whole.startswith("-0") and grouped == "0":
        grouped = "-0"
    return f"{grouped}{'.' + fraction if fraction else ''} {currency or ''}".rstrip()


def signed_amount(amount: Decimal, currency: str | None) -> str:
    return ("+" if amount >= 0 else "") + format_amount(amount, currency)
