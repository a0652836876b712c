"""The `kind: Policy` document. Every field but `name` is optional.

Standalone (no import of reconciler.spec) because spec/models.py registers it in KIND_MODELS.
The docstring under each field is its description in the JSON Schema (reconciler/spec/schema.py).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reconciler.timezones import check_time_zone

_NAME = r"^[a-z0-9][a-z0-9._-]*$"
_CURRENCY = r"^[A-Z]{3}$"
Amount = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, populate_by_name=True)


class MaxDailyBudget(_Model):
    """Ceilings on the daily budgets that can spend after the plan, in `currency` (major units)."""

    per_campaign: Amount | None = None
    """Most one campaign may spend a day, all its targets together."""
    per_target: Amount | None = None
    """Most one target may spend a day, all its campaigns together."""
    total: Amount | None = None
    """Most the whole plan may spend a day."""
    # Required: budgets are compared only with limits in their own currency (no conversion).
    currency: Annotated[str, Field(pattern=_CURRENCY)]
    """ISO 4217 code of the limits; only budgets in this currency are counted."""

    @model_validator(mode="after")
    def _some_limit(self) -> MaxDailyBudget:
        if self.per_campaign is None and self.per_target is None and self.total is None:
            raise ValueError("give at least one of `per_campaign`, `per_target` or `total`")
        return self


class MaxDailyIncrease(_Model):
    """How much this plan may raise the daily total (after vs before), in `currency` or in percent."""

    amount: Amount | None = None
    """Most the daily total may rise, in major units of `currency`."""
    percent: Annotated[Decimal, Field(gt=0, max_digits=8, decimal_places=2)] | None = None
    """Most the daily total may rise, in percent of what it was (not judged from a total of 0)."""
    currency: Annotated[str, Field(pattern=_CURRENCY)]
    """ISO 4217 code; only budgets in this currency are counted."""

    @model_validator(mode="after")
    def _some_limit(self) -> MaxDailyIncrease:
        if self.amount is None and self.percent is None:
            raise ValueError("give `amount`, `percent` or both")
        return self


class FreezeWindow(_Model):
    """While it lasts (from and to inclusive, in `timezone`), no apply."""

    from_: Annotated[dt.datetime, Field(alias="from")]
    """First minute of the freeze, local time without an offset (2026-11-26T00:00)."""
    to: dt.datetime
    """Last minute of the freeze, inclusive, local time without an offset (2026-11-30T23:59)."""
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"
    """The IANA time zone of from and to."""
    reason: Annotated[str, Field(max_length=500)] = ""
    """Why, shown with the violation."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_time_zone(value)

    @field_validator("from_", "to")
    @classmethod
    def _local_time(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is not None:
            raise ValueError("write the local time without an offset (like 2026-11-26T00:00); set `timezone`")
        return value

    @model_validator(mode="after")
    def _order(self) -> FreezeWindow:
        if self.to < self.from_:
            raise ValueError(f"`to` ({self.to}) is before `from` ({self.from_})")
        return self

    def start(self) -> dt.datetime:
        return self.from_.replace(tzinfo=zoneinfo.ZoneInfo(self.timezone))

    def end(self) -> dt.datetime:
        # "to: ...T23:59" means the whole minute: the window ends at the start of the next one.
        end = self.to.replace(tzinfo=zoneinfo.ZoneInfo(self.timezone))
        return end + (dt.timedelta(minutes=1) if end.second == 0 and end.microsecond == 0 else dt.timedelta())

    def contains(self, now: dt.datetime) -> bool:
        return self.start() <= now < self.end()


class Scope(_Model):
    """What the rules apply to: objects on these targets, derived from campaigns with these labels."""

    targets: list[Annotated[str, Field(pattern=_NAME)]] = []
    """Only objects on these Targets (by name); default: every target."""
    labels: dict[str, str] = {}
    """Only objects derived from Campaigns carrying all these labels; default: any."""


class Policy(_Model):
    kind: Annotated[Literal["Policy"], Field(description="What this document declares: Policy.")]
    name: Annotated[str, Field(pattern=_NAME, max_length=128)]
    """The policy's name, unique among policies; --override-policy NAME names it."""
    labels: dict[str, str] = {}
    """Free-form key/value metadata."""
    description: Annotated[str, Field(max_length=2000)] = ""
    """What the policy is for, for people (not shown in plans)."""
    enforcement: Literal["hard", "soft"] = "hard"
    """hard: nothing overrides it; soft: --override-policy NAME --reason TEXT sets it aside for one run."""
    max_daily_budget: MaxDailyBudget | None = None
    """Ceilings on daily budgets after the plan."""
    max_daily_increase: MaxDailyIncrease | None = None
    """How much one plan may raise the daily total."""
    freeze: list[FreezeWindow] = []
    """Windows during which no plan with changes may be applied."""
    protect: list[Annotated[str, Field(min_length=1, max_length=300)]] = []
    """Address patterns (globs: bs-main:campaign/*) that no plan may delete, pause as a delete, or replace."""
    scope: Scope | None = None
    """What the budget and protect rules look at; default: everything."""
