"""Reading a media upload's bytes at send time, checked against the planned hash."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from reconciler.files import read_regular_file
from reconciler.model import Operation
from reconciler.providers.base import ErrorClass, ProviderError


async def read_asset(op: Operation) -> bytes:
    """The bytes of op.asset, read in a thread; VALIDATION if missing, unreadable or changed since the plan."""
    if op.asset is None:
        raise ProviderError(ErrorClass.VALIDATION, f"{op.type} {op.name!r} has no asset file to upload")
    try:
        data = await asyncio.to_thread(read_regular_file, Path(op.asset.path))
    except OSError as exc:
        raise ProviderError(ErrorClass.VALIDATION, f"cannot read asset {op.asset.path}: {exc.strerror}") from None
    if hashlib.sha256(data).hexdigest() != op.asset.sha256:
        raise ProviderError(
            ErrorClass.VALIDATION, f"asset {op.asset.path} changed since the plan was made: run plan again"
        )
    return data

