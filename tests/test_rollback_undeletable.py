"""Issue 8.9: what rollback cannot undo stays recorded, and the summary says so.

Snapchat has no delete for creatives and media. Rollback used to "delete" them
by forgetting them and count them as rolled back; the next apply made them again.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.apply import EventSink
from reconciler.project import Project
from reconciler.state import LocalFileStore
from tests.inprocess import InProcessSandbox

SNAP_ONLY = ("targets: [bs-main, meta-us, tiktok-us, snap-us]", "targets: [bs-main, snap-us]")
NEW_ZONE = """
---
kind: Zone
name: side
target: bs-main
display_name: Sidebar
---
kind: Placement
campaign: summer
creative: banner
zone: side
"""


def snap_only(project: Path) -> None:
    main = project / "specs" / "main.yaml"
    main.write_text(main.read_text().replace(*SNAP_ONLY))


def apply(project: Path, sandbox: InProcessSandbox, on_error: str = "rollback"):  # noqa: ANN201
    return Project(project).apply(
        connect=sandbox.connect,
        events=EventSink(),
        confirm=lambda plan: plan.has_changes,
        notify=print,
        on_error=on_error,  # type: ignore[arg-type]
    )


def live(sandbox: InProcessSandbox, type_: str) -> list[str]:
    return [o["id"] for o in sandbox.control("GET", "objects", params={"platform": "snapchat"}) if o["type"] == type_]


def test_rollback_keeps_what_it_cannot_delete_recorded_and_the_next_apply_reuses_it(project: Path) -> None:
    snap_only(project)
    sandbox = InProcessSandbox()
    sandbox.control("POST", "faults", json={"reject": [{"platform": "snapchat", "type": "ad"}]})
    result = apply(project, sandbox)
    assert result is not None and not result.ok
    kept = {f.address: f.message for f in result.undo_failures}
    assert set(kept) == {"snap-us:media/banner", "snap-us:creative/summer.banner"}
    assert all("has no delete" in message and "stays recorded" in message for message in kept.values())
    assert result.outcomes["create:snap-us:media/banner"].status == "done"  # not claimed as rolled back
    assert result.outcomes["create:snap-us:campaign/summer"].status == "rolled_back"
    state = LocalFileStore(project).read()
    assert state.id_of("snap-us:media/banner") == live(sandbox, "media")[0]
    assert state.id_of("snap-us:creative/summer.banner") == live(sandbox, "creative")[0]
    assert state.id_of("snap-us:campaign/summer") is None

    sandbox.control("POST", "faults", json={"reject": []})
    result = apply(project, sandbox)
    assert result is not None and result.ok
    assert len(live(sandbox, "media")) == 1 and len(live(sandbox, "creative")) == 1  # reused, not made again


def test_rollback_of_a_delete_that_only_forgot_records_it_again(project: Path) -> None:
    snap_only(project)
    sandbox = InProcessSandbox()
    assert apply(project, sandbox).ok  # type: ignore[union-attr]
    before = LocalFileStore(project).read()
    # Take the campaign off Snapchat (its creative and media can only be forgotten), while the
    # new Broadstreet objects fail: rollback must put back what it forgot, not make it again.
    main = project / "specs" / "main.yaml"
    main.write_text(main.read_text().replace("targets: [bs-main, snap-us]", "targets: [bs-main]") + NEW_ZONE)
    plan = Project(project).plan()
    assert any("will only be forgotten, not deleted" in w and "snap-us (snap-us:media/banner)" in w
               for w in plan.warnings), plan.warnings
    # The new zone's create is refused after Snapchat's deletes are done.
    faults = {"platform": "broadstreet", "latency_ms": 300, "reject": [{"platform": "broadstreet", "type": "zone"}]}
    sandbox.control("POST", "faults", json=faults)
    result = apply(project, sandbox)
    assert result is not None and not result.ok and not result.undo_failures
    assert result.outcomes["delete:snap-us:media/banner"].status == "rolled_back"
    assert result.outcomes["delete:snap-us:ad/summer.banner"].status == "rolled_back"
    after = LocalFileStore(project).read()
    for address in ("snap-us:media/banner", "snap-us:creative/summer.banner", "snap-us:campaign/summer"):
        assert after.resources[address].id != "" and address in after.resources
    assert after.id_of("snap-us:media/banner") == before.id_of("snap-us:media/banner")
    assert after.id_of("snap-us:creative/summer.banner") == before.id_of("snap-us:creative/summer.banner")
    assert len(live(sandbox, "media")) == 1 and len(live(sandbox, "creative")) == 1


def test_a_plain_delete_of_what_cannot_be_deleted_says_it_was_only_forgotten(project: Path) -> None:
    snap_only(project)
    sandbox = InProcessSandbox()
    assert apply(project, sandbox).ok  # type: ignore[union-attr]
    main = project / "specs" / "main.yaml"
    main.write_text(main.read_text().replace("targets: [bs-main, snap-us]", "targets: [bs-main]"))
    result = apply(project, sandbox, on_error="continue")
    assert result is not None and result.ok
    note = result.outcomes["delete:snap-us:media/banner"].message
    assert note.startswith("forgotten, not deleted: snapchat has no delete for a media")
    assert len(live(sandbox, "media")) == 1  # still in the library, as the plan warned
