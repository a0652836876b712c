"""`reconciler apply` end to end: the real command against `reconciler sandbox serve` over HTTP."""

from __future__ import annotations

import json
import random
import signal
import time
from pathlib import Path

import pytest

from reconciler.state import LocalFileStore
from tests.e2e import (
    TOKEN,
    Sandbox,
    broadstreet_project,
    counts,
    expected_counts,
    run_reconciler,
    start_reconciler,
)


def apply_ok(project: Path, *args: str) -> str:
    result = run_reconciler(project, "apply", "--auto-approve", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def assert_converged(project: Path, sandbox: Sandbox, campaigns: int) -> None:
    """The sandbox holds exactly the spec's objects, each recorded in the state: no duplicate, no orphan."""
    live = sandbox.objects()
    assert counts(live) == expected_counts(campaigns)
    state = LocalFileStore(project).read()
    assert not state.pending
    recorded = {(r.type, r.id) for r in state.resources.values()}
    assert {(o["type"], str(o["id"])) for o in live} == recorded


def test_first_apply_creates_exactly_the_specs_and_second_plan_sends_nothing(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    project = broadstreet_project(tmp_path, sandbox.url)
    output = apply_ok(project)
    assert "Apply complete: 17 done" in output
    assert_converged(project, sandbox, 2)
    writes = sandbox.writes()
    plan = run_reconciler(project, "plan", "--detailed-exitcode")
    assert plan.returncode == 0 and "No changes" in plan.stdout
    assert "No changes" in apply_ok(project)
    assert sandbox.writes() == writes  # a clean plan sends no write
    before = sandbox.control("GET", "stats")["requests"]["broadstreet"]
    run_reconciler(project, "plan")
    assert sandbox.control("GET", "stats")["requests"]["broadstreet"] == before  # plan sends nothing at all


def test_update_replace_and_delete(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url)
    apply_ok(project)
    specs = project / "specs" / "main.yaml"
    text = specs.read_text()
    text = text.replace("name: camp0\nadvertiser: acme\nstart_date: 2026-06-01\nend_date: 2026-08-31",
                        "name: camp0\nadvertiser: acme\nstart_date: 2026-06-01\nend_date: 2026-09-30")  # fmt: skip
    text = text.replace("<b>offer 1a</b>", "<b>new offer 1a</b>")
    text = text.replace("kind: Placement\ncampaign: camp1\ncreative: c1-b\nzone: side\n", "")
    specs.write_text(text.rstrip("-\n") + "\n")
    plan = run_reconciler(project, "plan")
    assert "Plan: 0 to create, 1 to update, 3 to replace, 1 to delete." in plan.stdout, plan.stdout
    apply_ok(project)
    campaign = next(o for o in sandbox.objects() if o["type"] == "campaign" and o["fields"]["name"] == "camp0")
    assert campaign["fields"]["end_date"] == "2026-09-30"
    ads = [o for o in sandbox.objects() if o["type"] == "advertisement"]
    assert len(ads) == 4 and any("new offer 1a" in json.dumps(o["fields"]) for o in ads)
    assert len([o for o in sandbox.objects() if o["type"] == "placement"]) == 7
    assert run_reconciler(project, "plan", "--detailed-exitcode").returncode == 0


def test_rollback_restores_the_previous_objects(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    apply_ok(project)
    before = sorted((o["type"], o["id"], json.dumps(o["fields"], sort_keys=True)) for o in sandbox.objects())
    specs = project / "specs" / "main.yaml"
    text = specs.read_text().replace("end_date: 2026-08-31", "end_date: 2026-09-30")  # update
    text = text.replace("<b>offer 0a</b>", "<b>changed</b>")  # replace: new ad + its 2 placements
    text = text.replace("kind: Placement\ncampaign: camp0\ncreative: c0-b\nzone: side\n", "")  # delete
    specs.write_text(text.rstrip("-\n") + "\n")
    sandbox.control("POST", "faults", json={"reject": [{"platform": "broadstreet", "type": "advertisement"}]})
    result = run_reconciler(project, "apply", "--auto-approve", "--on-error", "rollback")
    assert result.returncode == 1
    assert "VALIDATION" in result.stdout + result.stderr
    after = sorted((o["type"], o["id"], json.dumps(o["fields"], sort_keys=True)) for o in sandbox.objects())
    assert after == before  # every change this run made is undone
    plan = run_reconciler(project, "plan")
    assert "Plan: 0 to create, 1 to update, 3 to replace, 1 to delete." in plan.stdout  # still to do


@pytest.mark.parametrize("fault", ["fault_rate", "drop_response_rate"])
def test_converges_with_30_percent_faults_and_no_duplicates(tmp_path: Path, sandbox: Sandbox, fault: str) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=3)
    sandbox.control("POST", "faults", json={fault: 0.3, "seed": 11})
    # A step can still exhaust its attempts (at 30%, a lookup and a create both have to get
    # through): what is left is pending or planned again, and a later apply finishes it.
    for _ in range(3):
        if run_reconciler(project, "apply", "--auto-approve").returncode == 0:
            break
        live = counts(sandbox.objects())  # unfinished, but never a duplicate
        assert all(live.get(kind, 0) <= n for kind, n in expected_counts(3).items())
    stats = sandbox.control("GET", "stats")
    assert stats["faults" if fault == "fault_rate" else "dropped"] > 0
    sandbox.control("POST", "faults", json={fault: 0.0})
    assert_converged(project, sandbox, 3)
    assert run_reconciler(project, "plan", "--detailed-exitcode").returncode == 0


def test_sigkill_at_random_points_then_apply_again_converges(tmp_path: Path, sandbox: Sandbox) -> None:
    rng = random.Random(5)
    sandbox.control("POST", "faults", json={"latency_ms": 15})
    for attempt in range(5):
        sandbox.control("POST", "reset")
        sandbox.control("POST", "faults", json={"latency_ms": 15})
        project = broadstreet_project(tmp_path / f"run{attempt}", sandbox.url, campaigns=4)
        process = start_reconciler(project, "apply", "--auto-approve", "--parallelism", "4")
        time.sleep(rng.uniform(0.3, 1.6))  # python start-up is ~0.3 s: kill points spread over the apply
        process.send_signal(signal.SIGKILL)
        process.wait()
        apply_ok(project)
        assert_converged(project, sandbox, 4)


def test_stale_saved_plan_is_refused(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    plan_file = project / "plan.json"
    assert run_reconciler(project, "plan", "--out", str(plan_file)).returncode == 0
    apply_ok(project)  # the state moves on
    result = run_reconciler(project, "apply", str(plan_file), "--auto-approve")
    assert result.returncode == 1 and "is stale" in result.stderr and "Traceback" not in result.stderr
    fresh = project / "fresh.json"
    run_reconciler(project, "plan", "--out", str(fresh))
    assert "No changes" in apply_ok(project, str(fresh))


def test_saved_plan_applies_exactly_what_was_reviewed(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    plan_file = project / "plan.json"
    run_reconciler(project, "plan", "--out", str(plan_file))
    main = project / "specs" / "main.yaml"
    # The specs changed after review (not their targets): the reviewed plan still rules.
    main.write_text(main.read_text().replace("html: '<b>offer 0a</b>'", "html: '<b>other</b>'"))
    apply_ok(project, str(plan_file))
    assert counts(sandbox.objects()) == expected_counts(1)
    assert "offer 0a" in json.dumps(sandbox.objects())


def test_bad_token_fails_fast_with_auth_and_no_secret_anywhere(tmp_path: Path, sandbox: Sandbox) -> None:
    sandbox.control("POST", "auth", json={"platform": "broadstreet", "valid_tokens": ["the-only-good-token"]})
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    events = project / "events.jsonl"
    started = time.monotonic()
    result = run_reconciler(project, "apply", "--auto-approve", "--events", str(events))
    assert result.returncode == 1
    assert time.monotonic() - started < 30
    output = result.stdout + result.stderr
    assert "AUTH" in output
    for text in (output, events.read_text(), (project / "state" / "default.json").read_text()):
        assert TOKEN not in text
    assert sandbox.objects() == []


def test_events_are_json_lines(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    result = run_reconciler(project, "apply", "--auto-approve", "--events", "-")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = {line["event"] for line in lines}
    assert {"op:start", "op:done", "apply:done"} <= kinds
    done = [line for line in lines if line["event"] == "op:done"]
    assert len(done) == 10 and all({"address", "action", "attempt", "duration_ms"} <= set(d) for d in done)


def test_refresh_shows_out_of_band_edits_and_deletes(tmp_path: Path, sandbox: Sandbox) -> None:
    import httpx

    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    apply_ok(project)
    state = LocalFileStore(project).read()
    api = f"{sandbox.url}/broadstreet/api/1"
    campaign_id = state.id_of("bs-main:campaign/camp0")
    httpx.put(f"{api}/campaigns/{campaign_id}", params={"access_token": "x"}, json={"end_date": "2026-12-31"})
    zone_id = state.id_of("bs-main:zone/side")
    httpx.delete(f"{api}/zones/{zone_id}", params={"access_token": "x"})
    assert run_reconciler(project, "plan", "--detailed-exitcode").returncode == 0  # no request, no drift seen
    plan = run_reconciler(project, "plan", "--refresh")
    assert "bs-main:campaign/camp0 was changed outside reconciler: end_date" in plan.stdout
    assert "bs-main:zone/side was deleted outside reconciler" in plan.stdout
    assert '~ end_date = "2026-12-31" -> "2026-08-31"' in plan.stdout
    assert "+ bs-main:zone/side" in plan.stdout
    apply_ok(project, "--refresh")
    assert run_reconciler(project, "plan", "--refresh", "--detailed-exitcode").returncode == 0
