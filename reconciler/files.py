"""Reading and writing the files a user names on the command line: plan files, `plan --out`,
`apply --events`. (Files a spec names are spec/files.py's: those must stay inside the project.)

Every OSError or decoding error on such a path becomes a ReconcilerError that
names the path and the system's reason, so a bad path is a one-line error,
never a traceback. Writes replace a file all at once: a failed write leaves
neither a temporary file nor a truncated file, and an existing file keeps its
content.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path
from typing import TextIO

from reconciler.errors import ReconcilerError


def path_error(path: Path | str, doing: str, error: OSError) -> ReconcilerError:
    """`path: cannot <doing>: <the system's reason>`."""
    return ReconcilerError(f"{path}: cannot {doing}: {error.strerror or error}")


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of `path`; `what` names the file in errors ("plan file")."""
    try:
        raw = read_regular_file(path)
    except OSError as exc:
        raise path_error(path, f"read the {what}", exc) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ReconcilerError(f"{path}:{line}: the {what} is not UTF-8 text") from None


def read_regular_file(path: Path) -> bytes:
    """A regular file's bytes; a FIFO or device is refused, not read (forever, for some)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO without a writer must not block the open
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as file:
            return file.read()
    finally:
        os.close(fd)


def write_text(path: Path, text: str, what: str) -> None:
    """Make `path` hold `text`, all at once (temporary file, fsync, rename).

    A symlink is written through, not replaced. A device or pipe (/dev/stdout)
    is written directly: it cannot be renamed over, and holds no content to keep.
    """
    try:
        try:
            existing: os.stat_result | None = os.stat(path)
        except FileNotFoundError:
            existing = None
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            with open(path, "w", encoding="utf-8") as file:
                file.write(text)
            return
        _replace(Path(os.path.realpath(path)), text.encode("utf-8"), existing)
    except OSError as exc:
        raise path_error(path, f"write the {what}", exc) from None


def write_new_bytes(path: Path, data: bytes, what: str) -> None:
    """Create `path` holding `data`, all at once; an existing file is never replaced."""
    try:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        _replace(temporary, data, None)
        try:
            os.link(temporary, path)  # fails if `path` exists: never overwrites
        finally:
            os.unlink(temporary)
    except OSError as exc:
        raise path_error(path, f"write the {what}", exc) from None


def _replace(target: Path, data: bytes, existing: os.stat_result | None) -> None:
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    # O_EXCL: never write into a file that is already there; 0o666 less the umask, as open() would.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            if existing is not None:
                os.fchmod(file.fileno(), stat.S_IMODE(existing.st_mode))
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def open_append(path: Path, what: str) -> TextIO:
    """`path` opened to append UTF-8 text, created if missing."""
    try:
        return open(path, "a", encoding="utf-8")  # noqa: SIM115  # the caller closes it
    except OSError as exc:
        raise path_error(path, f"write the {what}", exc) from None
