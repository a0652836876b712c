"""The one rule for every file a spec makes reconciler read: spec files, specs/vars.yaml, assets.

A file is used only if, with every symbolic link resolved, it is a regular file inside the
project directory and not under a hidden name (.git holds the checkout's token on CI runners,
.env files hold secrets). Anything else is refused before it is opened, so no file outside the
project is ever read (nor uploaded as an asset, nor quoted in an error), and a FIFO or a device
never blocks the loader. Spec files are also bounded in size.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_SPEC_BYTES = 8 * 1024 * 1024  # the 50k-resource benchmark is about 3 MB in one file
SIZE_LIMIT = f"larger than {MAX_SPEC_BYTES // (1024 * 1024)} MB, the limit for a spec file; split it into several"


class FileRefused(Exception):
    """`path` (as named inside the project) may not be used; `reason` completes "<the file> ..."."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(reason)
        self.path, self.reason = path, reason


def resolve_inside(project_dir: Path, path: Path) -> tuple[Path, int]:
    """`path` with every symbolic link resolved, and its st_mode; FileRefused unless it exists inside `project_dir`.

    `project_dir` must be resolved already.
    """
    real = Path(os.path.realpath(path))  # as far as it resolves: where a broken link points is checked too
    if not real.is_relative_to(project_dir):
        raise FileRefused(path, "resolves outside the project directory; only files inside the project may be used")
    rel = real.relative_to(project_dir)
    hidden = [part for part in rel.parts if part.startswith(".")]
    if hidden:
        raise FileRefused(path, f"resolves into the hidden path `{hidden[0]}`; hidden files are never used")
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        raise FileRefused(path, f"does not exist (looked for {rel.as_posix()})") from None
    except OSError as exc:  # a symlink loop, a permission
        raise FileRefused(path, f"cannot be read ({exc.strerror or exc})") from None
    return real, mode


def regular_file(project_dir: Path, path: Path) -> Path:
    """The resolved path of `path`; FileRefused unless it is a regular file inside the project."""
    real, mode = resolve_inside(project_dir, path)
    if not stat.S_ISREG(mode):
        raise _not_regular(path, mode)
    return real


def read_spec_bytes(project_dir: Path, path: Path) -> bytes:
    """The content of a spec file, refused (FileRefused) unless regular, inside and at most MAX_SPEC_BYTES."""
    real = regular_file(project_dir, path)
    too_large = FileRefused(path, f"is {SIZE_LIMIT}")
    # O_NONBLOCK and the second check on the open file: should it be swapped for a FIFO after
    # the check above, opening does not wait for a writer and nothing is read from it.
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise FileRefused(path, f"cannot be read ({exc.strerror or exc}); check that it is readable") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(path, info.st_mode)
        if info.st_size > MAX_SPEC_BYTES:
            raise too_large
        data = file.read(MAX_SPEC_BYTES + 1)
    if len(data) > MAX_SPEC_BYTES:
        raise too_large
    return data


def find_spec_files(
    project_dir: Path, specs_dir: Path, suffixes: tuple[str, ...]
) -> tuple[list[Path], list[FileRefused]]:
    """Files under `specs_dir` named with one of `suffixes`, in a stable order, and what was refused.

    Hidden entries (editor droppings) are skipped. Symbolic links, to files or directories, are
    followed when they resolve inside the project; each directory is read once, which also ends
    symlink loops.
    """
    found: list[Path] = []
    refused: list[FileRefused] = []
    first_path: dict[Path, Path] = {}  # resolved directory -> the path it was first reached by
    pending = [specs_dir]  # a list, not recursion: nesting depth is the user's
    while pending:
        directory = pending.pop()
        try:
            real, _ = resolve_inside(project_dir, directory)
        except FileRefused as problem:
            refused.append(problem)
            continue
        if real in first_path:
            where = first_path[real].relative_to(project_dir).as_posix()
            refused.append(
                FileRefused(directory, f"is the directory {where} again (a symbolic link loop?); remove the link")
            )
            continue
        first_path[real] = directory
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name, reverse=True)
        except OSError as exc:
            refused.append(FileRefused(directory, f"cannot be listed ({exc.strerror or exc})"))
            continue
        for entry in entries:  # reversed onto the stack: the first directory by name is read first
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if entry.is_dir():  # follows a link; a broken one is not a directory
                pending.append(path)
            elif entry.name.endswith(suffixes):  # reading reports links, FIFOs and devices
                found.append(path)
    found.sort(key=lambda p: p.relative_to(specs_dir).as_posix())
    return found, refused


def _not_regular(path: Path, mode: int) -> FileRefused:
    if stat.S_ISDIR(mode):
        what = "a directory"
    elif stat.S_ISFIFO(mode):
        what = "a FIFO (named pipe)"
    elif stat.S_ISSOCK(mode):
        what = "a socket"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        what = "a device"
    else:
        what = "a special file"
    return FileRefused(path, f"is {what}, not a regular file; only regular files are read")
