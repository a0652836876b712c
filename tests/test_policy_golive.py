"""A freeze window holds review-gated go-live too: going live starts spending (issue 11 items 2 and 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import Sandbox
from tests.test_golive import all_, gated_project, review, run, served, server, statuses  # noqa: F401 (fixtures)

FREEZE = """\
kind: Policy
name: holidays
freeze:
  - {from: "2026-11-26T00:00", to: "2026-11-30T23:59", timezone: America/New_York, reason: Thanksgiving freeze}
"""


def test_a_freeze_holds_go_live(tmp_path: Path, served: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    project = gated_project(tmp_path, served.url)
    (project / "specs" / "policies.yaml").write_text(FREEZE)
    monkeypatch.setenv("RECONCILER_NOW", "2026-11-20T12:00:00Z")
    review(served, "pending")
    run(project, "apply", "--auto-approve")  # created paused, before the freeze
    review(served, "approved")

    monkeypatch.setenv("RECONCILER_NOW", "2026-11-27T12:00:00Z")  # in the freeze; the plan has nothing to do
    out = run(project, "apply", "--auto-approve")
    assert "summer on meta-us: not taken live, a policy freeze window is in effect" in out
    assert "went live" not in out
    assert statuses(served) == all_(2)  # still paused everywhere

    monkeypatch.setenv("RECONCILER_NOW", "2026-12-01T12:00:00Z")  # after it
    out = run(project, "apply", "--auto-approve")
    assert "summer on meta-us: every ad approved; went live" in out
    assert statuses(served) == all_(1)
