"""What every emulated platform shares: the store, auth, faults, stats, review rules.

Kept apart from app.py so that platform modules can import it without a cycle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute

from reconciler.sandbox.faults import ErrorResponses, Faults, FaultSettings, Stats
from reconciler.sandbox.store import Store

REVIEW_STATUSES = ("approved", "pending", "rejected")


@dataclass(frozen=True)
class Platform:
    """One emulated API: its name, where it is mounted, its routes and error style."""

    name: str
    prefix: str  # e.g. "/broadstreet/api/1": replaces the real API root
    routes: Callable[[Sandbox], list[BaseRoute]]
    errors: ErrorResponses
    # Where `routes` are mounted, when the platform serves more than its API root
    # (Snapchat's OAuth endpoint sits beside /v1): a prefix of `prefix`. Default: `prefix`.
    mount: str | None = None
    # Makes (or changes) the ad account `id` with a time zone and currency, for
    # POST /__sandbox__/accounts; returns the account as its API shows it. None: no such accounts.
    provision_account: Callable[[Store, AccountSettings], dict[str, Any]] | None = None

    @property
    def mount_path(self) -> str:
        return self.mount or self.prefix


@dataclass(frozen=True)
class AccountSettings:
    """An emulated ad account, as POST /__sandbox__/accounts provisions it."""

    id: str
    timezone: str  # an IANA name, as the platforms report it
    currency: str  # ISO 4217


class Auth:
    """Which access tokens each platform accepts; any non-empty one until restricted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._valid: dict[str, frozenset[str]] = {}
            self._expired: set[str] = set()
            self._issued: dict[str, set[str]] = {}

    def configure(
        self, platform: str, valid_tokens: list[str] | None, expire_access_tokens: bool | None = None
    ) -> None:
        """Restrict the platform to `valid_tokens` (None: any non-empty token again)."""
        with self._lock:
            if valid_tokens is None:
                self._valid.pop(platform, None)
            else:
                self._valid[platform] = frozenset(valid_tokens)
            if expire_access_tokens is not None:
                if expire_access_tokens:
                    self._expired.add(platform)
                    self._issued.pop(platform, None)  # issued tokens expire; new ones work again
                else:
                    self._expired.discard(platform)

    def accepts(self, platform: str, token: str | None) -> bool:
        with self._lock:
            if not token:
                return False
            valid = self._valid.get(platform)
            return valid is None or token in valid

    def access_tokens_expired(self, platform: str) -> bool:
        """Set by `expire_access_tokens`: OAuth platforms must then answer as for an expired token."""
        with self._lock:
            return platform in self._expired

    def issue(self, platform: str, token: str) -> None:
        """Remember an access token that the platform's own OAuth endpoint handed out."""
        with self._lock:
            self._issued.setdefault(platform, set()).add(token)

    def issued(self, platform: str, token: str | None) -> bool:
        """Whether `token` was issued and not expired since (`expire_access_tokens` expires all so far)."""
        with self._lock:
            return bool(token) and token in self._issued.get(platform, ())


@dataclass(frozen=True)
class ReviewRule:
    name_contains: str
    status: str  # one of REVIEW_STATUSES
    reason: str | None = None
    # The platform's own status to show instead (Meta: an Ad.EffectiveStatus such as PREAPPROVED, WITH_ISSUES).
    platform_status: str | None = None


class Reviews:
    """Review outcomes for ads on the social platforms, matched by name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[ReviewRule] = []

    def add(self, rule: ReviewRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def rules(self) -> list[ReviewRule]:
        with self._lock:
            return list(self._rules)

    def outcome(self, ad_name: str) -> ReviewRule:
        """The latest rule matching the name; approved when none does."""
        with self._lock:
            for rule in reversed(self._rules):
                if rule.name_contains in ad_name:
                    return rule
        return ReviewRule("", "approved")

    def reset(self) -> None:
        with self._lock:
            self._rules.clear()


class Sandbox:
    """The shared runtime state of one sandbox app."""

    def __init__(self, data_file: Path | None, settings: FaultSettings, seed: int | None) -> None:
        self.store = Store(data_file)
        self.auth = Auth()
        self.faults = Faults(settings, seed)
        self.stats = Stats()
        self.reviews = Reviews()

    def reset(self) -> None:
        """Back to a fresh sandbox with the settings it was started with."""
        self.store.reset()
        self.auth.reset()
        self.faults.reset()
        self.stats.reset()
        self.reviews.reset()
