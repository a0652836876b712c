"""Teams on one PostgreSQL state: two concurrent applies (one refused naming the lock holder, one waiting
with --lock-timeout), then the run history the database keeps.

Starts a throwaway PostgreSQL (tests/postgres.py) and a `reconciler sandbox serve`, runs the real
`reconciler` commands with RECONCILER_STATE_URL, and prints each command with its output (the URL's
password shown as ***, and checked never to appear).

    .venv/bin/python bench/teams_demo.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler.state.backend import redact_url  # noqa: E402
from reconciler.state.postgres import PostgresStore  # noqa: E402
from tests.e2e import broadstreet_project, run_reconciler, sandbox_server, start_reconciler  # noqa: E402
from tests.postgres import PASSWORD, postgres_server  # noqa: E402

MAX_LINES = 14  # of each command's output: an apply lists every operation


def show(command: str, result: subprocess.CompletedProcess[str] | tuple[int, str], began: float) -> None:
    code, output = (result.returncode, result.stdout + result.stderr) if not isinstance(result, tuple) else result
    assert PASSWORD not in output, "the database password was printed"
    lines = output.rstrip("\n").splitlines()
    if len(lines) > MAX_LINES:
        lines = [*lines[: MAX_LINES // 2], f"... ({len(lines) - MAX_LINES} lines)", *lines[-MAX_LINES // 2 :]]
    print(f"$ {command}    # exit {code}, after {time.monotonic() - began:.1f}s")
    print("\n".join(lines) + "\n")


def main() -> None:
    with postgres_server() as server, sandbox_server() as sandbox, tempfile.TemporaryDirectory() as tmp:
        url = server.create_database()
        os.environ["RECONCILER_STATE_URL"] = url
        print(f"RECONCILER_STATE_URL={redact_url(url)}\n")
        project = broadstreet_project(Path(tmp) / "ads", sandbox.url, campaigns=4)
        sandbox.control("POST", "faults", json={"latency_ms": 120})  # a slow platform: the first apply takes a while

        began = time.monotonic()
        first = start_reconciler(project, "apply", "--auto-approve", "--parallelism", "1")
        while (holder := PostgresStore(url).lock_holder()) is None or holder.pid != first.pid:
            time.sleep(0.05)
        print(f"# apply #1 (pid {first.pid}) started in the background and holds the lock\n")
        show("reconciler apply --auto-approve", run_reconciler(project, "apply", "--auto-approve"), began)
        waiting = start_reconciler(project, "apply", "--auto-approve", "--lock-timeout", "2m")
        out, err = first.communicate(timeout=120)
        show("reconciler apply --auto-approve --parallelism 1    # apply #1, background", (first.returncode, out + err),
             began)  # fmt: skip
        out, err = waiting.communicate(timeout=120)
        show("reconciler apply --auto-approve --lock-timeout 2m    # started while #1 ran",
             (waiting.returncode, out + err), began)  # fmt: skip

        sandbox.control("POST", "faults", json={"latency_ms": 0})
        specs = project / "specs" / "main.yaml"
        specs.write_text(specs.read_text().replace("end_date: 2026-08-31", "end_date: 2026-09-30", 1))
        show("reconciler apply --auto-approve    # after a spec change", run_reconciler(project, "apply",
             "--auto-approve"), began)  # fmt: skip
        show("reconciler history", run_reconciler(project, "history"), began)
        newest = json.loads(run_reconciler(project, "history", "--limit", "1", "--format", "json").stdout)[0]["run_id"]
        show(f"reconciler history show {newest}", run_reconciler(project, "history", "show", newest), began)
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT r.run_id, r.outcome, r.who, count(o.seq) FROM reconciler_runs r "
                "LEFT JOIN reconciler_run_operations o USING (workspace, sandbox, run_id) "
                "GROUP BY r.run_id, r.outcome, r.who ORDER BY r.run_id"
            ).fetchall()
        print("# SELECT run_id, outcome, who, operations FROM reconciler_runs JOIN reconciler_run_operations")
        for row in rows:
            print("  " + " | ".join(str(v) for v in row))


if __name__ == "__main__":
    main()
