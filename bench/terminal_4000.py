"""What a person sees for a 4,000-resource project in an 80-column terminal.

Builds the project of bench/plan_scale.py at about 4,000 resources (a Broadstreet
and a Meta target), then:
  - `plan`: its length, and where its summary is (first, since issue 13; it used to be
    last, after 26,770 lines), `plan --compact`, the PR comment and `graph --changed-only`;
  - `apply --sandbox --auto-approve` on an 80x24 pseudo-terminal: one frame of the
    progress bar half way, and the last screen;
  - a change of three campaigns' budgets afterwards: the same figures for that plan.
Both targets declare rate_limit (--rate-limit, 100 requests/s) so the apply takes seconds, not minutes.

    .venv/bin/python bench/terminal_4000.py [--resources 4000] [--columns 80]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.plan_scale import write_project  # noqa: E402
from tests.screen import Screen, run_on_terminal  # noqa: E402

RECONCILER = str(Path(sys.executable).with_name("reconciler"))
_DONE = re.compile(r" (\d+)/(\d+) ")


def reconciler(directory: Path, *args: str) -> str:
    result = subprocess.run(
        [RECONCILER, "-C", str(directory), *args], capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}
    )
    if result.returncode not in (0, 2):
        raise SystemExit(f"reconciler {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def describe_plan(directory: Path, title: str) -> None:
    from reconciler.github.comment import COMMENT_LIMIT, plan_markdown
    from reconciler.plan.graph import MERMAID_LIMIT, draw_graph
    from reconciler.project import Project

    text = reconciler(directory, "plan", "--sandbox")
    lines = text.splitlines()
    summary_at = next(n for n, line in enumerate(lines, 1) if line.startswith(("Plan:", "No changes")))
    details_at = next((n for n, line in enumerate(lines, 1) if line.startswith("Resource actions")), len(lines))
    compact = reconciler(directory, "plan", "--sandbox", "--compact").splitlines()
    plan = Project(directory, sandbox=True).plan()
    comment = plan_markdown(plan)
    # What `graph --changed-only --format mermaid` prints, against the state of the --sandbox runs.
    mermaid, why = draw_graph(plan.changes, "mermaid", changed_only=True)
    print(f"== {title}")
    print(f"plan:            {len(lines):>6} lines; summary at line {summary_at}, changes from line {details_at}")
    print(f"plan --compact:  {len(compact):>6} lines")
    tables = "count tables kept" if "| Target | Type |" in comment else "count tables LOST"
    print(f"PR comment:      {len(comment):>6} characters of {COMMENT_LIMIT} ({tables})")
    note = f"\n  ({why})" if why else ""
    print(f"graph --changed-only --format mermaid: {len(mermaid)} characters of {MERMAID_LIMIT}{note}")
    print("\n".join(compact[:40]))
    print()


def apply_on_terminal(directory: Path, columns: int) -> None:
    half: list[str] = []

    def watch(screen: Screen) -> None:
        bar = next((row for row in reversed(screen.rows) if _DONE.search(row) and "ETA" in row), None)
        if bar and not half:
            done, total = map(int, _DONE.search(bar).groups())  # type: ignore[union-attr]
            if done * 2 >= total:
                half.append(screen.last(6))

    start = time.monotonic()
    argv = [RECONCILER, "-C", str(directory), "apply", "--sandbox", "--auto-approve"]
    code, screen = run_on_terminal(argv, columns, env={"TERM": "xterm-256color"}, timeout=1800, watch=watch)
    wall = time.monotonic() - start
    print(f"== apply on a {columns}x24 terminal: exit {code} in {wall:.1f}s; widest line drawn {screen.widest} columns")
    print("-- half way (bottom of the screen):")
    print(half[0] if half else "(no frame caught)")
    print("-- the last screen:")
    print(screen.last(24))
    print()


def change_budgets(directory: Path, campaigns: int = 3) -> None:
    specs = directory / "specs" / "campaigns.yaml"
    text = specs.read_text()
    for n in range(campaigns):
        block = f"name: camp-{n}\n"
        head, _, tail = text.partition(block)
        text = head + block + tail.replace("budget: {daily: 25.00,", "budget: {daily: 40.00,", 1)
    specs.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=4000)
    parser.add_argument("--columns", type=int, default=80)
    parser.add_argument("--rate-limit", type=float, default=100, help="Requests/s each target declares.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_project(directory, args.resources)
        targets = directory / "specs" / "targets.yaml"
        declared = f"\nrate_limit: {args.rate_limit:g}\ncredentials:"  # the platforms' defaults are 10-20
        targets.write_text(targets.read_text().replace("\ncredentials:", declared))
        describe_plan(directory, f"a new project of about {args.resources} resources")
        apply_on_terminal(directory, args.columns)
        change_budgets(directory)
        describe_plan(directory, "after three campaigns' budgets change")


if __name__ == "__main__":
    main()
