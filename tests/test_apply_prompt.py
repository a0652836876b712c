"""Without --auto-approve, apply shows the plan and asks on a terminal, and refuses without one."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from reconciler.state import LocalFileStore


def apply_in_a_terminal(project: Path, answer: str | None, *args: str) -> tuple[int, str]:
    """Run `apply --sandbox [ARGS]` on a pseudo-terminal, type `answer` at the prompt (None: type nothing),
    return (exit code, screen)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real command, its stdin and stdout a terminal
        command = [sys.executable, "-m", "reconciler", "-C", str(project), "apply", "--sandbox", *args]
        os.execv(sys.executable, command)
    screen = b""
    deadline = time.monotonic() + 90  # generous: a loaded CI machine starts Python slowly; a hang still fails
    answered = False
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.1)[0]:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
        if answer is not None and not answered and screen.rstrip().endswith(b"Apply these changes? [y/N]:"):
            # As a person does, answer once the whole prompt is shown and the command waits for input
            # (a key pressed while the prompt is still being written is another case than this test's).
            time.sleep(0.2)
            os.write(fd, answer.encode())
            answered = True
    while not (exited := os.waitpid(pid, os.WNOHANG))[0] and time.monotonic() < deadline:
        time.sleep(0.05)
    status = exited[1]
    if not exited[0]:  # still waiting at the prompt: fail rather than hang
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), screen.decode(errors="replace")


def test_answering_no_changes_nothing_and_exits_1(project: Path) -> None:
    code, screen = apply_in_a_terminal(project, "n\n")
    assert "Plan: 20 to create" in screen and "Apply these changes?" in screen
    assert code == 1 and "apply cancelled: nothing was changed" in screen
    assert LocalFileStore(project, sandbox=True).read().resources == {}


def test_answering_yes_applies(project: Path) -> None:
    code, screen = apply_in_a_terminal(project, "y\n")
    assert code == 0, screen
    assert "Apply complete: 20 done" in screen
    assert len(LocalFileStore(project, sandbox=True).read().resources) == 20


def test_ctrl_c_at_the_prompt_changes_nothing_and_exits_130(project: Path) -> None:
    code, screen = apply_in_a_terminal(project, "\x03")  # the terminal sends SIGINT for it
    assert code == 130, screen
    assert screen.rstrip().endswith("Interrupted: nothing was changed.") and "Traceback" not in screen
    assert LocalFileStore(project, sandbox=True).read().resources == {}


def test_end_of_input_at_the_prompt_declines(project: Path) -> None:
    code, screen = apply_in_a_terminal(project, "\x04")  # Ctrl+D
    assert code == 1 and "apply cancelled: nothing was changed" in screen
    assert LocalFileStore(project, sandbox=True).read().resources == {}


def test_without_a_terminal_apply_refuses_to_guess(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "-C", str(project), "apply", "--sandbox"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert "apply needs confirmation: run it in a terminal, or pass --auto-approve" in result.stderr
    assert LocalFileStore(project, sandbox=True).read().resources == {}
