"""What every provider offers the executor, and the errors it raises.

A provider knows one platform's API and nothing else: no YAML, no plan, no
state file. It receives Operations whose attributes already use the
platform's field names, and returns platform ids and attributes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from reconciler.model import Operation


class ErrorClass(enum.StrEnum):
    VALIDATION = "VALIDATION"  # the platform refused the request as sent: fix the spec
    DEPENDENCY = "DEPENDENCY"  # a parent is missing or in the wrong state
    AUTH = "AUTH"  # bad or expired credentials, missing permission
    RATE_LIMIT = "RATE_LIMIT"  # transient: slow down and retry
    NETWORK = "NETWORK"  # transient: connection failure, timeout, 5xx
    CONFLICT = "CONFLICT"  # the object changed or exists already

    @property
    def transient(self) -> bool:
        return self in (ErrorClass.RATE_LIMIT, ErrorClass.NETWORK)


class ProviderError(Exception):
    """A failed platform call. The message never contains a secret."""

    def __init__(
        self,
        error_class: ErrorClass,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.message = message
        self.status = status
        self.retry_after = retry_after  # seconds the platform asked us to wait
        # True when the request may have been carried out although we got no
        # answer (timeout after sending, connection dropped mid-response). A
        # create in this state must be resolved by lookup, never resent blind.
        self.outcome_unknown = outcome_unknown
        # Set once a retry policy has given up on it: an enclosing retry (an executor step around
        # a lookup) must not multiply the attempts.
        self.retries_exhausted = False

    @property
    def transient(self) -> bool:
        return self.error_class.transient

    def __str__(self) -> str:
        return f"{self.error_class.value}: {self.message}"


@dataclass(frozen=True)
class Applied:
    """The result of a create: the platform's id and the attributes as applied."""

    id: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Review:
    """A platform's review verdict on an ad."""

    status: Literal["approved", "pending", "rejected"]
    reason: str = ""


@dataclass(frozen=True)
class Listed:
    """One live object as a list endpoint returned it: its platform id and the platform's own fields."""

    type: str  # our resource type: campaign, adset, advertisement, ...
    id: str
    row: dict[str, Any]


class Provider(Protocol):
    """One platform, one target. Implementations are async and reuse one HTTP client."""

    platform: str

    async def create(self, op: Operation) -> Applied: ...

    async def update(self, op: Operation) -> dict[str, Any]:
        """Apply op.changed_fields to object op.id; returns the attributes as applied."""
        ...

    async def delete(self, op: Operation) -> None:
        """Delete object op.id. An object that is already gone is not an error."""
        ...

    async def read(self, type_: str, id_: str, attributes: dict[str, Any]) -> dict[str, Any] | None:
        """Live attributes of an object in our attribute vocabulary; None if it no longer exists.

        `attributes` are the recorded ones: some platforms need a parent id to
        find an object (a Broadstreet placement is its campaign/ad/zone triple).
        """
        ...

    async def read_many(self, type_: str, recorded: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
        """read() of many objects of one type (id -> recorded attributes), through the list
        endpoints a page at a time: every id gets its live attributes, or None if it is gone."""
        ...

    async def list_all(self, type_: str) -> list[Listed]:
        """Every live (not deleted) object of one type in the target's account, a page at a time."""
        ...

    def attributes_of(self, type_: str, row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
        """A listed row in our attribute vocabulary, shaped like `expected`: what read() returns for it."""
        ...

    async def download(self, url: str) -> bytes:
        """The bytes of an uploaded file at a URL the platform returned (sent without credentials)."""
        ...

    async def find(self, op: Operation) -> str | None:
        """The id of an existing object that op would create (same name within the
        same parent), or None. Resolves creates whose outcome is unknown."""
        ...

    async def review(self, type_: str, id_: str, attributes: dict[str, Any]) -> Review | None:
        """The platform's review verdict on an object; None for types it does not review."""
        ...

    async def review_many(self, type_: str, recorded: Mapping[str, dict[str, Any]]) -> dict[str, Review | None]:
        """review() of many objects of one type (id -> recorded attributes), a page at a time."""
        ...

    async def aclose(self) -> None: ...
