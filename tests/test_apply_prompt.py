"""Without --auto-approve, apply shows the plan and asks on a terminal, and refuses without one."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from reconciler.state import LocalFileStore


def apply_in_a_terminal(project: Path, answer: str) -> tuple[int, str]:
    """Run `apply --sandbox` on a pseudo-terminal, answer the prompt, return (exit code, screen)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real command, its stdin and stdout a terminal
        os.execv(sys.executable, [sys.executable, "-m", "reconciler", "-C", str(project), "apply", "--sandbox"])
    screen = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
        if not answered and b"Apply these changes?" in screen:
            os.write(fd, answer.encode() + b"\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), screen.decode(errors="replace")


def test_answering_no_changes_nothing_and_exits_1(project: Path) -> None:
    code, screen = apply_in_a_terminal(project, "n")
    assert "Plan: 20 to create" in screen and "Apply these changes?" in screen
    assert code == 1 and "apply cancelled: nothing was changed" in screen
    assert LocalFileStore(project).read().resources == {}


def test_answering_yes_applies(project: Path) -> None:
    code, screen = apply_in_a_terminal(project, "y")
    assert code == 0, screen
    assert "Apply complete: 20 done" in screen
    assert len(LocalFileStore(project).read().resources) == 20


def test_without_a_terminal_apply_refuses_to_guess(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "-C", str(project), "apply", "--sandbox"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert "apply needs confirmation: run it in a terminal, or pass --auto-approve" in result.stderr
    assert LocalFileStore(project).read().resources == {}
