"""The step graph built from hand-made Plans: what runs, and what waits for what."""

from __future__ import annotations

import networkx as nx
import pytest

from reconciler.apply.steps import Step, StepCycleError, build_steps
from reconciler.model import Action, Change, Plan, RecordedResource, Resource

T = "bs"


def addr(type_: str, name: str) -> str:
    return f"{T}:{type_}/{name}"


ADV, ZONE, CAMP, AD, PL = (
    addr("advertiser", "acme"),
    addr("zone", "top"),
    addr("campaign", "summer"),
    addr("advertisement", "banner"),
    addr("placement", "summer.banner.top"),
)
REFS = {
    ADV: {},
    ZONE: {},
    CAMP: {"advertiser_id": ADV},
    AD: {"advertiser_id": ADV},
    PL: {"campaign_id": CAMP, "advertisement_id": AD, "zone_id": ZONE},
}


def desired(address: str, **attributes: object) -> Resource:
    type_, name = address.split(":")[1].split("/")
    refs = REFS.get(address, {})
    return Resource(
        address, T, "broadstreet", type_, name, {"name": name, **attributes}, refs, tuple(sorted(set(refs.values())))
    )


def recorded(address: str, id_: str = "1") -> RecordedResource:
    type_ = address.split(":")[1].split("/")[0]
    deps = tuple(sorted({a for a in REFS.get(address.removesuffix("#deposed"), {}).values()}))
    return RecordedResource(address, id_, type_, T, {"name": "x"}, deps)


def change(action: Action, address: str, **fields: object) -> Change:
    type_ = address.split(":")[1].split("/")[0]
    want = desired(address) if action in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.NOOP) else None
    have = recorded(address) if action is not Action.CREATE else None
    return Change(
        address,
        T,
        type_,
        action,
        before=have.attributes if have else None,
        after=want.attributes if want else None,
        depends_on=want.depends_on if want else (),
        desired=want,
        recorded=have,
        **fields,  # type: ignore[arg-type]
    )


def graph_of(*changes: Change) -> nx.DiGraph:
    return build_steps(Plan(list(changes)))


def before(graph: nx.DiGraph, first: str, then: str) -> bool:
    """`then` cannot start until `first` is done."""
    return nx.has_path(graph, first, then)


ALL = (ADV, ZONE, CAMP, AD, PL)


def test_creates_wait_for_what_they_reference() -> None:
    graph = graph_of(*(change(Action.CREATE, a) for a in ALL))
    assert set(graph) == {f"create:{a}" for a in ALL}
    assert set(graph.edges) == {
        (f"create:{ADV}", f"create:{CAMP}"),
        (f"create:{ADV}", f"create:{AD}"),
        (f"create:{CAMP}", f"create:{PL}"),
        (f"create:{AD}", f"create:{PL}"),
        (f"create:{ZONE}", f"create:{PL}"),
    }
    step = graph.nodes[f"create:{CAMP}"]["step"]
    assert isinstance(step, Step)
    assert (step.action, step.address, step.deposed, step.state_address) == (Action.CREATE, CAMP, False, CAMP)


def test_only_changed_resources_get_steps_and_noop_parents_are_not_waited_for() -> None:
    graph = graph_of(
        change(Action.NOOP, ADV), change(Action.NOOP, ZONE), change(Action.CREATE, CAMP), change(Action.NOOP, AD)
    )
    assert list(graph) == [f"create:{CAMP}"]
    assert graph.number_of_edges() == 0
    assert len(graph_of(*(change(Action.NOOP, a) for a in ALL))) == 0


def test_deletes_run_children_first() -> None:
    graph = graph_of(*(change(Action.DELETE, a) for a in ALL))
    assert set(graph) == {f"delete:{a}" for a in ALL}
    assert set(graph.edges) == {
        (f"delete:{CAMP}", f"delete:{ADV}"),
        (f"delete:{AD}", f"delete:{ADV}"),
        (f"delete:{PL}", f"delete:{CAMP}"),
        (f"delete:{PL}", f"delete:{AD}"),
        (f"delete:{PL}", f"delete:{ZONE}"),
    }


def test_replace_creates_the_new_object_before_deleting_the_deposed_old_one() -> None:
    graph = graph_of(change(Action.REPLACE, CAMP))
    assert set(graph.edges) == {(f"create:{CAMP}", f"delete:{CAMP}#deposed")}
    old = graph.nodes[f"delete:{CAMP}#deposed"]["step"]
    assert (old.action, old.address, old.deposed, old.state_address) == (
        Action.DELETE,
        CAMP,
        True,
        f"{CAMP}#deposed",
    )


def test_placement_replace_deletes_first() -> None:
    graph = graph_of(change(Action.REPLACE, PL))
    assert set(graph) == {f"delete:{PL}", f"create:{PL}"}
    assert set(graph.edges) == {(f"delete:{PL}", f"create:{PL}")}
    assert not graph.nodes[f"delete:{PL}"]["step"].deposed


def test_dependents_move_off_a_replaced_parent_before_its_old_object_goes() -> None:
    # The ad is replaced (new content): the placement is replaced too (its
    # advertisement_id changes), the campaign's parent is replaced, so the
    # campaign is updated to point at the new advertiser.
    graph = graph_of(
        change(Action.REPLACE, ADV),
        change(Action.UPDATE, CAMP, changed_fields=("advertiser_id",)),
        change(Action.REPLACE, AD),
        change(Action.REPLACE, PL),
        change(Action.NOOP, ZONE),
    )
    for first, then in [
        (f"create:{ADV}", f"update:{CAMP}"),
        (f"create:{ADV}", f"create:{AD}"),
        (f"update:{CAMP}", f"delete:{ADV}#deposed"),  # the campaign moves off the old advertiser first
        (f"delete:{AD}#deposed", f"delete:{ADV}#deposed"),  # the old ad (child of the old advertiser) goes first
        (f"create:{AD}", f"create:{PL}"),
        (f"delete:{PL}", f"create:{PL}"),
        (f"create:{PL}", f"delete:{AD}#deposed"),  # the new placement uses the new ad before the old ad goes
        (f"delete:{PL}", f"delete:{AD}#deposed"),
    ]:
        assert before(graph, first, then), f"{then} must wait for {first}"
    # Nothing deletes an old object before its replacement exists (no gap), except the placement.
    assert before(graph, f"create:{AD}", f"delete:{AD}#deposed")
    assert not before(graph, f"delete:{AD}#deposed", f"create:{PL}")


def test_a_leftover_deposed_object_is_deleted_after_its_dependents_move_off() -> None:
    leftover = Change(
        f"{CAMP}#deposed", T, "campaign", Action.DELETE, {"name": "x"}, None, recorded=recorded(f"{CAMP}#deposed")
    )
    graph = graph_of(leftover, change(Action.NOOP, CAMP), change(Action.REPLACE, PL))
    assert before(graph, f"delete:{PL}", f"delete:{CAMP}#deposed")
    assert before(graph, f"create:{PL}", f"delete:{CAMP}#deposed")


def test_a_replace_whose_deposed_slot_is_taken_deletes_first() -> None:
    leftover = Change(
        f"{CAMP}#deposed", T, "campaign", Action.DELETE, {"name": "x"}, None, recorded=recorded(f"{CAMP}#deposed")
    )
    graph = graph_of(leftover, change(Action.REPLACE, CAMP))
    assert set(graph) == {f"delete:{CAMP}#deposed", f"delete:{CAMP}", f"create:{CAMP}"}
    assert (f"delete:{CAMP}", f"create:{CAMP}") in graph.edges
    assert not graph.nodes[f"delete:{CAMP}#deposed"]["step"].deposed


def test_a_cycle_is_refused_and_named() -> None:
    a, b = addr("zone", "a"), addr("zone", "b")
    za = Resource(a, T, "broadstreet", "zone", "a", {}, {}, (b,))
    zb = Resource(b, T, "broadstreet", "zone", "b", {}, {}, (a,))
    plan = Plan([Change(r.address, T, "zone", Action.CREATE, None, {}, desired=r) for r in (za, zb)])
    with pytest.raises(StepCycleError) as error:
        build_steps(plan)
    assert f"create:{a}" in str(error.value) and f"create:{b}" in str(error.value)
    assert "cycle" in str(error.value)
