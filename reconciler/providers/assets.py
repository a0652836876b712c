"""Reading a media upload's bytes at send time, checked against the planned hash."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import stat
from pathlib import Path

from reconciler.model import Operation
from reconciler.providers.base import ErrorClass, ProviderError


async def read_asset(op: Operation) -> bytes:
    """The bytes of op.asset, read in a thread; VALIDATION if missing, unreadable or changed since the plan."""
    if op.asset is None:
        raise ProviderError(ErrorClass.VALIDATION, f"{op.type} {op.name!r} has no asset file to upload")
    try:
        data = await asyncio.to_thread(_read_regular_file, Path(op.asset.path))
    except OSError as exc:
        raise ProviderError(ErrorClass.VALIDATION, f"cannot read asset {op.asset.path}: {exc.strerror}") from None
    if hashlib.sha256(data).hexdigest() != op.asset.sha256:
        raise ProviderError(
            ErrorClass.VALIDATION, f"asset {op.asset.path} changed since the plan was made: run plan again"
        )
    return data


def _read_regular_file(path: Path) -> bytes:
    """The file's bytes; a FIFO, device or directory is refused rather than read (forever, for some)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO with no writer must not block the open
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as file:
            return file.read()
    finally:
        os.close(fd)
