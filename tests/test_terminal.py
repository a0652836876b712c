"""A terminal that copes (issue 13): the apply bar on narrow terminals, summary-first plans, grouped
warnings, --compact, --quiet, the PR comment and the graph of a plan of thousands of changes."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from rich.console import Console

from bench.plan_scale import write_project
from reconciler.apply.events import Event
from reconciler.apply.executor import ApplyResult, StepOutcome
from reconciler.apply.terminal import RichProgress
from reconciler.github.comment import COMMENT_LIMIT, plan_markdown
from reconciler.model import Plan
from reconciler.plan.graph import MERMAID_LIMIT
from reconciler.plan.render import render_markdown, render_text
from reconciler.project import Project
from reconciler.state import LocalFileStore
from reconciler.warning_groups import WarningGroup, group_warnings, warning_lines
from tests.screen import Screen, run_on_terminal
from tests.test_cli import run, write_state

RECONCILER = str(Path(sys.executable).with_name("reconciler"))
BAR = re.compile(r"(━*─*)? ?\d+/\d+ \d+\.\d/s ETA (\d+:\d\d|--:--)( \d+ failed)?")
SKIPPED = [
    "creative teaser (text/html) skipped on meta-us: meta cannot show text/html",
    "creative teaser (text/html) skipped on tiktok-us: tiktok cannot show text/html",
    "creative reel (video/mp4) skipped on bs-main: broadstreet cannot show video/mp4",
]


def progress_lines(width: int, progress: RichProgress) -> list[str]:
    """The bar as rich lays it out on a terminal `width` columns wide."""
    console = Console(file=io.StringIO(), width=width, force_terminal=True)
    return ["".join(segment.text for segment in line) for line in console.render_lines(progress, pad=False)]


@pytest.mark.parametrize("width", [40, 60, 80])
def test_the_bar_fits_any_width_on_two_lines(width: int) -> None:
    progress = RichProgress(Console(file=io.StringIO(), width=width, force_terminal=True))
    progress._total = 4000  # begin() would start drawing on its own thread
    for n in range(7):
        target = ("bs-main", "meta-us-with-a-long-target-name", "snap-us")[n % 3]
        progress.show(Event("op:start", f"{target}:campaign/c{n}", "create"))
    progress.show(Event("op:done", "bs-main:campaign/c0", "create", id="1"))
    progress.show(Event("op:error", "snap-us:campaign/c2", "create", error_class="VALIDATION", message="no"))
    lines = progress_lines(width, progress)
    assert len(lines) == 2 and all(len(line) <= width for line in lines), lines
    assert BAR.fullmatch(lines[0]) and " 2/4000 " in lines[0] and lines[0].endswith(" 1 failed")
    flights = "in flight: bs-main 2, meta-us-with-a-long-target-name 2, snap-us 1"
    if len(flights) <= width:
        assert lines[1] == flights
    else:  # cut, and says so
        assert lines[1].endswith("…") and flights.startswith(lines[1][:-1])


def test_failures_are_printed_as_they_happen_and_the_end_lists_what_was_made_with_ids() -> None:
    out = io.StringIO()
    progress = RichProgress(Console(file=out, width=80, force_terminal=True, color_system=None))
    progress.begin(3)
    progress.show(Event("op:start", "bs-main:zone/z", "create"))
    progress.show(Event("op:error", "bs-main:zone/z", "create", error_class="VALIDATION", message="bad alias"))
    assert "failed to create bs-main:zone/z: VALIDATION: bad alias" in out.getvalue()  # before the end
    outcomes = {
        "a": StepOutcome("a", "bs-main:campaign/a", "create", "done", id="101", duration_s=0.2),
        "b": StepOutcome("b", "bs-main:campaign/b", "update", "done", id="102", duration_s=61.5),
        "c": StepOutcome("c", "meta-us:adimage/x", "delete", "done", duration_s=1),
        "z": StepOutcome("z", "bs-main:zone/z", "create", "failed", error_class="VALIDATION", message="bad alias"),
    }
    progress.end(ApplyResult(outcomes, duration_s=62.0))
    screen = Screen(80)
    screen.feed(out.getvalue())
    assert screen.last(10) == (
        "failed to create bs-main:zone/z: VALIDATION: bad alias\n"
        "\n"
        "bs-main:campaign/a: Creation complete after 0s [id=101]\n"
        "bs-main:campaign/b: Modifications complete after 1m1s [id=102]\n"
        "meta-us:adimage/x: Destruction complete after 1s\n"
        "\n"
        "Apply failed: 3 done, 1 failed in 62.00s.\n"
        "Failed:\n"
        "  bs-main:zone/z (create): VALIDATION: bad alias"
    )


@pytest.mark.parametrize("columns", [40, 60])
def test_apply_on_a_narrow_terminal_never_wraps_the_bar(project: Path, columns: int) -> None:
    frames: list[list[str]] = []

    def watch(screen: Screen) -> None:
        rows = [row.rstrip() for row in screen.rows]
        at = [n for n, row in enumerate(rows) if row.startswith("in flight: ")]
        if at:
            frames.append(rows[at[-1] - 1 : at[-1] + 1])

    argv = [RECONCILER, "-C", str(project), "apply", "--sandbox", "--auto-approve"]
    code, screen = run_on_terminal(argv, columns, env={"COLUMNS": "", "TERM": "xterm"}, watch=watch)
    assert code == 0, screen.last(20)
    assert frames, "the bar was never drawn"
    for bar, flights in frames:
        assert BAR.fullmatch(bar) and len(bar) <= columns, bar
        assert len(flights) <= columns
    assert "in flight: " not in screen.last(30)  # the bar goes at the end
    end = screen.last(3)
    unwrapped = screen.last(100).replace("\n", "")  # the terminal wraps these lines: the bar only must not wrap
    assert re.search(r"bs-main:placement/[^:\s]+: Creation complete after \d+s \[id=[\d/]+\]", unwrapped)
    assert end.endswith("Apply complete: 20 done in " + end.rsplit(" ", 1)[1])
    assert len(LocalFileStore(project, sandbox=True).read().resources) == 20


def test_plan_text_summary_first_and_compact(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, full, _ = run(capsys, "-C", str(project), "plan")
    assert code == 0
    lines = full.splitlines()
    assert lines[0] == "Plan: 20 to create, 0 to update, 0 to replace, 0 to delete."
    assert lines[2] == "Changes by target and type:"
    assert "  bs-main (broadstreet)" in full and "\n    placement " in full
    warning = full.index("Warning: 3 creatives skipped on targets that cannot show them:")
    assert full.index("Spend (budgets") < warning < full.index("Resource actions") < full.index("  + bs-main:")
    assert lines[-1] == lines[0]  # the verdict again under the changes
    code, compact, _ = run(capsys, "-C", str(project), "plan", "--compact")
    assert code == 0
    assert compact == full[: full.index("Resource actions")].rstrip("\n") + "\n"
    assert "+ bs-main:" not in compact


def test_repeated_warnings_grouped_each_listed_once() -> None:
    warnings = [*SKIPPED, "Resource targeting is in effect", SKIPPED[0], "x was deleted outside reconciler"]
    assert group_warnings(warnings) == [
        WarningGroup(
            "3 creatives skipped on targets that cannot show them",
            (
                "teaser (text/html) on meta-us: meta cannot show text/html",
                "teaser (text/html) on tiktok-us: tiktok cannot show text/html",
                "reel (video/mp4) on bs-main: broadstreet cannot show video/mp4",
            ),
        ),
        WarningGroup("Resource targeting is in effect"),
        WarningGroup("x was deleted outside reconciler"),  # one of a family stays as it was said
    ]
    text = render_text(Plan([], warnings), color=False)
    assert text == "No changes. Recorded state matches the specs.\n\n" + "\n".join(warning_lines(warnings)) + "\n"
    assert "\n\n" not in text.split("\n\n", 1)[1] and text.count("teaser (text/html) on meta-us") == 1
    assert (  # the PR comment groups them the same way
        "- ⚠️ 3 creatives skipped on targets that cannot show them:\n"
        "  - teaser (text/html) on meta-us: meta cannot show text/html\n"
    ) in render_markdown(Plan([], warnings))


def test_quiet_prints_only_what_the_command_is_for(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "-C", str(project), "--quiet", "validate") == (0, "", "")
    code, out, err = run(capsys, "-C", str(project), "-q", "plan", "--out", str(project / "plan.json"))
    assert code == 0 and out.startswith("Plan: 20 to create") and "Warning" not in out + err
    assert "Saved the plan" not in out
    assert run(capsys, "-C", str(project), "-q", "apply", "--sandbox", "--auto-approve") == (0, "", "")
    assert len(LocalFileStore(project, sandbox=True).read().resources) == 20


@pytest.fixture(scope="module")
def big_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 4,000 resources on a Broadstreet and a Meta target (bench/plan_scale.py's project)."""
    directory = tmp_path_factory.mktemp("big")
    write_project(directory, 4000)
    return directory


def test_the_pr_comment_of_a_huge_plan_keeps_the_count_tables(big_project: Path) -> None:
    plan = Project(big_project).plan()
    for limit in (COMMENT_LIMIT, 6_000):
        comment = plan_markdown(plan, limit)
        assert len(comment) <= limit
        assert "| Target | Type | create | update | replace | delete |" in comment
        assert "| bs-main | all types | 1869 | 0 | 0 | 0 |" in comment
        assert "| meta-us | ad | 532 | 0 | 0 | 0 |" in comment
        assert "more targets omitted; the full plan is in the job artifact" in comment
        assert "| USD | 0.00 USD → 6,650.00 USD |" in comment  # the spend totals stay too
    assert "and 256 more campaigns" in comment and "| … 532 rows omitted to fit;" in comment


def test_graph_changed_only(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_state(project)
    specs = project / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("budget: {daily: 50.00,", "budget: {daily: 60.00,"))
    code, everything, _ = run(capsys, "-C", str(project), "graph")
    assert code == 0 and everything.count("[label=") == 20
    code, changed, _ = run(capsys, "-C", str(project), "graph", "--changed-only")
    labels = re.findall(r'\[label="([^"]+)"', changed)
    assert code == 0 and labels and len(labels) < 20 and all(label.startswith("~ ") for label in labels)


def test_graph_changed_only_mermaid_stays_under_githubs_limit(
    big_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, mermaid, err = run(capsys, "-C", str(big_project), "graph", "--changed-only", "--format", "mermaid")
    assert code == 0 and len(mermaid) < MERMAID_LIMIT
    assert "past GitHub's 50 KB limit: drawn by target and type" in err
    assert '["bs-main:placement +1064"]:::create' in mermaid and "-->" in mermaid
