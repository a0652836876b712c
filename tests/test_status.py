"""`status`: review verdicts read from the platforms, and campaign health."""

from __future__ import annotations

from pathlib import Path

from reconciler.project import Project
from reconciler.state import PendingOperation
from reconciler.status import CampaignStatus
from tests.inprocess import InProcessSandbox


def statuses(project: Path, sandbox: InProcessSandbox) -> dict[str, CampaignStatus]:
    return {s.target: s for s in Project(project).status(sandbox.connect)}


def test_health_follows_reviews_interruptions_and_unapplied_changes(project: Path) -> None:
    sandbox = InProcessSandbox()
    sandbox.apply(project)
    result = statuses(project, sandbox)
    assert {t: s.health for t, s in result.items()} == dict.fromkeys(
        ("bs-main", "meta-us", "tiktok-us", "snap-us"), "healthy"
    )
    assert result["meta-us"].reviews == {"approved": 1, "pending": 0, "rejected": 0}
    assert result["bs-main"].reviews == {"approved": 0, "pending": 0, "rejected": 0}  # an ad server: no review

    rejection = {"name_contains": "summer.banner", "status": "rejected", "reason": "misleading"}
    sandbox.control("POST", "review", json=rejection)
    result = statuses(project, sandbox)
    for target in ("meta-us", "tiktok-us", "snap-us"):
        assert result[target].health == "critical", target
        assert result[target].reviews["rejected"] == 1
        assert any("rejected" in note and "misleading" in note for note in result[target].notes), target
    assert result["bs-main"].health == "healthy"

    sandbox.control("POST", "review", json={"name_contains": "summer.banner", "status": "pending"})
    assert {s.health for t, s in statuses(project, sandbox).items() if t != "bs-main"} == {"warning"}

    sandbox.control("POST", "review", json={"name_contains": "summer.banner", "status": "approved"})
    specs = project / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("end_date: 2026-08-31", "end_date: 2026-09-30"))
    result = statuses(project, sandbox)
    assert result["bs-main"].health == "warning"
    assert result["bs-main"].notes == ("1 change not applied yet (see `reconciler plan`)",)

    store = Project(project).store
    with store.lock("test"):
        store.begin(PendingOperation("meta-us:ad/summer.banner", "create", "ad", "meta-us", "summer.banner", {}))
    result = statuses(project, sandbox)
    assert result["meta-us"].health == "critical"
    assert any("interrupted create" in note for note in result["meta-us"].notes)
