"""Run a command on a pseudo-terminal of a given size and read back what its screen shows.

`Screen` understands what rich and click write (printable text, CR, LF, cursor up,
erase line, colours, cursor show/hide) and counts the lines that ran past the
right edge, which a real terminal would have wrapped.
"""

from __future__ import annotations

import codecs
import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import time
from collections.abc import Callable

_CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


class Screen:
    def __init__(self, columns: int) -> None:
        self.columns = columns
        self.rows: list[str] = [""]
        self.row = 0
        self.col = 0
        self.wrapped = 0  # lines written past the right edge
        self.widest = 0  # the longest line drawn, in columns

    def feed(self, text: str) -> None:
        position = 0
        for match in _CSI.finditer(text):
            self._write(text[position : match.start()])
            self._control(match.group(1), match.group(2))
            position = match.end()
        self._write(text[position:])

    def _control(self, argument: str, command: str) -> None:
        if command == "A":  # cursor up
            self.row = max(0, self.row - int(argument or 1))
        elif command == "K":  # erase the line (rich erases whole lines: 2K)
            self.rows[self.row] = ""
        # m (colours), h and l (cursor shown or hidden) change nothing on the screen

    def _write(self, text: str) -> None:
        for char in text:
            if char == "\r":
                self.col = 0
            elif char == "\n":
                self.row += 1
                self.col = 0
                if self.row == len(self.rows):
                    self.rows.append("")
            elif char >= " ":
                if self.col == self.columns:  # a real terminal wraps here
                    self.wrapped += 1
                    self._write("\n")
                line = self.rows[self.row].ljust(self.col)
                self.rows[self.row] = line[: self.col] + char + line[self.col + 1 :]
                self.col += 1
                self.widest = max(self.widest, self.col)

    def last(self, rows: int) -> str:
        """The bottom `rows` lines with text, as the terminal shows them at the end."""
        lines = list(self.rows)
        while lines and not lines[-1].strip():
            lines.pop()
        return "\n".join(line.rstrip() for line in lines[-rows:])


def run_on_terminal(
    argv: list[str],
    columns: int,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    watch: Callable[[Screen], None] | None = None,
) -> tuple[int, Screen]:
    """Run `argv` with stdin, stdout and stderr on a `columns`-wide pty; its exit code and the screen.

    `watch` is called with the screen after each chunk of output (to catch a frame mid-run).
    """
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of the size asked
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        os.execve(argv[0], argv, {**os.environ, **(env or {})})
    screen = Screen(columns)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # a chunk may end inside a character
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.1)[0]:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child has exited and closed the terminal
            break
        if not chunk:
            break
        screen.feed(decoder.decode(chunk))
        if watch is not None:
            watch(screen)
    else:
        os.kill(pid, signal.SIGKILL)  # fail rather than hang
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), screen
