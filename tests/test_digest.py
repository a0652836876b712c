"""The plan digest: one sha256 over what the plan does, for `apply --expect-digest` and the PR comment."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from reconciler.errors import ReconcilerError
from reconciler.model import Action, Plan
from reconciler.plan.digest import canonical_changes, plan_digest
from reconciler.plan.planfile import plan_from_json
from reconciler.plan.render import render_json
from tests.test_render import sample_plan


def test_the_plan_json_carries_the_digest_of_its_changes():
    plan = sample_plan()
    data = json.loads(render_json(plan))
    assert data["digest"] == plan_digest(plan)
    assert len(data["digest"]) == 64 and int(data["digest"], 16) >= 0
    # A saved plan read back has the same digest: the reviewer's and the applier's agree.
    assert plan_digest(plan_from_json(data, "plan.json")) == data["digest"]


def test_the_digest_ignores_order_and_noops_but_not_what_is_done():
    plan = sample_plan()
    shuffled = list(plan.changes)
    random.Random(4).shuffle(shuffled)
    assert plan_digest(Plan(shuffled)) == plan_digest(plan)
    doing = [c for c in plan.changes if c.action is not Action.NOOP]
    assert len(doing) < len(plan.changes)
    assert plan_digest(Plan(doing)) == plan_digest(plan)
    assert [e["address"] for e in canonical_changes(plan)] == sorted(c.address for c in doing)

    update = next(i for i, c in enumerate(plan.changes) if c.action is Action.UPDATE)
    edited = list(plan.changes)
    edited[update] = dataclasses.replace(edited[update], after={**edited[update].after, "name": "Other"})
    assert plan_digest(Plan(edited)) != plan_digest(plan)

    delete = next(i for i, c in enumerate(plan.changes) if c.action is Action.DELETE)
    for mode in ("pause", "delete"):
        other = "delete" if mode == "pause" else "pause"
        a, b = list(plan.changes), list(plan.changes)
        a[delete] = dataclasses.replace(a[delete], delete_mode=mode)
        b[delete] = dataclasses.replace(b[delete], delete_mode=other)
        assert plan_digest(Plan(a)) != plan_digest(Plan(b))  # a pause and a hard delete are not the same plan


def test_a_plan_file_edited_after_review_is_refused():
    data = json.loads(render_json(sample_plan()))
    create = next(c for c in data["changes"] if c["action"] == "create")
    create["after"]["name"] = "Edited after review"
    with pytest.raises(ReconcilerError, match="at digest: does not match the changes"):
        plan_from_json(data, "plan.json")
    del data["digest"]  # a plan file from before the digest existed is read as it was
    assert plan_from_json(data, "plan.json").changes
