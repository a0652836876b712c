"""Run one `reconciler` command in a fresh process and measure its wall time and its own peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

# The child reports its own peak RSS as it exits, so each run is measured alone
# (RUSAGE_CHILDREN would give the maximum over every child so far).
_WRAPPER = """
import resource, sys
from reconciler.cli import main
try:
    main(sys.argv[1:])
finally:
    sys.stderr.write(f"\\nPEAK_RSS_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n")
"""


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    peak_mb: float


def run_measured(*args: str, env: dict[str, str] | None = None, timeout: float = 3600) -> Measured:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        timeout=timeout,
    )
    wall = time.perf_counter() - start
    stderr, _, peak = result.stderr.rpartition("PEAK_RSS_KB=")
    return Measured(result.returncode, result.stdout, stderr, wall, int(peak.strip() or 0) / 1024)
