"""The `kind: Policy` document. Every field but `name` is optional.

Standalone (no import of reconciler.spec) because spec/models.py registers it in KIND_MODELS.
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
    per_target: Amount | None = None
    total: Amount | None = None
    # Required: budgets are compared only with limits in their own currency (no conversion).
    currency: Annotated[str, Field(pattern=_CURRENCY)]

    @model_validator(mode="after")
    def _some_limit(self) -> MaxDailyBudget:
        if self.per_campaign is None and self.per_target is None and self.total is None:
            raise ValueError("give at least one of `per_campaign`, `per_target` or `total`")
        return self


class MaxDailyIncrease(_Model):
    """How much this plan may raise the daily total (after vs before), in `currency` or in percent."""

    amount: Amount | None = None
    percent: Annotated[Decimal, Field(gt=0, max_digits=8, decimal_places=2)] | None = None
    currency: Annotated[str, Field(pattern=_CURRENCY)]

    @model_validator(mode="after")
    def _some_limit(self) -> MaxDailyIncrease:
        if self.amount is None and self.percent is None:
            raise ValueError("give `amount`, `percent` or both")
        return self


class FreezeWindow(_Model):
    """While it lasts (from and to inclusive, in `timezone`), no apply."""

    from_: Annotated[dt.datetime, Field(alias="from")]
    to: dt.datetime
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"
    reason: Annotated[str, Field(max_length=500)] = ""

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
    labels: dict[str, str] = {}


class Policy(_Model):
    kind: Literal["Policy"]
    name: Annotated[str, Field(pattern=_NAME, max_length=128)]
    labels: dict[str, str] = {}
    description: Annotated[str, Field(max_length=2000)] = ""
    enforcement: Literal["hard", "soft"] = "hard"
    max_daily_budget: MaxDailyBudget | None = None
    max_daily_increase: MaxDailyIncrease | None = None
    freeze: list[FreezeWindow] = []
    protect: list[Annotated[str, Field(min_length=1, max_length=300)]] = []
    scope: Scope | None = None
