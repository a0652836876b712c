"""Every path the command line takes, given a bad one: exit 1, one line `Error: ...`, nothing half-written.

The path options and arguments are found by walking `reconciler.cli.cli`, so a
new one is swept as soon as it exists (its command then needs an INVOCATIONS
entry saying how to run it). Tests run as root, whom permissions do not stop:
the bad paths are ones that fail for root too.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from reconciler.cli import cli

# Groups whose paths their own tests sweep; add a name here only with such a test.
EXCLUDED = {("github",)}

# How each command that takes a path is run, the path aside. () is the root group (-C).
INVOCATIONS: dict[tuple[str, ...], list[str]] = {
    (): ["plan"],
    ("validate",): ["validate"],
    ("plan",): ["plan"],
    ("apply",): ["apply", "--sandbox", "--auto-approve"],
    ("graph",): ["graph"],
    ("show",): ["show"],
    ("status",): ["status", "--sandbox"],
    ("state", "list"): ["state", "list"],
    ("state", "show"): ["state", "show", "bs-main:campaign/summer"],
    ("state", "rm"): ["state", "rm", "bs-main:campaign/summer"],
    ("state", "mv"): ["state", "mv", "bs-main:campaign/summer", "bs-main:campaign/autumn"],
    ("state", "push"): ["state", "push"],
    ("state", "pull"): ["state", "pull"],
    ("state", "unlock"): ["state", "unlock"],
    ("workspaces",): ["workspaces"],
    ("history",): ["history"],
    ("history", "show"): ["history", "show", "20260601T120000Z-4f2a1b"],
    ("state", "import"): ["state", "import", "--sandbox", "bs-main:campaign/summer", "100000"],
    ("import",): ["import", "--sandbox"],
    ("sandbox", "serve"): ["sandbox", "serve", "--port", "0"],
    ("ui",): ["ui", "--port", "0"],
}

# (command, parameter, case) the code does not handle yet, with why; reported in the PR, not run.
KNOWN_GAPS: dict[tuple[tuple[str, ...], str, str], str] = {}


@dataclass(frozen=True)
class PathParam:
    command: tuple[str, ...]
    param: click.Parameter

    @property
    def kind(self) -> str:
        """directory, read (must exist) or write."""
        kind = self.param.type
        assert isinstance(kind, click.Path)
        return "directory" if not kind.file_okay else "read" if kind.exists else "write"

    def args(self, project: Path, path: Path) -> list[str]:
        run = INVOCATIONS[self.command]
        if not self.command:
            return [*self.param.opts[:1], str(path), *run]
        given = [str(path)] if isinstance(self.param, click.Argument) else [self.param.opts[0], str(path)]
        return ["-C", str(project), *run, *given]


def path_params(command: click.Command, where: tuple[str, ...] = ()) -> Iterator[PathParam]:
    for param in command.params:
        metavar = param.metavar or ""
        if isinstance(param.type, click.Path):
            yield PathParam(where, param)
        elif "FILE" in metavar or "DIR" in metavar:
            raise AssertionError(f"{' '.join(where)} {param.name}: a path; declare it type=click.Path(...)")
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            if (*where, name) not in EXCLUDED:
                yield from path_params(sub, (*where, name))


def _missing_parent(base: Path) -> Path:
    return base / "missing" / "out.json"


def _under_a_file(base: Path) -> Path:
    return base / "a-file" / "out.json"


def _not_utf8(base: Path) -> Path:
    path = base / "latin1.json"
    path.write_bytes('{"name": "café"}'.encode("latin-1"))
    return path


def _fifo(base: Path) -> Path:
    path = base / "pipe.json"
    os.mkfifo(path)  # no writer: a plain read would block forever
    return path


def _full_disk(base: Path) -> Path:
    # A symlink: code that wrongly renames over the path replaces the link, never /dev/full itself.
    link = base / "full"
    link.symlink_to("/dev/full")
    return link


BAD_PATHS: dict[str, dict[str, Callable[[Path], Path]]] = {
    "write": {
        "missing parent": _missing_parent,
        "a directory": lambda base: base,
        "under a file": _under_a_file,
        "no new file allowed": lambda base: Path("/proc/version"),  # /proc takes no temporary file
        "full disk": _full_disk,
    },
    "read": {
        "missing": _missing_parent,
        "a directory": lambda base: base,
        "under a file": _under_a_file,
        "unreadable": lambda base: Path("/proc/self/clear_refs"),  # write-only: reading it fails, even for root
        "not UTF-8": _not_utf8,
        "a FIFO": _fifo,
    },
    "directory": {
        "missing": lambda base: base / "nowhere",
        "a file": lambda base: base / "a-file",
        "under a file": _under_a_file,
    },
}


def listing(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def run_case(project: Path, base: Path, param: PathParam, make_path: Callable[[Path], Path]) -> str | None:
    """Run one bad path; the problem found, or None."""
    base.mkdir(parents=True)
    (base / "a-file").write_text("kept as it is\n")
    path = make_path(base)
    before = listing(base)
    own_project = base.with_name(base.name + "-project")
    shutil.copytree(project, own_project)
    args = param.args(own_project, path)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "reconciler", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
            stdin=subprocess.DEVNULL,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return f"{args}: accepted the path (still running after 30 s)"
    lines = result.stderr.splitlines()
    problems = []
    if result.returncode != 1:
        problems.append(f"exit {result.returncode}")
    if len(lines) != 1 or not lines[0].startswith("Error: "):
        problems.append("stderr is not one `Error:` line")
    if "internal error" in result.stderr:
        problems.append("reported as a bug instead of handled")
    if str(path) not in result.stderr:
        problems.append("the message does not name the path")
    if listing(base) != before:
        problems.append("files were left or changed")
    return f"{args}: {', '.join(problems)}:\n{result.stderr}" if problems else None


def test_every_path_option_rejects_bad_paths_in_one_line(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    params = list(path_params(cli))
    assert {p.param.name for p in params} >= {"project_dir", "out", "plan_file", "events", "data", "var_files"}
    cases = [
        (param, make)
        for param in params
        for name, make in BAD_PATHS[param.kind].items()
        if (param.command, param.param.name, name) not in KNOWN_GAPS
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        # Outside `project` (which is a tmp_path), since each case copies it.
        cases_dir = tmp_path_factory.mktemp("cases")
        futures = [pool.submit(run_case, project, cases_dir / f"case{n}", *case) for n, case in enumerate(cases)]
        found = [problem for future in futures if (problem := future.result())]
    assert not found, "\n".join(found)


def test_a_plan_file_that_cannot_be_written_keeps_the_old_one(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The disk fills mid-write (a file size limit: EFBIG): the old plan stays whole, no temporary file."""
    directory = tmp_path_factory.mktemp("out")
    out = directory / "plan.json"
    out.write_text("the reviewed plan\n")

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "-C", str(project), "plan", "--out", str(out)],
        capture_output=True,
        text=True,
        preexec_fn=small_files,
    )
    assert result.returncode == 1
    assert result.stderr == f"Error: {out}: cannot write the plan file: File too large\n"
    assert out.read_text() == "the reviewed plan\n"
    assert sorted(p.name for p in directory.iterdir()) == ["plan.json"]
