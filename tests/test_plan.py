"""The planner: diff, propagation of content changes, deletes, targeting, cycles."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.model import Action, Plan, RecordedResource, Resource, resolve_refs
from reconciler.plan.diff import diff
from reconciler.plan.graph import change_graph, to_dot, to_mermaid
from reconciler.project import Project
from reconciler.state import State
from tests.conftest import png_bytes


def applied(plan: Plan, state: State | None = None) -> State:
    """The state an apply of `plan` would record (ids made up, refs resolved)."""
    state = state.copy() if state else State.empty()
    for number, change in enumerate(plan.changes):
        if change.action is Action.DELETE:
            state.resources.pop(change.address)
        elif change.action is not Action.NOOP:
            desired = change.desired
            assert desired is not None
            new_id = state.id_of(change.address) if change.action is Action.UPDATE else f"id{number}-{state.serial}"
            attributes, missing = resolve_refs(desired.attributes, desired.refs, state.id_of)
            assert not missing, f"{change.address} planned before {missing}"
            state.resources[change.address] = RecordedResource(
                change.address, new_id, change.type, change.target, attributes, desired.depends_on
            )
    state.serial += 1
    return state


def actions(plan: Plan) -> dict[str, str]:
    return {c.address: c.action.value for c in plan.changes if c.action is not Action.NOOP}


def test_first_plan_creates_everything_parents_first(project: Path) -> None:
    plan = Project(project).plan()
    assert plan.summary["create"] == len(plan.changes) == 20
    seen: set[str] = set()
    for change in plan.changes:
        assert set(change.depends_on) <= seen, change.address
        seen.add(change.address)


def test_second_plan_is_all_noop(project: Path) -> None:
    state = applied(Project(project).plan())
    plan = Project(project).plan(state=state)
    assert not plan.has_changes
    assert plan.summary["noop"] == 20


def test_date_change_is_an_update_with_changed_fields(project: Path) -> None:
    state = applied(Project(project).plan())
    specs = project / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("end_date: 2026-08-31", "end_date: 2026-09-15"))
    plan = Project(project).plan(state=state)
    change = plan.change("bs-main:campaign/summer")
    assert change.action is Action.UPDATE and change.changed_fields == ("end_date",)
    assert (change.before["end_date"], change.after["end_date"]) == ("2026-08-31", "2026-09-15")
    assert actions(plan) == {
        "bs-main:campaign/summer": "update",
        "meta-us:adset/summer": "update",
        "tiktok-us:adgroup/summer": "update",
        "snap-us:campaign/summer": "update",
        "snap-us:adsquad/summer": "update",
    }


def test_asset_change_propagates_to_everything_built_from_it(project: Path) -> None:
    state = applied(Project(project).plan())
    (project / "specs" / "assets" / "banner.png").write_bytes(png_bytes(9))
    plan = Project(project).plan(state=state)
    assert actions(plan) == {
        "bs-main:advertisement/banner": "replace",
        "bs-main:placement/summer.banner.home-lb": "replace",  # its advertisement_id changes
        "meta-us:adimage/banner": "replace",
        "meta-us:adcreative/summer.banner": "replace",  # creative content is immutable on Meta
        "meta-us:ad/summer.banner": "update",  # an ad can point at another creative
        "tiktok-us:image/banner": "replace",
        "tiktok-us:ad/summer.banner": "update",
        "snap-us:media/banner": "replace",
        "snap-us:creative/summer.banner": "replace",
        "snap-us:ad/summer.banner": "update",
    }
    ad = plan.change("meta-us:ad/summer.banner")
    assert ad.changed_fields == ("creative",)
    assert ad.after["creative"] == {"creative_id": None}  # known after apply
    # the next plan after applying it is clean again
    assert not Project(project).plan(state=applied(plan, state)).has_changes


def test_metadata_change_does_not_propagate(project: Path) -> None:
    state = applied(Project(project).plan())
    specs = project / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("name: banner\n", "name: banner\nlabels: {team: growth}\n"))
    assert not Project(project).plan(state=state).has_changes


def test_removed_campaign_is_deleted_children_first(project: Path) -> None:
    state = applied(Project(project).plan())
    specs = project / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("targets: [bs-main, meta-us, tiktok-us, snap-us]", "targets: [bs-main]"))
    plan = Project(project).plan(state=state)
    deletes = [c.address for c in plan.changes if c.action is Action.DELETE]
    assert len(deletes) == 14
    assert deletes.index("meta-us:ad/summer.banner") < deletes.index("meta-us:adcreative/summer.banner")
    assert deletes.index("meta-us:adcreative/summer.banner") < deletes.index("meta-us:adimage/banner")
    assert deletes.index("meta-us:adset/summer") < deletes.index("meta-us:campaign/summer")
    graph = change_graph(plan.changes)
    assert graph.has_edge("meta-us:ad/summer.banner", "meta-us:adset/summer")


def test_target_restricts_to_the_address_and_what_it_needs(project: Path) -> None:
    plan = Project(project).plan(target_patterns=["meta-us:ad/*"])
    assert {c.address for c in plan.changes} == {
        "meta-us:campaign/summer",
        "meta-us:adset/summer",
        "meta-us:adimage/banner",
        "meta-us:adcreative/summer.banner",
        "meta-us:ad/summer.banner",
    }
    assert any("targeting is in effect" in w for w in plan.warnings)


def test_unknown_target_suggests_close_addresses(project: Path) -> None:
    with pytest.raises(ReconcilerError, match="did you mean bs-main:campaign/summer"):
        Project(project).plan(target_patterns=["bs-main:campaign/sumer"])


def test_cycle_is_named() -> None:
    def resource(name: str, parent: str) -> Resource:
        return Resource(
            address=f"bs-main:campaign/{name}",
            target="bs-main",
            platform="broadstreet",
            type="campaign",
            name=name,
            attributes={},
            refs={"advertiser_id": f"bs-main:campaign/{parent}"},
            depends_on=(f"bs-main:campaign/{parent}",),
        )

    with pytest.raises(ReconcilerError, match=r"dependency cycle: bs-main:campaign/a -> bs-main:campaign/b -> "):
        diff([resource("a", "b"), resource("b", "a")], {})


def test_graph_exports(project: Path) -> None:
    graph = change_graph(Project(project).plan().changes)
    dot = to_dot(graph)
    assert '"bs-main:advertiser/acme" -> "bs-main:campaign/summer";' in dot
    mermaid = to_mermaid(graph)
    assert mermaid.startswith("flowchart LR") and mermaid.count("-->") == graph.number_of_edges()
