"""What the policy gate found, and what a run overrode: plain data, kept in the plan file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Violation:
    """One rule of one policy that the plan breaks.

    `address`: a resource address (protect), `Campaign/NAME` (per_campaign), a target name
    (per_target), or None for a plan-wide figure (total, increase, freeze).
    `limit` and `value` are text: amounts as decimal strings in major units, a window, a glob.
    `overridden`: the reason given with `--override-policy` for this (soft) policy, else None;
    an overridden violation is shown but does not block.
    """

    policy: str
    rule: str
    address: str | None
    limit: str
    value: str
    enforcement: str
    message: str
    overridden: str | None = None

    @property
    def blocking(self) -> bool:
        return self.overridden is None

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "rule": self.rule,
            "address": self.address,
            "limit": self.limit,
            "value": self.value,
            "enforcement": self.enforcement,
            "message": self.message,
            "overridden": self.overridden is not None,
        }


@dataclass(frozen=True)
class Override:
    """`--override-policy NAME --reason TEXT`: a soft policy set aside for one run, and why."""

    policy: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"policy": self.policy, "reason": self.reason}
