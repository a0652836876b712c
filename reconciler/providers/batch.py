"""Many reads of one type, for providers whose platform lists no such objects by the page.

The platform providers read by the page through their list endpoints; these
one-request-per-object fallbacks serve where a platform has no list for a type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from reconciler.providers.base import Provider, Review

# At most this many single reads in flight per call; the target's rate limiter still paces them.
CONCURRENCY = 8


async def read_each(
    provider: Provider, type_: str, recorded: Mapping[str, dict[str, Any]]
) -> dict[str, dict[str, Any] | None]:
    """read() of each id in turn, a few at a time."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(id_: str) -> tuple[str, dict[str, Any] | None]:
        async with gate:
            return id_, await provider.read(type_, id_, recorded[id_])

    return dict(await asyncio.gather(*(one(id_) for id_ in recorded)))


async def review_each(
    provider: Provider, type_: str, recorded: Mapping[str, dict[str, Any]]
) -> dict[str, Review | None]:
    """review() of each id in turn, a few at a time."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(id_: str) -> tuple[str, Review | None]:
        async with gate:
            return id_, await provider.review(type_, id_, recorded[id_])

    return dict(await asyncio.gather(*(one(id_) for id_ in recorded)))
